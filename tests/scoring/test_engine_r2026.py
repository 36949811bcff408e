"""Scoring a round on sipas-2017-r2026: the results factor is computed from those who were asked it
(people who received a result), the agency level filled in from the unit counts as an indicator,
and the change is against the previous round of the family, on sipas-2017."""

from django.utils import timezone

from fieldwork.services import round_close
from scoring import formulas
from scoring.engine import compute_round
from scoring.models import ScoreRun, UnitScore
from scoring.ranking import previous_round
from tests.fieldwork.base import full_answers
from tests.scoring.base import EngineTestCase

CODE = "sipas-2017-r2026"
NO_RESULT = {"E.ONTIME": "not_yet", "F4.1": None, "F4.2": None, "F4.3": None, "F4.G": None}


def answers(**overrides):
    return full_answers(CODE, **{"E.LEVEL": None, **overrides})


class RevisionScoringTests(EngineTestCase):
    def setUp(self):
        round_close(survey_round=self.round)
        self.revision = self.round_over(self.province, CODE)
        self.submit(self.commune, self.revision, **answers(**{"F4.1": 5, "F4.2": 2, "G.0": 4}))
        self.submit(self.commune, self.revision, **answers(**{"E.ONTIME": "late", "F4.1": 1, "F4.3": 0}))
        self.submit(self.commune, self.revision, **answers(**NO_RESULT, **{"G.0": 2}))
        self.submit(self.commune, self.revision, **answers(**NO_RESULT))
        self.unit = self.of(compute_round(self.revision), self.commune)

    def test_results_items_count_only_the_answers_of_those_who_received_a_result(self):
        self.assertEqual((self.unit.items["F4.1"]["n"], self.unit.items["F4.1"]["satisfied"]), (2, 1))
        self.assertEqual((self.unit.items["F4.2"]["n"], self.unit.items["F4.2"]["satisfied"]), (2, 1))
        self.assertEqual((self.unit.items["F4.3"]["n"], self.unit.items["F4.3"]["satisfied"]), (1, 1))  # one n/a

    def test_the_results_factor_is_the_mean_of_those_rates_over_the_people_asked(self):
        f4 = self.unit.factors["F4"]
        self.assertAlmostEqual(f4["value"], (50 + 50 + 100) / 3)
        self.assertEqual(f4["n"], 2)  # of 4 responses, the 2 that were asked
        self.assertEqual(self.unit.factors["F1"]["n"], 4)

    def test_everyone_counts_in_the_headline_and_the_filled_in_level_in_the_indicators(self):
        self.assertEqual(self.unit.n, 4)
        self.assertAlmostEqual(self.unit.headline, 75.0)  # G.0: 4, 4, 2, 4
        self.assertEqual(self.unit.headline_ci, formulas.wilson(3, 4))
        self.assertEqual(self.unit.indicators["E.LEVEL"]["commune"], 100.0)
        self.assertEqual(self.unit.indicators["E.LEVEL"]["n"], 4)
        self.assertEqual(self.unit.indicators["E.ONTIME"]["not_yet"], 50.0)


class RevisionChangeTests(EngineTestCase):
    def test_the_revision_is_compared_with_the_previous_round_on_sipas_2017(self):
        run = ScoreRun.objects.create(round=self.round, status=ScoreRun.Status.DONE)
        UnitScore.objects.create(run=run, round=self.round, unit=self.commune, n=40, enough=True, headline=80.0,
                                 rank=1, computed_at=timezone.now())
        round_close(survey_round=self.round)
        revision = self.round_over(self.province, CODE)
        self.insert(revision, self.commune, answers(**{"E.LEVEL": "commune", "G.0": 5}), count=30)  # shown: 30

        self.assertEqual(previous_round(revision), self.round)
        self.assertEqual(self.of(compute_round(revision), self.commune).change_points, 20.0)  # 80 → 100
