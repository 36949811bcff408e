"""The at-home side of a round's progress (sent, delivered, opened, completed and the response rate by
unit and by stratum, beside the desk's quotas) and the officers' "resend failed" button
(fieldwork.invitations.invitation_progress, invitations_resend)."""

import datetime

from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from fieldwork import invitations
from fieldwork.invitations import contacts_import, invitation_progress, invitations_create, invitations_resend
from fieldwork.models import Dossier, Invitation, Round
from fieldwork.quotas import quota_set
from tests.fieldwork.gateways import ALL_SENDERS, gateway_settings, http_gateway
from tests.fieldwork.test_invitations import InvitationTestCase


def mark(codes, **values):
    Invitation.objects.filter(dossier__code__in=codes).update(**values)


class ProgressTests(InvitationTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        invitations_create(sample=cls.sample)
        Dossier.objects.filter(code__startswith="C-").update(service_field="transport")
        now = timezone.now()
        # 02212 (land): 10 sent by SMS, 6 delivered, 4 opened, 3 completed; 1 failed; one answered by its slip
        sms = [f"A-{i:03d}" for i in range(10)]
        mark(sms, channel="sms", queued_at=now, sent_at=now)
        mark(sms[:6], delivered_at=now)
        mark(sms[:4], opened_at=now)
        mark(sms[:3], completed_at=now)
        mark(["A-010"], channel="sms", queued_at=now, failed_at=now, failure="SMS gateway HTTP 400: bad number")
        mark(["A-019"], opened_at=now, completed_at=now)  # the printed slip: never sent
        # 02230 (transport): 4 sent by e-mail, 1 completed; no delivery receipts
        email = [f"C-{i:03d}" for i in range(4)]
        mark(email, channel="email", queued_at=now, sent_at=now)
        mark(email[:1], opened_at=now, completed_at=now)
        quota_set(survey_round=cls.round, unit=cls.commune, target=40)
        quota_set(survey_round=cls.round, unit=cls.commune, target=30, stratum_item="E.FIELD", stratum_value="land")

    def test_the_counts_by_unit_and_stratum_and_the_response_rate_of_the_sent(self):
        progress = invitation_progress(self.round)
        units = {r["unit__code"]: (r["sent"], r["sent_receipted"], r["delivered"], r["opened"], r["completed"],
                                   r["rate"]) for r in progress["units"]}
        self.assertEqual(units, {"02212": (10, 10, 6, 5, 4, 30.0), "02230": (4, 0, 0, 1, 1, 25.0)})
        strata = {r["dossier__service_field"]: (r["sent"], r["completed"]) for r in progress["strata"]}
        self.assertEqual(strata, {"land": (10, 4), "transport": (4, 1)})
        total = progress["total"]
        self.assertEqual((total["sent"], total["delivered"], total["completed"]), (14, 6, 5))
        self.assertAlmostEqual(total["rate"], 100 * 4 / 14)

    def test_the_progress_page_shows_them_beside_the_desks_quotas(self):
        self.client.force_login(self.province_officer)
        page = self.client.get(reverse("fieldwork:quotas", args=[self.round.pk]))
        at_home = page.context["at_home"]
        self.assertEqual({r["unit__code"]: r["desk"] for r in at_home["units"]}, {"02212": (0, 40), "02230": None})
        self.assertEqual({r["dossier__service_field"]: r["desk"] for r in at_home["strata"]},
                         {"land": (0, 30), "transport": None})
        html = page.content.decode()
        self.assertIn('data-testid="at-home-units"', html)
        self.assertIn("30.0%", html)
        self.assertIn("E-mail has no delivery receipt", html)
        row = html[html.index('data-unit="02230"'):]
        row = row[:row.index("</tr>")]
        self.assertIn("not available: no message by SMS or Zalo", row)  # e-mail only: delivered is "—"

    def test_an_officer_of_one_commune_sees_only_its_invitations(self):
        self.client.force_login(self.officer)
        page = self.client.get(reverse("fieldwork:quotas", args=[self.round.pk]))
        self.assertEqual([r["unit__code"] for r in page.context["at_home"]["units"]], ["02212"])
        self.assertEqual(page.context["at_home"]["total"]["sent"], 10)

    def test_a_round_without_invitations_shows_no_at_home_table(self):
        Invitation.objects.all().delete()
        self.client.force_login(self.province_officer)
        page = self.client.get(reverse("fieldwork:quotas", args=[self.round.pk]))
        self.assertNotContains(page, 'data-testid="at-home-units"')


@override_settings(INVITATION_SENDERS=ALL_SENDERS)
class ResendTests(InvitationTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        invitations_create(sample=cls.sample)
        cls.contacts_at = timezone.now() - datetime.timedelta(hours=2)
        contacts_import(survey_round=cls.round, text="dossier_code,phone,email\n" + "".join(
            f"A-{i:03d},09123450{i:02d},\n" for i in range(8)) + "A-008,,lan@example.vn\n")
        failed = timezone.now() - datetime.timedelta(hours=1)
        for contact in invitations.InvitationContact.objects.all():  # uploaded before the failures
            type(contact).objects.filter(pk=contact.pk).update(uploaded_at=cls.contacts_at)
        mark([f"A-{i:03d}" for i in range(8)], channel="sms", queued_at=failed, failed_at=failed)
        mark(["A-008"], channel="email", queued_at=failed, failed_at=failed, failure="SMTP: timed out",
             failure_temporary=True)
        mark(["A-000"], failure="SMS gateway HTTP 503: busy", failure_temporary=True)  # retries ran out
        mark(["A-001"], failure="SMS gateway HTTP 400: no such number")  # refused, same contact
        mark(["A-002"], failure="SMS gateway HTTP 400: no such number")  # refused, contact changed below
        mark(["A-003"], failure="the channel is switched off", failure_temporary=True, completed_at=failed)  # answered
        mark(["A-004"], failure="SMS gateway HTTP 503", failure_temporary=True,
             expires_at=timezone.now() - datetime.timedelta(minutes=1))  # expired
        mark(["A-005"], failure="SMS gateway HTTP 400: no such number")  # the same contact uploaded again
        mark([f"A-{i:03d}" for i in (6, 7)], sent_at=failed, failed_at=None)  # sent: nothing to resend

    def setUp(self):
        super().setUp()
        self.queued = []
        real, invitations._enqueue = invitations._enqueue, lambda ids, reminder=False: self.queued.append(ids)
        self.addCleanup(setattr, invitations, "_enqueue", real)

    def url(self, name):
        return reverse(f"fieldwork:{name}", args=[self.round.pk])

    def resend(self):
        with self.captureOnCommitCallbacks(execute=True):
            return self.client.post(self.url("invitations-resend"), follow=True)

    def test_the_button_queues_temporary_failures_and_those_whose_contact_changed_once(self):
        self.contacts("A-002,0987654321,", "A-005,0912345005,")  # A-002 corrected, A-005 the same again
        self.client.force_login(self.province_officer)
        self.assertContains(self.client.get(self.url("invitations")), "3 failed invitations can be sent again now.")

        page = self.resend()
        self.assertContains(page, "3 failed invitations are queued to be sent again.")
        expected = sorted(self.invitation(code).pk for code in ("A-000", "A-002", "A-008"))
        self.assertEqual(self.queued, [expected])
        again = self.invitation("A-002")
        self.assertEqual((again.failed_at, again.failure, again.failure_temporary, again.channel),
                         (None, "", False, "sms"))
        self.assertIsNotNone(again.queued_at)
        self.assertEqual(self.invitation("A-008").channel, "email")
        for code in ("A-001", "A-003", "A-004", "A-005"):
            self.assertIsNotNone(self.invitation(code).failed_at, code)

        page = self.resend()  # a second click, or a double tap: nothing more
        self.assertContains(page, "No failed invitation can be sent again now")
        self.assertEqual(self.queued[1:], [[]])

    def test_a_resent_invitation_is_sent_again_by_the_send_step(self):
        invitations_resend(survey_round=self.round)
        cache.delete("invitation-bucket:sms")
        with http_gateway() as gateway, gateway_settings(gateway):
            self.assertEqual(invitations.invitation_send(invitation_id=self.invitation("A-000").pk), "sent")
        invitation = self.invitation("A-000")
        self.assertIsNotNone(invitation.sent_at)
        self.assertEqual((invitation.failed_at, invitation.message_id), (None, "sms-1"))
        self.assertEqual(gateway.bodies("/sms")[0]["to"], "84912345000")

    def test_a_switched_off_channel_is_not_resent(self):
        with override_settings(INVITATION_SENDERS={**ALL_SENDERS, "email": ""}):
            self.assertEqual(invitations_resend(survey_round=self.round), 1)  # A-000 by SMS only
        self.assertIsNotNone(self.invitation("A-008").failed_at)

    def test_a_closed_round_resends_nothing_and_only_its_owners_may(self):
        self.client.force_login(self.officer)
        self.assertEqual(self.client.post(self.url("invitations-resend")).status_code, 404)
        Round.objects.filter(pk=self.round.pk).update(status=Round.Status.CLOSED)
        self.client.force_login(self.province_officer)
        self.assertContains(self.resend(), "Invitations are sent only while the round is open.")
        self.assertEqual(self.queued, [])
        self.assertEqual(Invitation.objects.filter(failed_at__isnull=False).count(), 7)
