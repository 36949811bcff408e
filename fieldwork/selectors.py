"""Reads for the fieldwork pages."""

import datetime
import math
import re
import uuid
from dataclasses import dataclass, field

from django.db import models
from django.db.models import Count, Q, Sum, Value
from django.db.models.functions import Cast, Replace
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy

from fieldwork.exclusions import review_flags
from fieldwork.models import ExclusionLog, Kiosk, KioskDay, Quota, QuotaDay, Response, Round
from questionnaires.answers import unpack_answers
from questionnaires.definition import condition_holds
from units import access
from units.models import Unit


def get_round_for_user(user, round_id, capability=access.FIELDWORK, *, whole=False) -> Round:
    """The round, with ``scope_paths``: the parts of it this user works on. 404 otherwise.

    Someone with the capability on the round's unit (or above) has the whole round. Someone with
    it only on units inside the round's subtree (a commune officer in a province-wide round) has
    just those units: pages show and change only what lies there. ``whole=True`` is for what only
    the round's owners may do (its settings, opening and closing, sampling, allocation).
    """
    survey_round = get_object_or_404(Round.objects.select_related("unit", "questionnaire"), pk=round_id)
    if access.user_can(user, survey_round.unit, capability):
        survey_round.scope_paths = [survey_round.unit.path]
    elif whole:
        raise Http404("Not found.")
    else:
        survey_round.scope_paths = access.role_paths_within(user, survey_round.unit, capability)
        if not survey_round.scope_paths:
            raise Http404("Not found.")
    survey_round.whole_scope = survey_round.scope_paths == [survey_round.unit.path]
    return survey_round


def in_scope(survey_round: Round, unit_field="unit") -> Q:
    """A filter for rows whose unit lies in the part of the round the user works on."""
    condition = Q()
    # A round not fetched through get_round_for_user (a job, a benchmark) is seen whole.
    for path in getattr(survey_round, "scope_paths", [survey_round.unit.path]):
        condition |= Q(**{f"{unit_field}__path__startswith": path})
    return condition


def round_units(survey_round: Round, user=None):
    """The units a response, a quota or a paper form of this round may be for: the round's subtree,
    less the units that did not exist during the round (merged away before it began), as far as
    the user (if given) may run fieldwork there; in tree order."""
    units = survey_round.unit.subtree().filter(survey_round.units_open())
    if user is not None:
        units = units.filter(pk__in=access.visible_units(user, access.FIELDWORK).values("pk"))
    return units.order_by("path")


def rounds_for_unit(unit: Unit):
    """Rounds over this unit's subtree or over a unit above it."""
    return (
        Round.objects.filter(Q(unit__path__startswith=unit.path) | Q(unit__path__in=unit.ancestor_paths()))
        .select_related("unit", "questionnaire")
        .order_by("-created_at")
    )


# ---------------------------------------------------------------------------------------------
# Quota progress

RATE_DAYS = 7  # responses per day are averaged over this many days


@dataclass
class QuotaProgress:
    quota: Quota
    recent: int  # in-quota responses in the last RATE_DAYS days
    per_day: float
    projected: datetime.date | None
    lagging: bool

    @property
    def fill_percent(self):
        return 100.0 * self.quota.filled / self.quota.target if self.quota.target else 100.0


def quota_progress(survey_round) -> list[QuotaProgress]:
    """Every quota of the round (in the user's part of it) with its fill, pace and projection."""
    quotas = (
        survey_round.quotas.select_related("unit")
        .only("round_id", "target", "filled", "over", "policy", "stratum_item", "stratum_value",
              "unit__code", "unit__name", "unit__path")
        .order_by("unit__path", "stratum_item", "stratum_value")
    )
    quotas = list(quotas.filter(in_scope(survey_round)))
    today = timezone.localdate()
    days = RATE_DAYS
    if survey_round.opened_at:
        days = max(1, min(RATE_DAYS, (today - timezone.localdate(survey_round.opened_at)).days + 1))
    # One grouped query over the per-day counts that claiming keeps, whatever the number of quotas.
    recent = dict(
        QuotaDay.objects.filter(quota__round=survey_round, day__gt=today - datetime.timedelta(days=days))
        .values("quota").annotate(n=Sum("responses")).values_list("quota", "n")
    )
    result = []
    for quota in quotas:
        per_day = recent.get(quota.pk, 0) / days
        remaining = quota.target - quota.filled
        projected = today if remaining <= 0 else (
            today + datetime.timedelta(days=math.ceil(remaining / per_day)) if per_day else None
        )
        deadline = survey_round.period_end
        # Silent quotas lag only once the round has had a day to get going.
        silent = projected is None and days > 1
        late = projected is not None and deadline is not None and projected > deadline
        lagging = remaining > 0 and (silent or late)
        result.append(QuotaProgress(quota, recent.get(quota.pk, 0), per_day, projected, lagging))
    return result


def quota_desk(rows: list[QuotaProgress], stratum_item: str) -> tuple[dict, dict]:
    """The desk side beside the at-home progress, from the quota rows already read: (unit code →
    (in quota, target) of its quota without a stratum, stratum value → (in quota, target) summed
    over the quotas on ``stratum_item``)."""
    units, strata = {}, {}
    for row in rows:
        quota = row.quota
        if not quota.stratum_item:
            units[quota.unit.code] = (quota.filled, quota.target)
        elif quota.stratum_item == stratum_item:
            filled, target = strata.get(quota.stratum_value, (0, 0))
            strata[quota.stratum_value] = (filled + quota.filled, target + quota.target)
    return units, strata


# ---------------------------------------------------------------------------------------------
# Kiosks

SILENT_AFTER = datetime.timedelta(days=1)


def kiosks_with_activity(unit: Unit):
    """The kiosks in a unit's subtree, each with its responses today and whether it has gone silent
    during an open round: three queries whatever the number of kiosks."""
    kiosks = list(Kiosk.objects.filter(unit__path__startswith=unit.path).select_related("unit"))
    # Counted while storing (fieldwork.services): no scan of the responses, however many there are.
    today = dict(
        KioskDay.objects.filter(kiosk__in=kiosks, day=timezone.localdate()).values_list("kiosk", "responses")
    )
    open_paths = set(Round.objects.filter(status=Round.Status.OPEN).values_list("unit__path", flat=True))
    now = timezone.now()
    for kiosk in kiosks:
        kiosk.responses_today = today.get(kiosk.pk, 0)
        covered = any(p in open_paths for p in kiosk.unit.ancestor_paths())
        seen = kiosk.last_seen_at or kiosk.paired_at
        kiosk.silent = bool(covered and not kiosk.is_revoked and kiosk.paired_at and seen
                            and now - seen > SILENT_AFTER)
    return kiosks


def round_summary(survey_round):
    """Counts for the round page (in the user's part of the round): one query."""
    return Response.objects.filter(round=survey_round).filter(in_scope(survey_round)).aggregate(
        total=Count("id"),
        over_quota=Count("id", filter=Q(over_quota=True)),
        excluded=Count("exclusion"),
        paper=Count("id", filter=Q(channel=Response.Channel.PAPER)),
        today=Count("id", filter=Q(received_at__date=timezone.localdate())),
    )


# ---------------------------------------------------------------------------------------------
# The response browser (fieldwork.views_responses)

SHORT_ID_LENGTH = 8
BROWSE_PAGE_SIZE = 50
# The list counts the matching responses up to this many and then says "more than": a count of
# every response of a big round on every page would cost more than the page itself.
BROWSE_COUNT_LIMIT = 10_000
SEARCH_MIN_LENGTH = 4
_HEX = re.compile(r"[0-9a-f]+")
_CURSOR = re.compile(r"(-?[0-9]{1,18})_([0-9a-f]{32})")
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def short_id(response_id) -> str:
    """The short id pages show and the browser's search finds: the last SHORT_ID_LENGTH hex digits.

    The end of the id, not its start: a version 7 id (kiosks, the form, paper entry) starts with its
    time, so ids made within the same minute share their first 8 digits, while the last 8 are
    random. 8 digits tell apart the responses of a round of thousands; where two of a round of a
    million share them, the search lists both."""
    return uuid.UUID(str(response_id)).hex[-SHORT_ID_LENGTH:]


def response_search(text: str) -> str:
    """The hex digits to look for from what was typed in the search box: a short id, the end of an
    id or a whole id, with or without dashes, in any case. ValueError when it cannot be one."""
    digits = text.strip().lower().replace("-", "")
    if not (SEARCH_MIN_LENGTH <= len(digits) <= 32 and _HEX.fullmatch(digits)):
        raise ValueError(text)
    return digits


class Source(models.TextChoices):
    """How a response came in: the stored channel (kiosk, the kiosk's form without JavaScript, paper,
    link), and for paper whether it was typed in or imported (``Response.paper_entry``)."""

    KIOSK = "kiosk", gettext_lazy("Kiosk")
    FORM = "form", gettext_lazy("Form without JavaScript")
    PAPER_ENTRY = "paper_entry", gettext_lazy("Paper form, typed in")
    PAPER_IMPORT = "paper_import", gettext_lazy("Paper form, imported")
    LINK = "link", gettext_lazy("Link, answered at home")
    POSTER = "poster", gettext_lazy("QR poster at the desk")


def response_source(response: Response) -> str:
    """The Source of a response (the same rule as _source_filter, in Python)."""
    if response.channel == Response.Channel.PAPER:
        return Source.PAPER_IMPORT if response.paper_entry == Response.PaperEntry.IMPORTED else Source.PAPER_ENTRY
    return {Response.Channel.WEB: Source.FORM, Response.Channel.LINK: Source.LINK,
            Response.Channel.POSTER: Source.POSTER}.get(response.channel, Source.KIOSK)


def _source_filter(source: str) -> Q:
    paper = Q(channel=Response.Channel.PAPER)
    return {
        Source.KIOSK: Q(channel=Response.Channel.KIOSK),
        Source.FORM: Q(channel=Response.Channel.WEB),
        Source.LINK: Q(channel=Response.Channel.LINK),
        Source.POSTER: Q(channel=Response.Channel.POSTER),
        Source.PAPER_ENTRY: paper & Q(paper_entry=Response.PaperEntry.TYPED),
        Source.PAPER_IMPORT: paper & Q(paper_entry=Response.PaperEntry.IMPORTED),
    }[source]


class Flag(models.TextChoices):
    """What the browser filters on: the review queue's flags (fieldwork.exclusions), any of them, or
    the over-quota mark the response was stored with."""

    REVIEW = "review", gettext_lazy("Flagged for review (any flag)")
    STRAIGHT_LINING = "straight_lining", gettext_lazy("Straight-lining")
    TOO_FAST = "too_fast", gettext_lazy("Too fast")
    INTEGRITY = "integrity", gettext_lazy("Integrity check (burst, run, outside hours, beyond the dossiers)")
    OVER_QUOTA = "over_quota", gettext_lazy("Over quota")


class State(models.TextChoices):
    INCLUDED = "included", gettext_lazy("Included")
    EXCLUDED = "excluded", gettext_lazy("Excluded")


@dataclass
class BrowseFilters:
    search: str = ""  # hex digits (response_search)
    unit: Unit | None = None  # with its sub-units
    date_from: datetime.date | None = None  # days of submitted_at, in the site's time zone
    date_to: datetime.date | None = None
    source: str = ""
    kiosk: Kiosk | None = None
    flag: str = ""
    state: str = ""


def browse_units(survey_round: Round) -> list[Unit]:
    """The units of the round the user works on (closed ones too: their responses stay), in tree order."""
    return list(
        Unit.objects.filter(path__startswith=survey_round.unit.path).filter(_paths_q(survey_round))
        .only("code", "name", "path", "depth").order_by("path")
    )


def _paths_q(survey_round: Round) -> Q:
    condition = Q()
    for path in getattr(survey_round, "scope_paths", [survey_round.unit.path]):
        condition |= Q(path__startswith=path)
    return condition


def browse_kiosks(survey_round: Round) -> list[Kiosk]:
    """The kiosks of the units the user works on in the round, revoked ones too."""
    return list(
        Kiosk.objects.filter(unit__path__startswith=survey_round.unit.path).filter(in_scope(survey_round))
        .select_related("unit").only("name", "unit__code", "unit__name", "unit__path").order_by("unit__path", "name")
    )


def browse_responses(survey_round: Round, filters: BrowseFilters):
    """The round's responses in the user's part of it that match the filters, unordered, annotated
    with the review flags (``straight_lining``, ``too_fast``)."""
    responses = Response.objects.filter(round=survey_round).filter(in_scope(survey_round))
    if filters.search:
        if len(filters.search) == 32:
            responses = responses.filter(pk=uuid.UUID(filters.search))
        else:
            # The round's rows are read (no index holds the end of the id): a whole-round scan,
            # as fast as one page of the list.
            hex_id = Replace(Cast("id", output_field=models.CharField()), Value("-"), Value(""))
            responses = responses.alias(hex_id=hex_id).filter(hex_id__endswith=filters.search)
    if filters.unit is not None:
        responses = responses.filter(unit__path__startswith=filters.unit.path)
    if filters.date_from:
        responses = responses.filter(submitted_at__gte=_day_start(filters.date_from))
    if filters.date_to and filters.date_to < datetime.date.max:
        responses = responses.filter(submitted_at__lt=_day_start(filters.date_to + datetime.timedelta(days=1)))
    if filters.source:
        responses = responses.filter(_source_filter(filters.source))
    if filters.kiosk is not None:
        responses = responses.filter(kiosk=filters.kiosk)
    if filters.state:
        responses = responses.filter(exclusion__isnull=filters.state == State.INCLUDED)
    responses = responses.annotate(**review_flags(survey_round))
    if filters.flag == Flag.REVIEW:
        responses = responses.filter(Q(straight_lining=True) | Q(too_fast=True) | Q(integrity=True))
    elif filters.flag in (Flag.STRAIGHT_LINING, Flag.TOO_FAST, Flag.INTEGRITY, Flag.OVER_QUOTA):
        responses = responses.filter(**{filters.flag: True})
    return responses


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def encode_cursor(response: Response) -> str:
    """Where a page starts or ends: the response's submission time (microseconds) and id."""
    micros = (response.submitted_at - _EPOCH) // datetime.timedelta(microseconds=1)
    return f"{micros}_{uuid.UUID(str(response.pk)).hex}"


def decode_cursor(text: str) -> tuple[datetime.datetime, uuid.UUID]:
    """The (submitted_at, id) of a cursor; ValueError when it is not one."""
    match = _CURSOR.fullmatch(text.strip())
    if not match:
        raise ValueError(text)
    try:
        moment = _EPOCH + datetime.timedelta(microseconds=int(match[1]))
    except OverflowError:
        raise ValueError(text) from None
    return moment, uuid.UUID(match[2])


@dataclass
class BrowsePage:
    rows: list
    newer: str | None  # the cursor to pass as ``newer`` for the page before, or None on the first
    older: str | None  # the cursor to pass as ``older`` for the next page, or None on the last


def browse_page(responses, *, older=None, newer=None, size=None) -> BrowsePage:
    """One page of the responses, newest first (by submission time, then id): keyset paging on
    (submitted_at, id), so a page costs the same however deep it is, with no OFFSET and no count.
    ``older``: the page after this cursor; ``newer``: the page before it; neither: the first page.

    No index holds submitted_at (every index costs each of the many inserts), so a page sorts the
    matching responses: first their ids alone, then the page's rows with what the list shows (on a
    round of a million responses the joins would otherwise be made for every one of them)."""
    size = size or BROWSE_PAGE_SIZE
    if newer is not None:
        moment, pk = newer
        after = Q(submitted_at__gt=moment) | Q(submitted_at=moment, pk__gt=pk)
        ids = list(responses.filter(after).order_by("submitted_at", "id").values_list("id", flat=True)[:size + 1])
        more = len(ids) > size
        rows = _page_rows(responses, ids[:size][::-1])
        return BrowsePage(rows, encode_cursor(rows[0]) if more and rows else None,
                          encode_cursor(rows[-1]) if rows else None)
    if older is not None:
        moment, pk = older
        responses = responses.filter(Q(submitted_at__lt=moment) | Q(submitted_at=moment, pk__lt=pk))
    ids = list(responses.order_by("-submitted_at", "-id").values_list("id", flat=True)[:size + 1])
    more = len(ids) > size
    rows = _page_rows(responses, ids[:size])
    return BrowsePage(rows, encode_cursor(rows[0]) if older is not None and rows else None,
                      encode_cursor(rows[-1]) if more else None)


def _page_rows(responses, ids) -> list[Response]:
    """The responses with these ids, in this order, with what a row of the list shows."""
    if not ids:
        return []
    rows = responses.filter(pk__in=ids).select_related("unit", "kiosk", "exclusion").only(
        "id", "round_id", "channel", "paper_entry", "submitted_at", "over_quota", "seconds_taken", "unit__code",
        "unit__name", "kiosk__name", "exclusion__reason")
    by_id = {row.pk: row for row in rows}
    return [by_id[pk] for pk in ids]


def browse_count(responses, limit=None) -> tuple[int, bool]:
    """How many responses match, counting at most ``limit`` + 1: (count, whether there are more)."""
    limit = limit or BROWSE_COUNT_LIMIT
    counted = responses.order_by()[:limit + 1].count()
    return min(counted, limit), counted > limit


def get_browsed_response(survey_round: Round, response_id) -> Response:
    """One response of the round in the user's part of it, with its review flags; 404 otherwise."""
    responses = (Response.objects.filter(round=survey_round).filter(in_scope(survey_round))
                 .select_related("unit", "kiosk", "exclusion__excluded_by")
                 .annotate(**review_flags(survey_round)))
    return get_object_or_404(responses, pk=response_id)


def response_history(response: Response):
    """Every exclusion and restoration of the response, newest first."""
    return ExclusionLog.objects.filter(response=response).select_related("by").order_by("-at", "-pk")


def _in_language(text: dict, language: str) -> str:
    return text.get(language) or text["vi"]


@dataclass
class AnswerRow:
    code: str
    question: str
    kind: str
    state: str  # "answered", "not_asked" (its condition was false) or "no_answer"
    labels: list = field(default_factory=list)  # the chosen options' labels (several for a multiple choice)
    value: object = None  # a number, or the free text as written
    from_unit: bool = False  # filled in from the response's unit, not asked


def response_answers(response: Response, survey_round: Round, language: str) -> list[dict]:
    """The response's answers section by section as the questionnaire words them in ``language``
    ("vi" or "en"): each question with the chosen options' labels, the number or the free text,
    or why there is no answer (not asked because of an earlier answer, or left empty)."""
    definition = survey_round.questionnaire.parsed
    given = unpack_answers(definition, response.answers, response.texts)
    sections = []
    for section in definition.doc["sections"]:
        rows = [_answer_row(definition, item, given, language) for item in section["items"]]
        sections.append({"title": _in_language(section["title"], language), "rows": rows})
    return sections


def _answer_row(definition, item, given, language) -> AnswerRow:
    code, kind = item["code"], item["kind"]
    row = AnswerRow(code, _in_language(item["text"], language), kind, "answered",
                    from_unit=item.get("known_from") is not None)
    value = given.get(code)
    if value is None or value == "":
        row.state = "no_answer" if condition_holds(item.get("condition"), given) else "not_asked"
        return row
    labels = {option["code"]: _in_language(option["label"], language) for option in definition.options(item)}
    if kind in ("number", "text"):
        row.value = value
    elif kind == "multiple":
        row.labels = [labels.get(v, str(v)) for v in value]
    elif kind == "satisfaction" and value:
        row.labels = [f"{value} · {labels.get(value, '')}"]
    else:
        row.labels = [labels.get(value, str(value))]
    return row
