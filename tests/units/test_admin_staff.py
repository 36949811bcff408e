"""The administration pages for staff accounts and roles: list, create with a one-time link to set
the password, deactivate and reactivate, reset; grant and revoke roles; each scoped to the
administrator's subtree, with every refusal a form error or a message in Vietnamese."""

import datetime
import re

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.test import Client
from django.urls import reverse

from tests.base import make_user
from tests.units.test_admin_pages import AdminTestCase
from units.models import Role, Unit
from units.services import password_link_parts

User = get_user_model()


def set_password(path, password="Tuyên-Quang-2026!"):
    """Open the one-time link and set the password (Django's view first moves the token from the
    address into the session); the answer of the last step."""
    browser = Client()
    form = browser.get(path, follow=True)
    if not form.context["validlink"]:
        return form
    return browser.post(form.redirect_chain[-1][0], {"new_password1": password, "new_password2": password})


def link_path(page):
    """The path of the one-time link shown on the page."""
    return re.search(r'data-testid="password-link">http://testserver(/[^<]+)<', page.content.decode()).group(1)


class StaffListTests(AdminTestCase):
    def test_it_lists_the_staff_holding_roles_in_the_subtree_with_those_roles(self):
        self.client.force_login(self.province_admin)

        # session, user, the administrator's roles, the count, the accounts, their roles in the province
        with self.assertNumQueries(6):
            page = self.client.get(reverse("administration:staff"))

        usernames = [member.username for member in page.context["page"]]
        self.assertEqual(usernames, ["commune_admin", "head", "officer", "other_head", "province_admin",
                                     "province_head", "province_officer"])
        self.assertNotContains(page, "far_officer")
        self.assertNotContains(page, "far_admin")

    def test_roles_outside_the_subtree_are_not_shown_only_noted(self):
        Role.objects.create(user=self.officer, unit=self.another_province, kind=Role.Kind.HEAD)
        self.client.force_login(self.province_admin)

        page = self.client.get(reverse("administration:staff"), {"q": "officer"})

        self.assertContains(page, "and roles outside your units")
        self.assertNotContains(page, "Tỉnh Lào Cai")

    def test_a_commune_administrator_sees_only_the_staff_of_their_commune(self):
        self.client.force_login(self.commune_admin)

        page = self.client.get(reverse("administration:staff"))

        self.assertEqual([m.username for m in page.context["page"]], ["commune_admin", "head", "officer"])

    def test_it_searches_by_username_name_and_email(self):
        User.objects.filter(pk=self.head.pk).update(first_name="Lê Thị Hoa", email="hoa@example.vn")
        self.client.force_login(self.province_admin)

        for query in ("thị hoa", "HOA@example", "head"):
            page = self.client.get(reverse("administration:staff"), {"q": query})
            self.assertIn("head", [m.username for m in page.context["page"]], query)
        page = self.client.get(reverse("administration:staff"), {"q": "far_"})
        self.assertEqual(list(page.context["page"]), [])

    def test_another_provinces_administrator_gets_404_for_this_provinces_staff(self):
        self.client.force_login(self.far_admin)

        for name in ("administration:staff-detail", "administration:staff-deactivate", "administration:staff-reset",
                     "administration:staff-reactivate"):
            self.assertEqual(self.client.get(reverse(name, args=[self.officer.pk])).status_code, 404)
        self.assertEqual(self.client.post(reverse("administration:staff-deactivate", args=[self.officer.pk]))
                         .status_code, 404)
        self.officer.refresh_from_db()
        self.assertTrue(self.officer.is_active)


class StaffCreateTests(AdminTestCase):
    def create(self, browser=None, **data):
        browser = browser or self.client
        browser.force_login(self.province_admin)
        fields = {"username": "lan.nguyen", "full_name": "Nguyễn Thị Lan", "email": "", "unit": "02212",
                  "kind": "officer", **data}
        return browser.post(reverse("administration:staff-create"), fields)

    def test_it_creates_an_account_without_a_password_with_its_first_role_and_shows_a_link_once(self):
        page = self.create()

        member = User.objects.get(username="lan.nguyen")
        self.assertEqual(member.get_full_name(), "Nguyễn Thị Lan")
        self.assertFalse(member.has_usable_password())
        self.assertFalse(member.is_staff or member.is_superuser)
        self.assertEqual(list(member.unit_roles.values_list("unit__code", "kind")), [("02212", "officer")])
        uidb64, token = password_link_parts(member)
        self.assertEqual(link_path(page), reverse("administration:set-password", args=[uidb64, token]))
        self.assertContains(page, "it is not shown again")
        self.assertContains(page, "It works once, for 3 days at most")
        self.assertIn("no-store", page["Cache-Control"])
        later = self.client.get(reverse("administration:staff-detail", args=[member.pk]))
        self.assertNotContains(later, token)

    def test_the_form_errors_are_in_vietnamese_and_nothing_is_created(self):
        browser = Client()
        cases = [
            ({"username": "OFFICER"}, "username", "Tên đăng nhập “OFFICER” đã có người dùng: hãy chọn tên khác."),
            ({"username": "lan nguyen"}, "username", "Điền tên đăng nhập hợp lệ. Giá trị này chỉ có thể chứa các chữ "
                                                     "cái, số, và các ký tự @/./+/-/_"),
            ({"username": ""}, "username", "Trường này là bắt buộc."),
            ({"full_name": ""}, "full_name", "Trường này là bắt buộc."),
            ({"email": "lan@"}, "email", "Nhập địa chỉ email."),
            ({"unit": "10"}, "unit", "Không có đơn vị mã “10” trong các đơn vị bạn quản trị."),
            ({"unit": "x\x00y"}, "unit", "Hãy xoá ký tự điều khiển vô hình U+0000 (ký tự thứ 2)."),
            ({"full_name": "Lan\x00"}, "full_name", "Hãy xoá ký tự điều khiển vô hình U+0000 (ký tự thứ 4)."),
            ({"kind": "boss"}, "kind", "Hãy chọn một lựa chọn hợp lệ. boss không phải là một trong các lựa chọn "
                                       "khả thi."),
        ]
        for data, field, message in cases:
            page = self.create(browser, **data)
            self.assertEqual(page.status_code, 200, data)
            self.assertFormError(page.context["form"], field, message)
        self.assertFalse(User.objects.filter(username__istartswith="lan").exists())

    def test_a_role_on_a_closed_unit_is_refused(self):
        Unit.objects.filter(code="02230").update(valid_to=datetime.date(2025, 6, 30))

        page = self.create(unit="02230")

        self.assertFormError(page.context["form"], "unit",
                             "Phường Minh Xuân (02230) was closed on 30/06/2025: grant the role on the unit that took "
                             "it over.")
        self.assertFalse(User.objects.filter(username="lan.nguyen").exists())


class PasswordLinkTests(AdminTestCase):
    def setUp(self):
        self.member = make_user("lan.nguyen", (Role.Kind.OFFICER, self.commune))
        self.member.set_unusable_password()
        self.member.save()

    def test_the_link_sets_the_password_once_and_the_person_logs_in(self):
        path = reverse("administration:set-password", args=password_link_parts(self.member))

        opened = Client().get(path, follow=True)
        done = set_password(path)

        self.assertContains(opened, "Tên đăng nhập của bạn là <strong>lan.nguyen</strong>")
        self.assertRedirects(done, reverse("login"))
        self.assertTrue(Client().login(username="lan.nguyen", password="Tuyên-Quang-2026!"))
        again = Client().get(path, follow=True)
        self.assertFalse(again.context["validlink"])
        self.assertContains(again, "Liên kết này không còn dùng được")

    def test_a_weak_or_mismatched_password_is_a_vietnamese_form_error(self):
        path = reverse("administration:set-password", args=password_link_parts(self.member))
        browser = Client()
        form_url = browser.get(path, follow=True).redirect_chain[-1][0]

        weak = browser.post(form_url, {"new_password1": "123", "new_password2": "123"})
        mismatched = browser.post(form_url, {"new_password1": "Tuyên-Quang-2026!", "new_password2": "khác"})

        too_short = "Mật khẩu quá ngắn. Mật khẩu phải có ít nhất 8 ký tự."
        self.assertIn(too_short, weak.context["form"].errors["new_password2"])
        self.assertFormError(mismatched.context["form"], "new_password2", "Hai trường mật khẩu không giống nhau.")
        self.assertFalse(User.objects.get(pk=self.member.pk).has_usable_password())

    def test_a_link_older_than_password_reset_timeout_no_longer_works(self):
        class FourDaysAgo(PasswordResetTokenGenerator):
            def _now(self):
                return datetime.datetime.now() - datetime.timedelta(days=4)

        uidb64, _token = password_link_parts(self.member)
        path = reverse("administration:set-password", args=[uidb64, FourDaysAgo().make_token(self.member)])

        self.assertFalse(Client().get(path, follow=True).context["validlink"])

    def test_a_made_up_link_or_a_deactivated_accounts_link_does_not_work(self):
        parts = password_link_parts(self.member)
        User.objects.filter(pk=self.member.pk).update(is_active=False)

        for path in (reverse("administration:set-password", args=parts),
                     reverse("administration:set-password", args=["MTIzNDU", "abc-def"]),
                     reverse("administration:set-password", args=["%00", "x"])):
            page = Client().get(path, follow=True)
            self.assertEqual(page.status_code, 200, path)
            self.assertFalse(page.context["validlink"])


class AccountActionTests(AdminTestCase):
    def test_deactivating_asks_first_then_the_person_can_no_longer_log_in(self):
        session = Client()
        self.assertTrue(session.login(username="officer", password="password"))
        self.client.force_login(self.province_admin)
        url = reverse("administration:staff-deactivate", args=[self.officer.pk])

        asked = self.client.get(url)
        done = self.client.post(url)

        self.assertContains(asked, "Deactivate the account officer?")
        self.assertRedirects(done, reverse("administration:staff-detail", args=[self.officer.pk]))
        self.assertFalse(User.objects.get(pk=self.officer.pk).is_active)
        self.assertFalse(Client().login(username="officer", password="password"))
        login = Client().post(reverse("login"), {"username": "officer", "password": "password"})
        self.assertEqual(login.status_code, 200)
        self.assertRedirects(session.get(reverse("home")), f"{reverse('login')}?next=/")

    def test_a_reactivated_account_logs_in_again(self):
        User.objects.filter(pk=self.officer.pk).update(is_active=False)
        self.client.force_login(self.province_admin)

        self.assertContains(self.client.get(reverse("administration:staff-detail", args=[self.officer.pk])),
                            "deactivated")
        self.client.post(reverse("administration:staff-reactivate", args=[self.officer.pk]))

        self.assertTrue(Client().login(username="officer", password="password"))

    def test_an_administrator_cannot_deactivate_or_reset_themselves(self):
        browser = self.vietnamese(self.province_admin)

        for name in ("administration:staff-deactivate", "administration:staff-reset"):
            url = reverse(name, args=[self.province_admin.pk])
            self.assertContains(browser.get(url), "Đây là tài khoản của chính bạn.")
            answer = browser.post(url, follow=True)
            self.assertEqual(answer.status_code, 200)
        self.province_admin.refresh_from_db()
        self.assertTrue(self.province_admin.is_active and self.province_admin.has_usable_password())
        self.assertContains(answer, "Để đổi mật khẩu của chính bạn, hãy dùng “Đổi mật khẩu” trên thanh trình đơn.")

    def test_an_account_with_a_role_outside_the_subtree_cannot_be_deactivated_or_reset(self):
        browser = self.vietnamese(self.commune_admin)  # the officer of the commune is also head in Lào Cai
        Role.objects.create(user=self.officer, unit=self.another_province, kind=Role.Kind.HEAD)
        message = ("officer cũng có vai trò ở các đơn vị bạn không quản trị: chỉ quản trị viên của tất cả các đơn vị "
                   "đó mới thay đổi được tài khoản này.")

        self.assertContains(browser.get(reverse("administration:staff-detail", args=[self.officer.pk])), message)
        answer = browser.post(reverse("administration:staff-deactivate", args=[self.officer.pk]), follow=True)
        browser.post(reverse("administration:staff-reset", args=[self.officer.pk]))

        self.assertContains(answer, message)
        self.officer.refresh_from_db()
        self.assertTrue(self.officer.is_active and self.officer.has_usable_password())

    def test_a_commune_administrator_cannot_deactivate_the_province_administrator(self):
        self.client.force_login(self.commune_admin)

        # The province administrator holds no role on the commune: not among the commune's staff.
        answer = self.client.post(reverse("administration:staff-deactivate", args=[self.province_admin.pk]))

        self.assertEqual(answer.status_code, 404)
        self.assertTrue(User.objects.get(pk=self.province_admin.pk).is_active)

    def test_a_reset_stops_the_old_password_and_gives_a_new_link(self):
        self.client.force_login(self.province_admin)
        old = password_link_parts(self.officer)

        page = self.client.post(reverse("administration:staff-reset", args=[self.officer.pk]))

        self.assertFalse(Client().login(username="officer", password="password"))
        self.assertContains(page, "The old password and any earlier link no longer work.")
        self.assertFalse(Client().get(reverse("administration:set-password", args=old), follow=True)
                         .context["validlink"])
        done = set_password(link_path(page), password="Sơn-Dương-2026!")
        self.assertRedirects(done, reverse("login"))
        self.assertTrue(Client().login(username="officer", password="Sơn-Dương-2026!"))

    def test_a_superuser_manages_anyone_but_an_administrator_not_a_superuser(self):
        Role.objects.create(user=self.admin, unit=self.commune, kind=Role.Kind.HEAD)
        self.client.force_login(self.province_admin)

        self.assertEqual(self.client.get(reverse("administration:staff-detail", args=[self.admin.pk])).status_code, 404)
        self.client.force_login(self.admin)
        self.client.post(reverse("administration:staff-deactivate", args=[self.far_officer.pk]))
        self.assertFalse(User.objects.get(pk=self.far_officer.pk).is_active)


class RoleTests(AdminTestCase):
    def grant(self, user, unit, kind="head", browser=None, by=None):
        browser = browser or self.client
        browser.force_login(by or self.province_admin)
        return browser.post(reverse("administration:role-grant", args=[user.pk]), {"unit": unit, "kind": kind})

    def test_an_administrator_grants_a_role_on_a_unit_of_their_subtree(self):
        answer = self.grant(self.officer, "02230")

        self.assertRedirects(answer, reverse("administration:staff-detail", args=[self.officer.pk]))
        self.assertTrue(Role.objects.filter(user=self.officer, unit=self.other_commune, kind="head").exists())
        again = self.grant(self.officer, "02230", browser=Client())
        self.assertEqual(Role.objects.filter(user=self.officer, unit=self.other_commune).count(), 1)
        self.assertRedirects(again, reverse("administration:staff-detail", args=[self.officer.pk]))

    def test_a_unit_outside_the_subtree_is_a_vietnamese_form_error(self):
        browser = Client()
        for code in ("10", "10001", "", "không-có"):
            page = self.grant(self.officer, code, browser=browser)
            self.assertEqual(page.status_code, 200)
            expected = ("Trường này là bắt buộc." if not code
                        else f"Không có đơn vị mã “{code}” trong các đơn vị bạn quản trị.")
            self.assertFormError(page.context["form"], "unit", expected)
        self.assertEqual(list(self.officer.unit_roles.values_list("unit__code", flat=True)), ["02212"])

    def test_a_commune_administrator_cannot_grant_on_the_province(self):
        page = self.grant(self.officer, "08", kind="admin", by=self.commune_admin)

        self.assertFormError(page.context["form"], "unit",
                             "There is no unit with the code “08” among the units you administer.")

    def test_revoking_asks_first_then_takes_the_role_away(self):
        role = Role.objects.create(user=self.officer, unit=self.other_commune, kind=Role.Kind.HEAD)
        self.client.force_login(self.province_admin)
        url = reverse("administration:role-revoke", args=[self.officer.pk, role.pk])

        asked = self.client.get(url)
        done = self.client.post(url)

        self.assertContains(asked, "Revoke this role?")
        self.assertRedirects(done, reverse("administration:staff-detail", args=[self.officer.pk]))
        self.assertFalse(Role.objects.filter(pk=role.pk).exists())

    def test_revoking_the_last_role_warns_then_returns_to_the_list(self):
        role = self.officer.unit_roles.get()
        self.client.force_login(self.province_admin)
        url = reverse("administration:role-revoke", args=[self.officer.pk, role.pk])

        self.assertContains(self.client.get(url), "It is their last role")
        self.assertRedirects(self.client.post(url), reverse("administration:staff"))

    def test_a_role_outside_the_subtree_cannot_be_revoked(self):
        outside = Role.objects.create(user=self.officer, unit=self.another_province, kind=Role.Kind.HEAD)
        self.client.force_login(self.province_admin)

        url = reverse("administration:role-revoke", args=[self.officer.pk, outside.pk])

        self.assertEqual(self.client.get(url).status_code, 404)
        self.assertEqual(self.client.post(url).status_code, 404)
        self.assertTrue(Role.objects.filter(pk=outside.pk).exists())

    def test_an_administrator_cannot_revoke_the_administrator_role_they_stand_on(self):
        browser = self.vietnamese(self.province_admin)
        role = self.province_admin.unit_roles.get()

        answer = browser.post(reverse("administration:role-revoke", args=[self.province_admin.pk, role.pk]),
                              follow=True)

        self.assertContains(answer, "Bạn không thể tự thu hồi vai trò quản trị viên của mình")
        self.assertTrue(Role.objects.filter(pk=role.pk).exists())

    def test_a_granted_administrator_gets_the_menu_and_a_revoked_one_loses_it_at_once(self):
        browser = Client()
        browser.force_login(self.officer)
        self.assertNotContains(browser.get(reverse("home")), reverse("administration:home"))

        self.grant(self.officer, "02212", kind="admin")

        self.assertContains(browser.get(reverse("home")), reverse("administration:home"))
        Role.objects.filter(user=self.officer, kind="admin").delete()
        self.assertNotContains(browser.get(reverse("home")), reverse("administration:home"))
        self.assertEqual(browser.get(reverse("administration:home")).status_code, 404)

    def test_a_new_head_sets_their_password_from_the_link_and_sees_their_unit(self):
        self.client.force_login(self.province_admin)
        page = self.client.post(reverse("administration:staff-create"), {
            "username": "minh.tran", "full_name": "Trần Văn Minh", "unit": "02230", "kind": "head"})
        set_password(link_path(page), password="Minh-Xuân-2026!")

        browser = Client()
        self.assertTrue(browser.login(username="minh.tran", password="Minh-Xuân-2026!"))
        self.assertContains(browser.get(reverse("home")), "Phường Minh Xuân")
