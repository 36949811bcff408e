"""The score read API: ``GET /api/v1/scores/<round id>/<unit code>``."""

import io

from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from fieldwork.responses import response_submit
from scoring.models import ApiToken, ScoreRun, UnitScore
from scoring.services import api_token_create, score_run_execute
from tests.fieldwork.base import KioskTestCase

KEYS = {"round", "unit", "unit_name", "n", "enough", "headline", "weighted_headline", "factors", "items",
        "indicators", "expectations", "rank", "rank_of", "change", "block", "computed_at", "responses_used", "run"}


class ScoreApiTestCase(KioskTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.score_run = ScoreRun.objects.create(
            round=cls.round, status="done", reason="test", started_at=timezone.now(), finished_at=timezone.now(),
            units_total=2, units_done=2, responses_used=412)
        cls.score = UnitScore.objects.create(
            run=cls.score_run, round=cls.round, unit=cls.commune, n=412, enough=True,
            headline=86.54321, headline_low=83.1, headline_high=89.4, weighted_headline=None,
            factors={"F1": {"value": 84.2, "n": 410}},
            items={"F1.1": {"n": 410, "satisfied": 350, "rate": 85.36585365853658, "ci": [81.6, 88.4]}},
            indicators={"E.VISITS": {"1": 78.8, "2": 21.2, "n": 400}},
            expectations=[{"code": "faster", "count": 120, "share": 29.1}],
            rank=3, rank_of=12, change_points=3.13, change_places=-5, computed_at=timezone.now(),
        )

    def url(self, round_id=None, code="02212"):
        return f"/api/v1/scores/{round_id or self.round.pk}/{code}"

    def get_as(self, user, **kwargs):
        self.client.force_login(user)
        return self.client.get(self.url(**kwargs))


class SessionTests(ScoreApiTestCase):
    def test_the_head_of_the_unit_reads_its_scores(self):
        response = self.get_as(self.head)

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Cache-Control"], "private, no-store")
        body = response.json()
        self.assertEqual(set(body), KEYS)
        self.assertEqual(body["round"], self.round.pk)
        self.assertEqual(body["unit"], "02212")
        self.assertEqual((body["n"], body["enough"], body["rank"], body["rank_of"]), (412, True, 3, 12))
        self.assertEqual(body["headline"], {"value": 86.54321, "ci": [83.1, 89.4]})  # unrounded
        self.assertIsNone(body["weighted_headline"]["value"])
        self.assertEqual(body["factors"], {"F1": {"value": 84.2, "n": 410}})
        self.assertEqual(body["items"]["F1.1"]["rate"], 85.36585365853658)
        self.assertEqual(body["indicators"]["E.VISITS"]["1"], 78.8)
        self.assertEqual(body["expectations"][0]["code"], "faster")
        self.assertEqual(body["change"], {"points": 3.13, "places": -5})
        self.assertEqual(timezone.datetime.fromisoformat(body["computed_at"]), self.score.computed_at)
        # The round covers the province: a commune's head does not see the round's whole count.
        self.assertEqual((body["responses_used"], body["run"]), (None, self.score_run.pk))

    def test_a_head_of_the_rounds_unit_sees_the_rounds_response_count(self):
        body = self.get_as(self.province_head).json()

        self.assertEqual((body["n"], body["responses_used"]), (412, 412))

    def test_a_head_of_the_province_and_a_superuser_read_it_too(self):
        for user in (self.province_head, self.province_admin, self.admin):
            with self.subTest(user=user.username):
                self.assertEqual(self.get_as(user).status_code, 200)

    def test_someone_without_the_scores_capability_on_the_unit_gets_404(self):
        for user in (self.other_head, self.officer, self.province_officer, self.far_officer, self.nobody):
            with self.subTest(user=user.username):
                response = self.get_as(user)
                self.assertEqual(response.status_code, 404)
                self.assertEqual(response.json(), {"error": "not found"})

    def test_an_unknown_round_or_unit_or_a_unit_outside_the_round_is_404(self):
        for kwargs in ({"round_id": 987654}, {"code": "99999"}, {"code": "10"}):
            with self.subTest(**kwargs):
                response = self.get_as(self.admin, **kwargs)
                self.assertEqual(response.status_code, 404)
                self.assertEqual(response.json(), {"error": "not found"})

    def test_a_unit_without_stored_scores_is_404_saying_so(self):
        response = self.get_as(self.province_head, code="02230")

        self.assertEqual(response.status_code, 404)
        self.assertEqual(response.json(), {"error": "no scores computed yet"})

    def test_a_unit_the_user_may_not_see_is_404_even_without_scores(self):
        response = self.get_as(self.head, code="02230")

        self.assertEqual(response.json(), {"error": "not found"})

    def test_anonymous_requests_get_401(self):
        response = self.client.get(self.url())

        self.assertEqual(response.status_code, 401)
        self.assertEqual(response["WWW-Authenticate"], "Token")
        self.assertIn("Authorization: Token", response.json()["error"])

    def test_only_get_is_allowed(self):
        self.client.force_login(self.head)

        self.assertEqual(self.client.post(self.url()).status_code, 405)


class TokenTests(ScoreApiTestCase):
    def get_with(self, key, **kwargs):
        return Client().get(self.url(**kwargs), HTTP_AUTHORIZATION=f"Token {key}")

    def test_a_token_from_the_command_reads_the_scores(self):
        out = io.StringIO()
        call_command("api_token_create", "head", stdout=out)
        key = out.getvalue().strip().splitlines()[-1]

        response = self.get_with(key)

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["n"], 412)
        token = ApiToken.objects.get(user=self.head)
        self.assertNotIn(key, token.key_hash)
        self.assertEqual(len(token.key_hash), 64)
        self.assertIsNotNone(token.last_used_at)

    def test_the_token_carries_the_permissions_of_its_user(self):
        _, key = api_token_create(user=self.other_head)

        self.assertEqual(self.get_with(key).status_code, 404)
        self.assertEqual(self.get_with(key, code="02230").json(), {"error": "no scores computed yet"})

    def test_an_unknown_or_revoked_token_or_another_scheme_is_401(self):
        token, key = api_token_create(user=self.head)
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
        for header in (f"Token {key}", "Token nonsense", "Token ", f"Bearer {key}"):
            with self.subTest(header=header):
                response = Client().get(self.url(), HTTP_AUTHORIZATION=header)
                self.assertEqual(response.status_code, 401)

    def test_a_token_of_a_deactivated_user_is_401(self):
        _, key = api_token_create(user=self.head)
        self.head.is_active = False
        self.head.save()

        self.assertEqual(self.get_with(key).status_code, 401)


class ComputedScoresTests(KioskTestCase):
    def test_the_api_answers_what_the_engine_stored(self):
        for level in (5, 4, 2) * 10:  # 30 responses: the minimum for figures to be shown
            response_submit(unit=self.commune, kiosk=self.kiosk, payload=self.payload(
                answers={**self.payload()["answers"], "F1.1": level}))
        run = ScoreRun.objects.create(round=self.round, reason="test")
        run = score_run_execute(run_id=run.pk)
        self.assertEqual(run.status, "done", run.error)
        stored = UnitScore.objects.get(round=self.round, unit=self.commune)
        self.client.force_login(self.head)

        body = self.client.get(f"/api/v1/scores/{self.round.pk}/02212").json()

        self.assertEqual((body["n"], body["responses_used"], body["run"]), (30, None, run.pk))  # a commune's head
        self.assertEqual(body["n"], stored.n)
        self.assertEqual(body["headline"]["value"], stored.headline)
        self.assertEqual(body["items"], stored.items)
        self.assertEqual(body["factors"], stored.factors)
        self.assertEqual(body["indicators"], stored.indicators)
        self.assertEqual(body["items"]["F1.1"]["satisfied"], 20)
        self.assertTrue(body["enough"])
        self.assertNotIn("withheld", body)
