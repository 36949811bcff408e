"""Answering a round at home, on the citizen's own phone, through a personal invitation (issue 19).

The link's page (fieldwork.views_athome) is the kiosk's client (static/kiosk/: the same model,
question screens, checks and words) started by static/athome/athome.js, with the questionnaire
body the kiosk API gives (kiosk_api.questionnaire_body) for the invitation's round as at the
dossier's unit. Nothing about the citizen's contact reaches it, nor the response: the response is
stored by the one writer (fieldwork.responses.response_submit) with channel LINK, without a dossier
hash, and only the invitation learns that it was answered (its ``completed_at``), never which
response answered it.

One response per link: ``athome_submit`` locks the invitation's row, checks it is still
unanswered, stores the response and marks the invitation completed in one transaction; a second
submission waits for the lock, then finds the invitation answered and stores nothing.
"""

import uuid

from django.db import transaction
from django.utils.translation import gettext as _

from fieldwork import invitations
from fieldwork.kiosk_api import questionnaire_body
from fieldwork.models import Invitation, Response
from fieldwork.responses import SubmissionError, SubmitResult, known_answers, response_submit


class Refused(Exception):
    """The link may not be answered: ``reason`` is "unknown", "expired", "used" or "closed"
    (fieldwork.invitations.Opened), or for a unit's link "off" (fieldwork.unitlinks)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def athome_questionnaire(invitation: Invitation) -> dict:
    """What the phone is given: the kiosk API's questionnaire body for the invitation's round, as at
    the dossier's unit (items the unit answers are not asked), never asking a dossier code (the
    invitation is the dossier's)."""
    return phone_questionnaire(invitation.round, invitation.unit)


def phone_questionnaire(survey_round, unit) -> dict:
    """The kiosk API's questionnaire body for a round as at a unit, never asking a dossier code: what
    a citizen's phone is given, from a personal link or a unit's link (fieldwork.unitlinks)."""
    definition = survey_round.questionnaire.parsed
    return questionnaire_body(
        kiosk_name="", unit=unit,
        round_info={"id": survey_round.pk, "name": survey_round.name, "name_en": survey_round.name_en or None,
                    "names": {"vi": survey_round.name, "en": survey_round.name_en or survey_round.name},
                    "ask_dossier_code": False},
        definition=definition, known=known_answers(definition, unit),
    )


def _retry_of_stored(payload) -> SubmitResult | None:
    """The same submission sent again after it was stored (a lost answer, a second tap): its result."""
    try:
        response_id = uuid.UUID(str(payload.get("id")))
    except (AttributeError, ValueError):
        return None
    stored = Response.objects.filter(pk=response_id, channel=Response.Channel.LINK).first()
    return SubmitResult(stored, created=False) if stored is not None else None


def athome_submit(*, token: str, payload) -> SubmitResult:
    """Store the response to a personal link and mark its invitation completed, in one transaction.
    Refused(reason) when the link may not be answered (a retry of the response that answered it
    returns that response, created=False); SubmissionError as the writer raises it."""
    if not isinstance(payload, dict):
        raise SubmissionError(400, {"body": [_("must be a JSON object")]})
    if "dossier_code" in payload:
        raise SubmissionError(400, {"dossier_code": [_("unknown field")]})
    with transaction.atomic():
        found = invitations.invitation_find(token)
        if found.invitation is not None:
            # The row lock makes a second submission wait for the first, then see it answered.
            invitation = (Invitation.objects.select_for_update(of=("self",))
                          .select_related("round", "round__questionnaire", "unit").get(pk=found.invitation.pk))
            if invitation.completed_at is not None:
                found = invitations.Opened(None, "used")
        if found.invitation is None:
            retry = _retry_of_stored(payload) if found.reason == "used" else None
            if retry is None:
                raise Refused(found.reason)
            return retry
        if payload.get("round", invitation.round_id) != invitation.round_id:
            raise SubmissionError(400, {"round": [_("is not the round of this invitation")]})
        result = response_submit(unit=invitation.unit, payload={**payload, "round": invitation.round_id},
                                 channel=Response.Channel.LINK)
        if not result.created:  # an id some other response has: never counted as this link's answer
            raise SubmissionError(409, {"id": [_("a response with this id was already received")]})
        if not invitations.invitation_complete(invitation=invitation):
            raise Refused("used")  # cannot happen under the lock; rolls the response back if it did
    return result
