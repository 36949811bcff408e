"""The demo data set gives a newcomer something to look at: two rounds with scores, a change, a trend,
units below the minimum; and running it again changes nothing."""

import io

from django.core.management import call_command
from django.test import TestCase

from fieldwork.models import Response, Round
from scoring.models import UnitScore


def seed(*args):
    out = io.StringIO()
    call_command("seed_demo", "--force", *args, stdout=out)
    return out.getvalue()


class SeedDemoTests(TestCase):
    def test_it_makes_an_earlier_closed_round_and_an_open_one_both_with_scores(self):
        printed = seed()

        earlier, current = Round.objects.filter(unit__code="08").order_by("pk")
        self.assertEqual((earlier.status, current.status), (Round.Status.CLOSED, Round.Status.OPEN))
        self.assertIn("scores computed", printed)
        province = UnitScore.objects.get(round=current, unit__code="08")
        self.assertEqual(province.n, Response.objects.filter(round=current).count())
        self.assertTrue(province.enough)
        self.assertIsNotNone(province.change_points)  # against the earlier round
        commune = UnitScore.objects.get(round=current, unit__code="02212")
        self.assertIsNotNone(commune.rank)
        self.assertIsNotNone(commune.change_places)

    def test_the_earlier_round_is_on_sipas_2017_and_the_current_one_on_its_revision_of_the_same_family(self):
        seed()

        earlier, current = Round.objects.filter(unit__code="08").order_by("pk")
        self.assertEqual((earlier.questionnaire.code, current.questionnaire.code), ("sipas-2017", "sipas-2017-r2026"))
        self.assertEqual(current.name_en, "2026 pilot survey")
        level = current.questionnaire.item_codes.index("E.LEVEL")
        levels = {r.unit.code: r.answers[level] for r in Response.objects.filter(round=current).select_related("unit")}
        self.assertEqual((levels["08.STP"], levels["02212.TTPV"], levels["02212"]), (1, 2, 2))  # province, commune

    def test_some_units_stay_below_the_minimum_so_the_pages_show_them_greyed(self):
        seed()

        small = UnitScore.objects.filter(round__status=Round.Status.OPEN, enough=False)
        self.assertIn("02263", set(small.values_list("unit__code", flat=True)))
        self.assertTrue(all(score.rank is None for score in small))

    def test_running_it_again_adds_no_responses_and_no_rounds(self):
        seed()
        before = (Round.objects.count(), Response.objects.count(), UnitScore.objects.count())

        printed = seed()

        self.assertEqual((Round.objects.count(), Response.objects.count(), UnitScore.objects.count()), before)
        self.assertNotIn("Demo responses", printed)

    def test_without_responses_it_makes_only_the_open_round(self):
        seed("--no-responses")

        self.assertEqual(list(Round.objects.values_list("status", flat=True)), [Round.Status.OPEN])
        self.assertFalse(Response.objects.exists())
