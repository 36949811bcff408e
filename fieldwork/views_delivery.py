"""Delivery reports from the gateways (issue 19), called by the gateways, not by people: the SMS
gateway's report and Zalo's webhook for ZNS messages (shapes in fieldwork/senders.py). Each is
verified before anything is read from it (a shared secret, a signature), answers 200 to a repeated or
unknown report (the gateway stops sending it again; nothing changes), 400 to a body not in the shape,
401 to a wrong secret or signature, 404 when its secret is not set on this server. E-mail has no
delivery report."""

import hashlib
import hmac
import json

from django.conf import settings
from django.http import Http404, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from fieldwork import invitations
from fieldwork.models import Invitation

ZALO_DELIVERED = "user_received_message"  # the ZNS event of a message received on the phone


def _json(raw: bytes) -> dict | None:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8", "replace"))


def _message_id(value) -> str | None:
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) else None


@csrf_exempt  # no cookie: the shared secret in a header is the credential
@never_cache
@require_POST
def sms_delivery(request):
    """``{"id": "<the id the send answer gave>", "status": "delivered" | "failed", "error": "…"}``
    with the header ``X-Webhook-Secret: SMS_GATEWAY_WEBHOOK_SECRET``."""
    secret = settings.SMS_GATEWAY_WEBHOOK_SECRET
    if not secret:
        raise Http404("SMS delivery reports are not set up.")
    if not _same(request.headers.get("X-Webhook-Secret", ""), secret):
        return JsonResponse({"error": "wrong or missing X-Webhook-Secret"}, status=401)
    data = _json(request.body)
    message_id = _message_id(data.get("id")) if data else None
    if message_id is None or data.get("status") not in ("delivered", "failed"):
        return JsonResponse({"error": 'expected {"id": "...", "status": "delivered" or "failed"}'}, status=400)
    outcome = invitations.invitation_delivery(
        channel=Invitation.Channel.SMS, message_id=message_id, delivered=data["status"] == "delivered",
        reason=str(data.get("error") or "")[:300])
    return JsonResponse({"ok": True, "outcome": outcome})


@csrf_exempt  # no cookie: Zalo signs the body
@never_cache
@require_POST
def zalo_events(request):
    """Zalo's webhook: ``X-ZEvent-Signature: mac=<sha256 hex of app id + body + timestamp + OA secret
    key>``, the timestamp taken from the body. The ZNS event ``user_received_message`` (``message.msg_id``:
    the id the send answer gave) marks the invitation delivered; other events are answered and left."""
    app_id, key = settings.ZALO_APP_ID, settings.ZALO_OA_SECRET_KEY
    if not (app_id and key):
        raise Http404("Zalo events are not set up.")
    data = _json(request.body)
    if data is None:
        return JsonResponse({"error": "the body is not a JSON object"}, status=400)
    timestamp = data.get("timestamp")
    timestamp = str(timestamp) if isinstance(timestamp, (str, int)) and not isinstance(timestamp, bool) else ""
    mac = hashlib.sha256(app_id.encode() + request.body + timestamp.encode() + key.encode()).hexdigest()
    if not timestamp or not _same(request.headers.get("X-ZEvent-Signature", ""), f"mac={mac}"):
        return JsonResponse({"error": "wrong or missing X-ZEvent-Signature"}, status=401)
    if data.get("event_name") != ZALO_DELIVERED:
        return JsonResponse({"ok": True, "outcome": "ignored"})
    message = data.get("message")
    message_id = _message_id(message.get("msg_id")) if isinstance(message, dict) else None
    if message_id is None:
        return JsonResponse({"error": "the event has no message.msg_id"}, status=400)
    outcome = invitations.invitation_delivery(channel=Invitation.Channel.ZALO, message_id=message_id, delivered=True)
    return JsonResponse({"ok": True, "outcome": outcome})
