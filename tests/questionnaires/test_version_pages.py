"""The administrators' questionnaire version pages: the list, a version laid out for reading,
uploading a definition file (every problem named, nothing stored unless all is well), published
versions frozen, drafts replaced, publishing after a confirmation, and who may do what."""

import copy
import io
import json
import tempfile
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldwork.services import round_create
from questionnaires.definition import Definition, check_definition
from questionnaires.models import QuestionnaireVersion
from questionnaires.services import (
    DEFINITIONS_DIR,
    MAX_DEFINITION_BYTES,
    definition_files,
    questionnaire_load_file,
    questionnaire_upload,
)
from tests.base import BaseTestCase, make_unit, make_user
from units.models import Role

LIST = reverse("questionnaire-versions")


def shipped(code="sipas-2017"):
    return json.loads((DEFINITIONS_DIR / f"{code}.json").read_text(encoding="utf-8"))


def new_version(code="tinh-08-2027", family=None, **changes):
    """A copy of sipas-2017 under a new code, in a family of its own unless told."""
    doc = shipped()
    doc.update(code=code, family=family or code, **changes)
    return doc


def as_file(content, name="definition.json"):
    raw = content if isinstance(content, bytes) else json.dumps(content, ensure_ascii=False).encode()
    return SimpleUploadedFile(name, raw, content_type="application/json")


class VersionPagesTestCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        for path in definition_files():
            questionnaire_load_file(path=path)
        cls.commune_admin = make_user("commune_admin", (Role.Kind.ADMIN, cls.commune))

    def setUp(self):
        self.client.force_login(self.province_admin)

    def upload(self, content, client=None):
        return (client or self.client).post(LIST, {"file": as_file(content)})

    def problems(self, answer):
        """(path, item, message) of every problem the page names."""
        return [(p.path, p.item, p.message) for p in answer.context["problems"]]


class ListTests(VersionPagesTestCase):
    def test_an_administrator_lists_every_version_with_its_family_status_questions_and_rounds(self):
        round_create(name="Quý IV/2026", questionnaire_code="sipas-2017", unit_code="08")
        round_create(name="Xã", questionnaire_code="sipas-2017", unit_code="02212")
        round_create(name="Lào Cai", questionnaire_code="sipas-2017", unit_code="10")  # not theirs
        questionnaire_upload(raw=json.dumps(new_version()).encode(), by="province_admin")

        # session, user, administrator roles at the top of a tree (may load), administrator roles
        # (may see), their units' paths, the versions with their rounds counted
        with self.assertNumQueries(6):
            page = self.client.get(LIST)

        self.assertEqual(page.status_code, 200)
        rows = {v.code: v for v in page.context["versions"]}
        self.assertEqual(set(rows), {"sipas-2017", "sipas-2017-r2026", "sipas-2023-services", "tinh-08-2027"})
        self.assertEqual(rows["sipas-2017"].rounds_count, 2)
        self.assertEqual(rows["sipas-2017-r2026"].rounds_count, 0)
        self.assertEqual(rows["sipas-2017"].items_count, len(shipped()["sections"][0]["items"]) + sum(
            len(s["items"]) for s in shipped()["sections"][1:]))
        row = page.content.decode().split('data-testid="version-sipas-2017-r2026"')[1].split("</tr>")[0]
        for text in ("sipas-2017", "Published", str(rows["sipas-2017-r2026"].items_count)):
            self.assertIn(text, row)
        draft = page.content.decode().split('data-testid="version-tinh-08-2027"')[1].split("</tr>")[0]
        self.assertIn("Draft", draft)
        self.assertIn(reverse("questionnaire-publish", args=["tinh-08-2027"]), draft)

    def test_a_superuser_counts_every_round(self):
        round_create(name="Lào Cai", questionnaire_code="sipas-2017", unit_code="10")
        self.client.force_login(self.admin)

        rows = {v.code: v for v in self.client.get(LIST).context["versions"]}

        self.assertEqual(rows["sipas-2017"].rounds_count, 1)

    def test_the_page_is_in_vietnamese_by_default(self):
        client = Client()
        client.force_login(self.province_admin)

        page = client.get(LIST)

        for text in ("Phiên bản phiếu khảo sát", "Đã ban hành", "Nạp phiên bản mới", "Xem thử"):
            self.assertContains(page, text)

    def test_someone_without_an_administrator_role_gets_404_everywhere(self):
        urls = [LIST, reverse("questionnaire-version", args=["sipas-2017"]),
                reverse("questionnaire-definition", args=["sipas-2017"]),
                reverse("questionnaire-publish", args=["sipas-2017"])]
        for user in (self.officer, self.province_officer, self.province_head, self.head, self.nobody):
            self.client.force_login(user)
            for url in urls:
                with self.subTest(user=user.username, url=url):
                    self.assertEqual(self.client.get(url).status_code, 404)
                    self.assertIn(self.client.post(url).status_code, (404, 405))  # 405: a page read only
            self.assertEqual(self.upload(new_version()).status_code, 404)
        self.assertFalse(QuestionnaireVersion.objects.filter(code="tinh-08-2027").exists())

    def test_an_anonymous_visitor_is_sent_to_the_login_page(self):
        self.client.logout()

        for url in (LIST, reverse("questionnaire-version", args=["sipas-2017"])):
            answer = self.client.get(url)
            self.assertEqual(answer.status_code, 302)
            self.assertTrue(answer["Location"].startswith("/accounts/login/"))


class PermissionTests(VersionPagesTestCase):
    def test_an_administrator_below_the_top_of_the_tree_reads_and_previews_but_does_not_load(self):
        self.client.force_login(self.commune_admin)

        page = self.client.get(LIST)
        detail = self.client.get(reverse("questionnaire-version", args=["sipas-2017"]))

        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, 'data-testid="upload-form"')
        self.assertContains(page, reverse("fieldwork:questionnaire-preview", args=["sipas-2017"]))
        self.assertEqual(detail.status_code, 200)
        self.assertEqual(self.upload(new_version()).status_code, 404)
        self.assertFalse(QuestionnaireVersion.objects.filter(code="tinh-08-2027").exists())

    def test_publishing_is_for_those_who_may_load(self):
        self.upload(new_version())
        url = reverse("questionnaire-publish", args=["tinh-08-2027"])
        self.client.force_login(self.commune_admin)

        self.assertEqual(self.client.get(url).status_code, 404)
        self.assertEqual(self.client.post(url).status_code, 404)
        self.assertFalse(QuestionnaireVersion.objects.get(code="tinh-08-2027").is_frozen)

    def test_a_superuser_and_an_administrator_of_any_top_unit_may_load(self):
        far_admin = make_user("far_admin", (Role.Kind.ADMIN, self.another_province))
        for number, user in enumerate((self.admin, far_admin)):
            with self.subTest(user=user.username):
                self.client.force_login(user)
                answer = self.upload(new_version(f"thu-{number}"))
                self.assertEqual(answer.status_code, 302)
                self.assertEqual(QuestionnaireVersion.objects.get(code=f"thu-{number}").loaded_by, user.username)


class UploadTests(VersionPagesTestCase):
    def test_a_valid_file_is_stored_as_a_draft_and_opens_the_versions_page(self):
        answer = self.upload(new_version(), client=None)

        version = QuestionnaireVersion.objects.get(code="tinh-08-2027")
        self.assertRedirects(answer, reverse("questionnaire-version", args=["tinh-08-2027"]),
                             fetch_redirect_response=False)  # the next page shows the message
        self.assertEqual(version.status, QuestionnaireVersion.Status.DRAFT)
        self.assertIsNone(version.published_at)
        self.assertEqual(version.loaded_by, "province_admin")
        self.assertEqual(version.item_codes[:2], ["E.FIELD", "E.LEVEL"])
        self.assertContains(self.client.get(answer["Location"]), "Draft tinh-08-2027 stored")

    def test_every_problem_is_named_with_its_place_in_vietnamese_and_nothing_is_stored(self):
        doc = new_version()
        doc["title"] = {"vi": "Phiếu"}
        doc["sections"][0]["items"][0]["kind"] = "slider"
        doc["sections"][1]["items"][1]["options"] = [{"code": "a"}, {"code": "b", "label": {"vi": "B", "en": "B"}}]
        doc["sections"][1]["items"][1]["kind"] = "single"
        doc["sections"][1]["items"][2]["condition"] = {"item": "G.0", "equals": 5}
        doc["sections"][2]["items"][0]["requried"] = True
        doc["scoring"]["factors"]["F1"]["items"].append("E.FIELD")
        doc["scoring"]["min_responses"] = 0
        client = Client()
        client.force_login(self.province_admin)
        count = QuestionnaireVersion.objects.count()

        answer = self.upload(doc, client=client)

        self.assertEqual(answer.status_code, 200)
        self.assertEqual(QuestionnaireVersion.objects.count(), count)
        problems = self.problems(answer)
        expected = [
            ("title", "", "cần văn bản không rỗng bằng cả 'vi' và 'en'"),
            ("sections[0].items[0].kind", "E.FIELD", "'slider' không phải là một trong"),
            ("sections[1].items[1].options[0].label", "F1.2", "thiếu"),
            ("sections[1].items[2].condition.item", "F1.3", "'G.0' không phải câu hỏi đứng trước"),
            ("sections[2].items[0].requried", "F2.1", "khoá không được biết đến"),
            ("scoring.factors.F1.items[4]", "", "'E.FIELD' không phải câu hỏi mức độ hài lòng"),
            ("scoring.min_responses", "", "phải là số nguyên từ 1 đến"),
        ]
        for path, item, message in expected:
            with self.subTest(path=path):
                found = [p for p in problems if p[0] == path]
                self.assertTrue(found, f"{path} not named in {problems}")
                self.assertEqual(found[0][1], item)
                self.assertIn(message, found[0][2])
        html = answer.content.decode()
        self.assertIn("Không lưu gì", html)
        self.assertIn("sections[1].items[2].condition.item", html)
        self.assertIn("F1.3", html)

    def test_files_that_cannot_be_read_are_form_errors_named_in_vietnamese(self):
        big = b'{"notes": "' + b"x" * MAX_DEFINITION_BYTES + b'"}'
        cases = {
            "not JSON": (b'{"code": "x",\n  "title": }', "dòng 2, cột"),
            "a comma left over": (b'{"code": "x",}', "dòng 1, cột"),
            "not UTF-8": ('{"notes": "Phép"}'.encode("cp1252"), "không phải văn bản UTF-8"),
            "UTF-16": ('{"code": "x"}'.encode("utf-16"), "không phải văn bản UTF-8"),
            "too large": (big, "lớn hơn"),
            "empty": (b"", "rỗng"),
            "blank": (b"  \n", "rỗng"),
            "a list": (b"[1, 2]", "một đối tượng JSON"),
            "NaN": (b'{"code": NaN}', "NaN"),
            "infinite": (b'{"code": 1e999}', "1e999"),
            "a key twice": (b'{"code": "a", "code": "b"}', "hai lần"),
            "NUL in a text": (json.dumps({**new_version(), "notes": "a\u0000b"}).encode(), "U+0000"),
            "half a surrogate": (b'{"notes": "\\ud800"}', "U+D800"),
            "deeply nested": (b"[" * 100_000 + b"]" * 100_000, "sâu"),
            "a huge number": (b'{"code": ' + b"9" * 5000 + b"}", "quá nhiều chữ số"),
        }
        client = Client()
        client.force_login(self.province_admin)
        count = QuestionnaireVersion.objects.count()
        for name, (raw, words) in cases.items():
            with self.subTest(name):
                answer = self.upload(raw, client=client)
                self.assertEqual(answer.status_code, 200)
                shown = answer.content.decode()
                self.assertIn(words, shown)
                self.assertIn('class="invalid-feedback"', shown)
        self.assertEqual(QuestionnaireVersion.objects.count(), count)

    def test_a_published_version_cannot_be_replaced(self):
        changed = shipped()
        changed["title"]["vi"] = "Sửa đổi sau khi ban hành"
        before = QuestionnaireVersion.objects.get(code="sipas-2017")

        answer = self.upload(changed)

        self.assertEqual(answer.status_code, 200)
        [(path, _item, message)] = self.problems(answer)
        self.assertEqual(path, "code")
        self.assertIn("new version code", message)
        after = QuestionnaireVersion.objects.get(code="sipas-2017")
        self.assertEqual((after.checksum, after.title_vi, after.loaded_at), (before.checksum, before.title_vi,
                                                                              before.loaded_at))

    def test_the_same_file_as_a_published_version_changes_nothing(self):
        answer = self.upload(shipped(), client=None)

        self.assertRedirects(answer, reverse("questionnaire-version", args=["sipas-2017"]),
                             fetch_redirect_response=False)
        self.assertContains(self.client.get(answer["Location"]), "already holds exactly this definition")
        self.assertTrue(QuestionnaireVersion.objects.get(code="sipas-2017").is_frozen)

    def test_a_draft_is_replaced_by_a_new_file_of_the_same_code(self):
        self.upload(new_version())
        changed = new_version()
        changed["title"]["vi"] = "Phiếu khảo sát của tỉnh, bản sửa"

        answer = self.upload(changed)

        self.assertEqual(answer.status_code, 302)
        version = QuestionnaireVersion.objects.get(code="tinh-08-2027")
        self.assertEqual(version.title_vi, "Phiếu khảo sát của tỉnh, bản sửa")
        self.assertFalse(version.is_frozen)
        self.assertContains(self.client.get(answer["Location"]), "replaced by the new file")

    def test_a_version_whose_scoring_differs_from_a_published_one_of_its_family_is_refused(self):
        doc = new_version("sipas-2017-r2027", family="sipas-2017")
        doc["scoring"]["satisfied_levels"] = [5]

        answer = self.upload(doc)

        self.assertEqual(answer.status_code, 200)
        [(path, _item, message)] = self.problems(answer)
        self.assertEqual(path, "scoring")
        self.assertIn("sipas-2017", message)
        self.assertFalse(QuestionnaireVersion.objects.filter(code="sipas-2017-r2027").exists())

    def test_a_new_version_of_a_family_with_the_same_scoring_is_taken(self):
        doc = new_version("sipas-2017-r2027", family="sipas-2017")
        doc["intro"]["vi"] = "Lời mở đầu mới."

        self.assertEqual(self.upload(doc).status_code, 302)
        self.assertEqual(QuestionnaireVersion.objects.get(code="sipas-2017-r2027").family, "sipas-2017")

    def test_the_problems_listed_stop_at_the_import_limit_and_the_rest_are_counted(self):
        doc = new_version()
        for section in doc["sections"]:
            for item in section["items"]:
                item["kind"] = "slider"
        with self.settings(IMPORT_ERROR_LIMIT=5):
            answer = self.upload(doc)

        self.assertEqual(len(answer.context["problems"]), 5)
        self.assertIn("more problems", answer.context["more"])


class PublishTests(VersionPagesTestCase):
    def test_publishing_asks_first_then_freezes_the_draft_for_good(self):
        self.upload(new_version())
        url = reverse("questionnaire-publish", args=["tinh-08-2027"])

        confirm = self.client.get(url)
        self.assertContains(confirm, "cannot be undone")
        self.assertContains(confirm, 'data-testid="confirm-publish"')
        self.assertFalse(QuestionnaireVersion.objects.get(code="tinh-08-2027").is_frozen)
        done = self.client.post(url, follow=True)

        version = QuestionnaireVersion.objects.get(code="tinh-08-2027")
        self.assertTrue(version.is_frozen)
        self.assertIsNotNone(version.published_at)
        self.assertEqual(version.published_by, "province_admin")
        self.assertContains(done, "tinh-08-2027 is published")
        round_create(name="Năm 2027", questionnaire_code="tinh-08-2027", unit_code="08")  # now usable
        changed = new_version()
        changed["title"]["vi"] = "Sửa sau khi ban hành"
        self.assertIn("new version code", self.problems(self.upload(changed))[0][2])

    def test_publishing_twice_says_so_and_changes_nothing(self):
        url = reverse("questionnaire-publish", args=["sipas-2017"])
        before = QuestionnaireVersion.objects.get(code="sipas-2017").published_at

        self.assertContains(self.client.get(url), "already published")
        self.assertContains(self.client.post(url, follow=True), "was already published")
        self.assertEqual(QuestionnaireVersion.objects.get(code="sipas-2017").published_at, before)

    def test_publishing_checks_the_family_again(self):
        first, second = new_version("ho-moi-a", family="ho-moi"), new_version("ho-moi-b", family="ho-moi")
        second["scoring"]["min_responses"] = 50
        self.upload(first)
        self.upload(second)
        self.client.post(reverse("questionnaire-publish", args=["ho-moi-a"]))

        answer = self.client.post(reverse("questionnaire-publish", args=["ho-moi-b"]))

        self.assertEqual(answer.status_code, 200)
        self.assertEqual(self.problems(answer)[0][0], "scoring")
        self.assertFalse(QuestionnaireVersion.objects.get(code="ho-moi-b").is_frozen)


class DetailTests(VersionPagesTestCase):
    def test_the_page_lays_out_every_section_item_option_condition_and_the_scoring(self):
        client = Client()
        client.force_login(self.province_admin)

        page = client.get(reverse("questionnaire-version", args=["sipas-2017-r2026"]))

        doc = shipped("sipas-2017-r2026")
        for section in doc["sections"]:
            self.assertContains(page, f'data-testid="section-{section["code"]}"')
            for item in section["items"]:
                self.assertContains(page, f'data-testid="item-{item["code"]}"')
                self.assertContains(page, item["text"]["vi"])
                for option in item.get("options", []):
                    self.assertContains(page, option["label"]["vi"])
        self.assertContains(page, "F5.0 là Có (yes)")  # the feedback questions' condition, in words
        self.assertContains(page, "Không hỏi: điền sẵn theo cấp của đơn vị")  # E.LEVEL
        self.assertContains(page, "Rất hài lòng")
        self.assertContains(page, 'data-testid="scoring"')
        self.assertContains(page, "G.0")
        self.assertContains(page, 'id="preview-unit"')
        self.assertContains(page, '<option value="02212">02212 · Xã Sơn Dương</option>', html=True)

    def test_the_units_offered_for_the_preview_are_ones_own_and_open(self):
        make_unit("02299", self.province, name="Xã đã sáp nhập", valid_to="2025-06-30")

        page = self.client.get(reverse("questionnaire-version", args=["sipas-2017"]))

        codes = [u.code for u in page.context["preview_units"]]
        self.assertEqual(codes, ["08", "02212", "02230"])

    def test_the_definition_downloads_as_the_json_stored(self):
        answer = self.client.get(reverse("questionnaire-definition", args=["sipas-2017"]))

        self.assertEqual(answer["Content-Type"], "application/json; charset=utf-8")
        self.assertIn('filename="sipas-2017.json"', answer["Content-Disposition"])
        self.assertEqual(json.loads(answer.content), shipped())

    def test_an_unknown_version_is_404(self):
        self.assertEqual(self.client.get(reverse("questionnaire-version", args=["nothing-here"])).status_code, 404)


class OneLoaderTests(VersionPagesTestCase):
    def test_the_command_names_the_same_problems_as_the_page(self):
        doc = new_version()
        doc["sections"][0]["items"][0]["kind"] = "slider"
        err = io.StringIO()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "test-broken.json"
            path.write_text(json.dumps(doc), encoding="utf-8")
            with translation.override("vi"), self.assertRaises(CommandError):
                call_command("load_questionnaires", str(path), stderr=err)
        page = self.upload(doc)

        self.assertIn("test-broken.json: sections[0].items[0].kind (E.FIELD): 'slider' không phải là một trong",
                      err.getvalue())
        self.assertEqual(self.problems(page)[0][:2], ("sections[0].items[0].kind", "E.FIELD"))

    def test_a_changed_copy_of_the_shipped_scoring_is_refused_by_the_command_too(self):
        doc = copy.deepcopy(shipped("sipas-2017-r2026"))
        doc["code"] = "sipas-2017-r2099"
        doc["scoring"]["factor_method"] = "pooled_answers"
        err = io.StringIO()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "test-family.json"
            path.write_text(json.dumps(doc), encoding="utf-8")
            with self.assertRaises(CommandError):
                call_command("load_questionnaires", str(path), stderr=err)

        self.assertIn("test-family.json: scoring:", err.getvalue())
        self.assertFalse(QuestionnaireVersion.objects.filter(code="sipas-2017-r2099").exists())


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8) | st.sampled_from(["F1.1", "G.0", "single", "satisfaction", "vi", "en", "E.FIELD"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["code", "kind", "items", "options", "condition", "item", "equals", "in", "all", "not",
                         "label", "vi", "en", "known_from", "unit_level", "factors", "x"]) | st.text(max_size=5),
        inner, max_size=4),
    max_leaves=20,
)


def _nodes(value, path=()):
    yield path
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in children:
        yield from _nodes(inner, (*path, key))


@settings(max_examples=300, deadline=None)
@given(doc=JSON)
def test_the_check_names_problems_of_any_json_without_failing(doc):
    for problem in check_definition(doc):
        assert problem.message and isinstance(problem.path, str)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), replacement=JSON)
def test_the_check_takes_a_shipped_definition_with_any_part_replaced_without_failing(data, replacement):
    doc = shipped("sipas-2017-r2026")
    path = data.draw(st.sampled_from(list(_nodes(doc))[1:]))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = replacement

    problems = check_definition(doc)

    assert all(str(problem) for problem in problems)
    if not problems:
        Definition(doc).api()  # what passes the check, the kiosk API can serve
