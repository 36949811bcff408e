"""No English on a Vietnamese page: every staff page, and every error each of its forms can show.

The pages come from the URL patterns (tests/surveyapp/pages.py: a new page is walked as soon as it
is in a urls.py) with the parameters of a scene that has something on every page
(tests/surveyapp/staff_scene.py). On each page every form is sent again and again, each time with
one field set to one bad value of its kind (empty, unknown, too long, out of range, a merged unit,
a broken file...) and the other fields at their shown or plausible values, in Vietnamese (a browser
that asks for no language gets Vietnamese). Every message shown, on the answer and on the page a
redirect leads to, is judged against the translation catalogues (tests/surveyapp/catalogue.py).
Each sending is rolled back, so that one page's forms do not change what the next one shows.
"""

from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, TestCase
from django.urls import Resolver404, resolve

from tests.surveyapp import pages, staff_scene
from tests.surveyapp.catalogue import Catalogue


# Plausible values of fields by name, so that a form gets past its first check and each bad value
# reaches the check it is meant for (a service's, not "this field is required"). Fields not named
# here get one by their kind.
def _samples(scene):
    response = scene["current"].responses.exclude(pk=scene["excluded"].pk).order_by("id").first()
    return {"unit_code": "02212", "name": "Đợt thử", "target": "5", "stratum_item": "E.FIELD",
            "stratum_value": "land", "response_id": str(response.pk), "size": "5", "seed": "7", "total": "100",
            "minimum": "0", "reason": "other", "note": "Nhập trùng", "username": "admin", "password": "sai-mat-khau"}


BY_KIND = {"text": "Thử", "textarea": "Thử", "search": "Thử", "number": "5", "email": "a@b.vn", "password": "x",
           "date": lambda: timezone_today(), "hidden": ""}
BAD = {
    "text": ["", "xyz", "02215", "99999", "E.FIELD", "a" * 300, "a\x07b"],
    "textarea": ["", "a" * 3000, "a\x07b"],
    "number": ["", "abc", "-1", "0", "1,5", "2147483648", "99999"],
    "date": ["", "2026-13-45", "2020-01-01", "2099-12-31"],
    "hidden": ["", "khong-hop-le", "1001"],
    "select": ["", "lua-chon-la"],
    "radio": ["", "99"],
    "checkbox": ["", "on"],
}
FILES = {
    "empty": b"",
    "header only": b"unit_code,form_date\n",
    "wrong header": b"\xef\xbb\xbfa,b,c\n1,2,3\n",
    "bad rows": b"dossier_code,unit_code,service_field,completed_on\nHS-1,99999,land,2026-13-01\n"
                b",02215,fishing,2026-01-01\n",
    "bad paper rows": b"unit_code,form_date,form_id,E.FIELD\n99999,2026-13-01,nope,fishing\n02215,2020-01-01,,\n",
    "not utf-8": "unit_code;form_date\n02212;01/12/2026\nXã Sơn\n".encode("cp1258", "replace"),
    "semicolons": b"dossier_code;unit_code;service_field;completed_on\nHS-1;02212;land;2026-11-02\nHS-1;02212;;x\n",
}


def timezone_today():
    from django.utils import timezone

    return timezone.localdate().isoformat()


def _skip_action(action):
    try:
        match = resolve(urlsplit(action).path)
    except Resolver404:
        return True
    name = f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name
    return name.startswith(pages.NOT_STAFF_NAMES)


class Walk:
    """What a walk saw: every message, and the problems (English messages, error pages)."""

    def __init__(self, client):
        self.client, self.catalogue = client, Catalogue.load()
        self.problems, self.seen, self.sent = [], set(), 0

    def check(self, answer, where):
        if answer.status_code >= 500:
            self.problems.append(f"{where}: answered {answer.status_code}")
            return []
        if "text/html" not in answer.get("Content-Type", ""):
            return []
        html = answer.content.decode()
        forms, messages = pages.parse(html)
        for text, strict in messages:
            self.seen.add(text)
            verdict = self.catalogue.judge(text, strict=strict)
            if not verdict.ok:
                self.problems.append(f"{where}: {text!r}: {verdict.why}")
        return forms

    def send(self, url, form, data, files, where):
        action = form.action or urlsplit(url).path
        self.sent += 1
        with transaction.atomic():
            if form.method == "post":
                answer = self.client.post(action, {**data, **files}, follow=True)
            else:
                answer = self.client.get(action, data, follow=True)
            if answer.status_code == 404:
                self.problems.append(f"{where}: a dead end, the form's answer is a whole-page 404")
            self.check(answer, where)
            transaction.set_rollback(True)


def _base(form, samples):
    data = {}
    for name, fld in form.fields.items():
        if fld.kind == "checkbox":
            if fld.checked:
                data[name] = fld.value
        elif fld.kind == "file":
            continue
        elif fld.value:
            data[name] = fld.value
        elif fld.kind in ("radio", "select") and fld.options:
            data[name] = next((o for o in fld.options if o), "")
        elif name.split("-")[-1] in samples:
            data[name] = samples[name.split("-")[-1]]
        else:
            default = BY_KIND.get(fld.kind, "Thử")
            data[name] = default() if callable(default) else default
    return data


def _variants(form, samples):
    """(what, data, files): the form as shown, then each field set to each bad value of its kind."""
    base = _base(form, samples)
    file_fields = [n for n, f in form.fields.items() if f.kind == "file"]
    good_file = {n: SimpleUploadedFile("forms.csv", FILES["header only"], "text/csv") for n in file_fields}
    yield "as shown", base, good_file
    for name, fld in form.fields.items():
        if name == "csrfmiddlewaretoken" or name == "next":
            continue
        if fld.kind == "file":
            for label, content in FILES.items():
                yield f"{name}={label}", base, {name: SimpleUploadedFile("forms.csv", content, "text/csv")}
            continue
        values = list(BAD.get(fld.kind, BAD["text"]))
        if fld.kind in ("radio", "select"):
            values += [o for o in fld.options if o][:6]
        for value in values:
            data = {k: v for k, v in base.items() if k != name}
            if value != "" or fld.kind not in ("checkbox", "radio"):
                data[name] = value
            files = {n: SimpleUploadedFile("forms.csv", FILES["header only"], "text/csv") for n in file_fields}
            yield f"{name}={value[:20]!r}", data, files


class VietnamesePagesTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.scene = staff_scene.build()

    def walk_as(self, username, *, forms=True):
        client = Client()  # asks for no language: Vietnamese, the site's default
        client.force_login(get_user_model().objects.get(username=username))
        walk = Walk(client)
        samples = _samples(self.scene)
        for url in staff_scene.staff_urls(self.scene):
            shown = walk.check(client.get(url), f"GET {url}")
            for form in shown if forms else []:
                if _skip_action(form.action or urlsplit(url).path):
                    continue
                for what, data, files in _variants(form, samples):
                    walk.send(url, form, data, files, f"{form.method.upper()} {form.action or url} [{what}]")
        return walk

    def test_every_error_of_every_staff_form_is_in_vietnamese(self):
        walk = self.walk_as("admin")

        self.assertEqual(walk.problems, [], "\n".join(walk.problems))
        self.assertGreater(walk.sent, 300)
        # The walk reaches the services' refusals, not only the forms' own checks.
        seen = "\n".join(walk.seen)
        self.assertIn("đang mở cho", seen)  # round_open: another round is open over the same units
        self.assertIn("không có đơn vị nào có mã", seen.lower())  # the quota form: a mistyped unit code

    def test_every_staff_page_reads_in_vietnamese_for_each_role(self):
        for username in ("officer", "head", "head.sonduong"):
            with self.subTest(username):
                walk = self.walk_as(username, forms=False)

                self.assertEqual(walk.problems, [], "\n".join(walk.problems))


class CatalogueTests(TestCase):
    """The judge itself: it must tell an English message from a Vietnamese one."""

    def test_a_translated_message_passes_and_the_same_in_english_fails(self):
        catalogue = Catalogue.load()

        self.assertTrue(catalogue.judge("Trường này là bắt buộc.").ok)
        self.assertFalse(catalogue.judge("This field is required.").ok)

    def test_an_english_message_inside_a_vietnamese_frame_fails(self):
        catalogue = Catalogue.load()

        verdict = catalogue.judge("dòng 4, unit_code: unknown unit code '99999'")

        self.assertFalse(verdict.ok)
        self.assertIn("unknown unit code", verdict.why)

    def test_a_message_written_without_gettext_fails(self):
        self.assertFalse(Catalogue.load().judge("round 5 is closed: its quotas are frozen, sorry").ok)
        self.assertTrue(Catalogue.load().judge("02263 / xyz: 'xyz' không phải là câu trả lời của E.FIELD").ok)

    def test_a_questionnaire_text_in_a_label_passes(self):
        self.assertTrue(Catalogue.load().judge("Ông/Bà có hài lòng với thái độ của công chức?", strict=False).ok)

