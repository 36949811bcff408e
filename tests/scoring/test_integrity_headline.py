"""The unit page's headline with and without the responses the integrity checks flagged
(scoring.integrity): made from the stored counts minus the flagged responses' counts, shown only when
it lies outside the headline's interval; and the report's method note says what was checked."""

import datetime

from django.utils import timezone, translation

from fieldwork import integrity
from fieldwork.exclusions import response_exclude
from fieldwork.models import Exclusion, IntegrityFlag, Response
from fieldwork.services import kiosk_create
from questionnaires.answers import pack_answers
from scoring import formulas
from scoring.integrity import headline_without_flagged
from scoring.models import UnitScore
from scoring.report import unit_report
from tests.fieldwork.base import KioskTestCase, full_answers
from tests.scoring.test_selectors import compute


def top_answers():
    return {code: 5 if isinstance(value, int) else value for code, value in full_answers().items()}


class IntegrityHeadlineTests(KioskTestCase):
    """02212: 40 genuine kiosk responses ten minutes apart (G.0 satisfied in 10 of them), and 20
    all-top responses 20 s apart from a second kiosk (bursts, an all-top run, identical answers)."""

    def setUp(self):
        self.enterContext(translation.override("en"))
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        start = timezone.now() - datetime.timedelta(days=1)
        definition = self.round.questionnaire.parsed
        rows = []
        for i in range(40):
            answers = full_answers(**{"G.0": 4 if i < 10 else 2, "F1.1": 1 + i % 3})
            rows.append((self.kiosk, start + datetime.timedelta(minutes=10 * i), answers))
        self.pressed, _token = kiosk_create(unit=self.commune, name="Quầy 2")
        for i in range(20):
            rows.append((self.pressed, start + datetime.timedelta(seconds=20 * i), top_answers()))
        self.responses = [Response.objects.create(
            round=self.round, unit=self.commune, kiosk=kiosk, channel=Response.Channel.KIOSK, language="vi",
            submitted_at=at, received_at=at, answers=pack_answers(definition, answers).slots, seconds_taken=100)
            for kiosk, at, answers in rows]
        compute(self.round)
        integrity.integrity_check(survey_round=self.round)
        self.score = UnitScore.objects.get(round=self.round, unit=self.commune)

    def test_the_flags_are_those_built(self):
        flagged = set(IntegrityFlag.objects.filter(round=self.round).values_list("response_id", flat=True))
        self.assertEqual(flagged, {r.pk for r in self.responses[40:]})

    def test_the_figure_without_the_flagged_responses_is_their_stored_counts_minus_the_flagged(self):
        self.assertEqual((self.score.n, self.score.headline), (60, 50.0))
        result = headline_without_flagged(survey_round=self.round, unit=self.commune, score=self.score)
        self.assertEqual(result, {"flagged": 20, "n": 40, "value": 25.0, "ci": formulas.wilson(10, 40),
                                  "shown": True})
        page = self.client.get(f"/scores/{self.round.pk}/{self.commune.code}/")
        self.assertEqual(page.status_code, 302)  # logged out
        self.client.force_login(self.head)
        page = self.client.get(f"/scores/{self.round.pk}/{self.commune.code}/")
        self.assertContains(page, 'data-testid="integrity-headline"')
        self.assertContains(page, "Without the 20 responses flagged by the integrity checks: 25.0%")
        self.assertContains(page, "n = 40 responses")

    def test_an_excluded_flagged_response_is_no_longer_in_either_figure(self):
        response_exclude(response=self.responses[40], reason=Exclusion.Reason.INTEGRITY, user=self.admin)
        compute(self.round)
        score = UnitScore.objects.get(round=self.round, unit=self.commune)
        self.assertEqual(score.n, 59)
        result = headline_without_flagged(survey_round=self.round, unit=self.commune, score=score)
        self.assertEqual((result["flagged"], result["n"], result["value"]), (19, 40, 25.0))

    def test_nothing_is_shown_when_the_figure_without_them_lies_inside_the_interval(self):
        IntegrityFlag.objects.filter(response__in=self.responses[42:]).delete()  # two flagged responses left
        result = headline_without_flagged(survey_round=self.round, unit=self.commune, score=self.score)
        self.assertEqual((result["flagged"], result["n"], result["value"], result["shown"]),
                         (2, 58, 100 * 28 / 58, False))
        self.client.force_login(self.head)
        self.assertNotContains(self.client.get(f"/scores/{self.round.pk}/{self.commune.code}/"),
                               'data-testid="integrity-headline"')

    def test_without_flags_there_is_nothing_to_show(self):
        IntegrityFlag.objects.all().delete()
        self.assertIsNone(headline_without_flagged(survey_round=self.round, unit=self.commune, score=self.score))

    def test_the_report_method_note_says_what_was_checked_and_found(self):
        report = unit_report(survey_round=self.round, unit=self.commune, language="en")
        note = report.method[-1]
        self.assertIn("Integrity checks of kiosk responses (last run ", note)
        self.assertIn("a response less than 60 seconds after its kiosk's previous one (a burst); 5 or more", note)
        self.assertIn("Flagged in this area and not excluded: 20 responses (bursts 19, identical answers 20, "
                      "all-top answers 20, outside opening hours 0, beyond the dossiers 0)", note)
        self.assertIn("nothing is excluded automatically", note)

    def test_before_any_check_the_note_says_so_in_one_line_without_counts(self):
        from fieldwork.models import IntegritySettings

        IntegritySettings.objects.filter(round=self.round).update(checked_at=None)
        IntegrityFlag.objects.all().delete()
        note = unit_report(survey_round=self.round, unit=self.commune, language="en").method[-1]
        self.assertEqual(note, "Integrity checks of kiosk responses (bursts, runs of identical or all-top answers, "
                               "responses outside opening hours, more responses than dossiers) have not run for "
                               "this round yet.")
        with translation.override("vi"):
            note = unit_report(survey_round=self.round, unit=self.commune, language="vi").method[-1]
        self.assertIn("chưa chạy cho đợt khảo sát này", note)
