"""Blocks (khối): the groups a round's units are ranked in, as provinces publish them.

One rule decides a unit's block, ``Blocks.of(unit_id, level, parent_level)``: the round's override
for that unit if it has one, else the block of the unit's level (the round's choice for the level,
else ``DEFAULT_BY_LEVEL``). One exception by default: a service centre inside a commune or a
(former) district is that unit's one-stop desk, counted in its figures, and not ranked on its own
(``LOCAL_DESK_PARENTS``; the round's override can still place it in a block). The rule holds
across the whole tree of the round whatever its depth: a commune under a former district is in the
commune block just as one directly under the province. The round's own unit is never ranked
(``scoring.ranking``).

Storage: one ``RoundBlocks`` row per round, only when an officer changed something (``levels``:
{level: block}, ``units``: {unit id: block}; "" = not ranked). It can be changed only while the
round has never been opened: from then on the blocks are frozen, so ranks cannot be regrouped
after people have answered.

- ``blocks_for(survey_round) -> Blocks``: the rule for a round (one query).
- ``save_blocks(survey_round, levels, units, user)``: store a round's choices; ``BlocksFrozen``
  once the round has been opened.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from fieldwork.models import Round, RoundBlocks
from units.models import Unit

DEPARTMENTS, COMMUNES, VERTICAL, DISTRICTS, PROVINCES = "departments", "communes", "vertical", "districts", "provinces"
NOT_RANKED = ""
# In the order the league table and the workbook list them. How a block is written in a rank
# ("3rd of 64 communes and wards") is ``scoring.wording.block_units``.
BLOCKS = {
    DEPARTMENTS: _("Departments and centres (khối sở, ban, ngành)"),
    COMMUNES: _("Communes, wards and special zones (khối xã, phường, đặc khu)"),
    VERTICAL: _("Vertical agencies (police, tax, social insurance)"),
    DISTRICTS: _("Districts (before 1 July 2025)"),
    PROVINCES: _("Provinces and cities"),
}
DEFAULT_BY_LEVEL = {
    Unit.Level.PROVINCE: PROVINCES,
    Unit.Level.DEPARTMENT: DEPARTMENTS,
    Unit.Level.CENTRE: DEPARTMENTS,
    Unit.Level.DISTRICT: DISTRICTS,
    Unit.Level.COMMUNE: COMMUNES,
    Unit.Level.VERTICAL: VERTICAL,
}

# A centre under one of these levels is a local one-stop desk, not a provincial centre.
LOCAL_DESK_PARENTS = {Unit.Level.COMMUNE, Unit.Level.DISTRICT}


class BlocksFrozen(Exception):
    """The round has been opened: its blocks can no longer change."""


@dataclass
class Blocks:
    levels: dict = field(default_factory=dict)  # {level: block}, over DEFAULT_BY_LEVEL
    units: dict = field(default_factory=dict)  # {unit id (int): block}

    def of(self, unit_id, level, parent_level=None) -> str:
        """The unit's block key, or NOT_RANKED (""): the one rule."""
        if unit_id in self.units:
            return self.units[unit_id]
        if level == Unit.Level.CENTRE and parent_level in LOCAL_DESK_PARENTS:
            return NOT_RANKED
        if level in self.levels:
            return self.levels[level]
        return DEFAULT_BY_LEVEL.get(level, NOT_RANKED)


def blocks_for(survey_round: Round) -> Blocks:
    stored = RoundBlocks.objects.filter(round_id=survey_round.pk).values_list("levels", "units").first()
    if stored is None:
        return Blocks()
    levels, units = stored
    return Blocks(levels=dict(levels), units={int(unit_id): block for unit_id, block in units.items()})


def is_frozen(survey_round: Round) -> bool:
    return survey_round.first_opened_at is not None or survey_round.status != Round.Status.DRAFT


def save_blocks(*, survey_round: Round, levels: dict, units: dict, user=None) -> RoundBlocks:
    """Store the round's blocks: ``levels`` {level: block}, only those that differ from the default
    are kept; ``units`` {unit id: block}. Block keys must be in BLOCKS or NOT_RANKED (the form checks
    that and that each unit lies in the round)."""
    allowed = {*BLOCKS, NOT_RANKED}
    if any(b not in allowed for b in [*levels.values(), *units.values()]):
        raise ValueError("unknown block")
    with transaction.atomic():
        locked = Round.objects.select_for_update().get(pk=survey_round.pk)
        if is_frozen(locked):
            raise BlocksFrozen
        changed = {level: block for level, block in levels.items() if DEFAULT_BY_LEVEL.get(level) != block}
        row, _created = RoundBlocks.objects.update_or_create(
            round=locked, defaults={"levels": changed, "units": {str(k): v for k, v in units.items()},
                                    "changed_by": user})
    return row
