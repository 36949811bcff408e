"""The kiosk's form without JavaScript (/kiosk/form/) speaks the language of its page, messages of the
answers' checks included, while the kiosk API keeps answering the device in English; nothing on
the form refreshes by itself; the language switch and "start over" keep what was answered."""

import re

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fieldwork.models import Response
from questionnaires.answers import unpack_answers
from tests.fieldwork.base import KioskTestCase, full_answers

REQUIRED_VI = "câu này cần có câu trả lời"  # locale/vi: "an answer is required"
REQUIRED_EN = "an answer is required"
REFRESH = re.compile(r"http-equiv\s*=\s*[\"']?refresh", re.IGNORECASE)


class KioskFormTestCase(KioskTestCase):
    url = reverse("fieldwork:kiosk-form")

    def setUp(self):
        self.client.cookies["sipas_kiosk"] = self.token

    def browser(self, accept_language):
        """A client whose browser asks for ``accept_language``, with the kiosk's cookie."""
        client = Client(HTTP_ACCEPT_LANGUAGE=accept_language)
        client.cookies["sipas_kiosk"] = self.token
        return client

    def shown(self, client=None, lang=None):
        """The hidden fields of a freshly shown form (its id and start), as its post sends them."""
        page = (client or self.client).get(self.url + (f"?lang={lang}" if lang else ""))
        return {"response_id": page.context["response_id"], "started_at": page.context["started_at"]}


class KioskFormLanguageTests(KioskFormTestCase):
    def test_the_vietnamese_page_says_what_is_missing_in_vietnamese_whatever_the_browser_asks(self):
        page = self.client.post(self.url, {"F1.1": "4"})  # the client's browser asks for English

        self.assertEqual(page.context["form"].errors["F3.2"], [REQUIRED_VI])
        self.assertNotContains(page, REQUIRED_EN)
        self.assertContains(page, '<html lang="vi">')
        self.assertEqual(page["Content-Language"], "vi")
        self.assertFalse(Response.objects.exists())

    def test_the_english_page_says_it_in_english_to_a_vietnamese_browser(self):
        page = self.browser("vi").post(self.url + "?lang=en", {"F1.1": "4"})

        self.assertEqual(page.context["form"].errors["F3.2"], [REQUIRED_EN])
        self.assertNotContains(page, REQUIRED_VI)
        self.assertContains(page, '<html lang="en">')
        self.assertEqual(page["Content-Language"], "en")

    def test_the_writers_own_refusals_are_in_the_pages_language_too(self):
        self.round.ask_dossier_code = True
        self.round.save(update_fields=["ask_dossier_code"])

        vietnamese = self.client.post(self.url, {**full_answers(), **self.shown(), "dossier_code": "ab"})
        english = self.client.post(self.url + "?lang=en", {**full_answers(), **self.shown(), "dossier_code": "ab"})

        self.assertContains(vietnamese, "phải là mã hồ sơ trên giấy biên nhận, từ 3 đến 64 ký tự in được")
        self.assertContains(english, "must be the dossier code from the receipt, 3 to 64 printable characters")
        self.assertContains(vietnamese, 'value="ab"')  # what was typed stays in its box
        self.assertFalse(Response.objects.exists())

    def test_the_kiosk_api_answers_the_device_in_english_when_the_request_asks_for_vietnamese(self):
        self.client = self.browser("vi")

        response = self.post(self.payload(answers=full_answers(**{"F3.2": None})))

        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["errors"], {"F3.2": [REQUIRED_EN]})

    def test_the_paper_entry_page_shows_the_answers_mistakes_in_its_language(self):
        officer = Client(HTTP_ACCEPT_LANGUAGE="vi")
        officer.force_login(self.province_officer)
        url = reverse("fieldwork:paper-entry", args=[self.round.pk])
        form_id = officer.get(url).context["entry"].initial["form_id"]

        page = officer.post(url, {"unit": "02212", "form_date": timezone.localdate().isoformat(), "form_id": form_id,
                                  **full_answers(**{"F3.2": None})})

        self.assertEqual(page.context["answers"].errors["F3.2"], [REQUIRED_VI])


class KioskFormRefreshTests(KioskFormTestCase):
    def assertNothingRefreshes(self, page):
        html = page.content.decode()
        self.assertIsNone(REFRESH.search(html), "a timed refresh would clear a half-filled form")
        self.assertNotIn("Refresh", page.headers)
        self.assertNotIn("<script", html)

    def test_no_page_of_the_form_refreshes_by_itself(self):
        empty_vi, empty_en = self.client.get(self.url), self.client.get(self.url + "?lang=en")
        with_errors = self.client.post(self.url, {"F1.1": "4", **self.shown()})
        sent = self.client.post(self.url + "?lang=en", {**full_answers(), **self.shown()}, follow=True)

        for page in (empty_vi, empty_en, with_errors, sent):
            with self.subTest(page=page.request["PATH_INFO"] + "?" + page.request["QUERY_STRING"]):
                self.assertNothingRefreshes(page)
        self.assertContains(with_errors, 'data-testid="error-summary"')
        self.assertContains(sent, 'data-testid="thanks"')

    def test_the_thanks_page_leads_the_next_person_to_an_empty_vietnamese_form(self):
        page = self.client.get(reverse("fieldwork:kiosk-form-thanks") + "?lang=en")

        self.assertContains(page, "Thank you!")
        self.assertContains(page, f'href="{self.url}"')
        self.assertContains(page, "Bắt đầu phiếu mới")

    def test_the_paired_page_opens_the_form_at_once_without_javascript_and_has_no_delayed_refresh(self):
        from fieldwork.services import kiosk_new_pairing_code

        code = kiosk_new_pairing_code(kiosk=self.kiosk)

        page = self.client.post(reverse("fieldwork:kiosk-pair"), {"code": code})

        html = page.content.decode()
        self.assertContains(page, 'data-testid="paired"')
        self.assertIn(f'<noscript><meta http-equiv="refresh" content="0;url={self.url}"></noscript>', html)
        self.assertEqual(len(REFRESH.findall(html)), 1)


class KioskFormKeepsTheAnswersTests(KioskFormTestCase):
    def checked(self, page, name, value):
        return re.search(rf'<input type="(radio|checkbox)" name="{re.escape(name)}" value="{re.escape(value)}"'
                         rf'[^>]* checked', page.content.decode()) is not None

    def test_switching_the_language_keeps_the_answers_and_checks_nothing_yet(self):
        hidden = self.shown()

        page = self.client.post(self.url + "?lang=en", {
            "action": "language", "F1.1": "4", "E.INFO": ["commune_officials", "media"], "C.COMMENT": "Xin chào",
            **hidden})

        self.assertContains(page, '<html lang="en">')
        self.assertTrue(self.checked(page, "F1.1", "4"))
        self.assertTrue(self.checked(page, "E.INFO", "commune_officials") and self.checked(page, "E.INFO", "media"))
        self.assertContains(page, "Xin chào</textarea>")
        self.assertEqual(page.context["response_id"], hidden["response_id"])
        self.assertNotContains(page, 'data-testid="error-summary"')
        self.assertFalse(Response.objects.exists())

    def test_start_over_asks_first_and_keeps_the_answers_until_confirmed(self):
        page = self.client.post(self.url + "?lang=en", {"action": "restart", "F1.1": "2", **self.shown()})

        self.assertContains(page, 'data-testid="restart-confirm"')
        self.assertContains(page, f'href="{self.url}" data-testid="restart-yes"')  # an empty form in Vietnamese
        self.assertTrue(self.checked(page, "F1.1", "2"))
        self.assertNotContains(page, 'data-testid="error-summary"')
        self.assertFalse(Response.objects.exists())

    def test_an_answer_to_a_question_the_earlier_answers_leave_out_is_dropped_not_refused(self):
        # No feedback given (F5.0 "no"), yet a level tapped for a feedback question: a radio button
        # cannot be cleared without JavaScript.
        answers = full_answers(**{"F5.0": "no", "F5.1": 2})

        page = self.client.post(self.url, {**answers, **self.shown()})

        self.assertRedirects(page, reverse("fieldwork:kiosk-form-thanks") + "?lang=vi", fetch_redirect_response=False)
        stored = Response.objects.get()
        self.assertEqual(unpack_answers(stored.questionnaire.parsed, stored.answers, stored.texts),
                         full_answers(**{"F5.0": "no"}))
