from django.test import Client, override_settings
from django.urls import reverse

from tests.base import BaseTestCase


@override_settings(LOGIN_FAILURE_LIMIT=3)
class LoginThrottleTests(BaseTestCase):
    def login(self, password, username="head"):
        return self.client.post(reverse("login"), {"username": username, "password": password})

    def test_staff_log_in_with_username_and_password(self):
        response = self.login("password")

        self.assertRedirects(response, reverse("home"))

    def test_after_three_failures_even_the_right_password_is_refused_for_a_while(self):
        for _ in range(3):
            self.assertEqual(self.login("wrong").status_code, 200)

        response = self.login("password")

        self.assertContains(response, "15")  # minutes to wait, in the message
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_failures_from_one_address_lock_it_for_other_usernames_too(self):
        for name in ("a", "b", "c"):
            self.login("wrong", username=name)

        response = self.login("password", username="officer")

        self.assertEqual(response.status_code, 200)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_a_success_clears_the_count_for_that_username(self):
        with override_settings(LOGIN_FAILURE_LIMIT=100):
            self.login("wrong")
            self.login("wrong")
            self.login("password")
        from django.core.cache import cache

        self.assertIsNone(cache.get("login-failures:user:head"))


class HomeTests(BaseTestCase):
    def test_the_home_page_lists_the_users_units(self):
        self.client.force_login(self.head)

        response = self.client.get(reverse("home"))

        self.assertContains(response, "Xã Sơn Dương")
        self.assertNotContains(response, "Phường Minh Xuân")

    def test_it_is_in_vietnamese_by_default_and_english_on_request(self):
        browser = Client()  # asks for no language
        browser.force_login(self.nobody)

        vi = browser.get(reverse("home"))
        browser.post(reverse("set_language"), {"language": "en"})
        en = browser.get(reverse("home"))

        self.assertContains(vi, 'lang="vi"')
        self.assertContains(vi, "Đăng xuất")
        self.assertContains(en, 'lang="en"')
        self.assertContains(en, "Log out")
