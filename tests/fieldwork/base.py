import json
import uuid

from django.utils import timezone

from fieldwork.services import kiosk_create, kiosk_issue_token, round_create
from questionnaires.definition import condition_holds
from questionnaires.services import DEFINITIONS_DIR, definition_files, questionnaire_load_file
from tests.base import BaseTestCase

SCREENING = {
    "E.FIELD": "land", "E.LEVEL": "commune", "E.CHANNEL_FILE": "in_person", "E.VISITS": "1",
    "E.ONTIME": "on_time", "E.EXTRA_PAY": "no", "E.HARASS": "no", "E.INFO": ["commune_officials"], "F5.0": "no",
}


def full_answers(version="sipas-2017", **overrides):
    """A complete, valid set of answers from someone who received the result on time and gave no
    feedback: 4 to every criterion asked and to the overall question, 5 to every "in general"
    question. None in overrides removes one."""
    doc = json.loads((DEFINITIONS_DIR / f"{version}.json").read_text(encoding="utf-8"))
    answers = dict(SCREENING)
    for item in (item for section in doc["sections"] for item in section["items"]):
        if item["kind"] == "satisfaction" and condition_holds(item.get("condition"), SCREENING):
            answers[item["code"]] = 5 if item.get("role") == "general" else 4
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
        # Opened and paired a day ago: the tests' responses, started minutes before they are sent
        # however long a test class runs, are not earlier than both (fieldwork.responses._check_times).
        cls.round.first_opened_at = cls.kiosk.first_paired_at = timezone.now() - timezone.timedelta(days=1)
        cls.round.save(update_fields=["first_opened_at"])
        cls.kiosk.save(update_fields=["first_paired_at"])

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
