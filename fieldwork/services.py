"""Rounds and kiosks (responses are stored by fieldwork.responses)."""

import datetime
import functools
import secrets
import time

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fieldwork.models import Kiosk, Round, token_digest
from questionnaires.models import QuestionnaireVersion
from surveyapp.errors import UserError
from units.models import Unit

PAIRING_VALID_FOR = datetime.timedelta(hours=24)


class RoundError(UserError):
    """Why a round cannot be created, opened or changed, worded when shown (surveyapp.errors)."""


# ---------------------------------------------------------------------------------------------
# Rounds


def open_round_for_unit(unit: Unit):
    """The open round whose unit's subtree covers this unit, if any (at most one can)."""
    return (
        Round.objects.select_related("questionnaire")
        .filter(status=Round.Status.OPEN, unit__path__in=unit.ancestor_paths())
        .first()
    )


def round_create(*, name, questionnaire_code, unit_code, period_start=None, period_end=None,
                 ask_dossier_code=False, open_now=False, name_en="") -> Round:
    questionnaire = QuestionnaireVersion.objects.filter(code=questionnaire_code).first()
    if questionnaire is None:
        raise RoundError(_("unknown questionnaire version '%(code)s'"), code=questionnaire_code)
    if not questionnaire.is_frozen:
        raise RoundError(_("questionnaire version '%(code)s' is a draft: publish it first"), code=questionnaire_code)
    unit = Unit.objects.filter(code=unit_code).first()
    if unit is None:
        raise RoundError(_("unknown unit code '%(code)s'"), code=unit_code)
    if not name.strip():
        raise RoundError(_("a round needs a name"))
    with transaction.atomic():
        survey_round = Round.objects.create(
            name=name.strip(), name_en=name_en.strip(), questionnaire=questionnaire, unit=unit,
            period_start=period_start, period_end=period_end, ask_dossier_code=ask_dossier_code,
        )
        if open_now:
            survey_round = round_open(survey_round=survey_round)
    return survey_round


@transaction.atomic
def round_open(*, survey_round: Round) -> Round:
    """Open a round unless another open round already covers part of the same subtree."""
    # One opener at a time: the overlap check below must see every other opening.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('fieldwork.round_open'))")
    survey_round = Round.objects.select_for_update().select_related("unit").get(pk=survey_round.pk)
    if survey_round.status == Round.Status.OPEN:
        return survey_round
    unit = survey_round.unit
    clash = (
        Round.objects.filter(status=Round.Status.OPEN)
        .filter(Q(unit__path__in=unit.ancestor_paths()) | Q(unit__path__startswith=unit.path))
        .exclude(pk=survey_round.pk)
        .select_related("unit")
        .first()
    )
    if clash:
        raise RoundError(
            _("round “%(name)s” (id %(id)s) is already open for %(unit)s: close it first, at most one open "
              "round may cover a unit"), name=clash.name, id=str(clash.pk), unit=str(clash.unit))
    now = timezone.now()
    survey_round.status, survey_round.opened_at, survey_round.closed_at = Round.Status.OPEN, now, None
    survey_round.first_opened_at = survey_round.first_opened_at or now  # a reopening keeps the first
    survey_round.save(update_fields=["status", "opened_at", "closed_at", "first_opened_at"])
    return survey_round


ROUND_EDITABLE = ("name", "name_en", "period_start", "period_end", "ask_dossier_code", "quota_policy",
                  "score_over_quota")


def round_update(*, survey_round: Round, questionnaire=None, **fields) -> Round:
    """Change a round's settings. A closed round is frozen; the questionnaire can change only in a draft."""
    if survey_round.status == Round.Status.CLOSED:
        raise RoundError(_("this round is closed and frozen: reopen it to change it"))
    if questionnaire is not None and questionnaire != survey_round.questionnaire:
        if survey_round.status != Round.Status.DRAFT:
            raise RoundError(_("the questionnaire of a round that has been opened cannot change"))
        survey_round.questionnaire = questionnaire
    counted_over_quota = survey_round.score_over_quota
    changed = ["questionnaire", *fields]
    for name, value in fields.items():
        if name not in ROUND_EDITABLE:
            raise RoundError(_("'%(name)s' cannot be changed"), name=name)
        setattr(survey_round, name, value)
    if survey_round.score_over_quota != counted_over_quota:
        # The scores' stored counts were made under the other rule: their next run (queued by the
        # scores' poll, which sees this) counts every response again. Saved with the rule itself.
        survey_round.counts_reset_at = timezone.now()
        changed.append("counts_reset_at")
    # Only these columns: a whole-row save would write back a counts_reset_at read before a run cleared it.
    survey_round.save(update_fields=changed)
    return survey_round


@transaction.atomic
def round_close(*, survey_round: Round) -> Round:
    survey_round = Round.objects.select_for_update().get(pk=survey_round.pk)
    if survey_round.status != Round.Status.CLOSED:
        survey_round.status, survey_round.closed_at = Round.Status.CLOSED, timezone.now()
        survey_round.save(update_fields=["status", "closed_at"])
    return survey_round


# ---------------------------------------------------------------------------------------------
# Kiosks


class KioskAuthError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _pairing_code():
    # Easy to type on a tablet if the QR code cannot be scanned: no 0/O or 1/I/L.
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


def kiosk_create(*, unit: Unit, name: str, created_by=None) -> tuple[Kiosk, str]:
    """Register a kiosk; returns it with a one-time pairing code (valid 24 hours)."""
    code = _pairing_code()
    kiosk = Kiosk.objects.create(
        unit=unit, name=name.strip() or "Kiosk", created_by=created_by,
        pairing_code_hash=token_digest(code), pairing_expires_at=timezone.now() + PAIRING_VALID_FOR,
    )
    return kiosk, code


def kiosk_new_pairing_code(*, kiosk: Kiosk) -> str:
    code = _pairing_code()
    kiosk.pairing_code_hash, kiosk.pairing_expires_at = token_digest(code), timezone.now() + PAIRING_VALID_FOR
    kiosk.save(update_fields=["pairing_code_hash", "pairing_expires_at"])
    return code


def kiosk_issue_token(*, kiosk: Kiosk) -> str:
    """A new device token for the kiosk; the previous one stops working. Only its hash is kept."""
    token = secrets.token_urlsafe(32)
    kiosk.token_hash, kiosk.paired_at = token_digest(token), timezone.now()
    kiosk.first_paired_at = kiosk.first_paired_at or kiosk.paired_at  # a re-pairing keeps the first
    kiosk.pairing_code_hash = kiosk.pairing_expires_at = None
    kiosk.save(update_fields=["token_hash", "paired_at", "first_paired_at", "pairing_code_hash",
                              "pairing_expires_at"])
    return token


@transaction.atomic
def kiosk_pair(*, code: str) -> tuple[Kiosk, str]:
    """Exchange a pairing code (once) for a device token."""
    normalised = (code or "").strip().upper()
    kiosk = (
        Kiosk.objects.select_for_update()
        .filter(pairing_code_hash=token_digest(normalised), revoked_at__isnull=True,
                pairing_expires_at__gt=timezone.now())
        .first()
    )
    if kiosk is None:
        raise KioskAuthError(404, "this pairing code is unknown, used or expired")
    return kiosk, kiosk_issue_token(kiosk=kiosk)


def kiosk_revoke(*, kiosk: Kiosk) -> None:
    Kiosk.objects.filter(pk=kiosk.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), pairing_code_hash=None, pairing_expires_at=None
    )


class Memory:
    """A process's memory of recently seen rows (kiosks by token hash, rounds by id) for the
    submission's hot path, each kept ``seconds``. Nothing is trusted from it alone: the statement
    that stores a response checks again in the database every fact it was given (the kiosk's token,
    revocation and unit; the round's state, questionnaire and dossier rule), and a submission it
    did not store is tried again on what the database holds now (fieldwork.responses)."""

    LIMIT = 20_000

    def __init__(self, seconds):
        self.seconds, self._entries = seconds, {}

    def get(self, key):
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] > self.seconds:
            return None
        return entry[1]

    def put(self, key, value):
        if len(self._entries) >= self.LIMIT:
            self.clear()
        self._entries[key] = (time.monotonic(), value)

    def forget(self, key):
        self._entries.pop(key, None)

    def clear(self):
        self._entries.clear()


kiosk_memory = Memory(seconds=600)


@functools.cache
def _kiosk_query():
    """SELECT of a kiosk and its unit by token hash, every column, written once: the ORM would
    compile it (with the model's ordering) on every request, which costs more than running it."""
    kiosk_fields, unit_fields = Kiosk._meta.concrete_fields, Unit._meta.concrete_fields
    columns = [f"k.{f.column}" for f in kiosk_fields] + [f"u.{f.column}" for f in unit_fields]
    sql = (f"SELECT {', '.join(columns)} FROM fieldwork_kiosk k JOIN units_unit u ON u.id = k.unit_id "
           "WHERE k.token_hash = %s")
    return sql, [f.attname for f in kiosk_fields], [f.attname for f in unit_fields]


def _kiosk_by_token_hash(digest):
    sql, kiosk_names, unit_names = _kiosk_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [digest])
        row = cursor.fetchone()
    if row is None:
        return None
    kiosk = Kiosk.from_db(connection.alias, kiosk_names, row[:len(kiosk_names)])
    kiosk.unit = Unit.from_db(connection.alias, unit_names, row[len(kiosk_names):])
    return kiosk


def kiosk_authenticate(header: str | None, *, remembered=False) -> Kiosk:
    """The kiosk of an ``Authorization: Kiosk <token>`` header; KioskAuthError(401/403) otherwise.

    ``remembered`` may answer from this process's memory of the last minutes: only for submissions,
    whose storing statement checks the kiosk again (a revocation or a new token applies at once)."""
    scheme, _, token = (header or "").partition(" ")
    if scheme != "Kiosk" or not token.strip():
        raise KioskAuthError(401, "missing header 'Authorization: Kiosk <device token>'")
    digest = token_digest(token.strip())
    kiosk = kiosk_memory.get(digest) if remembered else None
    if kiosk is None:
        kiosk = _kiosk_by_token_hash(digest)
        if kiosk is None:
            raise KioskAuthError(401, "unknown device token")
        if not kiosk.is_revoked:
            kiosk_memory.put(digest, kiosk)
    if kiosk.is_revoked:
        raise KioskAuthError(403, "this kiosk has been revoked")
    return kiosk


def kiosk_update(*, kiosk: Kiosk, name: str, unit: Unit) -> Kiosk:
    """Rename a kiosk or move it to another unit; its token keeps working."""
    kiosk.name, kiosk.unit = name.strip() or kiosk.name, unit
    kiosk.save(update_fields=["name", "unit"])
    return kiosk


def kiosk_heartbeat(*, kiosk: Kiosk, waiting: int) -> None:
    """Note that the kiosk is alive with ``waiting`` responses queued (checked by the caller to fit
    the column: limits.whole_number)."""
    Kiosk.objects.filter(pk=kiosk.pk).update(last_seen_at=timezone.now(), waiting_reported=waiting)


# ---------------------------------------------------------------------------------------------
# A unit about to close (units.signals.unit_closing): what fieldwork still has there


def warn_unit_closing(sender, unit, valid_to, **kwargs) -> list[str]:
    """Warnings for the close confirmation page: kiosks still paired at the unit or below (their
    responses would go on counting for a closed unit) and rounds still open over it."""
    from django.utils.translation import gettext, ngettext

    warnings = []
    below = Q(unit__path__startswith=unit.path)
    kiosks = list(Kiosk.objects.filter(below, revoked_at__isnull=True).select_related("unit")
                  .order_by("unit__path", "name")[:6])
    if kiosks:
        names = ", ".join(f"{k.name} ({k.unit.code})" for k in kiosks[:5]) + (" …" if len(kiosks) > 5 else "")
        count = Kiosk.objects.filter(below, revoked_at__isnull=True).count()
        warnings.append(ngettext(
            "%(n)d kiosk is still at this unit or below (%(names)s): move it to the unit that takes over, on "
            "its Kiosks page, before %(day)s, or its responses will go on counting for a closed unit.",
            "%(n)d kiosks are still at this unit or below (%(names)s): move them to the unit that takes over, "
            "on their Kiosks page, before %(day)s, or their responses will go on counting for a closed unit.",
            count) % {"n": count, "names": names, "day": valid_to.strftime("%d/%m/%Y")})
    for survey_round in Round.objects.filter(below, status=Round.Status.OPEN).order_by("pk"):
        warnings.append(gettext("The round “%(round)s” over %(unit)s is open: close it after %(day)s.")
                        % {"round": survey_round.name, "unit": survey_round.unit.name,
                           "day": valid_to.strftime("%d/%m/%Y")})
    return warnings
