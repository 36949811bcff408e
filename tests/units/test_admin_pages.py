"""The administration pages for units: the landing page and the menu, the unit list, the CSV import
with its preview, renaming and closing a unit; each scoped to the administrator's subtree."""

import datetime
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.base import BaseTestCase, make_unit, make_user
from units.models import Role, Unit

HEADER = "code,name,parent_code,level,valid_from,valid_to,successor_code\n"


def csv_file(text, name="units.csv"):
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def snapshot():
    return sorted(Unit.objects.values_list("code", "name", "level", "path", "valid_from", "valid_to", "parent__code",
                                           "successor__code"))


class AdminTestCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.far_admin = make_user("far_admin", (Role.Kind.ADMIN, cls.another_province))
        cls.commune_admin = make_user("commune_admin", (Role.Kind.ADMIN, cls.commune))
        cls.far_commune = make_unit("10001", cls.another_province, name="Xã Bảo Hà")

    def vietnamese(self, user):
        browser = Client()
        browser.force_login(user)
        return browser


class MenuAndLandingPageTests(AdminTestCase):
    def test_the_menu_offers_administration_to_administrators_in_vietnamese(self):
        page = self.vietnamese(self.province_admin).get(reverse("home"))

        link = f'<a class="nav-link" href="{reverse("administration:home")}">Quản trị</a>'
        self.assertContains(page, link, html=True)
        self.assertNotContains(page, reverse("admin:index"))

    def test_the_menu_has_no_administration_for_officers_and_heads(self):
        for user in (self.officer, self.province_head, self.nobody):
            self.client.force_login(user)
            self.assertNotContains(self.client.get(reverse("home")), reverse("administration:home"))

    def test_a_superuser_has_both_the_administration_pages_and_the_django_admin(self):
        self.client.force_login(self.admin)

        page = self.client.get(reverse("home"))

        self.assertContains(page, f'href="{reverse("administration:home")}"')
        self.assertContains(page, f'<a class="nav-link" href="{reverse("admin:index")}">Django admin</a>', html=True)

    def test_the_landing_page_links_to_units_staff_and_api_tokens(self):
        page = self.vietnamese(self.province_admin).get(reverse("administration:home"))

        for name in ("administration:units", "administration:unit-import", "administration:staff",
                     "administration:staff-create", "api-tokens"):
            self.assertContains(page, f'href="{reverse(name)}"')
        self.assertContains(page, "Tỉnh Tuyên Quang")
        self.assertContains(page, "<h1 class=\"h3 mb-2\">Quản trị</h1>", html=True)

    def test_without_an_administrator_role_every_administration_page_is_a_404(self):
        urls = [reverse("administration:home"), reverse("administration:units"),
                reverse("administration:unit-import"), reverse("administration:staff"),
                reverse("administration:staff-create"), reverse("administration:unit-rename", args=["02212"]),
                reverse("administration:unit-close", args=["02212"]),
                reverse("administration:staff-detail", args=[self.officer.pk])]
        for user in (self.officer, self.province_officer, self.province_head, self.head, self.nobody):
            self.client.force_login(user)
            for url in urls:
                self.assertEqual(self.client.get(url).status_code, 404, (user, url))

    def test_an_anonymous_visitor_is_sent_to_log_in(self):
        url = reverse("administration:units")

        self.assertRedirects(Client().get(url), f"{reverse('login')}?next={url}")


class UnitListTests(AdminTestCase):
    def test_it_lists_the_administrators_subtree_in_tree_order(self):
        self.client.force_login(self.province_admin)

        # session, user, the administrator's roles, the count, the units of the page
        with self.assertNumQueries(5):
            page = self.client.get(reverse("administration:units"))

        codes = [unit.code for unit in page.context["page"]]
        self.assertEqual(codes, ["08", "02212", "02212.TTPV", "02230"])
        self.assertNotContains(page, "Tỉnh Lào Cai")
        self.assertContains(page, f'href="{reverse("administration:unit-close", args=["02212"])}"')

    def test_a_commune_administrator_sees_only_their_commune_and_below(self):
        self.client.force_login(self.commune_admin)

        page = self.client.get(reverse("administration:units"))

        self.assertEqual([u.code for u in page.context["page"]], ["02212", "02212.TTPV"])

    def test_it_searches_by_code_and_by_name_within_the_subtree(self):
        self.client.force_login(self.province_admin)

        by_name = self.client.get(reverse("administration:units"), {"q": "minh xuân"})
        by_code = self.client.get(reverse("administration:units"), {"q": "TTPV"})
        elsewhere = self.client.get(reverse("administration:units"), {"q": "Bảo Hà"})

        self.assertEqual([u.code for u in by_name.context["page"]], ["02230"])
        self.assertEqual([u.code for u in by_code.context["page"]], ["02212.TTPV"])
        self.assertEqual(list(elsewhere.context["page"]), [])
        self.assertContains(elsewhere, "No unit matches.")

    def test_a_closed_unit_is_marked_and_offers_no_close_button(self):
        Unit.objects.filter(pk=self.other_commune.pk).update(valid_to=datetime.date(2025, 6, 30))
        self.client.force_login(self.province_admin)

        page = self.client.get(reverse("administration:units"))

        self.assertContains(page, "30/06/2025")
        self.assertNotContains(page, reverse("administration:unit-close", args=["02230"]))

    def test_a_wrong_page_number_or_a_control_character_in_the_search_is_no_error(self):
        self.client.force_login(self.province_admin)

        self.assertEqual(self.client.get(reverse("administration:units"), {"page": "x"}).status_code, 200)
        self.assertEqual(self.client.get(reverse("administration:units"), {"page": "999"}).status_code, 200)
        self.assertEqual(self.client.get(reverse("administration:units"), {"q": "a\x07b"}).status_code, 200)


class UnitImportPageTests(AdminTestCase):
    def upload(self, text, user=None, browser=None):
        browser = browser or self.client
        browser.force_login(user or self.province_admin)
        return browser.post(reverse("administration:unit-import"), {"file": csv_file(text)})

    def confirm(self, preview, browser=None):
        form = preview.context["confirm"]
        return (browser or self.client).post(reverse("administration:unit-import-confirm"),
                                             {"key": form.initial["key"], "digest": form.initial["digest"]})

    def test_the_preview_shows_what_would_change_and_writes_nothing(self):
        before = snapshot()
        text = HEADER + ("02212,Xã Sơn Dương (mới),08,commune,,,\n"
                         "02230,Phường Minh Xuân,08,commune,,2025-06-30,02212\n"
                         "02240,Xã Thái Bình,08,commune,2025-07-01,,\n")

        preview = self.upload(text)

        self.assertEqual(snapshot(), before)
        self.assertContains(preview, "Nothing has been written yet.")
        self.assertContains(preview, "1 unit added")
        self.assertContains(preview, "2 units changed")
        self.assertContains(preview, "1 unit closed")
        self.assertContains(preview, "Xã Thái Bình")
        self.assertContains(preview, "<del>Xã Sơn Dương</del>", html=True)
        self.assertContains(preview, "<ins>Xã Sơn Dương (mới)</ins>", html=True)
        self.assertIn("no-store", preview["Cache-Control"])

    def test_confirming_writes_everything_the_preview_showed(self):
        text = HEADER + ("02230,Phường Minh Xuân,08,commune,,2025-06-30,02212\n"
                         "02240,Xã Thái Bình,08,commune,2025-07-01,,\n"
                         "02240.TTPV,Trung tâm PVHCC xã Thái Bình,02240,centre,2025-07-01,,\n")
        preview = self.upload(text)

        done = self.confirm(preview)

        self.assertRedirects(done, reverse("administration:units"), fetch_redirect_response=False)
        closed = Unit.objects.get(code="02230")
        self.assertEqual((closed.valid_to, closed.successor.code), (datetime.date(2025, 6, 30), "02212"))
        self.assertEqual(Unit.objects.get(code="02240.TTPV").path, "/08/02240/02240.TTPV/")
        messages = [str(m) for m in self.client.get(reverse("administration:units")).context["messages"]]
        self.assertEqual(messages, ["Units imported: 2 added, 1 changed (1 of them closed), 0 unchanged."])

    def test_a_preview_is_confirmed_once(self):
        preview = self.upload(HEADER + "02240,Xã Thái Bình,08,commune,,,\n")
        self.confirm(preview)

        again = self.confirm(preview)

        self.assertRedirects(again, reverse("administration:unit-import"))
        self.assertEqual(Unit.objects.filter(code="02240").count(), 1)

    def test_an_expired_or_made_up_preview_asks_for_the_file_again(self):
        self.client.force_login(self.province_admin)

        for data in ({"key": "0" * 32, "digest": "0" * 64}, {"key": "../x", "digest": "y"}, {}):
            answer = self.client.post(reverse("administration:unit-import-confirm"), data, follow=True)
            self.assertContains(answer, "This preview has expired or was already imported")

    def test_another_administrators_preview_cannot_be_confirmed(self):
        preview = self.upload(HEADER + "02240,Xã Thái Bình,02212,commune,,,\n")
        browser = Client()
        browser.force_login(self.commune_admin)  # administers 02212 too, but it is not their preview

        answer = self.confirm(preview, browser)

        self.assertRedirects(answer, reverse("administration:unit-import"), fetch_redirect_response=False)
        self.assertFalse(Unit.objects.filter(code="02240").exists())

    def test_when_the_units_changed_since_the_preview_nothing_is_written_and_the_new_preview_is_shown(self):
        preview = self.upload(HEADER + "02212,Xã Sơn Dương (mới),08,commune,,,\n02240,Xã Thái Bình,08,commune,,,\n")
        Unit.objects.filter(code="02212").update(name="Xã Sơn Dương (mới)")  # meanwhile: now as the file says
        before = snapshot()

        answer = self.confirm(preview)

        self.assertEqual(snapshot(), before)
        self.assertContains(answer, "The units changed since the preview, so nothing was imported.")
        self.assertContains(answer, "0 units changed")
        self.confirm(answer)
        self.assertTrue(Unit.objects.filter(code="02240").exists())

    def test_bad_rows_are_named_with_row_and_column_in_vietnamese_and_nothing_is_written(self):
        before = snapshot()
        text = HEADER + ("02212,Xã Sơn Dương (mới),08,commune,,,\n"
                         "02240,,99,xa,01/07/2025,,\n")

        page = self.upload(text, browser=Client())

        self.assertEqual(page.status_code, 200)
        self.assertEqual(snapshot(), before)
        problems = [(p.row, p.column, p.message) for p in page.context["problems"]]
        self.assertEqual(problems, [
            (3, "name", "tên đơn vị đang để trống"),
            (3, "level", "“xa” không phải là một trong province, department, centre, district, commune, vertical"),
            (3, "valid_from", "“01/07/2025” không phải là ngày theo dạng YYYY-MM-DD, ví dụ 2025-06-30"),
            (3, "parent_code", "“99” không phải là mã của một đơn vị đã có"),
        ])
        self.assertContains(page, "Tệp chưa được nhập: có 4 lỗi.")
        self.assertContains(page, "<td><code>parent_code</code></td>", html=True)

    def test_a_row_outside_the_administrators_subtree_is_a_row_error(self):
        before = snapshot()

        page = self.upload(HEADER + "10002,Xã Phố Ràng,10,commune,,,\n02212.TTPV,Bộ phận một cửa,02212,centre,,,\n",
                           user=self.commune_admin)

        self.assertEqual([str(p) for p in page.context["problems"]], [
            "row 2, parent_code: “10” is not a known unit"])
        self.assertEqual(snapshot(), before)
        other = self.upload(HEADER + "02230,Phường Minh Xuân,08,commune,,,\n", user=self.commune_admin)
        self.assertEqual([str(p) for p in other.context["problems"]], [
            "row 2, code: “02230” is the code of a unit you do not administer"])

    def test_a_file_that_is_not_csv_or_too_large_is_a_form_error(self):
        self.client.force_login(self.province_admin)

        binary = self.client.post(reverse("administration:unit-import"),
                                  {"file": SimpleUploadedFile("units.xlsx", b"PK\x03\x04\x00\x00\xff\xfe")})
        missing = self.client.post(reverse("administration:unit-import"), {})
        with mock.patch("units.forms.UNIT_UPLOAD_MAX_BYTES", 10):
            large = self.client.post(reverse("administration:unit-import"), {"file": csv_file(HEADER)})

        self.assertEqual([str(p) for p in binary.context["problems"]][0][:6], "row 1:")
        self.assertFormError(missing.context["form"], "file", "This field is required.")
        self.assertFormError(large.context["form"], "file",
                             "The file is larger than 10\xa0bytes: is this the right file?")

    def test_the_confirmation_only_takes_a_post(self):
        self.client.force_login(self.province_admin)

        self.assertEqual(self.client.get(reverse("administration:unit-import-confirm")).status_code, 405)

    def test_a_post_without_the_csrf_token_is_refused(self):
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(self.province_admin)

        answer = browser.post(reverse("administration:unit-import"), {"file": csv_file(HEADER)})

        self.assertEqual(answer.status_code, 403)


class RenameAndCloseTests(AdminTestCase):
    def test_an_administrator_renames_a_unit(self):
        self.client.force_login(self.province_admin)
        url = reverse("administration:unit-rename", args=["02212"])

        self.assertContains(self.client.get(url), 'value="Xã Sơn Dương"')
        answer = self.client.post(url, {"name": "  Xã Sơn Dương mới  "})

        self.assertRedirects(answer, reverse("administration:units"))
        self.assertEqual(Unit.objects.get(code="02212").name, "Xã Sơn Dương mới")

    def test_an_empty_name_or_a_control_character_is_a_vietnamese_form_error(self):
        browser = self.vietnamese(self.province_admin)
        url = reverse("administration:unit-rename", args=["02212"])

        empty = browser.post(url, {"name": "   "})
        hidden = browser.post(url, {"name": "Xã\u202eSơn"})

        self.assertFormError(empty.context["form"], "name", "Trường này là bắt buộc.")
        self.assertFormError(hidden.context["form"], "name",
                             "Hãy xoá ký tự điều khiển vô hình U+202E (ký tự thứ 3).")
        self.assertEqual(Unit.objects.get(code="02212").name, "Xã Sơn Dương")

    def test_another_provinces_administrator_gets_404_for_these_units(self):
        self.client.force_login(self.far_admin)

        for name in ("administration:unit-rename", "administration:unit-close"):
            self.assertEqual(self.client.get(reverse(name, args=["02212"])).status_code, 404)
            self.assertEqual(self.client.post(reverse(name, args=["02212"]), {"name": "x"}).status_code, 404)
        self.assertEqual(Unit.objects.get(code="02212").name, "Xã Sơn Dương")

    def test_closing_a_unit_asks_for_confirmation_then_closes_it_and_names_its_successor(self):
        self.client.force_login(self.province_admin)
        url = reverse("administration:unit-close", args=["02230"])

        asked = self.client.post(url, {"valid_to": "2025-06-30", "successor": "02212"})

        self.assertContains(asked, "Close this unit?")
        self.assertContains(asked, "This is hard to undo")
        self.assertIsNone(Unit.objects.get(code="02230").valid_to)
        done = self.client.post(url, {"valid_to": "2025-06-30", "successor": "02212", "confirmed": "1"})
        self.assertRedirects(done, reverse("administration:units"))
        closed = Unit.objects.get(code="02230")
        self.assertEqual((closed.valid_to, closed.successor), (datetime.date(2025, 6, 30), self.commune))

    def test_a_unit_is_closed_without_a_successor(self):
        self.client.force_login(self.province_admin)

        self.client.post(reverse("administration:unit-close", args=["02212.TTPV"]),
                         {"valid_to": "30/06/2025", "successor": "", "confirmed": "1"})

        closed = Unit.objects.get(code="02212.TTPV")
        self.assertEqual((closed.valid_to, closed.successor), (datetime.date(2025, 6, 30), None))

    def assert_close_refused(self, data, field, message, code="02230"):
        browser = self.vietnamese(self.province_admin)
        answer = browser.post(reverse("administration:unit-close", args=[code]), {**data, "confirmed": "1"})
        self.assertEqual(answer.status_code, 200)
        self.assertFormError(answer.context["form"], field, message)
        self.assertIsNone(Unit.objects.get(code=code).valid_to)

    def test_a_successor_outside_the_subtree_or_unknown_is_a_form_error(self):
        for code in ("10", "10001", "NO-SUCH"):
            self.assert_close_refused({"valid_to": "2025-06-30", "successor": code}, "successor",
                                      f"Không có đơn vị mã “{code}” trong các đơn vị bạn quản trị.")

    def test_a_successor_closed_by_then_or_below_or_itself_is_a_form_error(self):
        Unit.objects.filter(code="02212").update(valid_to=datetime.date(2025, 6, 30))
        self.assert_close_refused({"valid_to": "2025-06-30", "successor": "02212"}, "successor",
                                  "Xã Sơn Dương (02212) không còn hoạt động vào ngày 01/07/2025, ngày sau ngày cuối: "
                                  "hãy chọn đơn vị tiếp nhận từ ngày đó.")
        self.assert_close_refused({"valid_to": "2025-06-30", "successor": "02230"}, "successor",
                                  "Một đơn vị không thể là đơn vị kế thừa của chính nó.")

    def test_a_unit_with_open_units_below_it_is_not_closed(self):
        self.assert_close_refused(
            {"valid_to": "2025-06-30", "successor": ""}, "valid_to",
            "Các đơn vị trực thuộc vẫn còn hoạt động sau ngày đó (02212.TTPV): hãy đóng chúng trước, hoặc chuyển "
            "chúng sang đơn vị khác bằng cách nhập tệp CSV.", code="02212")

    def test_a_last_day_before_the_first_or_not_a_date_is_a_form_error(self):
        Unit.objects.filter(code="02230").update(valid_from=datetime.date(2025, 7, 1))
        self.assert_close_refused({"valid_to": "2025-06-30"}, "valid_to",
                                  "Ngày cuối không thể trước ngày đầu tiên của đơn vị, 01/07/2025.")
        self.assert_close_refused({"valid_to": "30.06.2025"}, "valid_to", "Nhập một ngày hợp lệ.")
        self.assert_close_refused({"valid_to": "9999-12-31"}, "valid_to", "Hãy nhập một ngày sau năm 1900.")

    def test_an_already_closed_unit_says_so(self):
        Unit.objects.filter(code="02230").update(valid_to=datetime.date(2025, 6, 30))
        self.client.force_login(self.province_admin)

        page = self.client.get(reverse("administration:unit-close", args=["02230"]))
        again = self.client.post(reverse("administration:unit-close", args=["02230"]),
                                 {"valid_to": "2026-01-01", "confirmed": "1"})

        self.assertContains(page, "This unit is already closed: its last day was 30/06/2025.")
        self.assertEqual(Unit.objects.get(code="02230").valid_to, datetime.date(2025, 6, 30))
        self.assertEqual(again.status_code, 200)
