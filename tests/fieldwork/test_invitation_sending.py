"""Sending invitations: the senders against a real SMTP server and a local HTTP server speaking the
SMS gateway's and Zalo ZNS's shapes (errors and timeouts included), the send step, the token bucket,
and the whole path through a real Celery worker (fieldwork.senders, fieldwork.invitations)."""

import os
import time
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from fieldwork import invitations
from fieldwork.invitations import (
    contacts_import,
    invitation_link,
    invitation_send,
    invitations_create,
    invitations_queue,
    take_send_token,
)
from fieldwork.models import Invitation, Round
from fieldwork.senders import (
    EmailSender,
    Message,
    PermanentSendError,
    SmsGatewaySender,
    TransientSendError,
    ZaloZnsSender,
)
from tests.base import EnglishClient
from tests.fieldwork.gateways import ALL_SENDERS, gateway_settings, http_gateway, smtp_server
from tests.fieldwork.test_invitations import InvitationTestCase
from tests.workers import celery_worker

User = get_user_model()
MESSAGE = Message(to="0912345678", text="Mời ông/bà trả lời", subject="Khảo sát", tracking_id="t-1",
                  template_data={"code": "ABCD3467", "link": "http://x/i/y/", "round": "Quý IV"})


# ---------------------------------------------------------------------------------------------
# The senders, each against its real protocol


def test_the_sms_sender_posts_the_number_and_text_with_the_key_and_keeps_the_id(gateway):
    assert SmsGatewaySender().send(MESSAGE) == "sms-1"
    path, headers, body = gateway.requests[0]
    assert (path, headers["X-Api-Key"]) == ("/sms", "sms-key")
    assert body == {"to": "84912345678", "text": "Mời ông/bà trả lời"}


def test_the_sms_gateways_refusal_is_permanent_with_its_reason_and_its_trouble_transient(gateway):
    gateway.script["84912345678"] = [("http", 400, {"error": "invalid number"}), ("http", 503, {}),
                                     ("http", 429, {"error": "slow down"}), ("http", 200, {})]
    with pytest.raises(PermanentSendError, match="^SMS gateway HTTP 400: invalid number$"):
        SmsGatewaySender().send(MESSAGE)
    with pytest.raises(TransientSendError, match="HTTP 503"):
        SmsGatewaySender().send(MESSAGE)
    with pytest.raises(TransientSendError, match="HTTP 429: slow down"):
        SmsGatewaySender().send(MESSAGE)
    with pytest.raises(PermanentSendError, match="no message id"):
        SmsGatewaySender().send(MESSAGE)


def test_a_gateway_that_does_not_answer_in_time_or_at_all_is_transient(gateway):
    gateway.script["84912345678"] = [("sleep", 2)]
    started = time.monotonic()
    with pytest.raises(TransientSendError, match="no answer from"):
        SmsGatewaySender().send(MESSAGE)
    assert time.monotonic() - started < 1.9  # INVITATION_SEND_TIMEOUT=1
    with override_settings(SMS_GATEWAY_URL="http://127.0.0.1:9/sms"), \
            pytest.raises(TransientSendError, match="no answer from"):
        SmsGatewaySender().send(MESSAGE)


def test_the_zns_sender_posts_the_template_message_with_the_access_token(gateway):
    assert ZaloZnsSender().send(MESSAGE) == "zns-1"
    path, headers, body = gateway.requests[0]
    assert (path, headers["access_token"]) == ("/message/template", "zalo-token")
    assert body == {"phone": "84912345678", "template_id": "231", "tracking_id": "t-1",
                    "template_data": {"code": "ABCD3467", "link": "http://x/i/y/", "round": "Quý IV"}}


def test_a_zns_error_is_permanent_with_its_code_and_message_and_a_server_error_transient(gateway):
    gateway.script["84912345678"] = [("zns_error", -124, "Access token is invalid"), ("http", 502, {})]
    with pytest.raises(PermanentSendError, match="^ZNS -124: Access token is invalid$"):
        ZaloZnsSender().send(MESSAGE)
    with pytest.raises(TransientSendError, match="ZNS HTTP 502"):
        ZaloZnsSender().send(MESSAGE)


def test_the_email_sender_delivers_through_smtp(smtp):
    EmailSender().send(Message(to="lan@example.vn", text="Mời bà Lan trả lời", subject="Khảo sát", tracking_id="t-9"))
    mail_from, recipients, content = smtp.messages[0]
    assert (mail_from, recipients) == ("khaosat@tuyenquang.gov.vn", ["lan@example.vn"])
    assert "X-SIPAS-Invitation: t-9" in content
    assert "Subject: =?utf-8?" in content  # Vietnamese subject, encoded


def test_an_smtp_5xx_is_permanent_and_a_4xx_or_no_server_transient(smtp):
    smtp.refuse["gone@example.vn"] = [(550, "No such user")]
    smtp.refuse["busy@example.vn"] = [(451, "Try again later")]
    with pytest.raises(PermanentSendError, match="^SMTP 550: No such user$"):
        EmailSender().send(Message(to="gone@example.vn", text="x"))
    with pytest.raises(TransientSendError, match="^SMTP 451: Try again later$"):
        EmailSender().send(Message(to="busy@example.vn", text="x"))
    with override_settings(EMAIL_PORT=9), pytest.raises(TransientSendError, match="^SMTP"):
        EmailSender().send(Message(to="lan@example.vn", text="x"))
    assert smtp.messages == []


@pytest.mark.django_db
def test_the_token_bucket_lets_a_burst_through_then_the_rate():
    cache.delete("invitation-bucket:sms")
    with override_settings(INVITATION_SEND_RATE={"sms": 10}, INVITATION_SEND_BURST=2):
        started = time.monotonic()
        for _i in range(2):
            take_send_token("sms")
        burst = time.monotonic() - started
        for _i in range(5):
            take_send_token("sms")
        total = time.monotonic() - started
    assert burst < 0.1
    assert 0.45 < total < 1.0, total  # 5 more at 10 a second


# ---------------------------------------------------------------------------------------------
# The send step


class SendStepTests(InvitationTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        invitations_create(sample=cls.sample)
        contacts_import(survey_round=cls.round, text="dossier_code,phone,email\nA-001,0912345678,lan@example.vn\n"
                                                     "A-002,0987654321,\nA-003,,ha@example.vn\n")
        Invitation.objects.filter(dossier__code__in=["A-001", "A-002"]).update(channel="sms", queued_at=timezone.now())
        Invitation.objects.filter(dossier__code="A-003").update(channel="email", queued_at=timezone.now())

    def setUp(self):
        super().setUp()
        cache.delete("invitation-bucket:sms")
        self.gateway = self.enterContext(http_gateway())
        self.enterContext(gateway_settings(self.gateway))

    def test_a_sent_invitation_records_when_and_the_gateways_id_and_the_text_is_vietnamese(self):
        invitation = self.invitation("A-001")
        self.assertEqual(invitation_send(invitation_id=invitation.pk), "sent")

        invitation.refresh_from_db()
        self.assertIsNotNone(invitation.sent_at)
        self.assertEqual((invitation.message_id, invitation.failed_at), ("sms-1", None))
        text = self.gateway.bodies("/sms")[0]["text"]
        self.assertEqual(text, f"Ông/bà được mời cho biết mức độ hài lòng về dịch vụ công đã nhận (Quý IV/2026). "
                               f"Trả lời tại {invitation_link(invitation)} hoặc nhập mã {invitation.code}.")
        self.assertEqual(invitation_send(invitation_id=invitation.pk), "skipped")  # a second delivery of the task
        self.assertEqual(len(self.gateway.requests), 1)

    def test_a_permanent_error_fails_the_invitation_with_the_gateways_reason(self):
        self.gateway.script["84987654321"] = [("http", 400, {"error": "number blocked"})]
        invitation = self.invitation("A-002")
        self.assertEqual(invitation_send(invitation_id=invitation.pk), "failed")
        invitation.refresh_from_db()
        self.assertEqual((invitation.sent_at, invitation.failure), (None, "SMS gateway HTTP 400: number blocked"))
        self.assertIsNotNone(invitation.failed_at)

    def test_a_reason_naming_the_number_or_address_keeps_them_masked(self):
        self.gateway.script["84987654321"] = [("http", 400, {"error": "84987654321 blocked; +84 987 654 321 too"})]
        invitation_send(invitation_id=self.invitation("A-002").pk)
        self.assertEqual(self.invitation("A-002").failure,
                         "SMS gateway HTTP 400: 84******321 blocked; 84******321 too")
        self.assertEqual(invitations.scrub("SMTP 550: <ha.nguyen@example.vn> unknown, since 2026"),
                         "SMTP 550: <h***@example.vn> unknown, since 2026")

    def test_a_transient_error_is_raised_and_changes_nothing(self):
        self.gateway.script["84987654321"] = [("http", 500, {})]
        invitation = self.invitation("A-002")
        with self.assertRaises(TransientSendError):
            invitation_send(invitation_id=invitation.pk)
        invitation.refresh_from_db()
        self.assertEqual((invitation.sent_at, invitation.failed_at, invitation.failure), (None, None, ""))

    def test_the_reminder_goes_once_and_says_it_is_one(self):
        invitation = self.invitation("A-001")
        invitation_send(invitation_id=invitation.pk)
        self.assertEqual(invitation_send(invitation_id=invitation.pk, reminder=True), "sent")
        self.assertEqual(invitation_send(invitation_id=invitation.pk, reminder=True), "skipped")
        texts = [b["text"] for b in self.gateway.bodies("/sms")]
        self.assertEqual(len(texts), 2)
        self.assertTrue(texts[1].startswith("Nhắc lại: ông/bà chưa trả lời khảo sát"), texts[1])
        self.assertIsNotNone(Invitation.objects.get(pk=invitation.pk).reminded_at)

    def test_an_answered_invitation_or_one_whose_contact_was_deleted_is_not_sent(self):
        Invitation.objects.filter(dossier__code="A-001").update(completed_at=timezone.now())
        self.assertEqual(invitation_send(invitation_id=self.invitation("A-001").pk), "skipped")
        self.invitation("A-002").contact.delete()
        self.assertEqual(invitation_send(invitation_id=self.invitation("A-002").pk), "skipped")
        self.assertEqual(self.gateway.requests, [])

    def test_an_expired_invitation_or_one_of_a_closed_round_is_not_sent(self):
        Invitation.objects.filter(dossier__code="A-001").update(expires_at=timezone.now())
        self.assertEqual(invitation_send(invitation_id=self.invitation("A-001").pk), "skipped")
        Round.objects.filter(pk=self.round.pk).update(status=Round.Status.CLOSED)
        self.assertEqual(invitation_send(invitation_id=self.invitation("A-002").pk), "skipped")
        self.assertEqual(self.gateway.requests, [])

    def test_an_email_invitation_goes_through_smtp(self):
        with smtp_server() as smtp, override_settings(EMAIL_HOST="127.0.0.1", EMAIL_PORT=smtp.port):
            self.assertEqual(invitation_send(invitation_id=self.invitation("A-003").pk), "sent")
        _from, recipients, content = smtp.messages[0]
        self.assertEqual(recipients, ["ha@example.vn"])
        self.assertIn(self.invitation("A-003").code, content)

    def test_a_batch_sends_each_and_hands_a_transient_error_to_a_task_of_its_own(self):
        self.gateway.script["84987654321"] = [("http", 503, {})]
        ids = [self.invitation(code).pk for code in ("A-001", "A-002", "A-004")]  # no contact
        with mock.patch("surveyapp.celery.app.send_task") as send_task, \
                override_settings(INVITATION_RETRY_SECONDS=10):
            outcomes = invitations.invitations_send_batch(invitation_ids=ids)
        self.assertEqual(outcomes, {"sent": 1, "failed": 0, "skipped": 1, "retried": 1})
        (name,), options = send_task.call_args
        self.assertEqual((name, options["args"], options["kwargs"], options["retries"]),
                         ("fieldwork.tasks.send_invitation", [ids[1]], {"reminder": False}, 1))
        self.assertTrue(7.5 <= options["countdown"] <= 12.5, options["countdown"])

    def test_queueing_claims_each_invitation_once_for_the_channel(self):
        Invitation.objects.update(queued_at=None, channel="")
        queued = []
        real, invitations._enqueue = invitations._enqueue, lambda ids, reminder=False: queued.append(ids)
        try:
            with self.captureOnCommitCallbacks(execute=True):
                self.assertEqual(invitations_queue(survey_round=self.round, channel="zalo"), 2)
            with self.captureOnCommitCallbacks(execute=True):
                self.assertEqual(invitations_queue(survey_round=self.round, channel="zalo"), 0)
            with self.captureOnCommitCallbacks(execute=True):
                self.assertEqual(invitations_queue(survey_round=self.round, channel="email"), 1)
        finally:
            invitations._enqueue = real
        self.assertEqual(queued, [sorted([self.invitation("A-001").pk, self.invitation("A-002").pk]), [],
                                  [self.invitation("A-003").pk]])
        self.assertEqual(self.invitation("A-002").channel, "zalo")


# ---------------------------------------------------------------------------------------------
# End to end: a real worker, the real task path, retries with backoff


@pytest.mark.django_db(transaction=True)
def test_the_send_button_has_a_worker_send_retry_transient_errors_and_fail_permanent_ones(sampled_round):
    phones = {f"A-{i:03d}": f"09123450{i:02d}" for i in range(10)}
    contacts_import(survey_round=sampled_round,
                    text="dossier_code,phone\n" + "".join(f"{code},{phone}\n" for code, phone in phones.items()))
    cache.delete("invitation-bucket:zalo")
    with http_gateway() as gateway:
        gateway.script["84912345001"] = [("http", 500, {}), ("sleep", 3)]  # twice transient, then sent
        gateway.script["84912345002"] = [("zns_error", -108, "Phone number is invalid")]
        gateway.script["84912345003"] = [("http", 503, {})] * 5  # transient every time
        environment = {"ZALO_ZNS_URL": gateway.url, "ZALO_ZNS_ACCESS_TOKEN": "zalo-token",
                       "ZALO_ZNS_TEMPLATE_ID": "231", "INVITATION_SEND_TIMEOUT": "1",
                       "INVITATION_RETRY_SECONDS": "0.2", "INVITATION_SEND_RETRIES": "2", "INVITATION_ZALO_RATE": "50"}
        client = EnglishClient()
        client.force_login(User.objects.get(username="province_officer"))
        with mock.patch.dict(os.environ, environment), celery_worker(), \
                override_settings(INVITATION_SENDERS=ALL_SENDERS):  # the page offers Zalo, as the worker's settings
            # the page's send button: a task queues the round's batches, the worker sends them
            answer = client.post(reverse("fieldwork:invitations-send", args=[sampled_round.pk]), {"channel": "zalo"})
            assert answer.status_code == 302
            deadline = time.monotonic() + 60
            while not Invitation.objects.filter(queued_at__isnull=False).exists() or Invitation.objects.filter(
                    sent_at__isnull=True, failed_at__isnull=True, queued_at__isnull=False).exists():
                assert time.monotonic() < deadline, "invitations still unsent after 60 s"
                time.sleep(0.2)
    states = {i.dossier.code: (i.sent_at is not None, i.failure)
              for i in Invitation.objects.select_related("dossier").filter(queued_at__isnull=False)}
    assert states == {**{code: (True, "") for code in phones},
                      "A-002": (False, "ZNS -108: Phone number is invalid"), "A-003": (False, "ZNS HTTP 503")}
    tries = [body["phone"] for body in gateway.bodies("/message/template")]
    assert (tries.count("84912345001"), tries.count("84912345003"), tries.count("84912345004")) == (3, 3, 1)
