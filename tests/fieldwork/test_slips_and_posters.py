"""Printed invitations and the desk poster's unit link (issue 19): the A6 slips and A4 posters read
back (fieldwork.slips), who may download them, the unit link's token (fieldwork.unitlinks), its page
and its response stored once through the one writer with channel POSTER, its guards (rate limit, one
response per browser, the officer's switch), and clear pages that store nothing for bad links."""

import io
import json
import re
import uuid
from unittest import mock

from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone, translation

from fieldwork import slips, unitlinks
from fieldwork.invitations import invitation_link
from fieldwork.models import Invitation, Response, ResponseChange, Round, UnitLink
from fieldwork.services import round_close
from tests.fieldwork.base import full_answers
from tests.fieldwork.test_athome import AtHomeTestCase
from tests.scoring.test_report import page_count, pdf_text


def uncompressed(function, **kwargs):
    """A PDF function's bytes with its pages left uncompressed, to read its text back."""
    with mock.patch.object(slips, "Canvas", side_effect=lambda *a, **k: _Plain(*a, **k)):
        return function(**kwargs)


class _Plain(slips.Canvas):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "pageCompression": 0})


class SlipTestCase(AtHomeTestCase):
    def setUp(self):
        super().setUp()
        self.client.force_login(self.province_admin)

    def page_url(self, name, **query):
        url = reverse(f"fieldwork:{name}", args=[self.round.pk])
        return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


class SlipsTests(SlipTestCase):
    def test_each_invitation_gets_one_a6_page_with_its_code_address_unit_round_and_validity(self):
        data, pages = uncompressed(slips.slips_pdf, survey_round=self.round)
        self.assertEqual((pages, page_count(data)), (30, 30))
        self.assertIn(b"/MediaBox [ 0 0 297.6378 419.5276 ]", data)  # A6 in points
        text = pdf_text(data)
        invitation = self.invitation("A-001")
        self.assertIn(f"{invitation.code[:4]} {invitation.code[4:]}", text)  # large, in two groups
        self.assertIn(settings.SITE_URL.rstrip("/") + "/i/", text)
        self.assertIn("Xã Sơn Dương", text)
        self.assertIn("Phường Minh Xuân", text)
        self.assertIn(self.round.name, text)
        self.assertIn(timezone.localtime(invitation.expires_at).strftime("%d/%m/%Y"), text)
        self.assertIn("Phiếu mời đánh giá", text)  # Vietnamese first …
        self.assertIn("Invitation to rate a public service", text)  # … and the English line
        self.assertIn("91/2025/QH15", text)
        self.assertIn("Hồ sơ A-001", text)  # to hand the slip with the right receipt

    def test_a_slip_carries_no_contact_data(self):
        self.contacts("A-001,0912345678,nam.nguyen@example.com")
        text = pdf_text(uncompressed(slips.slips_pdf, survey_round=self.round)[0])
        for secret in ("0912345678", "912345678", "nam.nguyen", "example.com"):
            self.assertNotIn(secret, text)

    def test_the_qr_code_holds_the_personal_link(self):
        invitation = self.invitation("A-001")
        drawn = []
        with mock.patch.object(slips, "draw_qr", side_effect=lambda canvas, text, *a: drawn.append(text)):
            slips.slips_pdf(survey_round=self.round, unit=self.commune)
        self.assertEqual(len(drawn), 20)
        self.assertIn(invitation_link(invitation), drawn)
        personal = re.escape(settings.SITE_URL.rstrip("/")) + r"/i/[\w-]{38}/"
        self.assertTrue(all(re.fullmatch(personal, text) for text in drawn))

    def test_the_qr_matrix_is_that_of_the_link(self):
        import qrcode

        link = invitation_link(self.invitation("A-001"))
        matrix = slips.qr_matrix(link)
        reference = qrcode.QRCode(version=slips._qr_version(len(link)), border=0, mask_pattern=0,
                                  error_correction=qrcode.constants.ERROR_CORRECT_M)
        reference.add_data(link)
        reference.make(fit=False)
        self.assertEqual(matrix, reference.get_matrix())
        self.assertEqual(len(matrix), 17 + 4 * slips._qr_version(len(link)))

    def test_one_unit_and_parts(self):
        self.assertEqual(slips.slips_pdf(survey_round=self.round, unit=self.other_commune)[1], 10)
        with override_settings(INVITATION_SLIPS_PER_FILE=12):
            self.assertEqual([slips.slips_pdf(survey_round=self.round, part=p)[1] for p in (1, 2, 3, 4)],
                             [12, 12, 6, 0])

    def test_the_officer_downloads_the_slips_from_the_invitations_page(self):
        page = self.client.get(self.page_url("invitations"))
        self.assertContains(page, self.page_url("invitation-slips"))
        answer = self.client.get(self.page_url("invitation-slips", unit="02230", part=1))
        self.assertEqual(answer.status_code, 200)
        self.assertEqual(answer["Content-Type"], "application/pdf")
        self.assertIn(f'filename="phieu-moi-{self.round.pk}-02230-1.pdf"', answer["Content-Disposition"])
        self.assertEqual(page_count(answer.content), 10)

    def test_a_bad_unit_or_part_or_no_invitations_is_said_in_vietnamese_never_a_500(self):
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "vi"
        for query, said in (({"unit": "99999"}, "Hãy chọn một đơn vị"), ({"part": "x"}, "Hãy chọn một đơn vị"),
                            ({"part": "9"}, "Không có phần 9")):
            answer = self.client.get(self.page_url("invitation-slips", **query), follow=True)
            self.assertEqual(answer.status_code, 200, query)
            self.assertContains(answer, said)
        Invitation.objects.all().delete()
        answer = self.client.get(self.page_url("invitation-slips"), follow=True)
        self.assertContains(answer, "Chưa có phiếu mời nào để in")

    def test_only_the_rounds_owners_download_slips_and_posters_or_switch_links(self):
        for user in (self.far_officer, self.officer, self.head, self.nobody):
            self.client.force_login(user)
            self.assertEqual(self.client.get(self.page_url("invitation-slips")).status_code, 404, user)
            self.assertEqual(self.client.get(self.page_url("unit-posters")).status_code, 404, user)
            self.assertEqual(self.client.post(self.page_url("invitations-unit-links"), {"off": "1"}).status_code, 404)
        self.assertFalse(UnitLink.objects.exists())
        self.client.logout()
        self.assertEqual(self.client.get(self.page_url("invitation-slips")).status_code, 302)

    def test_long_names_still_fit_on_the_slip_and_the_poster(self):
        from reportlab.lib.units import mm

        self.round.name = "Khảo sát sự hài lòng của người dân, tổ chức đối với sự phục vụ của cơ quan hành chính " * 2
        self.commune.name = "Trung tâm Phục vụ hành chính công phường Bến Nghé, thành phố Hồ Chí Minh"
        lowest, real = [], slips._Writer.lines

        def lines(writer, *args, **kwargs):
            real(writer, *args, **kwargs)
            lowest.append(writer.y)

        invitation = Invitation.objects.select_related("unit", "dossier").get(round=self.round, dossier__code="A-001")
        invitation.unit = self.commune
        canvas = slips._canvas(io.BytesIO(), slips.A6, "test")
        with mock.patch.object(slips._Writer, "lines", lines):
            slips._slip(canvas, {}, self.round, invitation, {k: slips._both(k) for k in slips.TEXTS}, "https://x.vn/i/")
            self.assertGreater(min(lowest), 5 * mm)  # above the bottom margin of the A6 page
            lowest.clear()
            slips._poster(canvas, self.round, self.commune, {k: slips._both(k) for k in slips.TEXTS})
            self.assertGreater(min(lowest), 15 * mm)

    def test_a_slip_takes_a_few_kilobytes(self):
        """The 10,000-slip round is measured by bench/slips.py; here: a slip's share of the file."""
        data, pages = slips.slips_pdf(survey_round=self.round)
        self.assertLess(len(data) / pages, 6000)  # bytes a slip, compressed (the fonts' subsets included)


class PosterTests(SlipTestCase):
    def test_a_poster_a_unit_with_its_unit_link(self):
        drawn = []
        real = slips.draw_qr
        def spy(canvas, text, *args):
            drawn.append(text)
            real(canvas, text, *args)

        with mock.patch.object(slips, "draw_qr", side_effect=spy):
            data = uncompressed(slips.posters_pdf, survey_round=self.round, units=[self.commune, self.other_commune])[0]
        self.assertEqual(page_count(data), 2)
        self.assertIn(b"/MediaBox [ 0 0 595.2756 841.8898 ]", data)  # A4
        link = unitlinks.unit_link(self.round, self.commune)
        self.assertEqual(drawn, [link, unitlinks.unit_link(self.round, self.other_commune)])
        self.assertRegex(link, r"/u/[\w-]{27}/$")
        text = pdf_text(data)
        for words in ("Xã Sơn Dương", link, "91/2025/QH15", "Quét mã QR", "Scan the QR code"):
            self.assertIn(words, text)

    def test_the_officer_downloads_posters_for_the_round_or_one_unit(self):
        answer = self.client.get(self.page_url("unit-posters", unit="02212"))
        self.assertEqual((answer.status_code, page_count(answer.content)), (200, 1))
        whole = self.client.get(self.page_url("unit-posters"))
        self.assertEqual(page_count(whole.content), len(unitlinks.poster_units(self.round)))

    def test_a_closed_round_prints_no_poster(self):
        round_close(survey_round=self.round)
        answer = self.client.get(self.page_url("unit-posters"), follow=True, HTTP_ACCEPT_LANGUAGE="vi")
        self.assertContains(answer, "Đợt khảo sát đã đóng")


class UnitLinkTestCase(SlipTestCase):
    def setUp(self):
        super().setUp()
        self.phone = Client()
        self.token = unitlinks.unit_link_token(self.round, self.commune)

    def link(self, suffix="", token=None):
        return reverse("fieldwork:unit-link", args=[token or self.token]) + suffix

    def answer(self, client=None, token=None, **overrides):
        now = timezone.now()
        body = {"id": str(uuid.uuid4()), "questionnaire": "sipas-2017",
                "started_at": (now - timezone.timedelta(minutes=4)).isoformat(), "submitted_at": now.isoformat(),
                "language": "vi", "answers": full_answers(), **overrides}
        return (client or self.phone).post(self.link("responses", token), data=json.dumps(body),
                                           content_type="application/json")

    def stored(self):
        return Response.objects.filter(channel=Response.Channel.POSTER)


class UnitLinkTokenTests(UnitLinkTestCase):
    def test_the_token_names_the_round_and_unit_and_an_altered_one_names_nothing(self):
        found = unitlinks.unit_link_find(self.token)
        self.assertEqual((found.round, found.unit, found.reason), (self.round, self.commune, ""))
        altered = self.token[:-1] + ("A" if self.token[-1] != "A" else "B")
        other_unit = unitlinks.unit_link_token(self.round, self.other_commune)
        for bad in (altered, other_unit[:11] + self.token[11:], "x" * 27, "", "ÿ" * 27, self.token + "A",
                    "A" * 10 + "=" + "A" * 16):
            self.assertEqual(unitlinks.unit_link_find(bad).reason, "unknown", bad)

    def test_a_unit_outside_the_round_is_unknown(self):
        self.assertEqual(unitlinks.unit_link_find(
            unitlinks.unit_link_token(self.round, self.another_province)).reason, "unknown")

    @override_settings(SECRET_KEY="a-new-key-" * 5, SECRET_KEY_FALLBACKS=[settings.SECRET_KEY])
    def test_a_poster_printed_before_the_key_was_rotated_still_works(self):
        self.assertEqual(unitlinks.unit_link_find(self.token).reason, "")


class UnitLinkAnswerTests(UnitLinkTestCase):
    def test_the_page_shows_the_questionnaire_with_the_consent_line_and_the_once_key(self):
        page = self.phone.get(self.link())
        self.assertEqual(page.status_code, 200)
        html = page.content.decode()
        self.assertIn("91/2025/QH15", html)
        self.assertIn('"code": "sipas-2017"', html)
        self.assertIn(f'data-api-base="{self.link()}"', html)
        self.assertIn(f'data-once-key="sipas.unitlink.{self.token}.answered"', html)

    def test_a_response_is_stored_once_with_channel_poster_at_the_links_unit_and_counted(self):
        answer = self.answer()
        self.assertEqual(answer.status_code, 201, answer.content)
        response = self.stored().get()
        self.assertEqual((response.unit, response.round, response.kiosk, response.dossier_hash),
                         (self.commune, self.round, None, None))
        self.assertEqual(ResponseChange.objects.filter(response=response).count(), 1)
        self.assertEqual(UnitLink.objects.get(round=self.round, unit=self.commune).responses, 1)
        with translation.override("en"):
            self.assertEqual(str(Response.Channel.POSTER.label), "QR poster at the desk")
        with translation.override("vi"):
            self.assertEqual(str(Response.Channel.POSTER.label), "QR tại quầy")

    def test_the_scores_and_the_export_tell_the_channel_apart(self):
        from scoring import exports, report

        self.answer()
        with translation.override("vi"):
            counts = report.channel_counts(survey_round=self.round, unit=self.province)
            counts = [(str(label), n) for label, n in counts]
        self.assertIn(("QR tại quầy", 1), counts)
        self.assertEqual(exports.CHANNELS[Response.Channel.POSTER], "poster")

    def test_this_browser_is_then_told_it_has_answered_but_a_retry_is_answered_as_stored(self):
        body_id = str(uuid.uuid4())
        self.assertEqual(self.answer(id=body_id).status_code, 201)
        self.assertEqual(self.answer(id=body_id).status_code, 200)  # the same again: lost answer, second tap
        second = self.answer()
        self.assertEqual((second.status_code, second.json()["reason"]), (409, "answered"))
        page = self.phone.get(self.link())
        self.assertContains(page, "đã trả lời từ điện thoại này", status_code=409)
        self.assertEqual(self.stored().count(), 1)
        self.assertEqual(UnitLink.objects.get(unit=self.commune).responses, 1)
        self.assertEqual(self.answer(client=Client()).status_code, 201)  # another phone

    def test_start_says_whether_the_link_may_be_answered(self):
        self.assertEqual(self.phone.post(self.link("start")).json(), {"status": "open"})
        unitlinks.unit_links_switch(survey_round=self.round, unit=self.commune, off=True, user=self.province_admin)
        self.assertEqual(self.phone.post(self.link("start")).json()["reason"], "off")

    def test_the_rate_limit_per_client_refuses_and_stores_nothing(self):
        with override_settings(UNIT_LINK_RATE_LIMIT_PER_MINUTE=1):
            self.assertEqual(self.phone.post(self.link("start"), REMOTE_ADDR="203.0.113.7").status_code, 200)
            refused = self.phone.post(self.link("responses"), data="{}", content_type="application/json",
                                      REMOTE_ADDR="203.0.113.7")
        self.assertEqual(refused.status_code, 429)
        self.assertIn("Retry-After", refused)
        self.assertFalse(self.stored().exists())

    def test_switched_off_for_the_unit_or_the_round_the_page_says_so_and_nothing_is_stored(self):
        for unit in (self.commune, None):
            self.client.post(self.page_url("invitations-unit-links"), {"unit": unit.code if unit else "", "off": "1"})
            page = self.phone.get(self.link())
            self.assertContains(page, "Việc trả lời qua đường dẫn này đang tạm dừng", status_code=410)
            answer = self.answer()
            self.assertEqual((answer.status_code, answer.json()["reason"]), (410, "off"))
            self.client.post(self.page_url("invitations-unit-links"), {"unit": unit.code if unit else "", "off": ""})
        self.assertFalse(self.stored().exists())
        self.assertEqual(self.answer().status_code, 201)

    def test_the_other_units_link_still_works_when_one_is_off(self):
        unitlinks.unit_links_switch(survey_round=self.round, unit=self.commune, off=True, user=self.province_admin)
        other = unitlinks.unit_link_token(self.round, self.other_commune)
        self.assertEqual(self.answer(token=other).status_code, 201)
        page = self.client.get(self.page_url("invitations"))
        self.assertContains(page, 'data-testid="unit-links"')

    def test_bad_links_and_a_closed_round_get_a_clear_page_and_store_nothing(self):
        for token, status, words in (("garbled", 404, "Đường dẫn này không hợp lệ"),
                                     ("A" * 27, 404, "Đường dẫn này không hợp lệ")):
            self.assertContains(self.phone.get(self.link(token=token)), words, status_code=status)
            self.assertEqual(self.answer(token=token).status_code, status)
        round_close(survey_round=self.round)
        self.assertContains(self.phone.get(self.link()), "Cuộc khảo sát này hiện không mở", status_code=410)
        self.assertEqual(self.answer().status_code, 410)
        self.assertFalse(self.stored().exists())

    def test_bad_bodies_are_400_never_500(self):
        for body in ("not json", "[]", json.dumps({"answers": "x"}), b"\xff\xfe"):
            answer = self.phone.post(self.link("responses"), data=body, content_type="application/json")
            self.assertEqual(answer.status_code, 400, body)
        self.assertEqual(self.answer(dossier_code="A-001").status_code, 400)
        self.assertEqual(self.answer(round=self.round.pk + 1000).status_code, 400)
        self.assertFalse(self.stored().exists())

    def test_the_switch_form_refuses_a_unit_outside_the_round(self):
        answer = self.client.post(self.page_url("invitations-unit-links"), {"unit": "10", "off": "1"}, follow=True,
                                  HTTP_ACCEPT_LANGUAGE="vi")
        self.assertContains(answer, "Hãy chọn một đơn vị")
        self.assertFalse(UnitLink.objects.exists())
        self.assertEqual(Round.objects.get(pk=self.round.pk).status, Round.Status.OPEN)
