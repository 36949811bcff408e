import uuid

from django.utils import timezone

from fieldwork.services import kiosk_create, kiosk_issue_token, round_create
from questionnaires.services import definition_files, questionnaire_load_file
from tests.base import BaseTestCase


def full_answers(**overrides):
    """A complete, valid set of answers to sipas-2017 from someone who gave no feedback."""
    answers = {
        "E.FIELD": "land", "E.LEVEL": "commune", "E.CHANNEL_FILE": "in_person", "E.VISITS": "1",
        "E.ONTIME": "on_time", "E.EXTRA_PAY": "no", "E.HARASS": "no", "E.INFO": ["commune_officials"],
        "F5.0": "no", "G.0": 4,
    }
    for factor, count in (("F1", 4), ("F2", 5), ("F3", 6), ("F4", 3)):
        for i in range(1, count + 1):
            answers[f"{factor}.{i}"] = 4
        answers[f"{factor}.G"] = 5
    answers.update(overrides)
    return {k: v for k, v in answers.items() if v is not None}


class KioskTestCase(BaseTestCase):
    """Adds the shipped questionnaires, an open round over the province and a paired kiosk."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        for path in definition_files():
            questionnaire_load_file(path=path)
        cls.round = round_create(name="Quý IV/2026", questionnaire_code="sipas-2017", unit_code="08", open_now=True)
        cls.kiosk, _ = kiosk_create(unit=cls.commune, name="Quầy 1")
        cls.token = kiosk_issue_token(kiosk=cls.kiosk)

    def payload(self, **overrides):
        now = timezone.now()
        body = {
            "id": str(uuid.uuid4()), "round": self.round.pk, "questionnaire": "sipas-2017",
            "started_at": (now - timezone.timedelta(minutes=3)).isoformat(), "submitted_at": now.isoformat(),
            "language": "vi", "answers": full_answers(),
        }
        body.update(overrides)
        return body

    def post(self, body, token=None, **extra):
        import json

        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return self.client.post(
            "/api/kiosk/v1/responses", data=data, content_type="application/json",
            HTTP_AUTHORIZATION=f"Kiosk {token or self.token}", **extra,
        )
