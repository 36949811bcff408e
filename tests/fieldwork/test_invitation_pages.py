"""The officers' invitations page (/rounds/<id>/invitations/): create, upload contacts, send, counts
by unit, masked contacts only, access for the round's owners only. The page a citizen's link opens is
tested in tests/fieldwork/test_athome.py."""

from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse

from fieldwork.invitations import invitations_create
from fieldwork.models import Invitation, InvitationContact, Round
from fieldwork.services import round_create
from fieldwork.unitlinks import unit_links_switch
from tests.fieldwork.gateways import ALL_SENDERS
from tests.fieldwork.test_invitations import InvitationTestCase


class PageTests(InvitationTestCase):
    def url(self, name="invitations", survey_round=None):
        return reverse(f"fieldwork:{name}", args=[(survey_round or self.round).pk])

    def upload(self, text):
        return self.client.post(self.url("invitations-contacts"),
                                {"file": SimpleUploadedFile("lienhe.csv", text.encode())})

    def test_an_officer_creates_uploads_and_sees_counts_and_masked_contacts_only(self):
        self.client.force_login(self.province_officer)
        page = self.client.post(self.url("invitations-create"), follow=True)
        self.assertContains(page, "30 invitations are created.")
        self.assertContains(self.client.post(self.url("invitations-create"), follow=True),
                            "0 invitations are created.")

        answer = self.upload("dossier_code,phone,email\nA-001,0912345123,nam.nguyen@gmail.com\nC-002,0987000456,\n")
        self.assertRedirects(answer, self.url())
        page = self.client.get(self.url())
        html = page.content.decode()
        self.assertIn("09*****123", html)
        self.assertIn("n***@gmail.com", html)
        self.assertIn("09*****456", html)
        for secret in ("0912345123", "nam.nguyen", "0987000456"):
            self.assertNotIn(secret, html)
        counts = {row["unit__code"]: (row["created"], row["contacts"]) for row in page.context["counts"]}
        self.assertEqual(counts, {"02212": (20, 1), "02230": (10, 1)})

    def test_a_bad_contacts_file_shows_each_row_and_stores_nothing(self):
        invitations_create(sample=self.sample)
        self.client.force_login(self.province_officer)
        answer = self.upload("dossier_code,phone\nA-001,12345\nZ-1,0912345678\n")
        self.assertEqual(answer.status_code, 400)
        self.assertContains(answer, "row 2: &#x27;12345&#x27; is not a Vietnamese mobile number", status_code=400)
        self.assertContains(answer, "row 3: dossier Z-1 has no invitation in this round", status_code=400)
        self.assertFalse(InvitationContact.objects.exists())

    def test_a_file_that_is_not_utf8_text_is_refused_with_its_line(self):
        invitations_create(sample=self.sample)
        self.client.force_login(self.province_officer)
        answer = self.upload_bytes(b"dossier_code,phone\nA-001,0912345678\nA-002,\xff\xfe09\n")
        self.assertContains(answer, "row 3:", status_code=400)
        answer = self.upload_bytes(b"dossier_code,phone\nA-001,09123\x0045678\n")
        self.assertContains(answer, "row 2:", status_code=400)
        self.assertFalse(InvitationContact.objects.exists())

    def upload_bytes(self, content):
        return self.client.post(self.url("invitations-contacts"), {"file": SimpleUploadedFile("lienhe.csv", content)})

    def test_the_page_and_its_errors_are_in_vietnamese(self):
        invitations_create(sample=self.sample)
        client = Client()
        client.force_login(self.province_officer)
        page = client.post(self.url("invitations-contacts"),
                           {"file": SimpleUploadedFile("lienhe.csv", b"dossier_code,phone\nA-001,12345\n")})
        self.assertContains(page, "Thư mời trả lời tại nhà", status_code=400)
        self.assertContains(page, "dòng 2: &#x27;12345&#x27; không phải số điện thoại di động Việt Nam",
                            status_code=400)

    @override_settings(INVITATION_SENDERS=ALL_SENDERS)
    def test_send_queues_the_channel_after_the_commit(self):
        self.client.force_login(self.province_officer)
        with mock.patch("fieldwork.tasks.queue_invitations.delay") as delay, \
                self.captureOnCommitCallbacks(execute=True):
            answer = self.client.post(self.url("invitations-send"), {"channel": "zalo"})
        self.assertRedirects(answer, self.url())
        delay.assert_called_once_with(self.round.pk, "zalo")

    def test_only_the_channels_set_up_are_offered(self):
        self.client.force_login(self.province_officer)
        with override_settings(INVITATION_SENDERS={"sms": "", "zalo": "", "email": "fieldwork.senders.EmailSender"}):
            page = self.client.get(self.url())
        self.assertEqual([c for c, _label in page.context["send_form"].fields["channel"].choices], ["email"])

    def test_a_closed_round_sends_nothing(self):
        Round.objects.filter(pk=self.round.pk).update(status=Round.Status.CLOSED)
        self.client.force_login(self.province_officer)
        with mock.patch("fieldwork.tasks.queue_invitations.delay") as delay, \
                self.captureOnCommitCallbacks(execute=True):
            answer = self.client.post(self.url("invitations-send"), {"channel": "zalo"}, follow=True)
        self.assertContains(answer, "Invitations are sent only while the round is open.")
        delay.assert_not_called()

    def test_a_switched_off_channel_is_not_offered_nor_taken(self):
        self.client.force_login(self.province_officer)
        senders = {"sms": "", "zalo": "fieldwork.senders.ZaloZnsSender", "email": ""}
        with override_settings(INVITATION_SENDERS=senders):
            page = self.client.get(self.url())
            self.assertEqual([c for c, _label in page.context["send_form"].fields["channel"].choices], ["zalo"])
            with mock.patch("fieldwork.tasks.queue_invitations.delay") as delay, \
                    self.captureOnCommitCallbacks(execute=True):
                answer = self.client.post(self.url("invitations-send"), {"channel": "sms"}, follow=True)
        self.assertContains(answer, "Choose how to send the invitations.")
        delay.assert_not_called()

    def test_creating_without_a_sample_says_to_draw_one(self):
        other = round_create(name="Đợt khác", questionnaire_code="sipas-2017", unit_code="02212")
        self.client.force_login(self.province_officer)
        page = self.client.post(self.url("invitations-create", other), follow=True)
        self.assertContains(page, "Draw a sample first")
        self.assertFalse(Invitation.objects.filter(round=other).exists())

    def test_only_the_rounds_owners_see_it_and_other_provinces_get_404(self):
        for user in (self.far_officer, self.officer, self.head, self.nobody):
            self.client.force_login(user)
            for name in ("invitations",):
                self.assertEqual(self.client.get(self.url(name)).status_code, 404, user)
            for name in ("invitations-create", "invitations-contacts", "invitations-send"):
                self.assertEqual(self.client.post(self.url(name)).status_code, 404, (user, name))
        self.assertFalse(Invitation.objects.exists())
        self.client.logout()
        self.assertEqual(self.client.get(self.url()).status_code, 302)

    def test_the_page_reads_a_fixed_number_of_queries(self):
        invitations_create(sample=self.sample)
        for unit in (self.commune, self.other_commune):
            unit_links_switch(survey_round=self.round, unit=unit, off=True, user=self.province_officer)
        self.client.force_login(self.province_officer)
        self.client.get(self.url())
        # session, user, round (+unit, questionnaire), roles, latest sample, counts, failed ones to resend,
        # contacts, the units for the print forms, the unit links (+unit)
        with self.assertNumQueries(10):
            self.client.get(self.url())
