"""Score-API tokens in the web pages: listed with their last use, created (key shown once), revoked
by their owner or by an administrator of the owner's units, and refused by the API at once."""

from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from scoring.models import ApiToken
from scoring.services import api_token_create, api_token_user
from tests.base import make_user
from tests.scoring.test_api import ScoreApiTestCase


class ApiTokenPageTests(ScoreApiTestCase):
    def api(self, key):
        return Client().get(self.url(), HTTP_AUTHORIZATION=f"Token {key}")

    def test_the_top_menu_links_to_the_tokens_page_in_vietnamese_by_default(self):
        browser = Client()
        browser.force_login(self.head)

        home = browser.get(reverse("home"))
        page = browser.get(reverse("api-tokens"))

        self.assertContains(home, f'href="{reverse("api-tokens")}"')
        self.assertContains(page, "Khoá API của bạn")

    def test_a_user_sees_their_own_tokens_and_when_each_was_last_used(self):
        used, key = api_token_create(user=self.head, name="Bảng điều khiển tỉnh")
        api_token_create(user=self.head, name="Thử nghiệm")
        api_token_create(user=self.other_head, name="Someone else's")
        self.api(key)
        used.refresh_from_db()
        self.client.force_login(self.head)

        # session, user, the user's administrator roles (none), the tokens with their users
        with self.assertNumQueries(4):
            page = self.client.get(reverse("api-tokens"))

        self.assertContains(page, "Bảng điều khiển tỉnh")
        self.assertContains(page, "Thử nghiệm")
        self.assertNotContains(page, "Someone else")
        last_used = timezone.localtime(used.last_used_at).strftime("%d/%m/%Y %H:%M")
        self.assertContains(page, f'<td data-label="Last used">{last_used}</td>', html=True)
        self.assertContains(page, '<td data-label="Last used">never</td>', html=True)
        self.assertEqual(page["Cache-Control"], "no-store, private")

    def test_creating_a_token_shows_its_key_once_and_keeps_only_its_hash(self):
        self.client.force_login(self.head)

        created = self.client.post(reverse("api-token-create"), {"name": "Bảng điều khiển"})
        key = created.context["new_key"]
        later = self.client.get(reverse("api-tokens"))

        self.assertContains(created, key)
        self.assertContains(created, "it is not shown again")
        self.assertNotContains(later, key)
        token = ApiToken.objects.get(user=self.head)
        self.assertEqual(token.name, "Bảng điều khiển")
        self.assertNotIn(key, token.key_hash)
        self.assertEqual(self.api(key).status_code, 200)

    def test_a_token_needs_a_name_that_fits(self):
        self.client.force_login(self.head)

        for name in ("", "   ", "x" * 101):
            with self.subTest(length=len(name)):
                answer = self.client.post(reverse("api-token-create"), {"name": name})
                self.assertEqual(answer.status_code, 200)
                self.assertTrue(answer.context["form"].errors["name"])
        self.assertFalse(ApiToken.objects.exists())

    def test_the_owner_revokes_a_token_after_confirming_and_the_api_refuses_it_at_once(self):
        token, key = api_token_create(user=self.head, name="Bảng điều khiển")
        self.assertEqual(self.api(key).status_code, 200)
        self.client.force_login(self.head)

        confirm = self.client.get(reverse("api-token-revoke", args=[token.pk]))
        self.assertContains(confirm, "Bảng điều khiển")
        self.assertIsNone(ApiToken.objects.get(pk=token.pk).revoked_at)
        done = self.client.post(reverse("api-token-revoke", args=[token.pk]), follow=True)

        self.assertContains(done, "is revoked")
        token.refresh_from_db()
        self.assertIsNotNone(token.revoked_at)
        self.assertEqual(token.revoked_by, self.head)
        self.assertEqual(self.api(key).status_code, 401)

    def test_revoking_twice_keeps_the_first_time_and_who(self):
        token, _key = api_token_create(user=self.head, name="x")
        token.revoke(by=self.head)
        first = ApiToken.objects.get(pk=token.pk).revoked_at

        token.revoke(by=self.admin)

        token.refresh_from_db()
        self.assertEqual((token.revoked_at, token.revoked_by), (first, self.head))

    def test_an_administrator_sees_and_revokes_the_tokens_of_their_units_staff(self):
        token, key = api_token_create(user=self.head, name="Bảng của xã")
        far, _ = api_token_create(user=self.far_officer, name="Bảng Lào Cai")
        chief, _ = api_token_create(user=self.admin, name="Bảng quốc gia")
        self.client.force_login(self.province_admin)

        page = self.client.get(reverse("api-tokens"))
        self.client.post(reverse("api-token-revoke", args=[token.pk]))

        self.assertContains(page, "Bảng của xã")
        self.assertContains(page, '<td data-label="User">head</td>', html=True)
        self.assertNotContains(page, "Bảng Lào Cai")  # another province's staff
        self.assertNotContains(page, "Bảng quốc gia")  # a superuser's
        token.refresh_from_db()
        self.assertEqual(token.revoked_by, self.province_admin)
        self.assertEqual(self.api(key).status_code, 401)
        for other in (far, chief):
            self.assertEqual(self.client.get(reverse("api-token-revoke", args=[other.pk])).status_code, 404)

    def test_a_superuser_sees_every_token(self):
        api_token_create(user=self.far_officer, name="Bảng Lào Cai")
        self.client.force_login(self.admin)

        self.assertContains(self.client.get(reverse("api-tokens")), "Bảng Lào Cai")

    def test_someone_who_is_not_an_administrator_there_gets_404_for_anothers_token(self):
        token, key = api_token_create(user=self.head, name="Bảng của xã")
        for user in (self.other_head, self.province_head, self.officer, self.nobody,
                     make_user("far_admin", ("admin", self.another_province))):
            with self.subTest(user=user.username):
                self.client.force_login(user)
                self.assertNotContains(self.client.get(reverse("api-tokens")), "Bảng của xã")
                self.assertEqual(self.client.get(reverse("api-token-revoke", args=[token.pk])).status_code, 404)
                self.assertEqual(self.client.post(reverse("api-token-revoke", args=[token.pk])).status_code, 404)
        self.assertIsNone(ApiToken.objects.get(pk=token.pk).revoked_at)
        self.assertEqual(self.api(key).status_code, 200)

    def test_the_last_use_is_written_at_most_once_a_minute(self):
        token, key = api_token_create(user=self.head)
        recently = timezone.now() - timedelta(seconds=30)
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=recently)

        with self.assertNumQueries(1):  # the lookup only
            api_token_user(key)
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=recently - timedelta(minutes=1))
        with self.assertNumQueries(2):  # the lookup and the note of its use
            api_token_user(key)

        token.refresh_from_db()
        self.assertGreater(token.last_used_at, recently)
