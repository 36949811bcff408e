"""Senders of invitations, one per channel, chosen in settings like Django's EMAIL_BACKEND:
INVITATION_SENDERS maps a channel ("sms", "zalo", "email") to a dotted path ("" switches the
channel off). A sender takes a ``Message`` and returns the gateway's message id, or raises
``TransientSendError`` (worth trying again later: a timeout, a refused connection, an HTTP 5xx or
429, an SMTP 4xx) or ``PermanentSendError`` (trying again cannot help: the gateway's reason is kept
on the invitation).

SMS gateway (``SmsGatewaySender``), a deliberately plain HTTP shape that most Vietnamese SMS
brand-name providers can be put behind with a few lines of glue:

    POST {SMS_GATEWAY_URL}
    X-Api-Key: {SMS_GATEWAY_API_KEY}
    Content-Type: application/json
    {"to": "84912345678", "text": "…"}

    2xx  {"id": "…"}                  sent; the id is kept
    429, 5xx, timeout, no connection  transient
    other 4xx {"error": "…"}         permanent, with the error text

    Its delivery report, when the gateway has them (fieldwork/views_delivery.py):
    POST {SITE_URL}/hooks/sms/delivery
    X-Webhook-Secret: {SMS_GATEWAY_WEBHOOK_SECRET}
    {"id": "<the id above>", "status": "delivered" | "failed", "error": "…"}

Zalo ZNS (``ZaloZnsSender``): Zalo Notification Service template messages.

    POST {ZALO_ZNS_URL}/message/template
    access_token: {ZALO_ZNS_ACCESS_TOKEN}
    {"phone": "84912345678", "template_id": "…", "template_data": {"code": …, "link": …, "round": …},
     "tracking_id": "…"}

    {"error": 0, "message": "Success", "data": {"msg_id": "…"}}   sent
    {"error": -124, "message": "…"}                                 permanent, "ZNS -124: …"
    5xx, timeout, no connection                                     transient

The template registered with Zalo must declare the parameters ``code``, ``link`` and ``round``.
Its delivery report is Zalo's webhook event ``user_received_message`` (``message.msg_id``: the
msg_id above) to {SITE_URL}/hooks/zalo/events, signed ``X-ZEvent-Signature: mac=`` + the SHA-256 hex
of ZALO_APP_ID + the body + the body's ``timestamp`` + ZALO_OA_SECRET_KEY.

E-mail (``EmailSender``): Django's e-mail through INVITATION_EMAIL_BACKEND (SMTP by default,
EMAIL_HOST / EMAIL_PORT / …): its own setting, not EMAIL_BACKEND, so that the test runner's
in-memory EMAIL_BACKEND does not hide the real path. An SMTP 5xx answer is permanent; 4xx,
a dropped connection or a timeout transient. E-mail has no delivery report.
"""

import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils.module_loading import import_string


class SendError(Exception):
    """A message was not sent; ``str()`` is the reason (the gateway's words where it gave some)."""


class TransientSendError(SendError):
    """Worth trying again later."""


class PermanentSendError(SendError):
    """Trying again cannot help."""


@dataclass
class Message:
    to: str  # a phone number in national form (0…) or an e-mail address
    text: str
    subject: str = ""
    tracking_id: str = ""
    template_data: dict = field(default_factory=dict)


def international(phone: str) -> str:
    """0912345678 → 84912345678, the form both gateways take."""
    return "84" + phone[1:] if phone.startswith("0") else phone


def get_sender(channel: str):
    """The configured sender of a channel, or None when the channel is switched off."""
    path = settings.INVITATION_SENDERS.get(channel) or ""
    return import_string(path)() if path else None


def _post_json(url: str, body: dict, headers: dict) -> tuple[int, dict]:
    """(HTTP status, the JSON answer or {}) of a POST; TransientSendError when there is no answer."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=settings.INVITATION_SEND_TIMEOUT) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        raise TransientSendError(f"no answer from {url}: {getattr(exc, 'reason', exc)}") from exc
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        data = {}
    return status, data if isinstance(data, dict) else {}


class SmsGatewaySender:
    channel = "sms"

    def send(self, message: Message) -> str:
        status, data = _post_json(settings.SMS_GATEWAY_URL, {"to": international(message.to), "text": message.text},
                                  {"X-Api-Key": settings.SMS_GATEWAY_API_KEY})
        if 200 <= status < 300 and data.get("id"):
            return str(data["id"])
        reason = f"SMS gateway HTTP {status}: {data.get('error') or 'no message id'}"
        if status == 429 or status >= 500:
            raise TransientSendError(reason)
        raise PermanentSendError(reason)


class ZaloZnsSender:
    channel = "zalo"

    def send(self, message: Message) -> str:
        body = {"phone": international(message.to), "template_id": settings.ZALO_ZNS_TEMPLATE_ID,
                "template_data": message.template_data, "tracking_id": message.tracking_id}
        status, data = _post_json(settings.ZALO_ZNS_URL.rstrip("/") + "/message/template", body,
                                  {"access_token": settings.ZALO_ZNS_ACCESS_TOKEN})
        if status >= 500 or status == 429:
            raise TransientSendError(f"ZNS HTTP {status}")
        if data.get("error") == 0 and (data.get("data") or {}).get("msg_id"):
            return str(data["data"]["msg_id"])
        if "error" in data:
            raise PermanentSendError(f"ZNS {data['error']}: {data.get('message', '')}")
        raise PermanentSendError(f"ZNS HTTP {status}: no answer in the ZNS shape")


class EmailSender:
    channel = "email"

    def send(self, message: Message) -> str:
        connection = get_connection(settings.INVITATION_EMAIL_BACKEND, fail_silently=False,
                                    timeout=settings.INVITATION_SEND_TIMEOUT)
        email = EmailMessage(message.subject, message.text, settings.DEFAULT_FROM_EMAIL, [message.to],
                             connection=connection, headers={"X-SIPAS-Invitation": message.tracking_id})
        try:
            email.send()
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            _raise_smtp(code, text)
        except smtplib.SMTPResponseException as exc:
            _raise_smtp(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientSendError(f"SMTP: {exc}") from exc
        return message.tracking_id


def _raise_smtp(code: int, text) -> None:
    reason = f"SMTP {code}: {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    raise (PermanentSendError if code >= 500 else TransientSendError)(reason)
