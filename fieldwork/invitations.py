"""Invitations to answer a round at home (issue 19): the one writer of Invitation and InvitationContact.

Creating. ``invitations_create`` gives every dossier of a sample one invitation (a dossier never
gets two in a round: a unique constraint, and ``ON CONFLICT DO NOTHING``), in a few SQL statements
whatever the sample's size: the ids come from PostgreSQL's ``gen_random_uuid()``, the short codes
from Python's ``secrets`` (a code is typed by hand, so it is a credential too), and a code that
happens to be taken already in the round is drawn again for its dossier.

Links. The link carries the invitation's random ``public_id`` and a MAC of it keyed by the secret
key (``salted_hmac``, truncated to 96 bits: the link stays short enough for an SMS). The same link
goes in the first message and the reminder; the invitation's own ``expires_at`` and
``completed_at`` make it expire and single-use. The at-home survey (``fieldwork.athome``) reads a
link with ``invitation_find(token)`` and marks it opened with ``invitation_open(token)`` when the
citizen presses Start.

Sending. ``invitations_queue`` claims the invitations with a contact for a channel (a single
UPDATE … RETURNING, so two clicks or two workers never queue one twice) and queues them in batches
(``fieldwork.tasks.send_invitations``); ``invitation_send`` sends one message. A message that meets
a transient error is tried again by a task of its own (``fieldwork.tasks.send_invitation``) with a
growing delay, then failed with the last reason.

Delivery and resending. ``invitation_delivery`` records a gateway's delivery report (SMS and Zalo:
``fieldwork.views_delivery`` verifies them; e-mail has none), once per message. ``invitations_resend``
queues again the failed invitations whose failure may pass or whose contact an upload changed since
(``contacts_import`` moves ``uploaded_at`` only when the number or address changes).

Rate limit: a token bucket in Redis per channel (``take_send_token``), not Celery's ``rate_limit``.
Celery's limit is per worker process and per task type: with three workers the gateway would get
three times the rate, and SMS, Zalo and e-mail (one task) would share one limit, while a gateway's
contract is per account, whatever number of workers send. The bucket lives on the cache's Redis
server and is shared by every worker.
"""

import datetime
import logging
import random
import re
import secrets
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Count, Q, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fieldwork import senders
from fieldwork.models import Dossier, Invitation, InvitationContact, Round, Sample, SampleMember
from fieldwork.selectors import in_scope
from fieldwork.tokens import token_read, token_sign
from surveyapp.internals import cache_eval
from surveyapp.spreadsheet import CsvReadError, Problems, csv_records

log = logging.getLogger(__name__)

# Letters and digits that cannot be misread on a slip: no 0/O, 1/I/L, 5/S, 8/B, 2/Z.
CODE_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
CODE_LENGTH = Invitation._meta.get_field("code").max_length
SALT = "fieldwork.invitation"
SEND_TASK = "fieldwork.tasks.send_invitation"
SEND_BATCH_TASK = "fieldwork.tasks.send_invitations"
CONTACT_COLUMNS = ("dossier_code", "phone", "email")
PHONE = re.compile(r"^0[35789]\d{8}$")  # a Vietnamese mobile number in national form
BATCH_SIZE = 5000


class InvitationError(Exception):
    """Nothing was stored. ``errors`` say why (naming the row of a file); ``more`` were only counted."""

    def __init__(self, errors: list[str], more: int = 0):
        super().__init__("; ".join(errors[:3]))
        self.errors, self.more = errors, more


# ---------------------------------------------------------------------------------------------
# Creating


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))


def _insert(cursor, survey_round, rows, now, expires):
    """Insert (dossier id, unit id, code) rows; those whose dossier or code is taken are skipped."""
    dossiers, units, codes = (list(column) for column in zip(*rows, strict=True))
    cursor.execute(
        f"INSERT INTO {Invitation._meta.db_table} (public_id, round_id, dossier_id, unit_id, code, created_at, "
        "expires_at, channel, failure, message_id) "
        "SELECT gen_random_uuid(), %s, d, u, c, %s, %s, '', '', '' "
        "FROM unnest(%s::integer[], %s::integer[], %s::varchar[]) AS t(d, u, c) ON CONFLICT DO NOTHING",
        [survey_round.pk, now, expires, dossiers, units, codes])
    return cursor.rowcount


def _waiting(cursor, survey_round, sample):
    """(dossier id, unit id) of the sample's dossiers without an invitation in the round."""
    cursor.execute(
        f"SELECT d.id, d.unit_id FROM {SampleMember._meta.db_table} m "
        f"JOIN {Dossier._meta.db_table} d ON d.id = m.dossier_id WHERE m.sample_id = %s AND NOT EXISTS "
        f"(SELECT 1 FROM {Invitation._meta.db_table} i WHERE i.round_id = %s AND i.dossier_id = d.id)",
        [sample.pk, survey_round.pk])
    return cursor.fetchall()


@transaction.atomic
def invitations_create(*, sample: Sample) -> int:
    """One invitation for every dossier of the sample that has none in its round yet; returns how
    many were created (0 the second time). A code already taken in the round (rare: 25^8 codes) is
    drawn again for its dossier, at most a few rounds of one statement each."""
    survey_round = sample.dossier_list.round
    now = timezone.now()
    expires = now + datetime.timedelta(days=settings.INVITATION_VALID_DAYS)
    created = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('fieldwork.invitation'), %s)", [survey_round.pk])
        for _attempt in range(10):
            waiting = _waiting(cursor, survey_round, sample)
            if not waiting:
                return created
            created += _insert(cursor, survey_round, [(d, u, new_code()) for d, u in waiting], now, expires)
    raise RuntimeError("short codes kept colliding: is CODE_LENGTH too small for the round?")


# ---------------------------------------------------------------------------------------------
# Links


def invitation_token(invitation: Invitation) -> str:
    """The token of the invitation's link: its public id and a MAC of it (38 characters)."""
    return token_sign(invitation.public_id.bytes, SALT)


def invitation_link(invitation: Invitation) -> str:
    path = reverse("fieldwork:invitation-open", args=[invitation_token(invitation)])
    return settings.SITE_URL.rstrip("/") + path


def _public_id(token: str) -> uuid.UUID | None:
    """The public id a token names, if its MAC is right (under the key or one of its fallbacks)."""
    data = token_read(token, SALT, 16)
    return None if data is None else uuid.UUID(bytes=data)


@dataclass
class Opened:
    invitation: Invitation | None
    reason: str  # "" when the invitation may be answered; else "unknown", "expired", "used" or "closed"


def invitation_find(token: str) -> Opened:
    """The invitation of a link's token when it may be answered, changing nothing (what the link's
    page shows on a GET: a messaging app that previews the link must not count as opening it);
    else None and why not: "unknown" (a made-up or altered link), "expired", "used" (already
    answered) or "closed" (its round is not open)."""
    public_id = _public_id(token)
    return _opened(Invitation.objects.filter(public_id=public_id) if public_id else None, mark=False)


def invitation_open(token: str) -> Opened:
    """The same, and the invitation marked opened (the first time): what the at-home survey calls
    when the citizen presses Start."""
    public_id = _public_id(token)
    return _opened(Invitation.objects.filter(public_id=public_id) if public_id else None)


def _normal_code(code) -> str | None:
    code = re.sub(r"[\s\-]", "", code if isinstance(code, str) else "").upper()
    return None if len(code) != CODE_LENGTH or set(code) - set(CODE_ALPHABET) else code


def invitation_open_code(*, survey_round: Round, code: str) -> Opened:
    """The same for the short code of a printed slip, typed by hand for a round (codes are unique in
    a round): spaces and dashes are ignored, small letters read as capitals."""
    code = _normal_code(code)
    if code is None:
        return Opened(None, "unknown")
    return _opened(Invitation.objects.filter(round=survey_round, code=code))


def invitation_find_code(code: str) -> Opened:
    """The invitation of a slip's short code among the open rounds' (the public code page, which
    knows no round), changing nothing. A code is unique within a round only: when two open rounds
    have it (about one chance in 25^8 a pair of invitations), it names no one ("unknown"; the
    slip's QR code or link still works)."""
    code = _normal_code(code)
    if code is None:
        return Opened(None, "unknown")
    found = list(Invitation.objects.filter(code=code, round__status=Round.Status.OPEN).values_list("pk", flat=True)[:2])
    if len(found) != 1:
        return Opened(None, "unknown")
    return _opened(Invitation.objects.filter(pk=found[0]), mark=False)


def _opened(invitations, mark=True) -> Opened:
    invitation = invitations.select_related("round", "round__questionnaire", "unit").first() if invitations else None
    if invitation is None:
        return Opened(None, "unknown")
    if invitation.completed_at is not None:
        return Opened(None, "used")
    now = timezone.now()
    if invitation.expires_at <= now:
        return Opened(None, "expired")
    if invitation.round.status != Round.Status.OPEN:
        return Opened(None, "closed")
    if mark and invitation.opened_at is None:
        Invitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(opened_at=now)
        invitation.opened_at = now
    return Opened(invitation, "")


def invitation_complete(*, invitation: Invitation) -> bool:
    """Mark the invitation answered (and opened, if Start was never counted); False when it was
    already (the link is single-use). ``fieldwork.athome.athome_submit`` calls it in the transaction
    that stores the response."""
    now = timezone.now()
    return Invitation.objects.filter(pk=invitation.pk, completed_at__isnull=True).update(
        completed_at=now, opened_at=Coalesce("opened_at", Value(now))) == 1


# ---------------------------------------------------------------------------------------------
# Contacts


def mask_phone(phone: str) -> str:
    """0912345123 → 09*****123."""
    return phone[:2] + "*" * max(0, len(phone) - 5) + phone[-3:] if len(phone) > 5 else "*" * len(phone)


def mask_email(email: str) -> str:
    """nam.nguyen@gmail.com → n***@gmail.com."""
    local, _at, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def normal_phone(value: str) -> str | None:
    """A Vietnamese mobile number in national form (0912345678) from what people write (spaces,
    dots, dashes, +84 or 84 in front); None when it is not one."""
    digits = re.sub(r"[\s.\-()]", "", value)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits if PHONE.match(digits) else None


def _contact_header(header, problems):
    header = [h.strip().lower() for h in header]
    if "dossier_code" not in header or not ({"phone", "email"} & set(header)):
        problems.add(_("row 1: the header must have dossier_code and phone or email (or both)"), 1)
    elif unknown := [h for h in header if h not in CONTACT_COLUMNS]:
        problems.add(_("row 1: unknown column(s): %(columns)s") % {"columns": ", ".join(unknown)}, 1)
    elif len(set(header)) != len(header):
        problems.add(_("row 1: a column is repeated"), 1)
    else:
        return header
    return None


def _contact_row(number, values, problems):
    """(code, phone, email) of a row, or None with its problems added."""
    code, phone, email = (values.get(c, "").strip() for c in CONTACT_COLUMNS)
    ok = True
    if not code:
        problems.add(_("row %(row)d: dossier_code is empty") % {"row": number}, number)
        ok = False
    if phone and normal_phone(phone) is None:
        problems.add(_("row %(row)d: '%(value)s' is not a Vietnamese mobile number (10 digits, e.g. 0912345678)")
                     % {"row": number, "value": phone[:40]}, number)
        ok = False
    if email:
        try:
            validate_email(email)
        except ValidationError:
            problems.add(_("row %(row)d: '%(value)s' is not an e-mail address") % {"row": number,
                                                                                   "value": email[:80]}, number)
            ok = False
    if not phone and not email:
        problems.add(_("row %(row)d: neither a phone number nor an e-mail address") % {"row": number}, number)
        ok = False
    return (code, normal_phone(phone) or "", email.lower()) if ok else None


def _read_contacts(source, problems):
    rows = []
    try:
        records = csv_records(source)
        _line, header = next(records, (1, []))
        header = _contact_header(header, problems)
        if header is None:
            return rows
        for number, cells in records:
            values = dict(zip(header, cells, strict=False))
            if len(cells) > len(header):
                problems.add(_("row %(row)d: more values than columns") % {"row": number}, number)
            elif any(v.strip() for v in values.values()) and (row := _contact_row(number, values, problems)):
                rows.append((number, *row))
    except CsvReadError as exc:
        problems.add(_("row %(row)d: %(problem)s") % {"row": exc.line, "problem": exc.message}, exc.line)
    return rows


def _invitations_by_code(survey_round, codes):
    """Dossier code → invitation ids of the round with that code (a code may be in two lists)."""
    found = {}
    for code, pk in (Invitation.objects.filter(round=survey_round, dossier__code__in=codes)
                     .values_list("dossier__code", "pk").iterator(chunk_size=BATCH_SIZE)):
        found.setdefault(code, []).append(pk)
    return found


def _match_contacts(survey_round, rows, problems):
    found, seen, matched = {}, {}, []
    for start in range(0, len(rows), BATCH_SIZE):
        found.update(_invitations_by_code(survey_round, [r[1] for r in rows[start:start + BATCH_SIZE]]))
    for number, code, phone, email in rows:
        ids = found.get(code, [])
        if code in seen:
            problems.add(_("row %(row)d: dossier_code '%(code)s' is already on row %(first)d")
                         % {"row": number, "code": code, "first": seen[code]}, number)
        elif not ids:
            problems.add(_("row %(row)d: dossier %(code)s has no invitation in this round (is it in a sample, "
                           "and were the invitations created?)") % {"row": number, "code": code}, number)
        elif len(ids) > 1:
            problems.add(_("row %(row)d: dossier code %(code)s is in two lists of this round: it cannot tell "
                           "which dossier is meant") % {"row": number, "code": code}, number)
        else:
            matched.append((ids[0], phone, email))
        seen.setdefault(code, number)
    return matched


@transaction.atomic
def contacts_import(*, survey_round: Round, file=None, text=None) -> int:
    """Store the phone numbers and e-mail addresses of a CSV (``dossier_code`` and ``phone`` and/or
    ``email``) for the round's invitations, replacing what a dossier had. All or nothing: raises
    ``InvitationError`` naming the row of each problem. Returns how many contacts were stored."""
    problems = Problems()
    rows = _read_contacts(file if file is not None else text, problems)
    matched = _match_contacts(survey_round, rows, problems) if rows else []
    if not matched and not problems:
        problems.add(_("the file has no contacts"))
    if problems:
        problems.sort()
        raise InvitationError(problems.messages, more=problems.more)
    ids, phones, emails = (list(column) for column in zip(*matched, strict=True))
    table = InvitationContact._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (invitation_id, round_id, phone, email, uploaded_at) "
            "SELECT i, %s, p, e, %s FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[]) AS t(i, p, e) "
            "ON CONFLICT (invitation_id) DO UPDATE SET phone = EXCLUDED.phone, email = EXCLUDED.email, "
            # uploaded_at tells when the contact last changed (a failed send is resent after it changed)
            f"uploaded_at = CASE WHEN ({table}.phone, {table}.email) IS DISTINCT FROM (EXCLUDED.phone, EXCLUDED.email) "
            f"THEN EXCLUDED.uploaded_at ELSE {table}.uploaded_at END",
            [survey_round.pk, timezone.now(), ids, phones, emails])
    return len(matched)


def contacts_purge(now=None) -> int:
    """Delete the contacts of rounds closed more than INVITATION_CONTACT_KEEP_DAYS ago (the beat)."""
    before = (now or timezone.now()) - datetime.timedelta(days=settings.INVITATION_CONTACT_KEEP_DAYS)
    deleted, _by_model = InvitationContact.objects.filter(
        round__status=Round.Status.CLOSED, round__closed_at__lte=before).delete()
    return deleted


# ---------------------------------------------------------------------------------------------
# Queueing and sending


def _enqueue(ids, reminder=False):
    """Send the tasks of these invitations' messages: one task a batch of INVITATION_SEND_BATCH (sending
    a task costs about a millisecond and a half: 100,000 of them took minutes)."""
    from surveyapp.celery import app

    size = settings.INVITATION_SEND_BATCH
    with app.producer_or_acquire() as producer:
        for start in range(0, len(ids), size):
            app.send_task(SEND_BATCH_TASK, args=[ids[start:start + size]], kwargs={"reminder": reminder},
                          producer=producer)


def invitations_send_batch(*, invitation_ids, reminder=False) -> dict:
    """Send the messages of a batch one after the other (the step of the batch task). A message that
    meets a transient error goes on as a task of its own (``send_invitation``), tried again after
    ``retry_delay``; the others are not held up. Returns how many were sent, failed, skipped, retried."""
    from surveyapp.celery import app

    outcomes = {"sent": 0, "failed": 0, "skipped": 0, "retried": 0}
    rows = _to_send().in_bulk(invitation_ids)  # one query for the batch
    for pk in invitation_ids:
        try:
            outcomes[invitation_send(invitation_id=pk, reminder=reminder, invitation=rows.get(pk))] += 1
        except senders.TransientSendError:
            app.send_task(SEND_TASK, args=[pk], kwargs={"reminder": reminder}, countdown=retry_delay(0), retries=1)
            outcomes["retried"] += 1
    return outcomes


def _claim(sql, params):
    """Run an UPDATE … RETURNING id that claims invitations; their ids in order."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(pk for (pk,) in cursor.fetchall())


def invitations_queue(*, survey_round: Round, channel: str) -> int:
    """Queue the first message of every invitation of the round that has a contact for the channel
    and was never queued (nor answered, nor expired); returns how many. One UPDATE claims them (a
    second click, or a second worker, finds none left); the tasks are sent after the commit."""
    if senders.get_sender(channel) is None:
        raise InvitationError([_("sending by %(channel)s is not set up on this server")
                               % {"channel": Invitation.Channel(channel).label}])
    column = "email" if channel == Invitation.Channel.EMAIL else "phone"
    with transaction.atomic():
        ids = _claim(
            f"UPDATE {Invitation._meta.db_table} i SET queued_at = %s, channel = %s "
            f"FROM {InvitationContact._meta.db_table} c WHERE c.invitation_id = i.id AND c.{column} <> '' "
            "AND i.round_id = %s AND i.queued_at IS NULL AND i.completed_at IS NULL AND i.expires_at > %s "
            "RETURNING i.id", [timezone.now(), channel, survey_round.pk, timezone.now()])
        transaction.on_commit(lambda: _enqueue(ids))
    return len(ids)


def reminders_queue(now=None) -> int:
    """Queue the one reminder of invitations sent INVITATION_REMINDER_DAYS ago or more, not answered
    nor failed, in open rounds, still valid, with a contact (the beat). Each is claimed once."""
    now = now or timezone.now()
    due = now - datetime.timedelta(days=settings.INVITATION_REMINDER_DAYS)
    with transaction.atomic():
        ids = _claim(
            f"UPDATE {Invitation._meta.db_table} i SET reminder_queued_at = %s "
            f"FROM {Round._meta.db_table} r, {InvitationContact._meta.db_table} c "
            "WHERE r.id = i.round_id AND r.status = 'open' AND c.invitation_id = i.id AND i.sent_at <= %s "
            "AND i.reminder_queued_at IS NULL AND i.completed_at IS NULL AND i.failed_at IS NULL AND i.expires_at > %s "
            "RETURNING i.id",
            [now, due, now])
        transaction.on_commit(lambda: _enqueue(ids, reminder=True))
    return len(ids)


# KEYS[1]: the channel's bucket; ARGV: messages a second, the burst. Returns 0 when a message may
# go now, else the milliseconds until one may. Redis's clock, so that workers' clocks do not matter.
_BUCKET = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / rate * 1000) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return wait
"""


def take_send_token(channel: str) -> None:
    """Wait until the channel's token bucket lets one more message go (see the module docstring)."""
    rate = settings.INVITATION_SEND_RATE[channel]
    while True:
        try:
            wait = cache_eval(_BUCKET, f"invitation-bucket:{channel}", rate, settings.INVITATION_SEND_BURST)
        except Exception as exc:  # noqa: BLE001 - any Redis failure: try the message again later
            raise senders.TransientSendError(f"the rate limiter is unavailable: {exc}") from exc
        if not wait:
            return
        time.sleep(wait / 1000)


def _message(invitation: Invitation, contact: InvitationContact, reminder: bool) -> senders.Message:
    link, code = invitation_link(invitation), invitation.code
    values = {"round": invitation.round.name, "link": link, "code": code}
    with translation.override("vi"):
        if reminder:
            text = _("Reminder: you have not yet answered the survey on the public service you received (%(round)s). "
                     "Answer at %(link)s or enter the code %(code)s.") % values
        else:
            text = _("You are invited to say how satisfied you are with the public service you received "
                     "(%(round)s). Answer at %(link)s or enter the code %(code)s.") % values
        subject = _("Survey on satisfaction with public services: %(round)s") % values
    to = contact.email if invitation.channel == Invitation.Channel.EMAIL else contact.phone
    return senders.Message(to=to, text=text, subject=subject, tracking_id=str(invitation.public_id),
                           template_data=values)


def _to_send():
    return Invitation.objects.select_related("round", "contact")


def invitation_send(*, invitation_id: int, reminder: bool = False, invitation: Invitation | None = None) -> str:
    """Send the first message (or the reminder) of an invitation through its channel's sender;
    the step of the send task (``invitation``: the row, when the caller has just read it with
    ``_to_send``). Returns what happened: "sent", "failed" (a permanent error, whose reason is
    kept) or "skipped" (already sent, answered, or its contact deleted). A transient error is
    raised (TransientSendError) for the task to try again."""
    if invitation is None:
        invitation = _to_send().filter(pk=invitation_id).first()
    contact = getattr(invitation, "contact", None) if invitation else None
    done = invitation is None or (invitation.reminded_at if reminder else invitation.sent_at or invitation.failed_at)
    if done or contact is None or invitation.completed_at is not None or invitation.expires_at <= timezone.now() \
            or invitation.round.status != Round.Status.OPEN:  # nothing left to invite to
        return "skipped"
    sender = senders.get_sender(invitation.channel)
    if sender is None:
        return invitation_send_failed(invitation_id=invitation_id, reason=_("the channel is switched off"),
                                      temporary=True)
    take_send_token(invitation.channel)
    try:
        message_id = sender.send(_message(invitation, contact, reminder))
    except senders.PermanentSendError as exc:
        return invitation_send_failed(invitation_id=invitation_id, reason=str(exc), reminder=reminder)
    now = timezone.now()
    if reminder:
        Invitation.objects.filter(pk=invitation_id).update(reminded_at=now)
    else:
        Invitation.objects.filter(pk=invitation_id).update(sent_at=now, message_id=message_id[:100])
    return "sent"


_NUMBER = re.compile(r"\+?\d[\d .\-]{6,}\d")
_ADDRESS = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+")


def scrub(reason: str) -> str:
    """A gateway's reason with any phone number or e-mail address in it masked: it is kept on the
    invitation after the contact is deleted, and shown on the page."""
    reason = _ADDRESS.sub(lambda m: mask_email(m.group()), reason)
    return _NUMBER.sub(lambda m: mask_phone(re.sub(r"\D", "", m.group())), reason)


def invitation_send_failed(*, invitation_id: int, reason: str, reminder: bool = False, temporary: bool = False) -> str:
    """Record that a first message could not be sent, with the reason, scrubbed of contact data, and
    whether the trouble may pass (``temporary``: retries ran out, the channel was off); a failed
    reminder is only logged: the invitation was delivered once."""
    reason = scrub(reason)
    if reminder:
        log.warning("reminder of invitation %s not sent: %s", invitation_id, reason)
    else:
        Invitation.objects.filter(pk=invitation_id, sent_at__isnull=True).update(
            failed_at=timezone.now(), failure=reason[:500], failure_temporary=temporary)
    return "failed"


def _resendable():
    """Tables and condition of the round's invitations ``i`` that "resend failed" takes (parameters:
    round id, now, the channels set up): failed, not answered, still valid, in an open round, with a
    contact for their channel, and either a temporary failure or a contact changed by an upload
    after it failed. A refusal with the same contact would only be refused again (and paid for)."""
    tables = f"{InvitationContact._meta.db_table} c, {Round._meta.db_table} r"
    return tables, ("c.invitation_id = i.id AND r.id = i.round_id AND r.status = 'open' AND i.round_id = %s "
                    "AND i.failed_at IS NOT NULL AND i.completed_at IS NULL AND i.expires_at > %s "
                    "AND i.channel = ANY(%s) "
                    "AND CASE WHEN i.channel = 'email' THEN c.email <> '' ELSE c.phone <> '' END "
                    "AND (i.failure_temporary OR c.uploaded_at > i.failed_at)")


def _channels_on():
    return [c.value for c in Invitation.Channel if senders.get_sender(c.value) is not None]


def invitations_resendable(*, survey_round: Round) -> int:
    """How many failed invitations "resend failed" would take now (one query)."""
    now = timezone.now()
    with connection.cursor() as cursor:
        tables, condition = _resendable()
        cursor.execute(f"SELECT count(*) FROM {Invitation._meta.db_table} i, {tables} WHERE {condition}",
                       [survey_round.pk, now, _channels_on()])
        return cursor.fetchone()[0]


def invitations_resend(*, survey_round: Round) -> int:
    """Queue again the first message of the round's failed invitations that may now go (see
    ``_resendable``), through their own channel; returns how many. One UPDATE claims them and
    clears their failure, so a second click (or a double tap) finds none left; the tasks are sent
    after the commit."""
    now = timezone.now()
    tables, condition = _resendable()
    with transaction.atomic():
        ids = _claim(
            f"UPDATE {Invitation._meta.db_table} i SET queued_at = %s, sent_at = NULL, failed_at = NULL, "
            "failure = '', failure_temporary = false, message_id = '', delivered_at = NULL, "
            f"reminder_queued_at = NULL, reminded_at = NULL FROM {tables} WHERE {condition} RETURNING i.id",
            [now, survey_round.pk, now, _channels_on()])
        transaction.on_commit(lambda: _enqueue(ids))
    return len(ids)


# ---------------------------------------------------------------------------------------------
# Delivery reports (fieldwork.views_delivery verifies them; e-mail has none)

RECEIPT_CHANNELS = (Invitation.Channel.SMS, Invitation.Channel.ZALO)


def invitation_delivery(*, channel: str, message_id: str, delivered: bool, reason: str = "") -> str:
    """Record a gateway's delivery report for the message it gave ``message_id``: delivered, or not
    (kept as a failure that is not temporary, with the gateway's reason scrubbed of contact data: a
    wrong number needs a changed contact). Idempotent: the first report of a message counts, a
    repeated or later one changes nothing. Returns "delivered", "undelivered", "again" (already
    reported) or "unknown" (no such message: a report for a message of an invitation sent again, or
    made up)."""
    message_id = (message_id or "")[:100]
    found = Invitation.objects.filter(channel=channel, message_id=message_id, sent_at__isnull=False)
    if not message_id or channel not in RECEIPT_CHANNELS:
        return "unknown"
    pending = found.filter(delivered_at__isnull=True, failed_at__isnull=True)
    if delivered:
        changed = pending.update(delivered_at=timezone.now())
    else:
        changed = pending.filter(completed_at__isnull=True).update(
            failed_at=timezone.now(), failure=scrub(reason or _("not delivered"))[:500], failure_temporary=False)
    if changed:
        return "delivered" if delivered else "undelivered"
    return "again" if found.exists() else "unknown"


def retry_delay(retries: int) -> float:
    """Seconds before try ``retries + 1``: INVITATION_RETRY_SECONDS × 2^retries, ± a quarter."""
    return settings.INVITATION_RETRY_SECONDS * 2 ** retries * random.uniform(0.75, 1.25)


# ---------------------------------------------------------------------------------------------
# Reads for the page


def _progress_counts():
    sent = Q(sent_at__isnull=False)
    return {"sent": Count("pk", filter=sent),
            "sent_receipted": Count("pk", filter=sent & Q(channel__in=RECEIPT_CHANNELS)),
            "delivered": Count("pk", filter=Q(delivered_at__isnull=False)),
            "opened": Count("pk", filter=Q(opened_at__isnull=False)),
            "completed": Count("pk", filter=Q(completed_at__isnull=False)),
            "completed_of_sent": Count("pk", filter=sent & Q(completed_at__isnull=False))}


def _with_rate(row):
    """The response rate: of the invitations sent, the share answered (a slip's code answered without
    a message sent counts in completed, not in the rate)."""
    row["rate"] = 100.0 * row["completed_of_sent"] / row["sent"] if row["sent"] else None
    return row


def _add(into: dict, row: dict, keys) -> dict:
    for key in keys:
        into[key] = into.get(key, 0) + row[key]
    return into


def invitation_progress(survey_round: Round) -> dict:
    """The at-home side of the round's progress, in the part of the round the user works on: sent,
    delivered (SMS and Zalo only: e-mail has no delivery receipt), opened, completed and the response
    rate, by unit, by stratum (the dossier's service field, as the quotas' strata) and in all. One
    grouped query by unit and service field, whatever the number of invitations; its few groups (at
    most units × fields) are added up here by unit and by field."""
    keys = list(_progress_counts())
    groups = (Invitation.objects.filter(in_scope(survey_round), round=survey_round)
              .values("unit__code", "unit__name", "unit__path", "dossier__service_field")
              .annotate(**_progress_counts()).order_by("unit__path", "dossier__service_field"))
    units, strata, total = {}, {}, dict.fromkeys(keys, 0)
    for row in groups:
        unit = units.setdefault(row["unit__code"], {k: row[k] for k in ("unit__code", "unit__name", "unit__path")})
        _add(unit, row, keys)
        field = row["dossier__service_field"]
        _add(strata.setdefault(field, {"dossier__service_field": field}), row, keys)
        _add(total, row, keys)
    return {"units": [_with_rate(row) for row in units.values()],
            "strata": [_with_rate(strata[field]) for field in sorted(strata)], "total": _with_rate(total)}


def invitation_counts(survey_round: Round):
    """Per unit of the part of the round the user works on: invitations created, with a contact,
    sent, failed, delivered, opened and completed; one grouped query. A count includes the later states (an
    opened invitation was sent)."""
    return (Invitation.objects.filter(in_scope(survey_round), round=survey_round)
            .values("unit__code", "unit__name", "unit__path")
            .annotate(created=Count("pk"), contacts=Count("contact"),
                      sent=Count("pk", filter=Q(sent_at__isnull=False)),
                      failed=Count("pk", filter=Q(failed_at__isnull=False)),
                      delivered=Count("pk", filter=Q(delivered_at__isnull=False)),
                      opened=Count("pk", filter=Q(opened_at__isnull=False)),
                      completed=Count("pk", filter=Q(completed_at__isnull=False)))
            .order_by("unit__path"))


def masked_contacts(survey_round: Round, limit: int = 50):
    """The first ``limit`` contacts of the part of the round the user works on, by dossier code,
    masked, with their invitation's state: one query."""
    rows = (InvitationContact.objects.filter(in_scope(survey_round, "invitation__unit"), round=survey_round)
            .select_related("invitation__dossier", "invitation__unit").order_by("invitation__dossier__code")[:limit])
    return [{"code": c.invitation.dossier.code, "unit": c.invitation.unit.code, "short_code": c.invitation.code,
             "phone": mask_phone(c.phone) if c.phone else "", "email": mask_email(c.email) if c.email else "",
             "failure": c.invitation.failure, "state": invitation_state(c.invitation)} for c in rows]


def invitation_state(invitation: Invitation) -> str:
    """The latest state, translated: completed, opened, failed, delivered, sent, queued or created."""
    if invitation.completed_at:
        return _("completed")
    if invitation.opened_at:
        return _("opened")
    if invitation.failed_at:
        return _("failed")
    if invitation.delivered_at:
        return _("delivered")
    if invitation.sent_at:
        return _("sent")
    return _("queued") if invitation.queued_at else _("created")
