"""Every URL pattern of the project, tried by people who may not see what it shows.

The walker iterates the URL resolver (so a page added later is covered without touching this
file), fills every parameter with an object of another province ("10", Lào Cai), and sends a GET
and a POST as an anonymous visitor, as a user without any role, and as the administrator of
province 08 (every capability there, none in 10). Staff pages must answer 404 or send to the
login page; public pages (the kiosk, the login page, the health check) are listed below by name
with what they may answer. A parameter or a public page the walker does not know fails the test.
"""

import uuid

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from fieldwork.models import PaperImportJob, Response
from fieldwork.quotas import quota_set
from fieldwork.responses import response_submit
from fieldwork.sampling import dossier_list_import, sample_draw
from fieldwork.services import kiosk_create, kiosk_issue_token, round_create
from scoring.models import UnitScore
from scoring.services import api_token_create
from tests.base import make_unit
from tests.fieldwork.base import KioskTestCase, full_answers
from tests.security.urlwalk import UnknownParameter, fill, parameters, walk

SECRET_NAMES = ("Tỉnh Lào Cai", "Xã Bí Mật", "Vòng Lào Cai kín", "Quầy Lào Cai", "Khoá API Lào Cai")

# Pages anyone may open, with the statuses they may answer. Everything else is a staff page.
PUBLIC = {
    "login": {200},
    "logout": {302, 405},  # POST logs out and redirects; GET is not allowed
    "set_language": {302},
    "healthz": {200, 503},
    "fieldwork:kiosk": {200, 405},
    "fieldwork:kiosk-sw": {200, 405},
    "fieldwork:kiosk-pair": {200},
    "fieldwork:kiosk-pair-code": {200},
    "fieldwork:kiosk-form": {200},
    "fieldwork:kiosk-form-thanks": {200, 405},
    # The kiosk API: no device token, no answer.
    "fieldwork:api-questionnaire": {401, 405},
    "fieldwork:api-responses": {401, 405},
    "fieldwork:api-heartbeat": {401, 405},
    "static": {200, 404},
    "admin:login": {200, 302},  # a logged-in non-staff user is shown the form again
    "admin:logout": {302, 405},
    # A one-time link to set a password: a made-up one shows "this link no longer works".
    "administration:set-password": {200},
    # A citizen's invitation to answer at home: a made-up link is not found; GET only. Its Start and its
    # response: POST only, a made-up link not found (a body that is no JSON: 400 before the link is read).
    "fieldwork:invitation-open": {404, 405},
    "fieldwork:athome-start": {404, 405},
    "fieldwork:athome-responses": {400, 404, 405},
    # The slip's short code: the form (a POST without a code is the form's error, 400).
    "fieldwork:athome-code": {200, 400},
    # A desk poster's unit link: as a personal link; its POSTs are limited per client address (429).
    "fieldwork:unit-link": {404, 405},
    "fieldwork:unit-link-start": {404, 405, 429},
    "fieldwork:unit-link-responses": {400, 404, 405, 429},
    # The gateways' delivery reports: POST only, off (404) without their secret, 401 without the secret
    # or signature (fieldwork/views_delivery.py).
    "fieldwork:hook-sms-delivery": {401, 404, 405},
    "fieldwork:hook-zalo-events": {400, 401, 404, 405},
}
# Pages about the user themselves (their home lists their own units): open to anyone logged in.
OWN_PAGES = {"home": {200}, "scores-home": {200, 405},  # scores-home: the rounds of their own roles (GET only)
             # their password and their API tokens (a POST without a name creates nothing: 200 with the error)
             "password_change": {200}, "password_change_done": {200, 405},
             "api-tokens": {200, 405}, "api-token-create": {200, 405},
             # questionnaire versions are national: every administrator reads them (a POST without a file
             # is the upload form's error, 200), anyone else gets 404
             "questionnaire-versions": {200, 404}}
# Denials. 405: the method is not allowed (a POST-only action asked with GET). 401: the score API
# asks for a token or a session.
# The administration pages about the administrator's own units (which units and accounts lie inside
# them): open to an administrator of any province, 404 for everyone else. A confirmation posted
# without its preview goes back to the import page.
ADMIN_OWN_PAGES = {"administration:home": {200, 405}, "administration:units": {200, 405},
                   "administration:unit-import": {200}, "administration:unit-import-confirm": {302, 405},
                   "administration:staff": {200, 405}, "administration:staff-create": {200}}
DENIED_ANONYMOUS = {302, 401, 405}
DENIED_WITHOUT_ROLE = {404, 405, 302}  # 302 only to the admin's login page (staff status is needed)


class AccessWalkTests(KioskTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.another_province.name = SECRET_NAMES[0]
        cls.another_province.save()
        far_commune = make_unit("10001", cls.another_province, name=SECRET_NAMES[1])
        cls.far_round = round_create(name=SECRET_NAMES[2], questionnaire_code="sipas-2017", unit_code="10",
                                     open_now=True)
        cls.far_kiosk, _ = kiosk_create(unit=far_commune, name=SECRET_NAMES[3])
        kiosk_issue_token(kiosk=cls.far_kiosk)
        quota_set(survey_round=cls.far_round, unit=far_commune, target=50)
        now = timezone.now()
        cls.far_response = response_submit(unit=far_commune, kiosk=cls.far_kiosk, payload={
            "id": str(uuid.uuid4()), "round": cls.far_round.pk, "questionnaire": "sipas-2017",
            "started_at": (now - timezone.timedelta(minutes=3)).isoformat(), "submitted_at": now.isoformat(),
            "language": "vi", "answers": full_answers(),
        }).response
        cls.far_list = dossier_list_import(
            survey_round=cls.far_round, name="Hồ sơ Lào Cai", user=cls.far_officer,
            text="dossier_code,unit_code,service_field,completed_on\n"
                 + "".join(f"LC-{i:04d},10001,land,2026-11-0{1 + i % 9}\n" for i in range(20)),
        )
        cls.far_sample = sample_draw(dossier_list=cls.far_list, size=5, seed=1, user=cls.far_officer)
        cls.far_token, _key = api_token_create(user=cls.far_officer, name=SECRET_NAMES[4])
        cls.far_job = PaperImportJob.objects.create(round=cls.far_round, user=cls.far_officer, rows=1,
                                                    status=PaperImportJob.Status.FAILED, problems=[SECRET_NAMES[4]])
        cls.values = {
            "code": "10", "unit_code": "10", "round_id": cls.far_round.pk, "kiosk_id": cls.far_kiosk.pk,
            "response_id": cls.far_response.pk, "list_id": cls.far_list.pk, "sample_id": cls.far_sample.pk,
            "token_id": cls.far_token.pk, "job_id": cls.far_job.pk,
            "user_id": cls.far_officer.pk, "role_id": cls.far_officer.unit_roles.get().pk,
            "uidb64": urlsafe_base64_encode(force_bytes(cls.far_officer.pk)), "token": "made-up-token",
            # the admin's own parameters
            "app_label": "fieldwork", "url": "fieldwork/response/", "object_id": cls.far_response.pk,
            "content_type_id": ContentType.objects.get_for_model(Response).pk, "id": cls.far_officer.pk,
            "path": "kiosk/main.js",
        }

    def routes(self, values=None):
        """(name, url) of every pattern; fails loudly on a parameter the walker cannot fill."""
        found = []
        for route in walk():
            name = "static" if route.route.startswith("^static/") else route.name
            try:
                found.append((name, fill(route.route, values or self.values)))
            except UnknownParameter as exc:
                self.fail(str(exc))
        return found

    def snapshot(self):
        """Every row of the project's own tables, to prove that no request changed anything."""
        rows = {}
        for label in ("units", "questionnaires", "fieldwork", "scoring"):
            for model in apps.get_app_config(label).get_models():
                rows[model._meta.label] = sorted(map(repr, model.objects.values_list()))
        return rows

    def try_every_route(self, login=None):
        before = self.snapshot()
        self.assertEqual(self.problems(login), [])
        self.assertEqual(self.snapshot(), before, "a request by someone without access changed data")

    def problems(self, login, values=None, methods=("get", "post")):
        if login is not None:
            self.client.force_login(login)
        problems = []
        for name, url in self.routes(values):
            for method in methods:
                answer = getattr(self.client, method)(url)
                problem = self.judge(name, url, method, answer, anonymous=login is None,
                                     administrator=login is not None and login.unit_roles.filter(kind="admin").exists())
                if problem:
                    problems.append(problem)
                if login is not None and name in ("logout", "admin:logout"):
                    self.client.force_login(login)  # so that the rest is still asked as this user
        return problems

    def judge(self, name, url, method, answer, anonymous, administrator=False):
        status = answer.status_code
        where = f"{method.upper()} {url} ({name}) -> {status}"
        body = answer.content.decode("utf-8", "replace") if not answer.streaming else ""
        leaked = [secret for secret in SECRET_NAMES if secret in body]
        if leaked:
            return f"{where} shows {leaked}"
        if status >= 500:
            return f"{where}: server error"
        if name in PUBLIC:
            return None if status in PUBLIC[name] else f"{where}: a public page answered unexpectedly"
        if name in OWN_PAGES and not anonymous:
            return None if status in OWN_PAGES[name] else f"{where}: a page of one's own answered unexpectedly"
        if name in ADMIN_OWN_PAGES and administrator:
            if status == 302 and not answer["Location"].startswith("/administration/"):
                return f"{where}: redirects to {answer['Location']}"
            expected = ADMIN_OWN_PAGES[name]
            return None if status in expected else f"{where}: an administrator's page answered unexpectedly"
        allowed = DENIED_ANONYMOUS if anonymous else DENIED_WITHOUT_ROLE
        if status not in allowed:
            return f"{where}: expected one of {sorted(allowed)} (a staff page: see PUBLIC if it is not one)"
        if status == 302:
            login = "/admin/login/" if name.startswith("admin:") else "/accounts/login/"
            if not answer["Location"].startswith(login):
                return f"{where}: redirects to {answer['Location']}, not the login page"
        return None

    def test_the_walker_sees_every_page_of_the_apps(self):
        names = {name for name, _url in self.routes()}

        for expected in ("fieldwork:round", "fieldwork:paper-import", "fieldwork:sample-csv", "units:detail",
                         "api-unit-scores", "admin:fieldwork_round_change"):
            self.assertIn(expected, names)
        self.assertGreater(len(names), 60)

    def test_a_parameter_the_walker_does_not_know_fails_loudly(self):
        with self.assertRaisesRegex(UnknownParameter, "cannot fill <report_id>"):
            fill("rounds/<int:round_id>/reports/<int:report_id>/", self.values)
        self.assertEqual(parameters("admin/^(?P<app_label>auth|units)/$"), ["app_label"])

    def test_the_walker_notices_pages_that_answer_someone_who_may_see_them(self):
        own = {**self.values, "code": "08", "unit_code": "08", "round_id": self.round.pk, "kiosk_id": self.kiosk.pk}

        found = "\n".join(self.problems(self.province_admin, own, methods=("get",)))

        for page in ("fieldwork:round)", "fieldwork:kiosk-list)", "units:detail)", "fieldwork:quotas)"):
            self.assertIn(page, found)

    def test_an_anonymous_visitor_gets_the_login_page_or_nothing_on_every_url(self):
        self.try_every_route(login=None)

    def test_a_user_without_any_role_gets_404_on_every_staff_url(self):
        self.try_every_route(login=self.nobody)

    def test_an_administrator_of_one_province_gets_404_on_every_url_of_another(self):
        self.try_every_route(login=self.province_admin)

    def test_the_score_api_refuses_a_token_of_someone_without_a_role_there(self):
        _token, key = api_token_create(user=self.province_head)
        url = f"/api/v1/scores/{self.far_round.pk}/10"

        self.assertEqual(self.client.get(url, HTTP_AUTHORIZATION=f"Token {key}").status_code, 404)
        self.assertEqual(self.client.get(url, HTTP_AUTHORIZATION="Token forged-key").status_code, 401)
        self.assertFalse(UnitScore.objects.exists())
