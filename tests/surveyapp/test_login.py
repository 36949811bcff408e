"""Logins: the throttle behind every login page (surveyapp/auth.py, surveyapp/throttle.py), the
client address behind a proxy (surveyapp/proxy.py), the session's lifetime and changing one's password."""

from django.conf import settings
from django.contrib.auth import authenticate
from django.test import Client, RequestFactory, SimpleTestCase, override_settings
from django.urls import reverse

from surveyapp import throttle
from surveyapp.proxy import client_address
from tests.base import BaseTestCase, EnglishClient

PROXY = "10.0.0.1"  # the TLS proxy: without TRUSTED_PROXY_HEADER, every request comes from it
LOCKED = "Too many failed attempts"
WRONG = "Please enter a correct username and password"
# Every spelling the login itself turns into "head" (NFKC), and case and space variants of it.
SPELLINGS = ["ｈｅａｄ", "𝐡𝐞𝐚𝐝", "𝒉𝒆𝒂𝒅", " HEAD ", "Head", "\u3000head"]


class LoginCase(BaseTestCase):
    def login(self, password, username="head", client=None, address=PROXY, url=None, **extra):
        return (client or self.client).post(url or reverse("login"), {"username": username, "password": password},
                                            REMOTE_ADDR=address, **extra)

    def assertLoggedIn(self, client, user):
        self.assertEqual(client.session.get("_auth_user_id"), str(user.pk))


@override_settings(LOGIN_FAILURE_LIMIT=3, LOGIN_USERNAME_FAILURE_LIMIT=6, LOGIN_ADDRESS_FAILURE_LIMIT=10)
class LoginThrottleTests(LoginCase):
    def test_staff_log_in_with_username_and_password(self):
        response = self.login("password")

        self.assertRedirects(response, reverse("home"))

    def test_after_the_limit_even_the_right_password_is_refused_with_a_message_saying_so(self):
        for _ in range(3):
            self.assertContains(self.login("wrong"), WRONG)

        response = self.login("password")

        self.assertContains(response, LOCKED)
        self.assertContains(response, "15 minutes")
        self.assertNotContains(response, WRONG)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_the_lock_is_explained_in_vietnamese_by_default(self):
        browser = Client()
        for _ in range(4):
            response = self.login("wrong", client=browser)

        self.assertContains(response, "Đăng nhập sai quá nhiều lần. Vui lòng đợi 15 phút rồi thử lại.")

    def test_a_username_that_does_not_exist_is_locked_alike_so_the_message_tells_nothing(self):
        for _ in range(3):
            self.login("wrong", username="no-such-person")

        self.assertContains(self.login("wrong", username="no-such-person"), LOCKED)

    def test_failures_in_any_spelling_of_a_username_lock_every_spelling(self):
        for spelling in SPELLINGS[:3]:
            self.login("wrong", username=spelling)

        for spelling in ["head", *SPELLINGS]:
            with self.subTest(spelling=spelling):
                self.assertContains(self.login("password", username=spelling), LOCKED)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_the_spellings_are_one_key(self):
        self.assertEqual({throttle.login_key(s) for s in SPELLINGS}, {"head"})

    def test_the_admin_login_counts_and_refuses_like_the_staff_login(self):
        self.admin.is_staff = True
        self.admin.save()
        admin_login = reverse("admin:login")
        self.login("wrong", username="admin")
        self.login("wrong", username="admin", url=admin_login)
        self.login("wrong", username="ADMIN", url=admin_login)

        on_admin = self.login("password", username="admin", url=admin_login)
        on_staff = self.login("password", username="admin")

        self.assertContains(on_admin, LOCKED)
        self.assertContains(on_staff, LOCKED)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_the_admin_login_alone_does_not_take_unlimited_guesses(self):
        for _ in range(10):
            response = self.login("wrong", username="admin", url=reverse("admin:login"))

        self.assertContains(response, LOCKED)

    def test_any_page_that_checks_a_password_through_authenticate_is_counted(self):
        request = RequestFactory().post("/any/later/login/", REMOTE_ADDR=PROXY)
        for _ in range(3):
            self.assertIsNone(authenticate(request, username="head", password="wrong"))

        self.assertIsNone(authenticate(request, username="head", password="password"))
        self.assertTrue(throttle.was_refused(request))
        self.assertContains(self.login("password"), LOCKED)

    def test_a_success_clears_the_count_of_that_browser(self):
        for _ in range(2):
            self.login("wrong")
        self.login("password")
        self.client.post(reverse("logout"))
        for _ in range(2):
            self.login("wrong")

        self.assertRedirects(self.login("password"), reverse("home"), fetch_redirect_response=False)


@override_settings(LOGIN_FAILURE_LIMIT=3, LOGIN_USERNAME_FAILURE_LIMIT=6, LOGIN_ADDRESS_FAILURE_LIMIT=10)
class NobodyLocksOthersOutTests(LoginCase):
    """OWASP's device cookie: a browser that logged in as a user is not refused for strangers' failures."""

    def test_an_attackers_failures_from_the_proxys_address_stop_neither_the_user_nor_a_colleague(self):
        own_browser = EnglishClient()
        self.login("password", client=own_browser)  # the head logged in here before
        own_browser.post(reverse("logout"))  # not Client.logout(): that forgets every cookie
        attacker, colleague = EnglishClient(), EnglishClient()

        for _ in range(8):
            self.login("wrong", client=attacker)
        refused = self.login("password", client=attacker)
        mine = self.login("password", client=own_browser)
        theirs = self.login("password", username="officer", client=colleague)

        self.assertContains(refused, LOCKED)
        self.assertRedirects(mine, reverse("home"), fetch_redirect_response=False)
        self.assertRedirects(theirs, reverse("home"), fetch_redirect_response=False)
        self.assertLoggedIn(own_browser, self.head)
        self.assertLoggedIn(colleague, self.officer)
        self.assertNotIn("_auth_user_id", attacker.session)

    def test_the_users_own_browser_is_still_limited_for_its_own_failures(self):
        self.login("password")
        self.client.post(reverse("logout"))
        for _ in range(3):
            self.login("wrong")

        self.assertContains(self.login("password"), LOCKED)
        other = EnglishClient()  # another browser at the same address is not held to this one's count
        self.login("password", client=other)
        self.assertLoggedIn(other, self.head)

    def test_a_browser_vouches_only_for_the_users_who_logged_in_on_it(self):
        self.login("password", username="officer")  # this browser knows the officer, not the head
        self.client.post(reverse("logout"))
        for _ in range(3):
            self.login("wrong", client=EnglishClient())

        self.assertContains(self.login("password"), LOCKED)

    def test_a_forged_or_altered_device_cookie_vouches_for_nobody(self):
        self.login("password")
        genuine = self.client.cookies[throttle.DEVICE_COOKIE].value
        for _ in range(3):
            self.login("wrong", client=EnglishClient())

        for forged in (genuine[:-2] + "xx", genuine.replace(":", "", 1), "x", ""):
            with self.subTest(forged=forged[:20]):
                browser = EnglishClient()
                browser.cookies[throttle.DEVICE_COOKIE] = forged
                self.assertContains(self.login("password", client=browser), LOCKED)

    def test_the_device_cookie_names_nobody_and_is_kept_from_scripts(self):
        self.login("password")

        cookie = self.client.cookies[throttle.DEVICE_COOKIE]

        self.assertNotIn("head", cookie.value)
        self.assertTrue(cookie["httponly"])
        self.assertEqual(cookie["max-age"], settings.LOGIN_DEVICE_COOKIE_DAYS * 86400)

    @override_settings(TRUSTED_PROXY_HEADER="X-Forwarded-For")
    def test_guesses_spread_over_many_addresses_still_stop_at_the_username_limit(self):
        for n in range(6):
            self.login("wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}", client=EnglishClient())

        refused = self.login("password", HTTP_X_FORWARDED_FOR="198.51.100.99", client=EnglishClient())
        colleague = EnglishClient()
        self.login("password", username="officer", HTTP_X_FORWARDED_FOR="198.51.100.99", client=colleague)

        self.assertContains(refused, LOCKED)
        self.assertLoggedIn(colleague, self.officer)

    @override_settings(TRUSTED_PROXY_HEADER="X-Forwarded-For")
    def test_with_the_proxy_header_one_addresss_failures_do_not_lock_the_user_elsewhere(self):
        for _ in range(3):
            self.login("wrong", HTTP_X_FORWARDED_FOR="203.0.113.66")

        there = self.login("password", HTTP_X_FORWARDED_FOR="203.0.113.66", client=EnglishClient())
        elsewhere = EnglishClient()
        self.login("password", HTTP_X_FORWARDED_FOR="198.51.100.5", client=elsewhere)

        self.assertContains(there, LOCKED)
        self.assertLoggedIn(elsewhere, self.head)

    def test_one_address_trying_many_usernames_is_stopped_but_known_browsers_there_are_not(self):
        own_browser = EnglishClient()
        self.login("password", client=own_browser)
        own_browser.post(reverse("logout"))  # not Client.logout(): that forgets every cookie
        for n in range(10):
            self.login("wrong", username=f"guess{n}", client=EnglishClient())

        sprayed = self.login("password", username="officer", client=EnglishClient())
        elsewhere = EnglishClient()
        self.login("password", username="officer", client=elsewhere, address="198.51.100.5")
        self.login("password", client=own_browser)

        self.assertContains(sprayed, LOCKED)
        self.assertLoggedIn(elsewhere, self.officer)
        self.assertLoggedIn(own_browser, self.head)


# A Redis that is not there: nothing listens on port 1.
REDIS_DOWN = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": "redis://127.0.0.1:1/0", "KEY_PREFIX": "down"}}


class RedisDownTests(BaseTestCase):
    @override_settings(LOGIN_FAILURE_LIMIT=3, CACHES=REDIS_DOWN)  # on the test, not the class: see conftest
    def test_with_redis_down_the_throttle_steps_aside_logged_and_passwords_are_still_checked(self):
        with self.assertLogs("surveyapp.throttle", "ERROR") as logs:
            for _ in range(4):
                wrong = self.client.post(reverse("login"), {"username": "head", "password": "wrong"})
            right = self.client.post(reverse("login"), {"username": "head", "password": "password"})

        self.assertContains(wrong, WRONG)
        self.assertRedirects(right, reverse("home"), fetch_redirect_response=False)
        self.assertIn("Redis unavailable", "\n".join(logs.output))


class ClientAddressTests(SimpleTestCase):
    def address(self, remote="10.0.0.1", **headers):
        return client_address(RequestFactory().get("/", REMOTE_ADDR=remote, **headers))

    def test_without_the_setting_the_connections_address_is_used_and_headers_mean_nothing(self):
        self.assertEqual(self.address(HTTP_X_FORWARDED_FOR="1.2.3.4", HTTP_X_REAL_IP="1.2.3.4"), "10.0.0.1")

    @override_settings(TRUSTED_PROXY_HEADER="X-Forwarded-For", TRUSTED_PROXY_COUNT=1)
    def test_behind_one_proxy_the_right_most_hop_is_the_client_and_what_it_sent_is_ignored(self):
        self.assertEqual(self.address(HTTP_X_FORWARDED_FOR="203.0.113.9"), "203.0.113.9")
        self.assertEqual(self.address(HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9"), "203.0.113.9")
        self.assertEqual(self.address(HTTP_X_FORWARDED_FOR="203.0.113.9:51234"), "203.0.113.9")
        self.assertEqual(self.address(HTTP_X_FORWARDED_FOR="[2001:db8::1]:443"), "2001:db8::1")

    @override_settings(TRUSTED_PROXY_HEADER="X-Forwarded-For", TRUSTED_PROXY_COUNT=2)
    def test_behind_two_proxies_the_hop_before_them_is_the_client(self):
        self.assertEqual(self.address(HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9, 10.0.0.2"), "203.0.113.9")
        self.assertEqual(self.address(HTTP_X_FORWARDED_FOR="10.0.0.2"), "10.0.0.1")  # too few hops: not trusted

    @override_settings(TRUSTED_PROXY_HEADER="X-Real-IP")
    def test_a_proxy_that_sets_x_real_ip(self):
        self.assertEqual(self.address(HTTP_X_REAL_IP="203.0.113.9", HTTP_X_FORWARDED_FOR="6.6.6.6"), "203.0.113.9")

    @override_settings(TRUSTED_PROXY_HEADER="X-Forwarded-For")
    def test_a_missing_or_malformed_header_falls_back_to_the_connections_address(self):
        for value in (None, "", "not-an-address", "1.2.3.4.5", "<script>"):
            with self.subTest(value=value):
                headers = {} if value is None else {"HTTP_X_FORWARDED_FOR": value}
                self.assertEqual(self.address(**headers), "10.0.0.1")


class SessionTests(BaseTestCase):
    def test_a_session_ends_with_the_browser_and_after_a_working_day(self):
        self.client.post(reverse("login"), {"username": "head", "password": "password"})

        cookie = self.client.cookies[settings.SESSION_COOKIE_NAME]

        self.assertEqual(cookie["max-age"], "")  # a browser-session cookie
        self.assertEqual(cookie["expires"], "")
        self.assertTrue(settings.SESSION_EXPIRE_AT_BROWSER_CLOSE)
        self.assertEqual(settings.SESSION_COOKIE_AGE, 8 * 3600)
        self.assertLessEqual(self.client.session.get_expiry_age(), 8 * 3600)


@override_settings(LOGIN_FAILURE_LIMIT=3)
class PasswordChangeTests(BaseTestCase):
    def change(self, old, new="a-new-Passphrase-2027", again=None):
        return self.client.post(reverse("password_change"), {
            "old_password": old, "new_password1": new, "new_password2": again or new})

    def test_the_top_menu_links_to_the_page_in_vietnamese_by_default(self):
        browser = Client()
        browser.force_login(self.head)

        home = browser.get(reverse("home"))
        page = browser.get(reverse("password_change"))

        self.assertContains(home, f'href="{reverse("password_change")}"')
        self.assertContains(page, "Đổi mật khẩu")
        self.assertContains(page, 'name="old_password"')

    def test_staff_change_their_password_and_log_in_with_the_new_one(self):
        self.client.force_login(self.head)

        answer = self.change("password")

        self.assertRedirects(answer, reverse("password_change_done"))
        self.assertContains(self.client.get(reverse("password_change_done")), "Your password has been changed")
        self.head.refresh_from_db()
        self.assertTrue(self.head.check_password("a-new-Passphrase-2027"))
        self.assertIn("_auth_user_id", self.client.session)  # this browser stays logged in

    def test_a_wrong_old_password_or_a_weak_new_one_changes_nothing_and_says_why(self):
        self.client.force_login(self.head)

        wrong = self.change("wrong")
        weak = self.change("password", new="12345678")
        mismatch = self.change("password", again="something-else-2027")

        self.assertContains(wrong, "Your old password was entered incorrectly")
        self.assertContains(weak, "This password is too common")
        self.assertContains(mismatch, "The two password fields didn’t match")
        self.head.refresh_from_db()
        self.assertTrue(self.head.check_password("password"))

    def test_guessing_the_old_password_is_throttled_like_a_login(self):
        self.client.force_login(self.head)
        for _ in range(3):
            self.change("wrong")

        answer = self.change("password")

        self.assertContains(answer, LOCKED)
        self.head.refresh_from_db()
        self.assertTrue(self.head.check_password("password"))

    def test_an_anonymous_visitor_is_sent_to_the_login_page(self):
        answer = self.client.get(reverse("password_change"))

        self.assertRedirects(answer, f"{reverse('login')}?next={reverse('password_change')}")
