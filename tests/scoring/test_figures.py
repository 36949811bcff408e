"""A unit's figures from its counts (scoring.figures): rates and intervals, factors and the headline
by each version's declared method, indicators, expectations, the weighted headline."""

import datetime
import math

from fieldwork.models import Dossier, DossierList
from fieldwork.services import round_close
from scoring import formulas
from scoring.engine import compute_round
from tests.fieldwork.base import full_answers
from tests.scoring.base import EngineTestCase, load_copy, services_answers

Z = formulas.Z95


class Sipas2017Tests(EngineTestCase):
    def setUp(self):
        self.submit(**full_answers(**{"X.EXPECT": ["shorten_time"]}))
        self.submit(**full_answers(**{"F1.1": 2, "F1.2": 0, "G.0": 3, "X.EXPECT": ["shorten_time", "lower_fees"]}))
        self.submit(**full_answers(**{
            "F1.1": 5, "F1.2": 1, "F5.0": "yes", "F5.1": 4, "F5.2": 2, "F5.3": 0, "F5.4": 5, "F5.G": 3, "G.0": 5,
            "E.INFO": ["commune_officials", "media"], "E.EXTRA_PAY": "yes",
        }))
        self.result = compute_round(self.round)
        self.unit = self.of(self.result, self.commune)

    def test_an_item_rate_is_satisfied_answers_over_valid_answers_with_a_wilson_interval(self):
        self.assertEqual(self.unit.items["F1.1"]["n"], 3)
        self.assertEqual(self.unit.items["F1.1"]["satisfied"], 2)
        self.assertAlmostEqual(self.unit.items["F1.1"]["rate"], 200 / 3)
        self.assertEqual(self.unit.items["F1.1"]["ci"], list(formulas.wilson(2, 3)))

    def test_not_applicable_and_unasked_answers_are_not_valid_answers(self):
        self.assertEqual((self.unit.items["F1.2"]["n"], self.unit.items["F1.2"]["satisfied"]), (2, 1))  # 4, n/a, 1
        self.assertEqual(self.unit.items["F5.3"], {"n": 0, "satisfied": 0, "rate": None, "ci": None})  # n/a
        self.assertEqual(self.unit.items["F5.1"]["n"], 1)  # asked only of the one who gave feedback

    def test_a_factor_is_the_mean_of_its_item_rates_with_its_general_item_beside_it(self):
        f1 = self.unit.factors["F1"]
        self.assertAlmostEqual(f1["value"], (200 / 3 + 50 + 100 + 100) / 4)
        self.assertEqual(f1["n"], 3)
        self.assertEqual(f1["general"]["rate"], 100.0)
        f5 = self.unit.factors["F5"]
        self.assertAlmostEqual(f5["value"], (100 + 0 + 100) / 3)  # F5.3 has no valid answer: left out
        self.assertEqual(f5["n"], 1)
        self.assertEqual((f5["general"]["n"], f5["general"]["rate"]), (1, 0.0))

    def test_the_2017_headline_is_the_overall_item(self):
        self.assertAlmostEqual(self.unit.headline, 200 / 3)  # G.0: 4, 3, 5
        self.assertEqual(self.unit.headline_ci, formulas.wilson(2, 3))

    def test_indicators_are_shares_of_those_who_answered(self):
        self.assertEqual(self.unit.indicators["E.VISITS"], {"1": 100.0, "2": 0.0, "3": 0.0, "4plus": 0.0, "n": 3})
        self.assertAlmostEqual(self.unit.indicators["E.EXTRA_PAY"]["yes"], 100 / 3)
        info = self.unit.indicators["E.INFO"]
        self.assertEqual(info["commune_officials"], 100.0)
        self.assertAlmostEqual(info["media"], 100 / 3)

    def test_expectations_are_listed_most_chosen_first_then_by_code(self):
        expectations = self.unit.expectations
        self.assertEqual(expectations[:2], [{"code": "shorten_time", "count": 2, "share": 100.0},
                                            {"code": "lower_fees", "count": 1, "share": 50.0}])
        self.assertEqual([e["code"] for e in expectations[2:4]], ["better_facilities", "better_feedback_handling"])

    def test_units_below_the_minimum_get_figures_but_not_enough(self):
        self.assertEqual(self.unit.n, 3)
        self.assertFalse(self.unit.enough)
        self.assertIsNotNone(self.unit.headline)

    def test_the_round_unit_and_the_commune_are_scored_but_not_units_without_responses(self):
        self.assertEqual([u.unit_id for u in self.result.units], [self.province.pk, self.commune.pk])
        self.assertEqual(self.result.responses_used, 3)
        self.assertIsNone(self.of(self.result, self.province).rank)


class Sipas2023Tests(EngineTestCase):
    def test_the_services_headline_is_the_mean_of_the_available_factors_with_a_delta_method_interval(self):
        survey_round = self.round_over(self.another_province, "sipas-2023-services")
        self.submit(self.another_province, survey_round, **services_answers())
        self.submit(self.another_province, survey_round, **services_answers(**{"S1.1": 2, "S2.1": 2, "S2.2": 1}))
        unit = self.of(compute_round(survey_round), self.another_province)
        self.assertEqual(unit.factors["S1"]["value"], (50 + 100 + 100 + 100) / 4)
        self.assertEqual(unit.factors["S2"]["value"], (50 + 50 + 100 + 100) / 4)
        self.assertIsNone(unit.factors["S5"]["value"])  # nobody gave feedback
        self.assertIsNone(unit.factors["S1"]["general"])
        self.assertEqual(unit.headline, (87.5 + 75 + 100 + 100) / 4)  # 90.625: S5 left out
        # Variances in points²: a 1-of-2 item p(1-p)/n = 0.125 → 1250; factor = Σ/4² ; headline = Σ/4².
        variance = (1250 / 16 + 2500 / 16 + 0 + 0) / 16
        low, high = unit.headline_ci
        self.assertAlmostEqual(low, 90.625 - Z * math.sqrt(variance))
        self.assertAlmostEqual(high, 90.625 + Z * math.sqrt(variance))
        self.assertAlmostEqual(low, 83.12, places=2)

    def test_pooled_answers_and_general_item_factor_methods_follow_the_version(self):
        pooled = self.round_over(self.another_province, load_copy("sipas-2017", "sipas-2017-pooled",
                                                                  factor_method="pooled_answers"))
        self.submit(self.another_province, pooled, **full_answers(**{"F1.1": 2, "F1.2": 0, "F1.G": 1}))
        self.submit(self.another_province, pooled, **full_answers(**{"F1.1": 2}))
        unit = self.of(compute_round(pooled), self.another_province)
        # F1.1-F1.4: (2, n/a, 4, 4) and (2, 4, 4, 4): 7 valid answers, 5 satisfied (the mean of rates is 75).
        self.assertEqual(unit.factors["F1"]["value"], 100 * 5 / 7)
        round_close(survey_round=pooled)
        general = self.round_over(self.another_province, load_copy("sipas-2017", "sipas-2017-general",
                                                                   factor_method="general_item"), name="Khác")
        self.submit(self.another_province, general, **full_answers(**{"F1.G": 1}))
        self.submit(self.another_province, general, **full_answers())
        unit = self.of(compute_round(general), self.another_province)
        self.assertEqual(unit.factors["F1"]["value"], 50.0)


class WeightedTests(EngineTestCase):
    def setUp(self):
        for field, level in (("land", 4), ("land", 5), ("construction", 4), ("construction", 1)):
            self.submit(**full_answers(**{"E.FIELD": field, "G.0": level}))
        self.dossiers = DossierList.objects.create(round=self.round, name="Q4", imported_by=self.officer)
        for i, field in enumerate(("land", "land", "land", "construction")):
            self.dossier(self.commune, field, i)

    def dossier(self, unit, field, i):
        Dossier.objects.create(dossier_list=self.dossiers, code=f"HS-{unit.code}-{i}", unit=unit,
                               service_field=field, completed_on=datetime.date(2026, 10, 1))

    def test_the_weighted_headline_weights_each_service_field_by_its_share_of_dossiers(self):
        unit = self.of(compute_round(self.round), self.commune)
        self.assertEqual(unit.headline, 75.0)  # 3 of 4, unweighted
        self.assertEqual(unit.weighted_headline, 0.75 * 100 + 0.25 * 50)

    def test_a_field_with_dossiers_but_no_responses_leaves_the_weighted_headline_out(self):
        self.dossier(self.other_commune, "culture", 9)
        self.submit(self.other_commune, **full_answers(**{"E.FIELD": "land"}))
        result = compute_round(self.round)
        self.assertIsNone(self.of(result, self.province).weighted_headline)  # culture: no responses
        self.assertEqual(self.of(result, self.commune).weighted_headline, 87.5)  # its own dossiers only

    def test_a_mean_of_factors_headline_is_weighted_from_the_factors_within_each_field(self):
        survey_round = self.round_over(self.another_province, "sipas-2023-services")
        self.submit(self.another_province, survey_round, **services_answers())
        self.submit(self.another_province, survey_round, **services_answers(**{"E.FIELD": "construction", "S1.1": 1}))
        dossiers = DossierList.objects.create(round=survey_round, name="Q4", imported_by=self.officer)
        for i, field in enumerate(("land", "construction", "construction", "construction")):
            Dossier.objects.create(dossier_list=dossiers, code=f"HS-{i}", unit=self.another_province,
                                   service_field=field, completed_on=datetime.date(2026, 10, 1))
        unit = self.of(compute_round(survey_round), self.another_province)
        self.assertEqual(unit.headline, (87.5 + 100 + 100 + 100) / 4)  # S1.1 1 of 2; S5 not asked
        # land: 100; construction: S1 = (0 + 100 + 100 + 100) / 4 = 75 → (75 + 300) / 4 = 93.75.
        self.assertEqual(unit.weighted_headline, 0.25 * 100 + 0.75 * 93.75)

    def test_there_is_no_weighted_headline_without_a_dossier_list(self):
        self.dossiers.delete()
        self.assertIsNone(self.of(compute_round(self.round), self.commune).weighted_headline)
