"""The incremental refresh adds only the changes to the stored counts, and must agree with the
full recompute to the last digit."""

import dataclasses
import datetime

import pytest
from django.db import transaction
from django.db.models import F

from fieldwork.exclusions import response_exclude, response_restore
from fieldwork.models import Response, ResponseChange
from fieldwork.quotas import quota_set
from fieldwork.responses import response_submit
from fieldwork.services import kiosk_create, round_create
from questionnaires.services import definition_files, questionnaire_load_file
from scoring import breakdowns
from scoring.engine import compute_round
from scoring.models import BreakdownCount, ScoreRun, UnitCounts, UnitScore
from scoring.services import score_run_execute, score_runs_poll
from tests.base import make_unit, make_user
from tests.fieldwork.base import KioskTestCase, full_answers
from tests.scoring.test_runs import _submit, _wait_for
from tests.workers import celery_worker
from units.models import Unit


def stored_counts(survey_round):
    rows = UnitCounts.objects.filter(round=survey_round)
    return sorted(rows.values_list("unit_id", "dimension", "stratum", "counts"))


def figures(result):
    return [dataclasses.asdict(unit) for unit in result.units]


STORED = ("unit_id", "n", "enough", "withheld", "headline", "headline_low", "headline_high", "weighted_headline",
          "factors", "items", "indicators", "expectations", "rank", "rank_of", "change_points", "change_places")


def stored_scores(survey_round):
    return sorted(UnitScore.objects.filter(round=survey_round).values_list(*STORED))


def full_scores(survey_round):
    """What a full recompute stores, computed afresh."""
    rows = []
    for u in compute_round(survey_round, full=True).units:
        low, high = u.headline_ci or (None, None)
        rows.append((u.unit_id, u.n, u.enough, u.withheld, u.headline, low, high, u.weighted_headline, u.factors,
                     u.items, u.indicators, u.expectations, u.rank, u.rank_of, u.change_points, u.change_places))
    return sorted(rows)


def refresh(survey_round, reason="responses"):
    """A score run through the job machinery: full for "command", else the changes only."""
    from scoring.services import score_run_execute

    run = ScoreRun.objects.create(round=survey_round, reason=reason)
    return score_run_execute(run_id=run.pk)


class IncrementalTests(KioskTestCase):
    def submit(self, unit=None, **answers):
        return _submit(unit or self.commune, self.kiosk, self.round, **answers)

    def test_adding_the_changes_gives_exactly_what_counting_everything_gives(self):
        quota_set(survey_round=self.round, unit=self.other_commune, target=1)
        first = [self.submit(**{"G.0": level}) for level in (5, 4, 2)]
        self.assertTrue(refresh(self.round, "command").full)

        self.submit(self.other_commune, **{"F1.2": 0, "E.FIELD": "justice"})
        self.submit(self.other_commune, **{"G.0": 1})  # over quota: not scored
        self.submit(self.commune_centre, **{"X.EXPECT": ["lower_fees", "other"]})
        response_exclude(response=first[0], reason="test", user=self.admin)
        response_exclude(response=first[1], reason="duplicate", user=self.admin)
        response_restore(response=first[1], user=self.admin)
        run = refresh(self.round)
        after_changes, counts_after_changes = stored_scores(self.round), stored_counts(self.round)

        self.assertEqual((run.status, run.full, run.error), ("done", False, ""))
        self.assertEqual(after_changes, full_scores(self.round))
        self.assertEqual(counts_after_changes, stored_counts(self.round))
        self.assertEqual(run.responses_used, 4)  # 6 stored, one excluded, one over quota

    def test_a_refresh_returns_only_the_units_the_changes_touched(self):
        self.submit(self.other_commune)
        refresh(self.round, "command")

        self.submit()
        result = compute_round(self.round, full=False)

        self.assertEqual(sorted(u.unit_id for u in result.units), sorted([self.province.pk, self.commune.pk]))

    def test_the_changes_are_taken_in_once(self):
        self.submit()
        self.assertEqual(ResponseChange.objects.count(), 1)

        first = refresh(self.round)  # nothing stored yet: counts in full
        stored = stored_scores(self.round)
        again = refresh(self.round)

        self.assertEqual((first.full, again.full), (True, False))
        self.assertEqual(stored_scores(self.round), stored)
        self.assertFalse(ResponseChange.objects.exists())

    def test_a_unit_whose_only_response_is_excluded_disappears_as_in_a_full_count(self):
        only = self.submit(self.other_commune)
        self.submit()
        refresh(self.round, "command")

        response_exclude(response=only, reason="test", user=self.admin)
        refresh(self.round)

        self.assertNotIn(self.other_commune.pk, [row[0] for row in stored_scores(self.round)])
        self.assertEqual(stored_scores(self.round), full_scores(self.round))

    def test_a_sibling_whose_place_moves_gets_its_new_rank(self):
        from fieldwork.models import Round

        # Ranks need 30 responses a unit: lower the minimum on this round's questionnaire copy.
        Round.objects.filter(pk=self.round.pk).update(questionnaire=_copy_with_minimum(self.round, 1))
        self.round.refresh_from_db()
        third = make_unit("02251", self.province)

        def submit(unit, level):
            payload = self.payload(questionnaire=self.round.questionnaire.code, answers=full_answers(**{"G.0": level}))
            response_submit(unit=unit, kiosk=self.kiosk, payload=payload)

        submit(self.commune, 5)  # 100
        submit(self.other_commune, 2)  # 0, tied second with the third commune
        submit(third, 2)
        refresh(self.round, "command")

        submit(third, 5)
        submit(third, 5)  # the third commune: 2 of 3 satisfied, 66.7: second, pushing 02230 to third
        refresh(self.round)

        self.assertEqual(stored_scores(self.round), full_scores(self.round))
        ranks = dict(UnitScore.objects.filter(round=self.round).values_list("unit__code", "rank"))
        self.assertEqual((ranks["02212"], ranks["02251"], ranks["02230"]), (1, 2, 3))


def _copy_with_minimum(survey_round, minimum):
    import copy

    from questionnaires.services import questionnaire_load

    doc = copy.deepcopy(survey_round.questionnaire.definition)
    doc["code"] = f"{doc['code']}-min{minimum}"
    doc["scoring"]["min_responses"] = minimum
    questionnaire_load(doc=doc)
    from questionnaires.models import QuestionnaireVersion

    return QuestionnaireVersion.objects.get(code=doc["code"])


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_refreshes_incrementally_and_agrees_with_the_full_recompute(django_user_model):
    for path in definition_files():
        questionnaire_load_file(path=path)
    province = make_unit("08", level=Unit.Level.PROVINCE)
    commune, other = make_unit("02212", province), make_unit("02230", province)
    admin = make_user("root", superuser=True)
    survey_round = round_create(name="Quý IV/2026", questionnaire_code="sipas-2017", unit_code="08", open_now=True)
    quota_set(survey_round=survey_round, unit=other, target=1)
    kiosk, _ = kiosk_create(unit=commune, name="Quầy 1")

    with celery_worker():
        with transaction.atomic():  # one run for both (the worker cannot start before they commit)
            responses = [_submit(commune, kiosk, survey_round, **{"G.0": g}) for g in (5, 3)]
        score_runs_poll()  # the beat's poll (tests/scoring/test_poll.py runs a real beat)
        _wait_for(lambda: ScoreRun.objects.filter(status="done").exists())
        first = ScoreRun.objects.get()
        assert first.full  # nothing was counted before: the first run counts everything
        assert breakdowns.counts_poll() == [survey_round.pk]  # the cells follow the run, on the worker
        _wait_for(lambda: BreakdownCount.objects.filter(round=survey_round, counted_at__isnull=False).exists())
        assert BreakdownCount.objects.get(round=survey_round).responses == 2

        # The next run may start a minute after this one did: pretend that minute has passed.
        ScoreRun.objects.filter(pk=first.pk).update(started_at=F("started_at") - datetime.timedelta(minutes=1))
        with transaction.atomic():
            _submit(other, kiosk, survey_round, **{"F1.2": 0})
            _submit(other, kiosk, survey_round, **{"G.0": 1})  # over quota
            response_exclude(response=responses[1], reason="test", user=admin)
        score_runs_poll()
        _wait_for(lambda: ScoreRun.objects.filter(status="done").count() == 2)

    second = ScoreRun.objects.exclude(pk=first.pk).get()
    assert (second.status, second.full, second.error) == ("done", False, "")
    assert Response.objects.filter(over_quota=True).count() == 1
    stored = {s.unit_id: (s.n, s.headline, s.items, s.factors, s.rank) for s in UnitScore.objects.all()}
    full = compute_round(survey_round, full=True)
    assert stored == {u.unit_id: (u.n, u.headline, u.items, u.factors, u.rank) for u in full.units}
    assert stored[province.pk][0] == 2  # one left in the commune, one in quota in the other



class CountingRuleChangeTests(KioskTestCase):
    def test_changing_whether_over_quota_responses_count_makes_the_next_run_count_everything(self):
        from fieldwork.services import round_update

        quota_set(survey_round=self.round, unit=self.commune, target=1)
        _submit(self.commune, self.kiosk, self.round)
        _submit(self.commune, self.kiosk, self.round)  # over quota
        self.assertEqual(refresh(self.round).responses_used, 1)  # counts stored under the rule that leaves it out
        ScoreRun.objects.update(started_at=F("started_at") - datetime.timedelta(minutes=1))

        round_update(survey_round=self.round, score_over_quota=True)
        self.round.refresh_from_db()
        self.assertIsNotNone(self.round.counts_reset_at)  # fieldwork records it, with the rule
        self.assertEqual(score_runs_poll(), [self.round.pk])  # the poll sees it
        run = ScoreRun.objects.get(status="queued")
        run = score_run_execute(run_id=run.pk)

        self.assertEqual((run.status, run.full, run.responses_used), ("done", True, 2))
        self.assertEqual(stored_scores(self.round), full_scores(self.round))  # made under the new rule
        self.round.refresh_from_db()
        self.assertIsNone(self.round.counts_reset_at)  # taken: the next run adds changes only
        self.assertEqual(score_runs_poll(), [])


class ByFieldTests(KioskTestCase):
    def test_with_a_dossier_list_the_counts_are_split_by_field_and_still_agree(self):
        import datetime as dt

        from fieldwork.models import Dossier, DossierList

        first = _submit(self.commune, self.kiosk, self.round, **{"E.FIELD": "land", "G.0": 5})
        refresh(self.round, "command")  # no dossier list yet: one main vector per unit
        self.assertFalse(UnitCounts.objects.filter(round=self.round, dimension="", stratum__gte=0).exists())
        dossiers = DossierList.objects.create(round=self.round, name="Quý IV", imported_by=self.admin)
        for i, field in enumerate(["land", "land", "justice"]):
            Dossier.objects.create(dossier_list=dossiers, code=f"HS-{i}", unit=self.commune, service_field=field,
                                   completed_on=dt.date(2026, 11, 2))

        _submit(self.commune, self.kiosk, self.round, **{"E.FIELD": "justice", "G.0": 2})
        response_exclude(response=first, reason="test", user=self.admin)
        _submit(self.commune, self.kiosk, self.round, **{"E.FIELD": "land", "G.0": 4})
        run = refresh(self.round)  # the list needs counts by field: this run counts everything

        self.assertTrue(run.full)
        after = stored_scores(self.round)
        _submit(self.commune, self.kiosk, self.round, **{"E.FIELD": "justice", "G.0": 5})
        self.assertFalse(refresh(self.round).full)
        self.assertEqual(stored_scores(self.round), full_scores(self.round))
        self.assertNotEqual(after, stored_scores(self.round))
        weighted = UnitScore.objects.get(round=self.round, unit=self.commune).weighted_headline
        self.assertAlmostEqual(weighted, 2 / 3 * 100 + 1 / 3 * 50)  # land 100 % (1 of 1), justice 50 % (1 of 2)
