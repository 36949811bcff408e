"""Integrity checks: can a kiosk's figure be trusted? (issue 18)

The commonest complaint about satisfaction indices is that they are inflated: staff pressing "very
satisfied" on the tablet. Each check of a round flags the round's responses **answered on a device
at a desk** that show one of the patterns below. A device is a kiosk (the kiosk client and its form
without JavaScript) or, for a channel answered at a desk without a kiosk (``UNIT_DEVICE_CHANNELS``:
the desk poster's unit link, issue 19), the unit's link: all of a unit's responses of that channel
are one device, checked as a kiosk is, since a member of staff at the desk could answer through the
poster as through the tablet. Not checked: paper forms (no real time of day) and personal links
(answered at home, at any hour, once per invitation: a burst of them after a batch of messages is
expected). "Kiosk" below reads "device".

* **burst** (``burst``): submitted less than ``min_gap_seconds`` after the previous response of the
  same kiosk (default ``INTEGRITY_MIN_GAP_SECONDS``, 60): no citizen completes the questionnaire
  that fast after the one before. The later response of each such pair is flagged.
* **identical answers in a row** (``identical``): ``run_length`` or more consecutive responses of a
  kiosk (by submission time) whose satisfaction answers are the same, slot for slot (default
  ``INTEGRITY_RUN_LENGTH``, 5); every response of the run is flagged.
* **all-top answers in a row** (``all_top``): ``run_length`` or more consecutive responses of a
  kiosk where every answered satisfaction item is 5 ("very satisfied"); every one of the run.
* **outside opening hours** (``off_hours``): submitted, in local time (``TIME_ZONE``,
  Asia/Ho_Chi_Minh), outside the opening hours of the response's unit (``Unit.opening_hours``, set
  per unit on the administration pages; a unit without hours is not checked).
* **more responses than dossiers** (``over_dossiers``): on a local day, more kiosk responses at a
  unit than the dossiers the officer recorded for that unit and day (``DeskDay``, typed in or
  uploaded on the panel); every kiosk response of that unit and day is flagged (which ones are
  the extra ones cannot be told). Days without a recorded count are not checked.

Every response is checked, excluded ones too (a burst is a burst); the review queue and the
figures read the flags of responses that are not excluded. Nothing is excluded automatically.

A check is one statement over the round (window functions per kiosk, ``CHECK_SQL``) that replaces
the round's flags, under a lock of the round's ``IntegritySettings`` row. Checks run in the Celery
worker: the beat polls every ``INTEGRITY_POLL_SECONDS`` for open rounds (and rounds closed within
``LATE_ARRIVAL_GRACE_DAYS``) whose kiosks stored responses since its last poll (the kiosks' day
counters, never the responses), and requests a check of each; the panel's "check now" button, a
change of thresholds and recorded dossier counts request one too. A request is debounced: at most
one check of a round waits at a time (``IntegritySettings.requested_at``).
"""

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from fieldwork.exclusions import integrity_flagged, satisfaction_positions, slot_runs
from fieldwork.models import IntegrityFlag, IntegritySettings, Kiosk, Response, Round, UnitLink
from fieldwork.selectors import in_scope
from surveyapp.celery import app as celery_app
from units.hours import WEEKDAYS
from units.models import Unit

log = logging.getLogger(__name__)

CHECK_TASK = "fieldwork.tasks.run_integrity_check"
TOP_LEVEL = 5  # "Rất hài lòng", the top of the satisfaction scale (SIPAS.md §5)
# A request left waiting this long (its task lost with the broker) is sent again by the beat.
RESEND_AFTER = 300

Kind = IntegrityFlag.Kind
# Channels answered at a desk without a kiosk: each unit's responses of one is a device (see above).
UNIT_DEVICE_CHANNELS = [Response.Channel.POSTER]


# ---------------------------------------------------------------------------------------------
# Thresholds


@dataclass
class Thresholds:
    min_gap_seconds: int
    run_length: int


_UNREAD = object()


def thresholds(survey_round: Round, row=_UNREAD) -> Thresholds:
    """The round's thresholds: its own where set, else the settings' defaults (``row``: the round's
    IntegritySettings or None, when already read)."""
    row = status(survey_round) if row is _UNREAD else row
    return Thresholds(
        (row and row.min_gap_seconds) or settings.INTEGRITY_MIN_GAP_SECONDS,
        (row and row.run_length) or settings.INTEGRITY_RUN_LENGTH,
    )


def integrity_settings_update(*, survey_round: Round, min_gap_seconds: int | None, run_length: int | None):
    """Set (None: back to the default) the round's thresholds and request a check with them."""
    with transaction.atomic():
        row, _created = IntegritySettings.objects.get_or_create(round=survey_round)
        row.min_gap_seconds, row.run_length = min_gap_seconds, run_length
        row.save(update_fields=["min_gap_seconds", "run_length"])
        integrity_request(round_id=survey_round.pk)
    return row


# ---------------------------------------------------------------------------------------------
# The check


def _satisfaction_sql(survey_round: Round) -> str:
    """The SQL of a response's satisfaction answers as one array of slices of ``r.answers`` (the
    bounds are whole numbers from the questionnaire, written in); NULL without satisfaction items."""
    runs = slot_runs(satisfaction_positions(survey_round))
    if not runs:
        return "NULL::smallint[]"
    return " || ".join(f"r.answers[{int(first)}:{int(last)}]" for first, last in runs)


# One statement: the round's responses on a device (``k``; ``device``: the kiosk's id, or for a unit's
# link minus (unit id × 16 + channel), never a kiosk's), their satisfaction answers and whether every
# answered one is the top level, each device's responses in submission order with the gap to the
# one before and the runs of equal answers and of all-top answers (gaps-and-islands: a new run
# starts where a value differs from the one before; a run's length is counted over its members),
# local times and each unit's kiosk responses a day. SLOTS is the satisfaction array.
CHECK_SQL = """
WITH k AS MATERIALIZED (
    SELECT r.id, coalesce(r.kiosk_id::bigint, -(r.unit_id::bigint * 16 + r.channel)) AS device,
           r.kiosk_id IS NULL AS unit_link, r.unit_id, r.submitted_at,
           r.submitted_at AT TIME ZONE %(tz)s AS local_at,
           a.levels, NULLIF(array_remove(array_remove(a.levels, NULL), 0::smallint), '{}') AS answered
    FROM fieldwork_response r, LATERAL (SELECT SLOTS AS levels) a
    WHERE r.round_id = %(round)s AND (r.kiosk_id IS NOT NULL OR r.channel = ANY(%(unit_devices)s))
),
t AS (
    SELECT k.*, %(top)s = ALL(k.answered) AS all_top FROM k
),
w AS (
    SELECT t.*,
           extract(epoch FROM t.submitted_at - lag(t.submitted_at) OVER kiosk) AS gap,
           CASE WHEN t.levels IS NOT DISTINCT FROM lag(t.levels) OVER kiosk THEN 0 ELSE 1 END AS starts_same,
           CASE WHEN t.all_top IS NOT DISTINCT FROM lag(t.all_top) OVER kiosk THEN 0 ELSE 1 END AS starts_top
    FROM t WINDOW kiosk AS (PARTITION BY t.device ORDER BY t.submitted_at, t.id)
),
g AS (
    SELECT w.*, sum(w.starts_same) OVER kiosk AS same_run, sum(w.starts_top) OVER kiosk AS top_run
    FROM w WINDOW kiosk AS (PARTITION BY w.device ORDER BY w.submitted_at, w.id)
),
c AS (
    SELECT g.*, count(*) OVER (PARTITION BY g.device, g.same_run) AS same_length,
           count(*) OVER (PARTITION BY g.device, g.top_run) AS top_length
    FROM g
),
days AS (
    SELECT k.unit_id, k.local_at::date AS day, count(*) AS responses FROM k GROUP BY 1, 2
)
INSERT INTO fieldwork_integrityflag (response_id, round_id, kind, detail)
SELECT c.id, %(round)s, 'burst', jsonb_build_object('seconds', floor(c.gap)::int, 'minimum', %(gap)s::int) || DEVICE
FROM c WHERE c.gap < %(gap)s
UNION ALL
SELECT c.id, %(round)s, 'identical', jsonb_build_object('length', c.same_length) || DEVICE
FROM c WHERE c.answered IS NOT NULL AND c.same_length >= %(run)s
UNION ALL
SELECT c.id, %(round)s, 'all_top', jsonb_build_object('length', c.top_length) || DEVICE
FROM c WHERE c.all_top AND c.top_length >= %(run)s
UNION ALL
SELECT k.id, %(round)s, 'off_hours',
       jsonb_build_object('at', to_char(k.local_at, 'HH24:MI'), 'day', to_char(k.local_at, 'YYYY-MM-DD'),
                          'weekday', extract(isodow FROM k.local_at)::int)
FROM k JOIN units_unit u ON u.id = k.unit_id
WHERE u.opening_hours <> '{}'::jsonb AND NOT EXISTS (
    SELECT 1 FROM jsonb_array_elements(
        coalesce(u.opening_hours -> (extract(isodow FROM k.local_at)::int::text), '[]'::jsonb)) AS hours(span)
    WHERE k.local_at::time >= (hours.span ->> 0)::time AND k.local_at::time < (hours.span ->> 1)::time)
UNION ALL
SELECT k.id, %(round)s, 'over_dossiers',
       jsonb_build_object('day', to_char(d.day, 'YYYY-MM-DD'), 'responses', d.responses, 'dossiers', dd.dossiers)
FROM k JOIN days d ON d.unit_id = k.unit_id AND d.day = k.local_at::date
JOIN fieldwork_deskday dd ON dd.unit_id = d.unit_id AND dd.day = d.day
WHERE d.responses > dd.dossiers
""".replace("DEVICE", """CASE WHEN c.unit_link THEN '{"device": "unit_link"}'::jsonb ELSE '{}'::jsonb END""")


def integrity_check(*, survey_round: Round) -> dict:
    """Check the round's kiosk responses now and replace its flags: {kind: flagged responses}."""
    limits = thresholds(survey_round)
    sql = CHECK_SQL.replace("SLOTS", _satisfaction_sql(survey_round))
    IntegritySettings.objects.get_or_create(round=survey_round)
    with transaction.atomic():
        row = IntegritySettings.objects.select_for_update().get(round=survey_round)  # one check at a time
        IntegrityFlag.objects.filter(round=survey_round).delete()
        with connection.cursor() as cursor:
            cursor.execute(sql, {"tz": settings.TIME_ZONE, "round": survey_round.pk, "top": TOP_LEVEL,
                                 "gap": limits.min_gap_seconds, "run": limits.run_length,
                                 "unit_devices": [int(c) for c in UNIT_DEVICE_CHANNELS]})
        row.checked_at = timezone.now()
        row.save(update_fields=["checked_at"])
    return dict(IntegrityFlag.objects.filter(round=survey_round).values_list("kind").annotate(n=Count("pk"))
                .order_by())


# ---------------------------------------------------------------------------------------------
# Requests: the beat, the panel, changed settings


def integrity_request(*, round_id: int) -> bool:
    """Ask for a check of the round by the worker: True when this request queued one, False when
    one was already waiting (it will see everything stored so far). Sent once committed."""
    IntegritySettings.objects.get_or_create(round_id=round_id)
    queued = IntegritySettings.objects.filter(round_id=round_id, requested_at__isnull=True).update(
        requested_at=timezone.now())
    if queued:
        transaction.on_commit(lambda: _send(round_id))
    return bool(queued)


def _send(round_id):
    try:
        celery_app.send_task(CHECK_TASK, args=[round_id])
    except Exception:  # the broker is down: the request stays, and the beat sends it again
        log.exception("could not send the integrity check of round %s to the worker", round_id)


def integrity_run(*, round_id: int) -> dict | None:
    """The worker's part: take the round's request (None when there is none: a second delivery) and check."""
    if not IntegritySettings.objects.filter(round_id=round_id, requested_at__isnull=False).update(requested_at=None):
        return None
    return integrity_check(survey_round=Round.objects.select_related("questionnaire").get(pk=round_id))


# Per round that may still receive kiosk responses, the responses its kiosks stored (the kiosks' day
# counters since the round first opened) and its unit links stored (their counters): one grouped
# query, whatever the number of responses.
POLL_SQL = f"""
SELECT r.id, coalesce(sum(d.responses), 0)
       + coalesce((SELECT sum(ul.responses) FROM {UnitLink._meta.db_table} ul WHERE ul.round_id = r.id), 0)
FROM fieldwork_round r
JOIN units_unit ru ON ru.id = r.unit_id
LEFT JOIN units_unit ku ON ku.path LIKE ru.path || '%%'
LEFT JOIN fieldwork_kiosk kk ON kk.unit_id = ku.id
LEFT JOIN fieldwork_kioskday d ON d.kiosk_id = kk.id
     AND d.day >= (coalesce(r.first_opened_at, r.created_at) AT TIME ZONE %(tz)s)::date
WHERE r.status = 'open' OR (r.status = 'closed' AND r.closed_at >= %(since)s)
GROUP BY r.id
"""


def integrity_poll() -> int:
    """The beat: request a check of every round whose kiosks stored responses since the last poll,
    and send again requests left waiting (lost with the broker). Returns the checks requested."""
    since = timezone.now() - timezone.timedelta(days=settings.LATE_ARRIVAL_GRACE_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(POLL_SQL, {"tz": settings.TIME_ZONE, "since": since})
        totals = dict(cursor.fetchall())
    seen = dict(IntegritySettings.objects.filter(round_id__in=totals).values_list("round_id", "seen"))
    requested = 0
    for round_id, total in sorted(totals.items()):
        if total != seen.get(round_id, 0):
            with transaction.atomic():
                requested += integrity_request(round_id=round_id)
                IntegritySettings.objects.filter(round_id=round_id).update(seen=total)
    stale = timezone.now() - timezone.timedelta(seconds=RESEND_AFTER)
    for round_id in IntegritySettings.objects.filter(requested_at__lt=stale).values_list("round_id", flat=True):
        _send(round_id)
    return requested


# ---------------------------------------------------------------------------------------------
# Reads: the panel, the review queue's wording, the scores


def flag_reason(kind: str, detail: dict) -> str:
    """Why a response is flagged, in the active language, from the flag's numbers."""
    detail = detail or {}
    if detail.get("device") == "unit_link" and kind in (Kind.BURST, Kind.IDENTICAL, Kind.ALL_TOP):
        return _unit_link_reason(kind, detail)
    if kind == Kind.BURST:
        return _("submitted %(seconds)s s after the kiosk's previous response (under %(minimum)s s)") % detail
    if kind == Kind.IDENTICAL:
        return _("one of %(length)s responses in a row from this kiosk with identical answers") % detail
    if kind == Kind.ALL_TOP:
        return _("one of %(length)s responses in a row from this kiosk with every answer “very satisfied”") % detail
    if kind == Kind.OFF_HOURS:
        weekday = dict(WEEKDAYS).get(detail.get("weekday"), "")
        return _("submitted at %(time)s on %(weekday)s %(day)s, outside the desk's opening hours") % {
            "time": detail.get("at", ""), "weekday": weekday, "day": _day(detail.get("day"))}
    if kind == Kind.OVER_DOSSIERS:
        return _("%(responses)s kiosk responses at this desk on %(day)s, more than its %(dossiers)s dossiers") % {
            **detail, "day": _day(detail.get("day"))}
    return str(kind)


def _unit_link_reason(kind, detail):
    if kind == Kind.BURST:
        return _("submitted %(seconds)s s after the previous response through the unit's link (desk poster; under "
                 "%(minimum)s s)") % detail
    if kind == Kind.IDENTICAL:
        return _("one of %(length)s responses in a row through the unit's link (desk poster) with identical "
                 "answers") % detail
    return _("one of %(length)s responses in a row through the unit's link (desk poster) with every answer “very "
             "satisfied”") % detail


def _day(text):
    try:
        return formats.date_format(datetime.date.fromisoformat(text), "SHORT_DATE_FORMAT")
    except (TypeError, ValueError):
        return text or ""


@dataclass
class KioskRow:
    kiosk: Kiosk | None  # None: a unit's link (``unit``)
    responses: int  # not excluded
    flagged: int  # of them, with at least one flag
    counts: dict  # kind -> responses with that flag
    unit: Unit | None = None

    @property
    def cells(self):
        """(kind, responses with it, the kind's label) in the order of the panel's columns."""
        return [(kind, self.counts.get(kind, 0), label) for kind, label in Kind.choices]


def _device_counts(survey_round: Round, responses, key: str) -> dict:
    """Per ``key`` (kiosk or unit) of these responses of the round (not excluded, in the user's part
    of it): their number, how many carry a flag and how many each kind. One grouped query."""
    counts = {f"n_{kind}": Count("pk", filter=integrity_flagged(kind)) for kind in Kind.values}
    rows = (responses.filter(round=survey_round, exclusion__isnull=True).filter(in_scope(survey_round))
            .values(key).annotate(total=Count("pk"), flagged=Count("pk", filter=integrity_flagged()), **counts)
            .order_by())
    return {row[key]: row for row in rows}


def _row(row, **device):
    return KioskRow(responses=row["total"], flagged=row["flagged"],
                    counts={kind: row[f"n_{kind}"] for kind in Kind.values}, **device)


def kiosk_rows(survey_round: Round) -> list[KioskRow]:
    """Each kiosk of the round (in the user's part of it) with its responses and how many carry each
    flag, not counting excluded responses: two queries whatever the number of kiosks."""
    by_kiosk = _device_counts(survey_round, Response.objects.filter(kiosk__isnull=False), "kiosk")
    kiosks = Kiosk.objects.filter(pk__in=by_kiosk).select_related("unit").order_by("unit__path", "name")
    return [_row(by_kiosk[kiosk.pk], kiosk=kiosk, unit=kiosk.unit) for kiosk in kiosks]


def unit_link_rows(survey_round: Round) -> list[KioskRow]:
    """The same for the units' links (desk posters) that stored responses: two queries."""
    by_unit = _device_counts(survey_round, Response.objects.filter(kiosk__isnull=True,
                                                                   channel__in=UNIT_DEVICE_CHANNELS), "unit")
    units = Unit.objects.filter(pk__in=by_unit).order_by("path")
    return [_row(by_unit[unit.pk], kiosk=None, unit=unit) for unit in units]


def over_dossier_days(survey_round: Round) -> list[dict]:
    """The unit-days (in the user's part of the round) with more kiosk responses than dossiers: one query."""
    rows = (IntegrityFlag.objects.filter(round=survey_round, kind=Kind.OVER_DOSSIERS)
            .filter(in_scope(survey_round, "response__unit"))
            .values("response__unit__code", "response__unit__name", "detail__day", "detail__responses",
                    "detail__dossiers").annotate(n=Count("pk"))
            .order_by("-detail__day", "response__unit__code"))
    return [{"code": r["response__unit__code"], "name": r["response__unit__name"], "day": _day(r["detail__day"]),
             "responses": r["detail__responses"], "dossiers": r["detail__dossiers"]} for r in rows]


def status(survey_round: Round) -> IntegritySettings | None:
    """The round's integrity settings and the state of its checks; None before the first."""
    return IntegritySettings.objects.filter(round=survey_round).first()


def flagged_for_scores(*, survey_round: Round, unit: Unit, received_before=None) -> list:
    """Ids of the responses in the unit's subtree that count in the round's scores (not excluded;
    over quota only when the round counts them) and carry an integrity flag (received before a
    moment, if given). One query; the scores take them out of their stored counts to show the
    figure without them."""
    flags = IntegrityFlag.objects.filter(round=survey_round, response__unit__path__startswith=unit.path,
                                         response__exclusion__isnull=True)
    if received_before is not None:
        flags = flags.filter(response__received_at__lte=received_before)
    if not survey_round.score_over_quota:
        flags = flags.filter(response__over_quota=False)
    return list(flags.values_list("response_id", flat=True).distinct())


def area_summary(*, survey_round: Round, unit: Unit) -> dict:
    """For the report's method note: the thresholds, when the round was last checked, and per kind the
    responses of the unit's subtree (not excluded) flagged. Two queries."""
    row = status(survey_round)
    counts = (IntegrityFlag.objects.filter(round=survey_round, response__unit__path__startswith=unit.path,
                                           response__exclusion__isnull=True)
              .aggregate(flagged=Count("response", distinct=True),
                         **{kind: Count("pk", filter=Q(kind=kind)) for kind in Kind.values}))
    return {"checked_at": row.checked_at if row else None, "thresholds": thresholds(survey_round, row),
            "counts": counts}
