import copy
import dataclasses
import datetime
import math
from unittest import mock

import pytest
from django.utils import timezone

from fieldwork.exclusions import response_exclude
from fieldwork.models import Dossier, DossierList, Exclusion, Response
from fieldwork.quotas import quota_set
from fieldwork.responses import response_submit
from fieldwork.services import round_close, round_create
from questionnaires.answers import pack_answers
from questionnaires.models import QuestionnaireVersion
from questionnaires.services import definition_files, questionnaire_load, questionnaire_load_file
from scoring import formulas
from scoring.engine import compute_round, previous_round
from scoring.models import ScoreRun, UnitScore
from tests.base import make_unit
from tests.fieldwork.base import KioskTestCase, full_answers
from units.models import Unit

Z = formulas.Z95


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
                     channel=Response.Channel.PAPER, language="vi", submitted_at=now, received_at=now,
                     answers=slots, **fields)
            for _ in range(count)
        ])

    def round_over(self, unit, questionnaire_code, name="Vòng thử"):
        return round_create(name=name, questionnaire_code=questionnaire_code, unit_code=unit.code, open_now=True)

    @staticmethod
    def of(result, unit):
        return next(u for u in result.units if u.unit_id == unit.pk)


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


class SelectionTests(EngineTestCase):
    def test_excluded_responses_are_left_out(self):
        self.submit(**full_answers(**{"G.0": 4}))
        excluded = self.submit(**full_answers(**{"G.0": 1}))
        response_exclude(response=excluded, reason=Exclusion.Reason.TEST, user=self.officer)
        unit = self.of(compute_round(self.round), self.commune)
        self.assertEqual((unit.n, unit.items["G.0"]["n"], unit.headline), (1, 1, 100.0))

    def test_over_quota_responses_are_left_out_unless_the_round_counts_them(self):
        quota_set(survey_round=self.round, unit=self.commune, target=1, policy="flag")
        self.submit(**full_answers(**{"G.0": 4}))
        self.assertTrue(self.submit(**full_answers(**{"G.0": 1})).over_quota)
        unit = self.of(compute_round(self.round), self.commune)
        self.assertEqual((unit.n, unit.headline), (1, 100.0))
        self.round.score_over_quota = True
        self.round.save(update_fields=["score_over_quota"])
        unit = self.of(compute_round(self.round), self.commune)
        self.assertEqual((unit.n, unit.headline), (2, 50.0))

    def test_a_parent_pools_the_responses_of_its_subtree_rather_than_averaging_its_units(self):
        self.submit(self.commune, **full_answers(**{"G.0": 4}))
        self.submit(self.commune_centre, **full_answers(**{"G.0": 1}))
        for level in (1, 1, 4):
            self.submit(self.other_commune, **full_answers(**{"G.0": level}))
        result = compute_round(self.round)
        self.assertEqual(self.of(result, self.commune_centre).headline, 0.0)
        self.assertEqual(self.of(result, self.commune).headline, 50.0)  # itself and its centre
        self.assertAlmostEqual(self.of(result, self.other_commune).headline, 100 / 3)
        province = self.of(result, self.province)
        self.assertEqual((province.n, province.items["G.0"]["satisfied"]), (5, 2))
        self.assertEqual(province.headline, 40.0)  # 2 of 5, not (50 + 33.3) / 2
        self.assertEqual(result.responses_used, 5)
        self.assertEqual([u.unit_id for u in result.units],
                         [self.province.pk, self.commune.pk, self.commune_centre.pk, self.other_commune.pk])


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


class RunTests(EngineTestCase):
    def test_computing_twice_gives_identical_results(self):
        self.submit(**full_answers(**{"G.0": 2, "X.EXPECT": ["other"]}))
        self.submit(self.other_commune, **full_answers(**{"F1.2": 0}))
        first, second = compute_round(self.round), compute_round(self.round)
        self.assertEqual(dataclasses.asdict(first), dataclasses.asdict(second))

    def test_progress_is_reported_unit_by_unit(self):
        self.submit(**full_answers())
        calls = []
        compute_round(self.round, progress=lambda done, total: calls.append((done, total)))
        self.assertEqual(calls, [(1, 2), (2, 2)])

    def test_the_number_of_queries_does_not_grow_with_the_responses(self):
        self.insert(self.round, self.commune, full_answers())
        # The round; the units of its subtree; its latest dossier list; a savepoint, clearing the
        # pending changes, work_mem and jit, the grouped count, clearing and writing the stored
        # counts, the release; the earlier rounds of the family.
        with self.assertNumQueries(12):
            compute_round(self.round)
        self.insert(self.round, self.other_commune, full_answers(), count=50)
        self.insert(self.round, self.commune_centre, full_answers(**{"G.0": 1}), count=50)
        with self.assertNumQueries(12):
            result = compute_round(self.round)
        self.assertEqual(result.responses_used, 101)

    def test_a_round_without_responses_has_no_units(self):
        result = compute_round(self.round)
        self.assertEqual((result.units, result.responses_used), ([], 0))


class CountingFormTests(EngineTestCase):
    """The full count reads lookup arrays; the refresh counts pending changes with one FILTER per
    count. They must give the same counts for any value a slot may hold."""

    def test_the_lookup_count_and_the_filter_count_agree_even_on_values_out_of_range(self):
        from django.db import connection

        from fieldwork.models import ResponseChange
        from scoring.engine import Counters, count_responses

        definition = self.round.questionnaire.parsed
        at = definition.positions
        self.insert(self.round, self.commune, full_answers(**{"X.EXPECT": ["lower_fees", "other"]}), count=3)
        self.insert(self.round, self.other_commune, full_answers(**{"F1.2": 0, "E.FIELD": "justice"}), count=2)
        odd = pack_answers(definition, full_answers()).slots
        for code, value in [("F1.1", 7), ("F1.3", -1), ("E.FIELD", 99), ("E.VISITS", 0), ("E.EXTRA_PAY", 3),
                            ("E.INFO", 1 << 12), ("X.EXPECT", -5), ("F2.1", None)]:
            odd[at[code] - 1] = value
        Response.objects.create(round=self.round, unit=self.commune,
                                channel=Response.Channel.PAPER, language="vi", submitted_at=timezone.now(),
                                received_at=timezone.now(), answers=odd)
        for response in Response.objects.filter(round=self.round):
            ResponseChange.objects.create(round=self.round, response=response, sign=1)
        counters = Counters(definition)

        with connection.cursor() as cursor:
            lookups = sorted(count_responses(cursor, self.round, counters, by_field=True))
            cursor.execute(counters.sql(delta=True), [self.round.pk, False])
            filters = sorted((unit_id, stratum, list(vector)) for unit_id, stratum, *vector in cursor.fetchall())

        self.assertEqual(lookups, filters)
        self.assertEqual(len(lookups), 3)  # the commune's land and its odd field 99, the other commune's justice
        odd_row = next(vector for unit_id, stratum, vector in lookups if stratum == 99)
        self.assertEqual(counters.get(odd_row, "valid", "F1.1"), 0)  # 7 is no satisfaction level
        self.assertEqual(counters.get(odd_row, "answered", "E.FIELD"), 0)  # 99 is no option
        self.assertEqual(counters.get(odd_row, "answered", "E.VISITS"), 1)  # 0: answered, no option chosen
        self.assertEqual(counters.get(odd_row, "answered", "E.INFO"), 0)  # a bit past its options


@pytest.mark.django_db(transaction=True)
def test_a_count_split_over_three_connections_gives_what_one_connection_gives(django_user_model):
    from django.test import override_settings

    from scoring import engine

    for path in definition_files():
        questionnaire_load_file(path=path)
    province = make_unit("08", level=Unit.Level.PROVINCE)
    communes = [make_unit(f"0221{i}", province) for i in range(4)]
    survey_round = round_create(name="Quý IV/2026", questionnaire_code="sipas-2017", unit_code="08", open_now=True)
    definition = survey_round.questionnaire.parsed
    now = timezone.now()
    rows = []
    for i in range(600):  # about 40 a block: the table spans more than three blocks
        answers = full_answers(**{"G.0": 1 + i % 5, "F1.2": i % 6, "E.FIELD": ["land", "justice"][i % 2]})
        rows.append(Response(round=survey_round, unit=communes[i % 4],
                             channel=Response.Channel.PAPER, language="vi", submitted_at=now, received_at=now,
                             answers=pack_answers(definition, answers).slots, over_quota=i % 7 == 0))
    Response.objects.bulk_create(rows)

    with override_settings(SCORING_COUNT_CONNECTIONS=1):
        alone = compute_round(survey_round)
    with (override_settings(SCORING_COUNT_CONNECTIONS=3, SCORING_SPLIT_MIN_BLOCKS=0),
          mock.patch.object(engine, "_count_part", wraps=engine._count_part) as parts):
        split = compute_round(survey_round)

    assert parts.call_count == 2  # the other two thirds, each on a connection of its own
    assert dataclasses.asdict(split) == dataclasses.asdict(alone)
    assert split.responses_used == 600 - 86  # every seventh over quota


@pytest.mark.django_db(transaction=True)
def test_a_part_whose_connection_fails_is_counted_on_the_main_connection(django_user_model):
    from django.db import OperationalError
    from django.test import override_settings

    from scoring import engine

    for path in definition_files():
        questionnaire_load_file(path=path)
    province = make_unit("08", level=Unit.Level.PROVINCE)
    commune = make_unit("02212", province)
    survey_round = round_create(name="Quý IV/2026", questionnaire_code="sipas-2017", unit_code="08", open_now=True)
    slots = pack_answers(survey_round.questionnaire.parsed, full_answers()).slots
    now = timezone.now()
    Response.objects.bulk_create([
        Response(round=survey_round, unit=commune, answers=slots,
                 channel=Response.Channel.PAPER, language="vi", submitted_at=now, received_at=now)
        for _ in range(300)
    ])

    with (override_settings(SCORING_COUNT_CONNECTIONS=2, SCORING_SPLIT_MIN_BLOCKS=0),
          mock.patch.object(engine, "_count_part", side_effect=OperationalError("too many clients")) as part):
        result = compute_round(survey_round)

    assert part.call_count == 1
    assert result.responses_used == 300
    assert next(u for u in result.units if u.unit_id == commune.pk).items["F1.1"]["n"] == 300
