"""The incremental refresh adds only the changes to the stored counts, and must agree with the
full recompute to the last digit."""

import dataclasses
import datetime

import pytest
from django.db import transaction
from django.db.models import F

from fieldwork.exclusions import response_exclude, response_restore
from fieldwork.models import Response
from fieldwork.quotas import quota_set
from fieldwork.services import kiosk_create, round_create
from questionnaires.services import definition_files, questionnaire_load_file
from scoring.engine import compute_round
from scoring.models import ScorePending, ScoreRun, UnitCounts, UnitScore
from tests.base import make_unit, make_user
from tests.fieldwork.base import KioskTestCase
from tests.scoring.test_runs import _submit, _wait_for
from tests.workers import celery_worker
from units.models import Unit


def stored_counts(survey_round):
    return sorted(UnitCounts.objects.filter(round=survey_round).values_list("unit_id", "stratum", "counts"))


def figures(result):
    return [dataclasses.asdict(unit) for unit in result.units]


class IncrementalTests(KioskTestCase):
    def submit(self, unit=None, **answers):
        return _submit(unit or self.commune, self.kiosk, self.round, **answers)

    def test_adding_the_changes_gives_exactly_what_counting_everything_gives(self):
        quota_set(survey_round=self.round, unit=self.other_commune, target=1)
        first = [self.submit(**{"G.0": level}) for level in (5, 4, 2)]
        compute_round(self.round, full=True)

        self.submit(self.other_commune, **{"F1.2": 0, "E.FIELD": "justice"})
        self.submit(self.other_commune, **{"G.0": 1})  # over quota: not scored
        self.submit(self.commune_centre, **{"X.EXPECT": ["lower_fees", "other"]})
        response_exclude(response=first[0], reason="test", user=self.admin)
        response_exclude(response=first[1], reason="duplicate", user=self.admin)
        response_restore(response=first[1], user=self.admin)
        incremental = compute_round(self.round, full=False)
        counts_after_changes = stored_counts(self.round)
        full = compute_round(self.round, full=True)

        self.assertFalse(incremental.full)
        self.assertEqual(figures(incremental), figures(full))
        self.assertEqual(incremental.responses_used, full.responses_used)
        self.assertEqual(counts_after_changes, stored_counts(self.round))
        self.assertEqual(full.responses_used, 4)  # 6 stored, one excluded, one over quota

    def test_the_changes_are_taken_in_once(self):
        self.submit()
        self.assertEqual(ScorePending.objects.count(), 1)

        first = compute_round(self.round, full=False)  # nothing stored yet: counts in full
        again = compute_round(self.round, full=False)

        self.assertTrue(first.full)
        self.assertFalse(again.full)
        self.assertEqual(figures(first), figures(again))
        self.assertFalse(ScorePending.objects.exists())

    def test_a_unit_whose_only_response_is_excluded_disappears_as_in_a_full_count(self):
        only = self.submit(self.other_commune)
        self.submit()
        compute_round(self.round, full=True)

        response_exclude(response=only, reason="test", user=self.admin)
        incremental = compute_round(self.round, full=False)

        self.assertNotIn(self.other_commune.pk, [u.unit_id for u in incremental.units])
        self.assertEqual(figures(incremental), figures(compute_round(self.round, full=True)))


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
        _wait_for(lambda: ScoreRun.objects.filter(status="done").exists())
        first = ScoreRun.objects.get()
        assert first.full  # nothing was counted before: the first run counts everything

        # The next run may start a minute after this one did: pretend that minute has passed.
        ScoreRun.objects.filter(pk=first.pk).update(started_at=F("started_at") - datetime.timedelta(minutes=1))
        with transaction.atomic():
            _submit(other, kiosk, survey_round, **{"F1.2": 0})
            _submit(other, kiosk, survey_round, **{"G.0": 1})  # over quota
            response_exclude(response=responses[1], reason="test", user=admin)
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
        self.assertEqual(compute_round(self.round, full=True).responses_used, 1)

        round_update(survey_round=self.round, score_over_quota=True)
        refreshed = compute_round(self.round, full=False)

        self.assertTrue(refreshed.full)
        self.assertEqual(refreshed.responses_used, 2)
