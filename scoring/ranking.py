"""What may be shown of a round's units, and their places: decided over the whole tree at once, after
the figures (``scoring.figures``), full run or refresh alike.

- ``publish(results, removed, tree, survey_round, minimum, *, incremental)``: which units are
  withheld (``scoring.disclosure``), competition ranks among shown siblings (1 = best, ties share
  a place: ``scoring.formulas.competition_ranks``), and the change since the previous round in
  points and places where both rounds' figures are shown. ``PUBLISHED`` names what it decides.
- ``previous_round(survey_round)``: the round a change is measured against.
- ``block_places(survey_round) -> {unit: Place}``: ranks within blocks (khối, ``fieldwork.blocks``)
  over the whole tree of the round, read from the stored scores of this round and the previous one
  (two queries a round): competition ranks of the shown units of each block, and the change in
  places where the unit was ranked in the same block in the previous round.
- ``block_place(survey_round, unit) -> Place | None``: one unit's, for its page, report and API: read
  from the round's places kept in Redis (a hash, a field a unit), so a page reads its own place (two
  small queries name the last runs of the round and of the previous round), not every stored score
  of the round. The first read after a new run of either round ranks every unit once
  (``block_places``) and replaces what was kept; with Redis down, the places are ranked anew.
- ``league(survey_round, scope_paths=None) -> [Block]``: the league table of every block, each
  unit with its stored score and its ``Place``; only units under ``scope_paths`` are listed (their
  ranks are still among the whole block).

How ranks and changes are written for people is ``scoring.wording``.
"""

import logging
from collections import defaultdict
from dataclasses import astuple, dataclass, field

from django.core.cache import cache
from django.db.models import Max

from fieldwork import blocks
from fieldwork.models import Round
from scoring import disclosure, formulas
from scoring.models import ScoreRun, UnitScore
from scoring.wording import name_key
from surveyapp.internals import cache_client

log = logging.getLogger(__name__)

PUBLISHED = ("enough", "withheld", "rank", "rank_of", "change_points", "change_places")


def publish(results, removed, tree, survey_round, minimum, *, incremental):
    """What may be shown of every unit of the round, decided over the whole tree at once: which
    units are withheld (``scoring.disclosure``), ranks among shown siblings, and the change since
    the previous round where both figures are shown. ``enough`` is stored as "figures shown".

    Sets these on ``results``; a refresh also reads the stored units it did not touch (their
    withholding and ranks move with their siblings') and returns {unit: values in ``PUBLISHED``
    order} of those whose values moved, for the store to update."""
    new = {r.unit_id: r for r in results}
    stored = {}
    if incremental:
        rows = (UnitScore.objects.filter(round=survey_round).exclude(unit_id__in=[*new, *removed])
                .values_list("unit_id", "n", "headline", *PUBLISHED))
        stored = {row[0]: row for row in rows}
    n = {u: r.n for u, r in new.items()} | {u: row[1] for u, row in stored.items()}
    headline = {u: r.headline for u, r in new.items()} | {u: row[2] for u, row in stored.items()}
    withheld = disclosure.withheld_units(n, tree.parents, minimum)
    by_parent = defaultdict(dict)
    for unit_id in n:
        if unit_id != tree.top.id:
            by_parent[tree.parents.get(unit_id)][unit_id] = headline[unit_id] if unit_id not in withheld else None
    ranks = {}
    for siblings in by_parent.values():
        ranked = formulas.competition_ranks(siblings)
        ranks.update({unit_id: (rank, len(ranked)) for unit_id, rank in ranked.items()})
    before = _previous_figures(survey_round)
    published = {}
    for unit_id in n:
        shown = unit_id not in withheld
        rank, rank_of = ranks.get(unit_id, (None, None))
        old_headline, old_rank = before.get(unit_id, (None, None)) if shown else (None, None)
        now = headline[unit_id]
        points = now - old_headline if now is not None and old_headline is not None else None
        places = old_rank - rank if rank is not None and old_rank is not None else None
        published[unit_id] = (shown, withheld.get(unit_id, ""), rank, rank_of, points, places)
    for unit_id, result in new.items():
        for name, value in zip(PUBLISHED, published[unit_id], strict=True):
            setattr(result, name, value)
    return {u: published[u] for u, row in stored.items() if tuple(row[3:]) != published[u]}


def previous_round(survey_round: Round):
    """The latest earlier round of the same questionnaire family over the same unit that was opened
    (a draft, or a round never opened, has no figures to compare with)."""
    def started(r):
        return r.opened_at or r.created_at

    candidates = (Round.objects.filter(questionnaire__family=survey_round.questionnaire.family,
                                       unit_id=survey_round.unit_id, opened_at__isnull=False)
                  .exclude(status=Round.Status.DRAFT).exclude(pk=survey_round.pk))
    earlier = [r for r in candidates if (started(r), r.pk) < (started(survey_round), survey_round.pk)]
    return max(earlier, key=lambda r: (started(r), r.pk), default=None)


def _previous_figures(survey_round):
    """{unit: (headline, rank)} of the previous round's shown units."""
    previous = previous_round(survey_round)
    if previous is None:
        return {}
    rows = UnitScore.objects.filter(round=previous, enough=True).values_list("unit_id", "headline", "rank")
    return {unit_id: (headline, rank) for unit_id, headline, rank in rows}


# ---------------------------------------------------------------------------------------------
# Ranks within blocks (khối), read from the stored scores


@dataclass(frozen=True)
class Place:
    block: str
    rank: int | None = None  # None: withheld (not ranked)
    rank_of: int | None = None  # how many units of the block are ranked
    change_places: int | None = None  # positive = up; None when not ranked in this block last round


def _block_ranks(survey_round):
    """{unit: (block, rank, ranked in the block)} of the round's stored scores; the round's own unit
    and units whose block is NOT_RANKED are left out. One query (and one for the round's blocks)."""
    rule = blocks.blocks_for(survey_round)
    rows = (UnitScore.objects.filter(round=survey_round).exclude(unit_id=survey_round.unit_id)
            .values_list("unit_id", "unit__level", "unit__parent__level", "enough", "headline"))
    members = defaultdict(dict)
    for unit_id, level, parent_level, enough, headline in rows:
        block = rule.of(unit_id, level, parent_level)
        if block != blocks.NOT_RANKED:
            members[block][unit_id] = headline if enough else None
    ranks = {}
    for block, values in members.items():
        ranked = formulas.competition_ranks(values)
        for unit_id in values:
            ranks[unit_id] = (block, ranked.get(unit_id), len(ranked))
    return ranks


def block_places(survey_round: Round) -> dict:
    """{unit: Place} of every unit of the round ranked in a block."""
    return _block_places(survey_round, previous_round(survey_round))


def _block_places(survey_round, previous) -> dict:
    """``block_places`` against the ``previous`` round."""
    now = _block_ranks(survey_round)
    before = _block_ranks(previous) if previous is not None else {}
    places = {}
    for unit_id, (block, rank, ranked) in now.items():
        old_block, old_rank, _old_ranked = before.get(unit_id, (None, None, None))
        change = old_rank - rank if rank is not None and old_rank is not None and old_block == block else None
        places[unit_id] = Place(block, rank, ranked if rank is not None else None, change)
    return places


PLACES_KEPT_SECONDS = 24 * 3600  # a round nobody looks at for a day lets its places go


def block_place(survey_round: Round, unit) -> Place | None:
    """The unit's place in its block (``block_places``); None for the round's own unit and units not
    ranked in any block. Read from the round's places kept in Redis (a hash, one field a unit) when
    they were ranked from the scores of the last runs of this round and of the previous one; else
    every unit's place is ranked and kept at once, replacing what the round kept before."""
    previous = previous_round(survey_round)
    version = _places_version(survey_round, previous)
    key = cache.make_and_validate_key(f"block-places:{survey_round.pk}")
    try:
        kept_version, kept = cache_client().hmget(key, ["version", str(unit.pk)])
    except Exception:  # noqa: BLE001 - any Redis failure: rank from the stored scores
        log.warning("block places not kept: Redis unavailable", exc_info=True)
        return _block_places(survey_round, previous).get(unit.pk)
    if kept_version is not None and kept_version.decode() == version:
        return _place_from_text(kept.decode()) if kept is not None else None
    places = _block_places(survey_round, previous)
    _keep_places(key, version, places)
    return places.get(unit.pk)


def _places_version(survey_round, previous) -> str:
    """Which scores the places are ranked from: the round's and the previous round's last finished
    runs (a round's runs finish one after the other, in the order of their ids). One query."""
    rounds = [survey_round.pk] + ([previous.pk] if previous is not None else [])
    runs = dict(ScoreRun.objects.filter(round_id__in=rounds, status=ScoreRun.Status.DONE).order_by()
                .values("round_id").annotate(last=Max("pk")).values_list("round_id", "last"))
    return " ".join(f"{round_id}:{runs.get(round_id)}" for round_id in rounds)


def _keep_places(key, version, places) -> None:
    """Replace the round's kept places in one transaction (a reader sees the old ones or the new)."""
    fields = {"version": version, **{str(unit_id): _place_text(place) for unit_id, place in places.items()}}
    try:
        pipeline = cache_client().pipeline(transaction=True)
        pipeline.delete(key)
        pipeline.hset(key, mapping=fields)
        pipeline.expire(key, PLACES_KEPT_SECONDS)
        pipeline.execute()
    except Exception:  # noqa: BLE001 - the place is given all the same, kept or not
        log.warning("block places not kept: Redis unavailable", exc_info=True)


def _place_text(place: Place) -> str:
    return "|".join("" if value is None else str(value) for value in astuple(place))


def _place_from_text(text: str) -> Place:
    block, *numbers = text.split("|")
    return Place(block, *(int(n) if n else None for n in numbers))


@dataclass
class Block:
    key: str
    label: str
    ranked: int = 0  # units of the block ranked (in the whole round)
    rows: list = field(default_factory=list)  # [(score, Place)], in rank order, withheld units last


def league(survey_round: Round, scope_paths=None) -> list:
    """The league table of every block that has units (``blocks.BLOCKS`` order)."""
    places = block_places(survey_round)
    scores = UnitScore.objects.filter(round=survey_round, unit_id__in=list(places)).select_related("unit")
    tables = {key: Block(key, str(label)) for key, label in blocks.BLOCKS.items()}
    for score in scores:
        place = places[score.unit_id]
        if place.rank is not None:
            tables[place.block].ranked += 1
        if scope_paths is None or any(score.unit.path.startswith(p) for p in scope_paths):
            tables[place.block].rows.append((score, place))
    for table in tables.values():  # ties by name, as people read them (Đ among the Ds)
        table.rows.sort(key=lambda row: (row[1].rank is None, row[1].rank or 0, name_key(row[0].unit.name),
                                         row[0].unit.code))
    return [table for table in tables.values() if table.rows]
