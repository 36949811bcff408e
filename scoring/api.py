"""The score read API: ``/api/v1/scores/<round id>/<unit code>``.

Authenticated by a staff session or ``Authorization: Token <key>`` (``manage.py api_token_create``).
The user needs the scores capability on the unit (head or administrator); anything they may not
see is a 404, as on the pages. ``?by=gender`` (or another of ``scoring.breakdowns``) adds the
unit's figures broken down; an unknown or unavailable breakdown is a 400 naming it.
"""

from django.http import JsonResponse
from django.utils import translation
from django.views.decorators.http import require_GET

from fieldwork.models import Round
from scoring import breakdowns
from scoring.services import api_token_user, scores_for_api
from units import access
from units.models import Unit


def _api_user(request):
    """The user of the request's token or session; None when neither authenticates."""
    header = request.headers.get("Authorization")
    if header:
        scheme, _, key = header.partition(" ")
        return api_token_user(key.strip()) if scheme == "Token" and key.strip() else None
    return request.user if request.user.is_authenticated and request.user.is_active else None


def _json(body, status=200):
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def unit_scores(request, round_id, unit_code):
    user = _api_user(request)
    if user is None:
        response = _json({"error": "log in, or send the header 'Authorization: Token <key>'"}, status=401)
        response["WWW-Authenticate"] = "Token"
        return response
    survey_round = Round.objects.select_related("unit", "questionnaire").filter(pk=round_id).first()
    unit = Unit.objects.filter(code=unit_code).first()
    if (survey_round is None or unit is None or not unit.path.startswith(survey_round.unit.path)
            or not access.user_can(user, unit, access.SCORES)):
        return _json({"error": "not found"}, status=404)
    by = request.GET.get("by")
    if by is not None:
        with translation.override("en"):
            try:
                breakdowns.dimension_for(survey_round, by)
            except breakdowns.BreakdownError as error:
                return _json({"error": str(error)}, status=400)
    body = scores_for_api(survey_round=survey_round, unit=unit,
                          whole_round=access.user_can(user, survey_round.unit, access.SCORES), by=by)
    if body is None:
        return _json({"error": "no scores computed yet"}, status=404)
    return _json(body)
