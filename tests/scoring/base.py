"""What the scoring tests of a round's computation share: a round over province 08 with kiosks
(tests.fieldwork.base.KioskTestCase), responses submitted or inserted, and the results looked up."""

import copy

from django.utils import timezone

from fieldwork.models import Response
from fieldwork.responses import response_submit
from fieldwork.services import round_create
from questionnaires.answers import pack_answers
from questionnaires.models import QuestionnaireVersion
from questionnaires.services import questionnaire_load
from tests.fieldwork.base import KioskTestCase, full_answers


def services_answers(**overrides):
    """A complete, valid set of answers to sipas-2023-services from someone who gave no feedback."""
    return full_answers("sipas-2023-services", **overrides)


def load_copy(base_code, code, **scoring):
    """A published copy of a shipped version under another code, with changed scoring settings."""
    doc = copy.deepcopy(QuestionnaireVersion.objects.get(code=base_code).definition)
    doc["code"] = code
    doc["scoring"].update(scoring)
    questionnaire_load(doc=doc)
    return code


class EngineTestCase(KioskTestCase):
    def submit(self, unit=None, survey_round=None, **answers):
        """One response through the submission service, as a kiosk sends it."""
        survey_round = survey_round or self.round
        code = survey_round.questionnaire.code
        body = self.payload(round=survey_round.pk, questionnaire=code, answers=answers)
        return response_submit(unit=unit or self.commune, payload=body).response

    def insert(self, survey_round, unit, answers, count=1, **fields):
        """Many identical responses at once, straight into the table (for tests that need numbers)."""
        now = timezone.now()
        slots = pack_answers(survey_round.questionnaire.parsed, answers).slots
        Response.objects.bulk_create([
            Response(round=survey_round, unit=unit,
                     channel=Response.Channel.PAPER,
                     paper_entry=Response.PaperEntry.TYPED, language="vi", submitted_at=now, received_at=now,
                     answers=slots, **fields)
            for _ in range(count)
        ])

    def round_over(self, unit, questionnaire_code, name="Vòng thử"):
        return round_create(name=name, questionnaire_code=questionnaire_code, unit_code=unit.code, open_now=True)

    @staticmethod
    def of(result, unit):
        return next(u for u in result.units if u.unit_id == unit.pk)
