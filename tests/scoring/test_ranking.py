"""Ranks among siblings and the change since the previous round (scoring.ranking)."""

from django.utils import timezone

from fieldwork.services import round_close
from scoring.engine import compute_round
from scoring.models import ScoreRun, UnitScore
from scoring.ranking import previous_round
from tests.base import make_unit
from tests.fieldwork.base import full_answers
from tests.scoring.base import EngineTestCase, load_copy, services_answers


class RankTests(EngineTestCase):
    def test_siblings_are_ranked_by_headline_with_ties_sharing_a_rank_and_small_units_left_out(self):
        survey_round = self.round_over(self.another_province, load_copy("sipas-2017", "sipas-2017-min2",
                                                                        min_responses=2))
        units = {name: make_unit(f"10.{name}", self.another_province) for name in "ABCDE"}
        for name, levels in {"A": (5, 5), "B": (4, 1), "C": (4, 2), "D": (1, 1), "E": (5,)}.items():
            for level in levels:
                self.insert(survey_round, units[name], full_answers(**{"G.0": level}))
        # Two forms at the province itself: E is then not the only unknown part of the province's
        # figures, so no sibling is withheld to protect it (test_disclosure.py).
        self.insert(survey_round, self.another_province, full_answers(), count=2)
        result = compute_round(survey_round)
        ranks = {name: (self.of(result, unit).rank, self.of(result, unit).rank_of) for name, unit in units.items()}
        self.assertEqual(ranks, {"A": (1, 4), "B": (2, 4), "C": (2, 4), "D": (4, 4), "E": (None, None)})
        self.assertFalse(self.of(result, units["E"]).enough)
        province = self.of(result, self.another_province)
        self.assertEqual((province.rank, province.rank_of, province.enough), (None, None, True))

    def test_the_minimum_number_of_responses_defaults_to_30(self):
        self.insert(self.round, self.commune, full_answers(), count=30)
        self.insert(self.round, self.other_commune, full_answers(), count=29)
        self.insert(self.round, self.province, full_answers(), count=1)  # so no commune protects the other
        result = compute_round(self.round)
        commune, other = self.of(result, self.commune), self.of(result, self.other_commune)
        self.assertEqual((commune.n, commune.enough, commune.rank, commune.rank_of), (30, True, 1, 1))
        self.assertEqual((other.n, other.enough, other.rank), (29, False, None))
        self.assertEqual(other.headline, 100.0)  # figures all the same


class ChangeTests(EngineTestCase):
    def store(self, survey_round, unit, headline, rank):
        run = ScoreRun.objects.get_or_create(round=survey_round, status=ScoreRun.Status.DONE)[0]
        UnitScore.objects.create(run=run, round=survey_round, unit=unit, n=40, enough=True, headline=headline,
                                 rank=rank, computed_at=timezone.now())

    def test_change_is_against_the_stored_scores_of_the_previous_round_of_the_family(self):
        self.store(self.round, self.province, 85.0, None)
        self.store(self.round, self.commune, 80.0, 3)
        self.store(self.round, self.other_commune, 90.0, 1)
        round_close(survey_round=self.round)
        later = self.round_over(self.province, load_copy("sipas-2017", "sipas-2017-next", min_responses=1))
        self.submit(self.commune, later, **full_answers(**{"G.0": 5}))
        self.submit(self.other_commune, later, **full_answers(**{"G.0": 4}))
        self.submit(self.other_commune, later, **full_answers(**{"G.0": 2}))
        result = compute_round(later)
        commune, other = self.of(result, self.commune), self.of(result, self.other_commune)
        self.assertEqual((commune.change_points, commune.change_places), (20.0, 2))  # 80 → 100, 3rd → 1st
        self.assertEqual((other.change_points, other.change_places), (-40.0, -1))  # 90 → 50, 1st → 2nd
        province = self.of(result, self.province)
        self.assertAlmostEqual(province.change_points, 200 / 3 - 85.0)
        self.assertIsNone(province.change_places)

    def test_a_first_round_and_another_family_have_no_change(self):
        self.submit(**full_answers())
        self.assertIsNone(self.of(compute_round(self.round), self.commune).change_points)
        self.store(self.round, self.commune, 80.0, 1)
        round_close(survey_round=self.round)
        other_family = self.round_over(self.province, "sipas-2023-services")
        self.submit(self.commune, other_family, **services_answers())
        self.assertIsNone(self.of(compute_round(other_family), self.commune).change_points)

    def test_an_earlier_round_of_the_family_over_another_unit_is_not_the_previous_round(self):
        self.store(self.round, self.another_province, 10.0, 1)  # would show as a change if it were used
        later = self.round_over(self.another_province, "sipas-2017")
        self.submit(self.another_province, later, **full_answers())
        self.assertIsNone(previous_round(later))
        self.assertIsNone(self.of(compute_round(later), self.another_province).change_points)
