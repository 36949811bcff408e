"""Counting a round's responses (scoring.counting): which responses count, pooled over the tree, and
the two forms of the count (lookup arrays in full, FILTERs over the pending changes), alone or split
over connections."""

import dataclasses
from unittest import mock

import pytest
from django.utils import timezone

from fieldwork.exclusions import response_exclude
from fieldwork.models import Exclusion, Response
from fieldwork.quotas import quota_set
from fieldwork.services import round_create
from questionnaires.answers import pack_answers
from questionnaires.services import definition_files, questionnaire_load_file
from scoring.engine import compute_round
from tests.base import make_unit
from tests.fieldwork.base import full_answers
from tests.scoring.base import EngineTestCase
from units.models import Unit


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


class CountingFormTests(EngineTestCase):
    """The full count reads lookup arrays; the refresh counts pending changes with one FILTER per
    count. They must give the same counts for any value a slot may hold."""

    def test_the_lookup_count_and_the_filter_count_agree_even_on_values_out_of_range(self):
        from django.db import connection, transaction

        from fieldwork.models import ResponseChange
        from scoring.counting import Counters, count_responses

        definition = self.round.questionnaire.parsed
        at = definition.positions
        self.insert(self.round, self.commune, full_answers(**{"X.EXPECT": ["lower_fees", "other"]}), count=3)
        self.insert(self.round, self.other_commune, full_answers(**{"F1.2": 0, "E.FIELD": "justice"}), count=2)
        odd = pack_answers(definition, full_answers()).slots
        for code, value in [("F1.1", 7), ("F1.3", -1), ("E.FIELD", 99), ("E.VISITS", 0), ("E.EXTRA_PAY", 3),
                            ("E.INFO", 1 << 12), ("X.EXPECT", -5), ("F2.1", None)]:
            odd[at[code] - 1] = value
        Response.objects.create(round=self.round, unit=self.commune,
                                channel=Response.Channel.PAPER,
                                paper_entry=Response.PaperEntry.TYPED, language="vi", submitted_at=timezone.now(),
                                received_at=timezone.now(), answers=odd)
        for response in Response.objects.filter(round=self.round):
            ResponseChange.objects.create(round=self.round, response=response, sign=1)

        def key(row):
            unit_id, dimension, value, vector = row
            return unit_id, dimension, -1 if value is None else value

        def both_ways(counters):
            with connection.cursor() as cursor:
                lookups = sorted(((unit_id, dimension, value, list(vector)) for unit_id, dimension, value, vector
                                  in count_responses(cursor, self.round, counters, by_field=True)), key=key)
                cursor.execute(counters.sql(delta=True), [self.round.pk, False])
                filters = sorted(((unit_id, dimension, value, list(vector)) for unit_id, dimension, value, vector
                                  in map(counters.split_row, cursor.fetchall())), key=key)
            return lookups, filters

        with transaction.atomic():  # the delta count consumes the changes: count the main layout first
            main, main_filters = both_ways(Counters(definition))
            transaction.set_rollback(True)
        self.assertEqual(main, main_filters)
        self.assertEqual({row[1] for row in main}, {""})  # a run counts the main counts only
        counters = Counters(definition, breakdowns=True)
        lookups, filters = both_ways(counters)
        self.assertEqual(lookups, filters)
        fields = [row for row in lookups if row[1] == "field"]
        self.assertEqual(len(fields), 3)  # the commune's land and its odd field 99, the other commune's justice
        # every breakdown the version gives, each from the same single pass, and no main counts
        self.assertEqual({row[1] for row in lookups}, {"field", "level", "filing_channel", "collection_channel",
                                                       "gender", "age"})
        # the main counts by service field are the service-field cells, row for row
        self.assertEqual([(row[0], row[2], row[3]) for row in main], [(row[0], row[2], row[3]) for row in fields])
        odd_row = next(vector for unit_id, dimension, stratum, vector in fields if stratum == 99)
        self.assertEqual(counters.get(odd_row, "valid", "F1.1"), 0)  # 7 is no satisfaction level
        self.assertEqual(counters.get(odd_row, "answered", "E.FIELD"), 0)  # 99 is no option
        self.assertEqual(counters.get(odd_row, "answered", "E.VISITS"), 1)  # 0: answered, no option chosen
        self.assertEqual(counters.get(odd_row, "answered", "E.INFO"), 0)  # a bit past its options


@pytest.mark.django_db(transaction=True)
def test_a_count_split_over_three_connections_gives_what_one_connection_gives(django_user_model):
    from django.test import override_settings

    from scoring import counting

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
                             channel=Response.Channel.PAPER,
                             paper_entry=Response.PaperEntry.TYPED, language="vi", submitted_at=now, received_at=now,
                             answers=pack_answers(definition, answers).slots, over_quota=i % 7 == 0))
    Response.objects.bulk_create(rows)

    with override_settings(SCORING_COUNT_CONNECTIONS=1):
        alone = compute_round(survey_round)
    with (override_settings(SCORING_COUNT_CONNECTIONS=3, SCORING_SPLIT_MIN_BLOCKS=0),
          mock.patch.object(counting, "_count_part", wraps=counting._count_part) as parts):
        split = compute_round(survey_round)

    assert parts.call_count == 2  # the other two thirds, each on a connection of its own
    assert dataclasses.asdict(split) == dataclasses.asdict(alone)
    assert split.responses_used == 600 - 86  # every seventh over quota


@pytest.mark.django_db(transaction=True)
def test_a_part_whose_connection_fails_is_counted_on_the_main_connection(django_user_model):
    from django.db import OperationalError
    from django.test import override_settings

    from scoring import counting

    for path in definition_files():
        questionnaire_load_file(path=path)
    province = make_unit("08", level=Unit.Level.PROVINCE)
    commune = make_unit("02212", province)
    survey_round = round_create(name="Quý IV/2026", questionnaire_code="sipas-2017", unit_code="08", open_now=True)
    slots = pack_answers(survey_round.questionnaire.parsed, full_answers()).slots
    now = timezone.now()
    Response.objects.bulk_create([
        Response(round=survey_round, unit=commune, answers=slots,
                 channel=Response.Channel.PAPER,
                 paper_entry=Response.PaperEntry.TYPED, language="vi", submitted_at=now, received_at=now)
        for _ in range(300)
    ])

    with (override_settings(SCORING_COUNT_CONNECTIONS=2, SCORING_SPLIT_MIN_BLOCKS=0),
          mock.patch.object(counting, "_count_part", side_effect=OperationalError("too many clients")) as part):
        result = compute_round(survey_round)

    assert part.call_count == 1
    assert result.responses_used == 300
    assert next(u for u in result.units if u.unit_id == commune.pk).items["F1.1"]["n"] == 300
