"""Storing responses: one writer for every channel.

Every response (a kiosk's through the API, the kiosk's form without JavaScript, a paper form typed
in or imported) is stored by ``response_submit`` with one statement, STORE_SQL: it checks again in
the database what it was told (kiosk, unit, round, questionnaire, times), claims the response's
quota places under the quotas' row locks (fieldwork.quotas holds those rules), inserts the row,
counts the kiosk's day and writes the change log the scores read, all at once or not at all.

When the statement stores nothing, the submission is tried once more on what the database holds
now (the first try may have used this process's memory of the kiosk and the round), and if that
stores nothing either, ``_why_not_stored`` reads, and changes nothing, to give the precise reason:
a retry of a stored response (answered with it), a different response under the same id, a
dossier already answered, times that cannot be true, a round closed too long ago, a full quota
that closes the survey.
"""

import datetime
import hmac
import json
import uuid
from typing import NamedTuple

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from fieldwork import quotas
from fieldwork.models import Kiosk, Response, ResponseChange, Round
from fieldwork.services import KioskAuthError, Memory, kiosk_memory, open_round_for_unit
from questionnaires.answers import AnswerErrors, pack_answers
from surveyapp.internals import execute_prepared, mark_loaded
from surveyapp.limits import INT_MAX, whole_number
from units.models import Unit

# Time-zone offsets a submission's times may carry: every zone in use is within -12:00 and +14:00
# (PostgreSQL takes no more than ±15:59, Python up to ±23:59).
OFFSET_RANGE = (datetime.timedelta(hours=-12), datetime.timedelta(hours=14))
SUBMISSION_FIELDS = {"id", "round", "questionnaire", "started_at", "submitted_at", "language", "answers",
                     "dossier_code"}
# What makes two submissions under one id the same response (a retry) rather than a conflict.
CONTENT_FIELDS = ("round_id", "unit_id", "language", "seconds_taken", "submitted_at", "answers", "texts",
                  "dossier_hash")
round_memory = Memory(seconds=60)
# Unit path → the levels of the units above it, nearest first (for answers known from the unit).
# Levels of existing units hardly ever change; a change is seen within the memory's time.
levels_memory = Memory(seconds=600)


class SubmissionError(Exception):
    """The submission is refused; ``errors`` maps a field or item code to messages."""

    def __init__(self, status, errors):
        super().__init__(str(errors))
        self.status = status
        self.errors = errors


class SubmitResult:
    """What response_submit did: ``created`` is False when the response was already stored (a retry).

    ``response`` is the stored Response, made only when it is asked for: the kiosk API answers
    with the id alone, and the instance costs more than the answer."""

    def __init__(self, response: Response | None, created: bool, *, response_id=None, make=None):
        self._response, self._make = response, make
        self.response_id = response.pk if response is not None else response_id
        self.created = created

    @property
    def response(self) -> Response:
        if self._response is None:
            self._response = self._make()
        return self._response


class Envelope(NamedTuple):
    """The checked fields around the answers."""

    id: uuid.UUID
    round_id: int | None
    started: datetime.datetime | None
    submitted: datetime.datetime
    dossier: str | None


def dossier_hash(code: str) -> str:
    """A keyed hash of a dossier code: equal codes match, but the code cannot be read back."""
    key = (settings.DOSSIER_HASH_KEY or settings.SECRET_KEY).encode()
    return hmac.new(key, code.strip().upper().encode(), "sha256").hexdigest()


def known_answers(definition, unit: Unit) -> dict:
    """The answers the server fills in from the response's unit (items with ``known_from``, see
    questionnaires.definition), for every channel: item code → option code. No query when the
    version has none or the unit's own level decides them; else one for the levels above it,
    remembered for a while per unit."""
    maps = definition.known_from_unit_level
    if not maps:
        return {}
    if all(unit.level in by_level for by_level in maps.values()):
        return definition.known_answers([unit.level])
    above = levels_memory.get(unit.path)
    if above is None:
        paths = unit.ancestor_paths()[:-1]
        by_path = dict(Unit.objects.filter(path__in=paths).values_list("path", "level"))
        above = [by_path[path] for path in reversed(paths) if path in by_path]
        levels_memory.put(unit.path, above)
    return definition.known_answers([unit.level, *above])


def clock_skew() -> datetime.timedelta:
    """How far a kiosk's clock may be off (KIOSK_CLOCK_SKEW_SECONDS)."""
    return datetime.timedelta(seconds=settings.KIOSK_CLOCK_SKEW_SECONDS)


# ---------------------------------------------------------------------------------------------
# The writer


def response_submit(*, unit: Unit, payload, channel=Response.Channel.KIOSK, kiosk: Kiosk | None = None,
                    paper_entry: int | None = None) -> SubmitResult:
    """Check and store one response (``paper_entry``: how a paper form came in, Response.PaperEntry;
    paper forms only, and they must say it). A retry of a stored response returns it (created=False);
    the same id with different content, or a second response for a dossier, is a 409.
    SubmissionError(400/409) names what is wrong; KioskAuthError when the kiosk was revoked or
    given a new token since the caller looked it up."""
    if (channel == Response.Channel.PAPER) != (paper_entry is not None):
        raise ValueError("paper_entry goes with paper forms, and only with them")
    envelope = parse_envelope(payload)
    fresh = False
    for _attempt in range(3):
        survey_round, remembered = _round_for(unit, envelope.round_id, channel, fresh=fresh)
        # A refusal is given only on what the database holds now: a kiosk may come from this
        # process's memory (kiosk_authenticate(remembered=True)), and so may the round.
        may_be_stale = not fresh and (remembered or kiosk is not None)
        try:
            packed = _checked_answers(payload, survey_round, envelope.dossier, channel, unit)
        except SubmissionError:
            if not remembered:
                raise
            packed = None  # the round may have changed since it was remembered
        if packed is not None:
            submission = _Submission(envelope, payload, channel, unit, kiosk, survey_round, packed, paper_entry)
            stored = _store(submission)
            if stored is not None:
                return stored
            if not may_be_stale:
                retry = _why_not_stored(submission)  # raises the reason, or finds the stored response
                if retry is not None:
                    return retry
                continue  # nothing refuses it now (a place came free): store again
        round_memory.forget(envelope.round_id)
        unit, kiosk = _unit_and_kiosk_again(unit, kiosk)
        fresh = True
    raise SubmissionError(503, {"id": [_("the response could not be stored just now: send it again")]})


class _Submission(NamedTuple):
    envelope: Envelope
    payload: dict
    channel: int
    unit: Unit
    kiosk: Kiosk | None
    round: Round
    packed: object  # questionnaires.answers.PackedAnswers
    paper_entry: int | None = None

    @property
    def answers(self) -> dict:
        """The answers as sent, with those known from the unit filled in (quotas are matched on them)."""
        sent, known = self.payload["answers"], self.packed.known
        return {**sent, **known} if known else sent

    @property
    def queued(self):
        """Sent from a queue long after it was completed (QUOTA_QUEUED_AFTER_SECONDS): never
        refused for a quota that filled since."""
        waited = timezone.now() - self.envelope.submitted
        return waited > datetime.timedelta(seconds=settings.QUOTA_QUEUED_AFTER_SECONDS)

    def response(self, now, over_quota=False) -> Response:
        envelope, dossier = self.envelope, self.envelope.dossier
        return Response(
            id=envelope.id, round=self.round, unit=self.unit, kiosk=self.kiosk, channel=self.channel,
            language=self.payload.get("language", "vi"),
            seconds_taken=Response.seconds_between(envelope.started, envelope.submitted),
            submitted_at=envelope.submitted, received_at=now, answers=self.packed.slots, texts=self.packed.texts,
            dossier_hash=dossier_hash(dossier) if dossier else None, over_quota=over_quota,
            paper_entry=self.paper_entry,
        )


# Stores one response in one statement (one round trip; in autocommit its own transaction). Every
# fact the caller was given is checked again here, so a process's memory of them may be stale:
# - the response's unit still has the path its quotas and round were found by;
# - the kiosk, if any, still has this token, is not revoked, is in the unit remembered, and was
#   first paired no later than the response's earliest time (plus the clock skew);
# - the round still covers the unit, uses this questionnaire (id and checksum: the answers were
#   packed against it) and this dossier rule, first opened no later than the response's earliest
#   time (when a kiosk's clock made the times), and is open, or (for a kiosk) closed no earlier
#   than the response was submitted and no longer than LATE_ARRIVAL_GRACE_DAYS ago;
# - the quotas (fieldwork.quotas.CLAIM_LOCK/CLAIM_COUNT) do not refuse it;
# - its id and its dossier are not stored yet (ON CONFLICT).
# Then the row, its quota places, the kiosk's count for the day and the change log for the scores
# are written together. It returns the over-quota flag of the stored response, or no row.
STORE_SQL = f"""
WITH {quotas.CLAIM_LOCK},
allowed AS (
    SELECT v.over_quota FROM verdict v
    WHERE NOT v.refused
      AND EXISTS (SELECT 1 FROM units_unit u WHERE u.id = %(unit)s::int AND u.path = %(unit_path)s::text)
      AND (%(kiosk)s::int IS NULL OR EXISTS (
            SELECT 1 FROM fieldwork_kiosk k
            WHERE k.id = %(kiosk)s::int AND k.token_hash IS NOT DISTINCT FROM %(token)s::text AND k.revoked_at IS NULL
              AND k.unit_id = %(kiosk_unit)s::int
              AND (k.first_paired_at IS NULL OR k.first_paired_at <= %(claimed_from)s::timestamptz)))
      AND EXISTS (
            SELECT 1 FROM fieldwork_round r
            JOIN units_unit ru ON ru.id = r.unit_id
            JOIN questionnaires_questionnaireversion v ON v.id = r.questionnaire_id
            WHERE r.id = %(round)s::int AND ru.path = ANY(%(paths)s::text[])
              AND r.ask_dossier_code = %(ask_dossier)s::boolean
              AND v.id = %(questionnaire)s::int AND v.checksum = %(checksum)s::text
              AND (%(kiosk)s::int IS NULL OR r.first_opened_at IS NULL
                   OR r.first_opened_at <= %(claimed_from)s::timestamptz)
              AND (r.status = 'open'
                   OR (%(late_arrival)s::boolean AND r.status = 'closed'
                       AND r.closed_at >= %(submitted)s::timestamptz
                       AND r.closed_at >= %(closed_since)s::timestamptz)))
),
stored AS (
    INSERT INTO fieldwork_response (id, round_id, unit_id, kiosk_id, channel, language, seconds_taken,
                                    submitted_at, received_at, answers, texts, dossier_hash, over_quota,
                                    paper_entry)
    SELECT %(id)s::uuid, %(round)s::int, %(unit)s::int, %(kiosk)s::int,
           %(channel)s::smallint, %(language)s::text, %(seconds)s::smallint, %(submitted)s::timestamptz,
           %(received)s::timestamptz, %(answers)s::smallint[], %(texts)s::jsonb, %(dossier)s::text, a.over_quota,
           %(paper_entry)s::smallint
    FROM allowed a
    ON CONFLICT DO NOTHING
    RETURNING id, over_quota
),
{quotas.CLAIM_COUNT},
kiosk_day AS (
    INSERT INTO fieldwork_kioskday (kiosk_id, day, responses)
    SELECT %(kiosk)s::int, %(day)s::date, 1 FROM stored WHERE %(kiosk)s::int IS NOT NULL
    ON CONFLICT (kiosk_id, day) DO UPDATE SET responses = fieldwork_kioskday.responses + 1
),
change AS (
    INSERT INTO {ResponseChange._meta.db_table} (round_id, response_id, sign) SELECT %(round)s::int, id, 1 FROM stored
)
SELECT over_quota FROM stored
"""


def _store(submission: _Submission) -> SubmitResult | None:
    """Run STORE_SQL for the submission: the result when it stored the response, else None."""
    envelope, survey_round, unit, kiosk, packed = (submission.envelope, submission.round, submission.unit,
                                                   submission.kiosk, submission.packed)
    now = timezone.now()
    is_kiosk_channel = submission.channel == Response.Channel.KIOSK
    dossier = dossier_hash(envelope.dossier) if envelope.dossier else None
    params = {
        **quotas.quota_keys(unit=unit, answers=submission.answers),
        "round": survey_round.pk, "questionnaire": survey_round.questionnaire_id,
        "checksum": survey_round.questionnaire.checksum, "ask_dossier": survey_round.ask_dossier_code,
        "refuse_when_closed": is_kiosk_channel and not submission.queued, "late_arrival": is_kiosk_channel,
        "unit": unit.pk, "unit_path": unit.path,
        "kiosk": kiosk and kiosk.pk, "token": kiosk and kiosk.token_hash, "kiosk_unit": kiosk and kiosk.unit_id,
        "id": str(envelope.id), "channel": submission.channel, "language": submission.payload.get("language", "vi"),
        "seconds": Response.seconds_between(envelope.started, envelope.submitted), "received": now,
        "answers": smallint_array_literal(packed.slots),
        "texts": json.dumps(packed.texts, ensure_ascii=False) if packed.texts else None,
        "dossier": dossier, "day": timezone.localdate(now), "paper_entry": submission.paper_entry,
        **_time_bounds(envelope.started, envelope.submitted, now),
    }
    with connection.cursor() as cursor:
        execute_prepared(cursor, "fieldwork_store_response", STORE_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None
    return SubmitResult(None, created=True, response_id=envelope.id,
                        make=lambda: mark_loaded(submission.response(now, over_quota=row[0]), connection.alias))


def smallint_array_literal(values) -> str:
    """PostgreSQL's text form of a smallint[] (``{1,NULL,3}``) for whole numbers and None.

    psycopg2 would send ``ARRAY[1,NULL,3]``: it adapts each element on its own, and the server
    then parses one constant per element. The text form is made here in a fraction of the time
    (3 instead of 23 µs for the 42 answers of sipas-2017) and read by the server in one go."""
    return "{" + ",".join("NULL" if value is None else str(int(value)) for value in values) + "}"


# ---------------------------------------------------------------------------------------------
# Before the statement: what needs no database, or only the round


def _parse_time(value, field, errors, required):
    if value is None:
        if required:
            errors[field] = [_("required")]
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well formed but no such time: 2026-02-30, 25:61
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        errors[field] = [_("must be an ISO 8601 date and time with a time zone, e.g. 2026-11-23T09:15:00+07:00")]
        return None
    offset = parsed.utcoffset()
    if not OFFSET_RANGE[0] <= offset <= OFFSET_RANGE[1] or offset % datetime.timedelta(minutes=1):
        errors[field] = [_("has a time zone offset no time zone has: use one from -12:00 to +14:00 in whole "
                           "minutes")]
        return None
    try:
        return parsed.astimezone(datetime.UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is in the year 0, which neither Python nor we know
        errors[field] = [_("is out of range")]
        return None


def parse_envelope(payload) -> Envelope:
    """Check the fields around the answers; returns the parsed values or raises SubmissionError(400)."""
    if not isinstance(payload, dict):
        raise SubmissionError(400, {"body": [_("must be a JSON object")]})
    errors = {field: [_("unknown field")] for field in payload if field not in SUBMISSION_FIELDS}
    try:
        response_id = uuid.UUID(str(payload.get("id")))
    except ValueError:
        errors["id"] = [_("must be a UUID made by the client")]
        response_id = None
    round_id = payload.get("round")
    if round_id is not None and whole_number(round_id, low=1, high=INT_MAX) is None:
        errors["round"] = [_("must be the round id, a whole number from 1 to %(max)s") % {"max": INT_MAX}]
    if not isinstance(payload.get("questionnaire"), str):
        errors["questionnaire"] = [_("must be the questionnaire version code")]
    if payload.get("language", "vi") not in ("vi", "en"):
        errors["language"] = [_("must be 'vi' or 'en'")]
    started = _parse_time(payload.get("started_at"), "started_at", errors, required=False)
    submitted = _parse_time(payload.get("submitted_at"), "submitted_at", errors, required=True)
    if started and submitted and started > submitted:
        errors["started_at"] = [_("is after submitted_at")]
    if submitted and submitted > timezone.now() + clock_skew():
        errors["submitted_at"] = [
            _("is in the future (more than %(seconds)s seconds ahead of the server's clock, now %(now)s): check "
              "the kiosk's clock") % {"seconds": settings.KIOSK_CLOCK_SKEW_SECONDS,
                                      "now": timezone.now().isoformat(timespec="seconds")}
        ]
    dossier = payload.get("dossier_code")
    # Printable only: an invisible character (zero-width space, direction mark) would give the same
    # dossier another hash and let it through twice; a lone surrogate cannot be hashed at all.
    if dossier is not None and (not isinstance(dossier, str) or not 3 <= len(dossier.strip()) <= 64
                                or not dossier.isprintable()):
        errors["dossier_code"] = [_("must be the dossier code from the receipt, 3 to 64 printable characters")]
    if errors:
        raise SubmissionError(400, errors)
    return Envelope(response_id, round_id, started, submitted, dossier)


def _round_for(unit, round_id, channel, *, fresh) -> tuple[Round, bool]:
    """The round a response belongs to, and whether it came from this process's memory: the one
    named, if it covers the unit and has been opened (whether it was open when the response was
    completed is a question for the statement and _why_not_stored), else the unit's open round."""
    if round_id is None:
        survey_round = open_round_for_unit(unit)
        if survey_round is None:
            raise SubmissionError(409, {"round": [_("no survey round is open for this unit")]})
        return survey_round, False
    survey_round = None if fresh else round_memory.get(round_id)  # only open rounds are remembered
    remembered = survey_round is not None
    if survey_round is None:
        survey_round = Round.objects.select_related("questionnaire", "unit").filter(pk=round_id).first()
        if survey_round is not None and survey_round.status == Round.Status.OPEN:
            round_memory.put(round_id, survey_round)
    if survey_round is None or survey_round.unit.path not in unit.ancestor_paths():
        raise SubmissionError(400, {"round": [_("round %(id)s does not cover this unit") % {"id": round_id}]})
    if survey_round.status == Round.Status.DRAFT:
        raise SubmissionError(409, {"round": [_("round %(id)s has not been opened") % {"id": round_id}]})
    if survey_round.status == Round.Status.CLOSED and channel != Response.Channel.KIOSK:
        raise SubmissionError(409, {"round": [_("round %(id)s is closed: reopen it to enter more forms")
                                              % {"id": round_id}]})
    return survey_round, remembered


def _checked_answers(payload, survey_round, dossier, channel, unit):
    """The packed answers, those known from the unit filled in, or SubmissionError(400) naming
    what is wrong (an answer to a known item that differs from what the unit says, too)."""
    version = survey_round.questionnaire
    if payload["questionnaire"] != version.code:
        raise SubmissionError(400, {"questionnaire": [
            _("'%(sent)s' is not the questionnaire of round %(id)s (%(version)s)")
            % {"sent": payload["questionnaire"], "id": survey_round.pk, "version": version.code}
        ]})
    if survey_round.ask_dossier_code and dossier is None and channel == Response.Channel.KIOSK:
        raise SubmissionError(400, {"dossier_code": [_("this round asks for the dossier code")]})
    try:
        return pack_answers(version.parsed, payload.get("answers"), known=known_answers(version.parsed, unit))
    except AnswerErrors as exc:
        raise SubmissionError(400, exc.errors) from exc


def _unit_and_kiosk_again(unit: Unit, kiosk: Kiosk | None) -> tuple[Unit, Kiosk | None]:
    """The unit and the kiosk as the database has them now: KioskAuthError if the kiosk was revoked
    or given a new token. A response from the kiosk's own unit follows the kiosk if it moved."""
    if kiosk is None:
        return Unit.objects.get(pk=unit.pk), None
    own_unit = unit.pk == kiosk.unit_id
    kiosk = _kiosk_again(kiosk)
    return (kiosk.unit if own_unit else Unit.objects.get(pk=unit.pk)), kiosk


def _kiosk_again(kiosk: Kiosk) -> Kiosk:
    """The kiosk as the database has it now."""
    kiosk_memory.forget(kiosk.token_hash)
    fresh = Kiosk.objects.select_related("unit").filter(pk=kiosk.pk).first()
    if fresh is None or fresh.token_hash != kiosk.token_hash:
        raise KioskAuthError(401, "unknown device token")
    if fresh.is_revoked:
        raise KioskAuthError(403, "this kiosk has been revoked")
    return fresh


def _time_bounds(started, submitted, now) -> dict:
    """What a response's times must satisfy, as the values the statement and _why_not_stored
    compare with: its round first opened and its kiosk was first paired no later than
    ``claimed_from`` (its earliest time plus the clock skew), and if the round is closed, it closed
    at or after ``submitted`` and at or after ``closed_since`` (the start of the grace period for
    late arrivals)."""
    return {
        "claimed_from": (started or submitted) + clock_skew(),
        "submitted": submitted,
        "closed_since": now - datetime.timedelta(days=settings.LATE_ARRIVAL_GRACE_DAYS),
    }


# ---------------------------------------------------------------------------------------------
# After the statement stored nothing: why (reading only)


def _why_not_stored(submission: _Submission) -> SubmitResult | None:
    """Raise the reason the statement refused the submission, on what the database holds now; a
    retry of a stored response returns it instead. None when nothing refuses it any more (a place
    came free, a conflicting transaction rolled back): the caller stores again."""
    now = timezone.now()
    new = submission.response(now)
    stored = Response.objects.filter(pk=new.pk).first()
    if stored is not None:
        differs = [f for f in CONTENT_FIELDS if getattr(stored, f) != getattr(new, f)]
        if differs:
            raise SubmissionError(409, {"id": [
                _("a different response with this id was already received (differs in %(fields)s)")
                % {"fields": ", ".join(differs)}
            ]})
        return SubmitResult(stored, created=False)
    _check_times(submission, now)
    if submission.channel == Response.Channel.KIOSK and not submission.queued:
        closing = quotas.quota_closing(survey_round=submission.round, unit=submission.unit,
                                       answers=submission.answers)
        if closing:
            raise SubmissionError(409, {"quota": [
                _("the quota for this group of citizens is full (%(quota)s): thank you, no more answers are "
                  "needed from this group") % {"quota": quotas.QuotaFull(closing)}
            ]})
    if new.dossier_hash and Response.objects.filter(round=submission.round, dossier_hash=new.dossier_hash).exists():
        raise SubmissionError(409, {"dossier_code": [_("a response for this dossier was already received")]})
    return None


def _check_times(submission: _Submission, now):
    """SubmissionError when the response's times cannot be true (the statement's comparisons, on
    the same values from _time_bounds): 400 naming the time that is too early, 409 naming the round
    when it came too late for a closed round."""
    survey_round, kiosk = submission.round, submission.kiosk
    started, submitted = submission.envelope.started, submission.envelope.submitted
    bounds = _time_bounds(started, submitted, now)
    if kiosk is not None:
        opened = _("is before round %(id)s first opened (%(since)s): check the kiosk's clock")
        paired = _("is before this kiosk was first paired (%(since)s): check the kiosk's clock")
        for since, problem in ((survey_round.first_opened_at, opened), (kiosk.first_paired_at, paired)):
            if since is not None and since > bounds["claimed_from"]:
                field = "started_at" if started is not None and submitted + clock_skew() >= since else "submitted_at"
                raise SubmissionError(400, {field: [
                    problem % {"id": survey_round.pk, "since": since.isoformat(timespec="seconds")}
                ]})
    if survey_round.status != Round.Status.CLOSED:
        return
    closed = survey_round.closed_at.isoformat(timespec="seconds")
    if survey_round.closed_at < bounds["submitted"]:
        raise SubmissionError(409, {"round": [
            _("round %(id)s was closed (%(closed)s) before this response was submitted")
            % {"id": survey_round.pk, "closed": closed}
        ]})
    if survey_round.closed_at < bounds["closed_since"]:
        raise SubmissionError(409, {"round": [
            _("round %(id)s closed on %(closed)s: a response completed before the close is accepted up to "
              "%(days)s days after it, and this one came later")
            % {"id": survey_round.pk, "closed": closed, "days": settings.LATE_ARRIVAL_GRACE_DAYS}
        ]})
