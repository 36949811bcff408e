"""Delivery reports (fieldwork/views_delivery.py) through a real HTTP client against the live server:
the SMS gateway's report with its shared secret and Zalo's signed ZNS webhook; verified, idempotent,
and a 4xx (never a 500) for what is not in the shape."""

import hashlib
import json
import urllib.error
import urllib.request

import pytest
from django.test import override_settings
from django.utils import timezone

from fieldwork.invitations import invitation_progress
from fieldwork.models import Invitation

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "sms-hook-secret"
APP_ID, OA_KEY = "4318190290871112345", "oa-secret-key"


@pytest.fixture
def hooks():
    with override_settings(SMS_GATEWAY_WEBHOOK_SECRET=SECRET, ZALO_APP_ID=APP_ID, ZALO_OA_SECRET_KEY=OA_KEY):
        yield


@pytest.fixture
def sent(sampled_round):
    """A-000 and A-001 sent by SMS (sms-1, sms-2), A-002 by Zalo (zns-1), A-003 by e-mail."""
    now = timezone.now()
    for code, channel, message_id in (("A-000", "sms", "sms-1"), ("A-001", "sms", "sms-2"),
                                      ("A-002", "zalo", "zns-1"), ("A-003", "email", "t-3")):
        Invitation.objects.filter(dossier__code=code).update(channel=channel, message_id=message_id, queued_at=now,
                                                             sent_at=now)
    return sampled_round


def invitation(code):
    return Invitation.objects.get(dossier__code=code)


def post(url, body, headers=None, method="POST"):
    """(status, JSON answer or the raw text) of a request with a real HTTP client."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=raw if method == "POST" else None, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            status, text = answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text.decode(errors="replace")


def sms(live_server, body, secret=SECRET):
    headers = {"X-Webhook-Secret": secret} if secret is not None else {}
    return post(f"{live_server.url}/hooks/sms/delivery", body, headers)


def zalo_event(msg_id, event="user_received_message", timestamp="1765065600000"):
    return json.dumps({"event_name": event, "app_id": APP_ID, "sender": {"id": "oa-1"}, "recipient": {"id": "u-1"},
                       "message": {"msg_id": msg_id, "delivery_time": timestamp, "tracking_id": "x"},
                       "timestamp": timestamp}).encode()


def zalo(live_server, raw, signature=None):
    if signature is None:
        timestamp = str(json.loads(raw).get("timestamp", ""))
        signature = "mac=" + hashlib.sha256(APP_ID.encode() + raw + timestamp.encode() + OA_KEY.encode()).hexdigest()
    return post(f"{live_server.url}/hooks/zalo/events", raw, {"X-ZEvent-Signature": signature})


def test_an_sms_delivery_report_marks_the_invitation_delivered_once(live_server, sent, hooks):
    assert sms(live_server, {"id": "sms-1", "status": "delivered"}) == (200, {"ok": True, "outcome": "delivered"})
    first = invitation("A-000").delivered_at
    assert first is not None
    # the gateway sends it again (it did not see our answer): the same answer, nothing changes
    assert sms(live_server, {"id": "sms-1", "status": "delivered"}) == (200, {"ok": True, "outcome": "again"})
    assert sms(live_server, {"id": "sms-1", "status": "failed", "error": "late"})[1]["outcome"] == "again"
    done = invitation("A-000")
    assert (done.delivered_at, done.failed_at) == (first, None)
    assert invitation("A-001").delivered_at is None


def test_an_sms_report_of_a_message_not_delivered_fails_it_for_a_changed_contact_with_the_number_masked(
        live_server, sent, hooks):
    status, answer = sms(live_server, {"id": "sms-2", "status": "failed", "error": "number 0912345001 unreachable"})
    assert (status, answer["outcome"]) == (200, "undelivered")
    failed = invitation("A-001")
    assert failed.failed_at is not None and not failed.failure_temporary
    assert failed.failure == "number 09*****001 unreachable"
    assert sms(live_server, {"id": "sms-2", "status": "delivered"})[1]["outcome"] == "again"
    assert invitation("A-001").delivered_at is None


def test_an_sms_report_with_a_wrong_or_missing_secret_is_refused_and_changes_nothing(live_server, sent, hooks):
    assert sms(live_server, {"id": "sms-1", "status": "delivered"}, secret="guess")[0] == 401
    assert sms(live_server, {"id": "sms-1", "status": "delivered"}, secret="s\xe9cret\xff")[0] == 401
    assert sms(live_server, {"id": "sms-1", "status": "delivered"}, secret=None)[0] == 401
    assert invitation("A-000").delivered_at is None


@pytest.mark.parametrize("body", [
    b"", b"not json", b"\xff\xfe\x00garbage", b"[1, 2]", b"null", {"status": "delivered"},
    {"id": "sms-1"}, {"id": "sms-1", "status": "read"}, {"id": {"x": 1}, "status": "delivered"},
    {"id": True, "status": "delivered"}, {"id": "", "status": "delivered"}, {"id": None, "status": "failed"},
])
def test_an_sms_report_not_in_the_shape_is_a_400_never_a_500(live_server, sent, hooks, body):
    status, _answer = sms(live_server, body)
    assert status == 400, _answer
    assert not Invitation.objects.filter(delivered_at__isnull=False).exists()


def test_an_sms_report_of_an_unknown_or_long_id_or_an_email_is_answered_and_changes_nothing(live_server, sent, hooks):
    assert sms(live_server, {"id": "sms-999", "status": "delivered"})[1]["outcome"] == "unknown"
    assert sms(live_server, {"id": "x" * 5000, "status": "delivered"})[1]["outcome"] == "unknown"
    assert sms(live_server, {"id": 12, "status": "failed", "error": ["not", "a", "string"]})[1]["outcome"] == "unknown"
    assert sms(live_server, {"id": "zns-1", "status": "delivered"})[1]["outcome"] == "unknown"  # another channel's
    assert sms(live_server, {"id": "t-3", "status": "delivered"})[1]["outcome"] == "unknown"  # e-mail: no receipts
    assert not Invitation.objects.filter(delivered_at__isnull=False).exists()


def test_the_endpoints_are_off_without_their_secret_and_post_only(live_server, sent):
    with override_settings(SMS_GATEWAY_WEBHOOK_SECRET="", ZALO_APP_ID="", ZALO_OA_SECRET_KEY=""):
        assert sms(live_server, {"id": "sms-1", "status": "delivered"}, secret="")[0] == 404
        assert zalo(live_server, zalo_event("zns-1"))[0] == 404
    with override_settings(SMS_GATEWAY_WEBHOOK_SECRET=SECRET, ZALO_APP_ID=APP_ID, ZALO_OA_SECRET_KEY=OA_KEY):
        assert post(f"{live_server.url}/hooks/sms/delivery", b"", method="GET")[0] == 405
        assert post(f"{live_server.url}/hooks/zalo/events", b"", method="GET")[0] == 405
    assert not Invitation.objects.filter(delivered_at__isnull=False).exists()


def test_a_signed_zns_received_event_marks_the_invitation_delivered_once(live_server, sent, hooks):
    assert zalo(live_server, zalo_event("zns-1")) == (200, {"ok": True, "outcome": "delivered"})
    first = invitation("A-002").delivered_at
    assert first is not None
    assert zalo(live_server, zalo_event("zns-1", timestamp="1765065609999"))[1]["outcome"] == "again"
    assert invitation("A-002").delivered_at == first
    # other events (a follower's message) are answered and left alone
    assert zalo(live_server, zalo_event("zns-1", event="user_send_text")) == (200, {"ok": True, "outcome": "ignored"})
    # an SMS message id in a Zalo event is not an SMS report
    assert zalo(live_server, zalo_event("sms-1"))[1]["outcome"] == "unknown"
    assert invitation("A-000").delivered_at is None


def test_a_zalo_event_with_a_wrong_signature_or_none_is_refused(live_server, sent, hooks):
    raw = zalo_event("zns-1")
    assert zalo(live_server, raw, signature="mac=" + "0" * 64)[0] == 401
    assert zalo(live_server, raw, signature="")[0] == 401
    signed_other = zalo_event("zns-1", timestamp="1")  # signed for another timestamp
    timestamp_other = "mac=" + hashlib.sha256(APP_ID.encode() + signed_other + b"1" + OA_KEY.encode()).hexdigest()
    assert zalo(live_server, raw, signature=timestamp_other)[0] == 401
    assert invitation("A-002").delivered_at is None


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b"[]", b'"text"'])
def test_a_zalo_body_that_is_no_json_object_is_a_400(live_server, sent, hooks, raw):
    assert zalo(live_server, raw, signature="mac=x")[0] == 400


@pytest.mark.parametrize("message", [None, "zns-1", {}, {"msg_id": {"a": 1}}, {"msg_id": ""}])
def test_a_signed_received_event_without_a_message_id_is_a_400(live_server, sent, hooks, message):
    raw = json.dumps({"event_name": "user_received_message", "message": message, "timestamp": "17"}).encode()
    assert zalo(live_server, raw)[0] == 400
    assert invitation("A-002").delivered_at is None


def test_the_progress_counts_delivered_and_shows_email_as_without_receipts(live_server, sent, hooks):
    sms(live_server, {"id": "sms-1", "status": "delivered"})
    zalo(live_server, zalo_event("zns-1"))
    total = invitation_progress(sent)["total"]
    assert (total["sent"], total["sent_receipted"], total["delivered"]) == (4, 3, 2)
