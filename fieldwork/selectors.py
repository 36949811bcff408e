"""Reads for the fieldwork pages."""

from django.shortcuts import get_object_or_404

from fieldwork.models import Round
from units import access


def get_round_for_user(user, round_id, capability=access.FIELDWORK) -> Round:
    """The round, if the user holds the capability on its unit; 404 otherwise (also for no such round)."""
    survey_round = get_object_or_404(Round.objects.select_related("unit", "questionnaire"), pk=round_id)
    access.check_unit_access(user, survey_round.unit, capability)
    return survey_round
