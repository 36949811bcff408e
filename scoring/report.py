"""The printable report of a unit for a round (báo cáo kết quả): one data structure that both the
HTML page (printed from the browser) and the PDF render, so they always say the same.

Every figure comes from the stored scores (``scoring_unitscore``); the texts are made here in the
active language, numbers formatted for it. A unit below the version's minimum number of responses
gets the reason and no figures; so does each such sub-unit in the table.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from fieldwork import integrity
from fieldwork.models import DossierList, Exclusion, Response, Round
from scoring import ranking, selectors, wording
from scoring.models import UnitScore
from units.models import Unit

ITEMS_SHOWN = 5  # strongest and weakest criteria


def pct(value, decimals=wording.DECIMALS) -> str:
    """A percentage for the reader ("86.5" / "86,5"), or a dash when there is none."""
    return "–" if value is None else wording.number(value, decimals)


def count(value) -> str:
    """A count for the reader, grouped as the language writes it ("1.930" / "1,930"), or a dash."""
    return "–" if value is None else wording.count(value)


def percent(value) -> str:
    """A percentage with its sign ("23.5%"), or a dash alone."""
    return "–" if value is None else f"{pct(value)}%"


def points(value) -> str:
    """A change in points with its sign ("+3.1", for a column headed "Change (points)"), or a dash."""
    return "–" if value is None else wording.signed(value)


class _Figure:
    """A percentage with its 95% interval (``value``, ``low``, ``high``), as the report prints them."""

    @property
    def text(self):
        return pct(self.value)

    @property
    def interval_text(self):
        return f"{pct(self.low)}–{pct(self.high)}" if self.low is not None else "–"


@dataclass
class Headline(_Figure):
    label: str
    value: float | None
    low: float | None
    high: float | None
    n: int
    rank: int | None
    rank_of: int | None
    change_points: float | None
    change_places: int | None
    weighted: float | None
    block_rank_text: str = ""  # "2nd of 4 communes and wards"; "" when not ranked in a block
    block_change_text: str = ""  # "up 1 place" in the same block since the previous round

    @property
    def rank_text(self):
        return wording.rank(self.rank, self.rank_of) or "–"

    @property
    def block_text(self):
        """The place in the block with its change: "2nd of 4 communes and wards, up 1 place"."""
        return ", ".join(part for part in (self.block_rank_text, self.block_change_text) if part)

    @property
    def change_text(self):
        return wording.change(self.change_points, self.change_places) or "–"


@dataclass
class Row(_Figure):
    """A factor, a criterion or a sub-unit: a label and a figure, with what a table shows beside it."""

    code: str
    label: str
    value: float | None = None
    low: float | None = None
    high: float | None = None
    n: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class SubUnit:
    unit: Unit
    n: int | None
    enough: bool
    headline: float | None
    factors: list  # [(code, value)] in factor order; empty when not enough
    rank: int | None
    rank_of: int | None
    change_points: float | None
    note: str

    @property
    def text(self):
        return pct(self.headline)

    @property
    def rank_text(self):
        return wording.rank_short(self.rank, self.rank_of) or "–"

    @property
    def change_text(self):
        return points(self.change_points)


@dataclass
class Report:
    language: str
    unit: Unit
    survey_round: Round
    title: str
    questionnaire: str
    period: str
    computed_at: datetime | None
    generated_at: datetime
    minimum: int
    enough: bool
    scored: bool
    reason: str  # why no figures are shown, when they are not
    headline: Headline | None
    factors: list[Row]
    strongest: list[Row]
    weakest: list[Row]
    indicators: list[dict]
    expectations: list[Row]
    sub_units: list[SubUnit]
    blocks: list  # BlockTable: the units below ranked by block, where they are in one
    factor_codes: list[str]
    method: list[str]

    @property
    def factor_chart_rows(self):
        """Rows for scoring.charts.bar_chart_svg: each factor with its "in general" rate as marker."""
        return [{"label": f"{row.code} {row.label}", "value": row.value, "marker": row.extra.get("general"),
                 "muted": False} for row in self.factors]


def _period(survey_round: Round) -> str:
    # The days in Vietnam time: a round opened at 01:00 on the 7th opened on the 7th, not the 6th (UTC).
    opened, closed = survey_round.opened_at, survey_round.closed_at
    start = survey_round.period_start or (timezone.localdate(opened) if opened else None)
    end = survey_round.period_end or (timezone.localdate(closed) if closed else None)
    if start is None:
        return _("not opened yet")
    start_text = formats.date_format(start, "SHORT_DATE_FORMAT")
    if end is None:
        return _("from %(start)s (still open)") % {"start": start_text}
    return f"{start_text} – {formats.date_format(end, 'SHORT_DATE_FORMAT')}"


def _headline(score: UnitScore, names, survey_round, unit) -> Headline:
    return Headline(
        label=names["headline"], value=score.headline, low=score.headline_low, high=score.headline_high, n=score.n,
        rank=score.rank, rank_of=score.rank_of, change_points=score.change_points,
        change_places=score.change_places, weighted=score.weighted_headline,
        **selectors.block_rank_texts(survey_round, unit, True))


def _factors(score: UnitScore, names) -> list[Row]:
    rows = []
    for code, spec in sorted(score.factors.items()):
        ci = spec.get("ci") or [None, None]
        general = spec.get("general") or {}
        rows.append(Row(code=code, label=names["factors"].get(code, code), value=spec.get("value"),
                        low=ci[0], high=ci[1], n=spec.get("n"),
                        extra={"general": general.get("rate"), "general_text": pct(general.get("rate"))}))
    return rows


def _criteria(score: UnitScore, names) -> list[Row]:
    """The factors' criteria with a rate (not the "in general" questions nor the overall one)."""
    rows = []
    for factor, codes in sorted(names["factor_items"].items()):
        for code in codes:
            figures = score.items.get(code) or {}
            if figures.get("rate") is None:
                continue
            ci = figures.get("ci") or [None, None]
            rows.append(Row(code=code, label=names["items"].get(code, code), value=figures["rate"], low=ci[0],
                            high=ci[1], n=figures.get("n"), extra={"factor": factor}))
    return rows


def _strongest_and_weakest(criteria):
    weakest = sorted(criteria, key=lambda r: (r.value, r.code))[:ITEMS_SHOWN]
    taken = {r.code for r in weakest}
    strongest = [r for r in sorted(criteria, key=lambda r: (-r.value, r.code)) if r.code not in taken][:ITEMS_SHOWN]
    return strongest, weakest


def _indicators(score: UnitScore, names) -> list[dict]:
    result = []
    for code, spec in names["indicators"].items():
        shares = score.indicators.get(code) or {}
        options = [{"code": option, "label": text, "share": shares.get(str(option)),
                    "text": percent(shares.get(str(option)))} for option, text in spec["options"].items()]
        result.append({"code": code, "text": spec["text"], "n": shares.get("n"), "options": options})
    return result


def _expectations(score: UnitScore, names) -> list[Row]:
    return [Row(code=row["code"], label=names["expectations"].get(row["code"], row["code"]), value=row.get("share"),
                n=row.get("count")) for row in score.expectations if row.get("count")]


def _sub_unit(unit, score, factor_codes, minimum, rank=None, rank_of=None) -> SubUnit:
    """A row of a table of units: its figures, or why there are none. Ranked among its siblings
    unless ``rank`` and ``rank_of`` (its place in a block) are given."""
    if score is None:
        return SubUnit(unit, None, False, None, [], None, None, None, wording.no_responses())
    if not score.enough:
        return SubUnit(unit, score.n, False, None, [], None, None, None,
                       wording.withheld_reason(score.n, minimum, score.withheld))
    factors = [(code, pct((score.factors.get(code) or {}).get("value"))) for code in factor_codes]
    if rank is None:
        rank, rank_of = score.rank, score.rank_of
    return SubUnit(unit, score.n, True, score.headline, factors, rank, rank_of, score.change_points, "")


def _sub_units(survey_round, unit, factor_codes, minimum) -> list[SubUnit]:
    return [_sub_unit(child, score, factor_codes, minimum)
            for child, score in selectors.child_scores(survey_round=survey_round, unit=unit)]


@dataclass
class BlockTable:
    """The units below the report's unit that are in one block, with their places in the whole block."""

    key: str
    name: str
    sub_units: list  # SubUnit, in rank order, withheld units last


def _blocks(survey_round, unit, factor_codes, minimum) -> list[BlockTable]:
    """The ranking tables by block (khối, ``scoring.ranking.league``) of the units below this one."""
    tables = []
    for block in ranking.league(survey_round, [unit.path]):
        rows = [_sub_unit(score.unit, score, factor_codes, minimum, place.rank, place.rank_of)
                for score, place in block.rows if score.unit_id != unit.pk]
        if rows:
            tables.append(BlockTable(block.key, block.label, rows))
    return tables


def response_counts(*, survey_round: Round, unit: Unit) -> dict:
    """Responses of the round in the unit's subtree: all, excluded, and over quota (not excluded). One query."""
    return Response.objects.filter(round=survey_round, unit__path__startswith=unit.path).aggregate(
        total=Count("pk"), excluded=Count("exclusion"),
        over_quota=Count("pk", filter=Q(over_quota=True, exclusion__isnull=True)))


def dossier_list_facts(*, survey_round: Round, unit: Unit):
    """The round's latest dossier list (the one the weighted figure uses) with ``total`` dossiers and
    ``in_area``, those in the unit's subtree; None when the round has none. One query."""
    return (DossierList.objects.filter(round=survey_round).order_by("-imported_at", "-pk")
            .annotate(total=Count("dossiers"),
                      in_area=Count("dossiers", filter=Q(dossiers__unit__path__startswith=unit.path)))
            .first())


def _weighting_note(score, dossiers) -> str:
    """Whether the index is also weighted by service field, and if not, why not."""
    if score is not None and score.weighted_headline is not None:
        return _("Weighted figure shown beside the index: post-stratified by service field with the round's "
                 "list of completed dossiers (our addition; the official figure is unweighted).")
    if dossiers is None:
        return _("No weighted figure: the round has no list of completed dossiers to weight by service field "
                 "(the official figure is unweighted anyway).")
    facts = {"name": dossiers.name, "total": count(dossiers.total), "in_area": count(dossiers.in_area)}
    if not dossiers.in_area:
        return _("No weighted figure: the round's dossier list “%(name)s” (%(total)s dossiers) has no dossiers "
                 "in this unit's area (the official figure is unweighted anyway).") % facts
    if score is not None and score.computed_at < dossiers.imported_at:
        return _("No weighted figure yet: the dossier list “%(name)s” (%(total)s dossiers, %(in_area)s in this "
                 "unit's area) was imported after these scores were computed; the next recompute uses it.") % facts
    return _("No weighted figure: the round's dossier list “%(name)s” has %(total)s dossiers, %(in_area)s of "
             "them in this unit's area, but some service field with dossiers has no responses here, so its "
             "weight cannot be applied (the official figure is unweighted anyway).") % facts


def _integrity_note(checks) -> str:
    """What the integrity checks looked for and what they found in the area (fieldwork.integrity)."""
    limits, found = checks["thresholds"], checks["counts"]
    if not checks["checked_at"]:  # no counts to give: say what will be looked for, in one line
        return _("Integrity checks of kiosk responses (bursts, runs of identical or all-top answers, responses "
                 "outside opening hours, more responses than dossiers) have not run for this round yet.")
    when = _("last run %(when)s") % {"when": formats.date_format(timezone.localtime(checks["checked_at"]),
                                                                  "SHORT_DATETIME_FORMAT")}
    return _("Integrity checks of kiosk responses (%(when)s): a response less than %(gap)s seconds after its "
             "kiosk's previous one (a burst); %(run)s or more responses of a kiosk in a row with identical answers, "
             "or with every answer “very satisfied”; responses outside the desk's opening hours, where they are "
             "set; more kiosk responses at a desk on a day than the dossiers recorded for it. Flagged in this area "
             "and not excluded: %(flagged)s responses (bursts %(burst)s, identical answers %(identical)s, "
             "all-top answers %(all_top)s, outside opening hours %(off_hours)s, beyond the dossiers "
             "%(over_dossiers)s). They are counted in the figures: nothing is excluded automatically, survey "
             "officers review them.") % {
        "when": when, "gap": limits.min_gap_seconds, "run": limits.run_length,
        **{key: count(value) for key, value in found.items()}}


def _method(survey_round, score, names, counts, dossiers, checks=None) -> list[str]:
    """The method note: how the figures were made and what was left out, as paragraphs."""
    scoring = survey_round.questionnaire.parsed.doc["scoring"]
    levels = ", ".join(str(level) for level in scoring["satisfied_levels"])
    notes = [_("A criterion's rate is the share of satisfied answers (levels %(levels)s of 5) among its valid "
               "answers; “not applicable” and questions not asked are not valid answers.") % {"levels": levels}]
    method = scoring.get("factor_method", "mean_of_item_rates")
    notes.append({
        "mean_of_item_rates": _("A factor's index is the unweighted mean of its criteria's rates."),
        "pooled_answers": _("A factor's index is the share of satisfied answers pooled over all its criteria."),
        "general_item": _("A factor's index is the rate of its “in general” question."),
    }[method])
    headline = scoring["headline"]
    if headline["method"] == "item":
        notes.append(_("%(headline)s = the rate of the overall question %(code)s (“%(text)s”), with its 95%% "
                       "Wilson score interval.") % {
            "headline": names["headline"], "code": headline["item"], "text": names["items"].get(headline["item"])})
    else:
        notes.append(_("%(headline)s = the unweighted mean of the indices of %(factors)s, with a 95%% interval "
                       "from the criteria's binomial variances.") % {
            "headline": names["headline"], "factors": ", ".join(headline["factors"])})
    notes.append(_("Minimum number of valid responses for a unit's figures to be shown and ranked: %(minimum)s. "
                   "Ranks are among sibling units (1 = best; ties share a place); the change is against the "
                   "previous round of the same questionnaire family.") % {"minimum": scoring["min_responses"]})
    notes.append(_("Withheld figures cannot be worked out from those shown: a unit's figures add up from its "
                   "sub-units and the responses collected at the unit itself, so wherever a withheld part would be "
                   "the only unknown of such a sum, the shown sub-unit with the fewest responses is withheld too. "
                   "Withheld units are not ranked, and the change since the previous round is shown only where "
                   "both rounds' figures are shown."))
    counted = _("counted in the scores") if survey_round.score_over_quota else _("left out of the scores")
    notes.append(_("Responses received for this unit and the units below it: %(total)s; excluded by the "
                   "survey officers (test entries, duplicates, straight-lining, too fast…): %(excluded)s; "
                   "over quota, %(counted)s: %(over)s; valid responses used: %(n)s.") % {
        "total": count(counts["total"]), "excluded": count(counts["excluded"]), "over": count(counts["over_quota"]),
        "counted": counted, "n": count(score.n if score else 0)})
    notes.append(_weighting_note(score, dossiers))
    if checks is not None:
        notes.append(_integrity_note(checks))
    return notes


def unit_report(*, survey_round: Round, unit: Unit, language: str) -> Report:
    """Everything the report shows, in the language. A fixed number of queries whatever the number of
    sub-units (six, and those of ``scoring.ranking.league`` and ``block_place``)."""
    with translation.override(language):
        lang = wording.language_of(language)
        names = selectors.labels(survey_round, lang)
        minimum = survey_round.questionnaire.min_responses
        score = selectors.unit_score(survey_round=survey_round, unit=unit)
        counts = response_counts(survey_round=survey_round, unit=unit)
        factor_codes = sorted(names["factor_items"])
        enough = bool(score and score.enough)
        reason = ""
        if score is None:
            reason = wording.not_computed()
        elif not enough:
            reason = wording.withheld_sentence(score.n, minimum, score.withheld)
        strongest, weakest = _strongest_and_weakest(_criteria(score, names)) if enough else ([], [])
        return Report(
            language=lang, unit=unit, survey_round=survey_round,
            title=_("Citizen satisfaction with public administrative services: results report"),
            questionnaire=survey_round.questionnaire.title(lang), period=_period(survey_round),
            computed_at=score.computed_at if score else None, generated_at=timezone.now(), minimum=minimum,
            enough=enough, scored=score is not None, reason=reason,
            headline=_headline(score, names, survey_round, unit) if enough else None,
            factors=_factors(score, names) if enough else [],
            strongest=strongest, weakest=weakest,
            indicators=_indicators(score, names) if enough else [],
            expectations=_expectations(score, names) if enough else [],
            sub_units=_sub_units(survey_round, unit, factor_codes, minimum),
            blocks=_blocks(survey_round, unit, factor_codes, minimum),
            factor_codes=factor_codes,
            method=_method(survey_round, score, names, counts,
                           dossier_list_facts(survey_round=survey_round, unit=unit),
                           integrity.area_summary(survey_round=survey_round, unit=unit)),
        )


def channel_counts(*, survey_round: Round, unit: Unit) -> list[tuple[str, int]]:
    """Valid responses of the round in the unit's subtree by collection channel, as (label, count) in
    the channels' order; channels without responses left out. One query. (The DOCX report's method.)"""
    rows = dict(Response.objects.filter(round=survey_round, unit__path__startswith=unit.path,
                                        exclusion__isnull=True)
                .values_list("channel").annotate(n=Count("pk")).order_by())
    return [(label, rows[value]) for value, label in Response.Channel.choices if rows.get(value)]


def exclusion_reasons(*, survey_round: Round, unit: Unit) -> list[tuple[str, int]]:
    """Excluded responses of the round in the unit's subtree by reason, as (label, count). One query."""
    rows = dict(Exclusion.objects.filter(response__round=survey_round, response__unit__path__startswith=unit.path)
                .values_list("reason").annotate(n=Count("pk")).order_by())
    return [(label, rows[value]) for value, label in Exclusion.Reason.choices if rows.get(value)]
