import io
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from fieldwork.models import Quota, Response
from fieldwork.quotas import QuotaError, quota_set
from fieldwork.services import kiosk_create, kiosk_issue_token, round_create
from questionnaires.services import definition_files, questionnaire_load_file
from tests.base import make_unit
from tests.fieldwork.base import KioskTestCase, full_answers
from units.models import Unit


class QuotaTests(KioskTestCase):
    def fill(self, n, **answers):
        return [self.post(self.payload(answers=full_answers(**answers))) for _ in range(n)]

    def test_responses_count_in_quota_until_it_is_full_then_are_flagged(self):
        quota = quota_set(survey_round=self.round, unit=self.commune, target=2)

        statuses = [r.status_code for r in self.fill(3)]

        self.assertEqual(statuses, [201, 201, 201])
        quota.refresh_from_db()
        self.assertEqual((quota.filled, quota.over), (2, 1))
        self.assertEqual(list(Response.objects.order_by("received_at").values_list("over_quota", flat=True)),
                         [False, False, True])

    def test_a_close_policy_refuses_with_a_clear_message_once_full(self):
        quota_set(survey_round=self.round, unit=self.commune, target=1, policy="close")

        first, second = self.fill(2)

        self.assertEqual((first.status_code, second.status_code), (201, 409))
        self.assertIn("quota", second.json()["errors"])
        self.assertEqual(Response.objects.count(), 1)

    def test_a_response_queued_offline_is_stored_and_flagged_even_under_a_close_policy(self):
        quota_set(survey_round=self.round, unit=self.commune, target=1, policy="close")
        self.fill(1)
        long_ago = timezone.now() - timezone.timedelta(hours=3)

        late = self.post(self.payload(started_at=(long_ago - timezone.timedelta(minutes=4)).isoformat(),
                                      submitted_at=long_ago.isoformat()))

        self.assertEqual(late.status_code, 201)
        self.assertTrue(Response.objects.get(pk=late.json()["id"]).over_quota)

    def test_a_stratum_quota_counts_only_its_stratum(self):
        land = quota_set(survey_round=self.round, unit=self.commune, target=5, stratum_item="E.FIELD",
                         stratum_value="land")

        self.fill(2, **{"E.FIELD": "land"})
        self.fill(1, **{"E.FIELD": "construction"})

        land.refresh_from_db()
        self.assertEqual(land.filled, 2)

    def test_a_parent_quota_counts_responses_from_its_sub_units(self):
        province = quota_set(survey_round=self.round, unit=self.province, target=10)
        commune = quota_set(survey_round=self.round, unit=self.commune, target=1)

        self.fill(2)

        province.refresh_from_db()
        commune.refresh_from_db()
        # The second response found the commune's quota full: it counts in neither.
        self.assertEqual((province.filled, commune.filled, commune.over), (1, 1, 1))

    def test_a_retry_of_an_in_quota_response_does_not_take_a_second_place(self):
        quota = quota_set(survey_round=self.round, unit=self.commune, target=1, policy="close")
        body = self.payload()

        statuses = [self.post(body).status_code for _ in range(3)]

        self.assertEqual(statuses, [201, 200, 200])
        quota.refresh_from_db()
        self.assertEqual(quota.filled, 1)

    def test_the_target_cannot_go_below_the_responses_already_counted(self):
        quota_set(survey_round=self.round, unit=self.commune, target=3)
        self.fill(2)

        with pytest.raises(QuotaError, match="2 responses are already in this quota"):
            quota_set(survey_round=self.round, unit=self.commune, target=1)

    def test_a_stratum_must_be_a_screening_question_and_one_of_its_answers(self):
        with pytest.raises(QuotaError, match="not 'F1.1'"):
            quota_set(survey_round=self.round, unit=self.commune, target=3, stratum_item="F1.1", stratum_value="4")
        with pytest.raises(QuotaError, match="'fishing' is not an answer to E.FIELD"):
            quota_set(survey_round=self.round, unit=self.commune, target=3, stratum_item="E.FIELD",
                      stratum_value="fishing")

    def test_a_quota_outside_the_round_is_refused(self):
        with pytest.raises(QuotaError, match="not covered by round"):
            quota_set(survey_round=self.round, unit=self.another_province, target=3)

    def test_quota_set_sets_and_changes_a_quota_from_the_command_line(self):
        out = io.StringIO()

        call_command("quota_set", "--round", str(self.round.pk), "--unit", "02212", "--target", "40",
                     "--stratum", "D.GENDER=female", "--policy", "close", stdout=out)
        call_command("quota_set", "--round", str(self.round.pk), "--unit", "02212", "--target", "50",
                     "--stratum", "D.GENDER=female", stdout=out)

        quota = Quota.objects.get()
        self.assertEqual((quota.target, quota.stratum_item, quota.stratum_value, quota.policy),
                         (50, "D.GENDER", "female", ""))
        self.assertIn("flag when full", out.getvalue())

    def test_quota_set_names_what_is_wrong(self):
        with pytest.raises(CommandError, match="unknown round 999"):
            call_command("quota_set", "--round", "999", "--unit", "02212", "--target", "4")
        with pytest.raises(CommandError, match="FIELD=VALUE"):
            call_command("quota_set", "--round", str(self.round.pk), "--unit", "02212", "--target", "4",
                         "--stratum", "E.FIELD")


@pytest.fixture
def quota_scene(transactional_db):
    for path in definition_files():
        questionnaire_load_file(path=path)
    province = make_unit("08", level=Unit.Level.PROVINCE)
    commune = make_unit("02212", province)
    survey_round = round_create(name="Đợt 1", questionnaire_code="sipas-2017", unit_code="08", open_now=True)
    tokens = []
    for i in range(50):
        kiosk, _ = kiosk_create(unit=commune, name=f"Quầy {i}")
        tokens.append(kiosk_issue_token(kiosk=kiosk))
    return survey_round, commune, tokens


def _send_concurrently(live_server, survey_round, tokens):
    def send(token):
        now = timezone.now()
        body = json.dumps({
            "id": str(uuid.uuid4()), "round": survey_round.pk, "questionnaire": "sipas-2017",
            "started_at": (now - timezone.timedelta(minutes=2)).isoformat(), "submitted_at": now.isoformat(),
            "language": "vi", "answers": full_answers(),
        }).encode()
        request = Request(f"{live_server.url}/api/kiosk/v1/responses", data=body, method="POST",
                          headers={"Content-Type": "application/json", "Authorization": f"Kiosk {token}"})
        # Fifty connections at once can overflow the test server's listen queue on a busy machine:
        # a reset connection is sent again with the same body, as the kiosk does (same id: stored once).
        for attempt in range(5):
            try:
                with urlopen(request, timeout=60) as response:
                    return response.status, json.loads(response.read())
            except HTTPError as error:
                return error.code, json.loads(error.read())
            except (ConnectionError, URLError):
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        return list(pool.map(send, tokens))


@pytest.mark.parametrize("policy", ["flag", "close"])
def test_fifty_concurrent_submissions_never_overshoot_a_quota_with_five_places_left(quota_scene, live_server,
                                                                                     policy):
    survey_round, commune, tokens = quota_scene
    quota = quota_set(survey_round=survey_round, unit=commune, target=5, policy=policy)

    results = _send_concurrently(live_server, survey_round, tokens)

    quota.refresh_from_db()
    in_quota = Response.objects.filter(round=survey_round, over_quota=False).count()
    assert (quota.filled, in_quota) == (5, 5)
    # 200: a resent request whose first answer was lost (see _send_concurrently) found its response stored.
    statuses = sorted(201 if status == 200 else status for status, _ in results)
    if policy == "flag":
        assert statuses == [201] * 50
        assert Response.objects.filter(over_quota=True).count() == 45
    else:
        assert statuses == [201] * 5 + [409] * 45
        assert all("quota" in body["errors"] for status, body in results if status == 409)
        assert Response.objects.count() == 5


class KioskQuotaScreeningTests(KioskTestCase):
    def questionnaire(self):
        return self.client.get("/api/kiosk/v1/questionnaire", HTTP_AUTHORIZATION=f"Kiosk {self.token}").json()

    def test_a_full_closing_stratum_is_named_to_the_kiosk(self):
        quota_set(survey_round=self.round, unit=self.province, target=1, stratum_item="E.FIELD",
                  stratum_value="land", policy="close")
        self.post(self.payload(answers=full_answers(**{"E.FIELD": "land"})))

        data = self.questionnaire()

        self.assertEqual(data["closed_strata"], [{"item": "E.FIELD", "value": "land"}])
        self.assertIsNotNone(data["round"])

    def test_a_full_flagging_quota_closes_nothing(self):
        quota_set(survey_round=self.round, unit=self.commune, target=1, policy="flag")
        self.post(self.payload())

        data = self.questionnaire()

        self.assertEqual((data["closed_strata"], data["quota_full"]), ([], False))
        self.assertIsNotNone(data["round"])

    def test_a_full_closing_unit_quota_shows_no_survey(self):
        self.round.quota_policy = "close"
        self.round.save()
        quota_set(survey_round=self.round, unit=self.commune, target=1)
        self.post(self.payload())

        data = self.questionnaire()

        self.assertTrue(data["quota_full"])
        self.assertIsNone(data["round"])


class QuotaRecountTests(KioskTestCase):
    def test_the_recount_agrees_with_the_counters_kept_while_claiming(self):
        from fieldwork.models import QuotaDay
        from fieldwork.quotas import quota_recount

        quota_set(survey_round=self.round, unit=self.province, target=3, stratum_item="E.FIELD", stratum_value="land")
        quota_set(survey_round=self.round, unit=self.commune, target=4)
        for field in ("land", "land", "construction", "land", "land"):
            self.post(self.payload(answers=full_answers(**{"E.FIELD": field})))

        def snapshot():
            return (sorted(Quota.objects.values_list("pk", "filled")),
                    sorted(QuotaDay.objects.values_list("quota", "day", "responses")))

        kept = snapshot()
        quota_recount(survey_round=self.round)
        recounted = snapshot()
        Quota.objects.update(filled=0)
        QuotaDay.objects.all().delete()
        call_command("quota_recount", "--round", str(self.round.pk), stdout=io.StringIO())

        self.assertEqual(recounted, kept)
        self.assertEqual(snapshot(), kept)
        self.assertEqual(sorted(f for _, f in kept[0]), [3, 4])
