"""A unit's link for anyone (issue 19): the QR code on the poster at a unit's desk opens the round's
questionnaire on the citizen's own phone, without a personal invitation. The one writer of UnitLink.

The link names the round and the unit, signed with the secret key (``salted_hmac``, truncated to
96 bits), so no row is needed to print it and a made-up or altered link is worthless; it carries
no personal token. The response goes through the one writer (``response_submit``) with channel
POSTER, so the score pages tell it from the kiosk's and the personal link's; it counts in the unit
link's row (``UnitLink.responses``) in the same transaction, which is what the integrity checks'
beat reads to know there is something new to check (as it reads the kiosks' day counters).

Anyone with the poster can answer, as many times as they like: the guards are a rate limit per
client address (``fieldwork.views_unitlinks``), a one-response-per-browser flag (a cookie and a
localStorage key: it stops a second answer by mistake, not someone who clears them: no security
boundary), the integrity checks (the unit link is one device, like a kiosk: bursts, runs of
identical or all-top answers, answers outside opening hours), and the officer's switch, off for a
round or for one unit, which makes the link's page say so and store nothing.
"""

import struct
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from fieldwork.athome import Refused
from fieldwork.models import Response, Round, UnitLink
from fieldwork.responses import SubmissionError, SubmitResult, response_submit
from fieldwork.selectors import in_scope, round_units
from fieldwork.tokens import token_read, token_sign
from units.models import Unit

SALT = "fieldwork.unitlink"


@dataclass
class Found:
    round: Round | None
    unit: Unit | None
    reason: str  # "" when it may be answered; else "unknown", "closed" or "off"


# ---------------------------------------------------------------------------------------------
# Links


def unit_link_token(survey_round: Round, unit: Unit) -> str:
    """The token of the unit's link in the round: the two ids and a MAC of them (27 characters)."""
    return token_sign(struct.pack(">II", survey_round.pk, unit.pk), SALT)


def unit_link(survey_round: Round, unit: Unit) -> str:
    """The unit's link in the round, whole (what its poster's QR code holds)."""
    path = reverse("fieldwork:unit-link", args=[unit_link_token(survey_round, unit)])
    return settings.SITE_URL.rstrip("/") + path


def _ids(token) -> tuple[int, int] | None:
    """(round id, unit id) of a token whose MAC is right (under the key or one of its fallbacks)."""
    ids = token_read(token, SALT, 8)
    return None if ids is None else struct.unpack(">II", ids)


def unit_link_find(token: str) -> Found:
    """The round and unit of a unit link when it may be answered now, changing nothing; else why not:
    "unknown" (a made-up or altered link, or a unit no longer in the round), "closed" (the round is
    not open) or "off" (an officer switched the round's unit links, or this unit's, off). Two queries."""
    ids = _ids(token)
    survey_round = Round.objects.select_related("questionnaire", "unit").filter(pk=ids[0]).first() if ids else None
    unit = Unit.objects.filter(pk=ids[1]).first() if survey_round else None
    if unit is None or not unit.path.startswith(survey_round.unit.path) or not survey_round.has_unit_open(unit):
        return Found(None, None, "unknown")
    if survey_round.status != Round.Status.OPEN:
        return Found(None, None, "closed")
    if is_off(survey_round, unit):
        return Found(None, None, "off")
    return Found(survey_round, unit, "")


def is_off(survey_round: Round, unit: Unit) -> bool:
    return UnitLink.objects.filter(Q(unit__isnull=True) | Q(unit=unit), round=survey_round, off=True).exists()


# ---------------------------------------------------------------------------------------------
# Answering

COUNT_SQL = """
INSERT INTO fieldwork_unitlink (round_id, unit_id, off, responses)
VALUES (%s, %s, false, 1)
ON CONFLICT (round_id, unit_id) DO UPDATE SET responses = fieldwork_unitlink.responses + 1
"""


def unit_link_submit(*, token: str, payload) -> SubmitResult:
    """Store a response to a unit link through the one writer (channel POSTER, the link's unit and
    round) and count it on the unit link, in one transaction. Refused(reason) when the link may not
    be answered ("unknown", "closed", "off"); SubmissionError as the writer raises it (a retry of a
    stored response returns it, created=False, and counts nothing)."""
    if not isinstance(payload, dict):
        raise SubmissionError(400, {"body": [_("must be a JSON object")]})
    if "dossier_code" in payload:
        raise SubmissionError(400, {"dossier_code": [_("unknown field")]})
    with transaction.atomic():
        found = unit_link_find(token)
        if found.round is None:
            raise Refused(found.reason)
        if payload.get("round", found.round.pk) != found.round.pk:
            raise SubmissionError(400, {"round": [_("is not the round of this link")]})
        result = response_submit(unit=found.unit, payload={**payload, "round": found.round.pk},
                                 channel=Response.Channel.POSTER)
        if result.created:
            with connection.cursor() as cursor:
                cursor.execute(COUNT_SQL, [found.round.pk, found.unit.pk])
    return result


# ---------------------------------------------------------------------------------------------
# The officer's switch and the page's reads


def unit_links_switch(*, survey_round: Round, unit: Unit | None, off: bool, user) -> None:
    """Switch the round's unit links (``unit`` None) or one unit's off or back on."""
    UnitLink.objects.update_or_create(round=survey_round, unit=unit,
                                      defaults={"off": off, "changed_by": user, "changed_at": timezone.now()})


def poster_units(survey_round: Round):
    """The units of the round a desk poster may be printed for, in tree order: the round's subtree
    less the units that did not exist during it (the poster pages are for the round's owners)."""
    return round_units(survey_round)


def unit_link_states(survey_round: Round) -> dict:
    """For the page: whether the round's unit links are off, and per unit id (in the user's part of the
    round) its row (off, responses). One query."""
    rows = UnitLink.objects.filter(Q(unit__isnull=True) | in_scope(survey_round), round=survey_round).select_related(
        "unit")
    states = {"round_off": False, "units": {}}
    for row in rows:
        if row.unit_id is None:
            states["round_off"] = row.off
        else:
            states["units"][row.unit_id] = row
    return states
