"""The kiosk API: ``/api/kiosk/v1/``. Authenticated by ``Authorization: Kiosk <device token>``."""

import json
import logging
from functools import wraps

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from fieldwork import ratelimit
from fieldwork.quotas import closed_for_unit
from fieldwork.responses import SubmissionError, known_answers, response_submit
from fieldwork.services import KioskAuthError, kiosk_authenticate, kiosk_heartbeat, open_round_for_unit
from surveyapp.internals import skip_connection_health_check
from surveyapp.limits import INT_MAX, whole_number

logger = logging.getLogger(__name__)


def kiosk_api(view=None, *, remembered=False):
    """Authenticate the kiosk, apply the per-device limit and the body size limit. ``remembered``:
    the kiosk may come from this process's memory (for submissions, which check it again)."""
    if view is None:
        return lambda view: kiosk_api(view, remembered=remembered)

    @csrf_exempt  # no cookies: the device token in a header is the credential
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        # No health check (CONN_HEALTH_CHECKS: a SELECT 1 before the request's first query, 0.07 ms of
        # CPU in all): a broken connection fails the request with the 503 below, which the kiosk sends
        # again, and Django closes that connection when the request ends.
        skip_connection_health_check()
        # The device is answered in English (the messages of fieldwork.responses and
        # questionnaires.answers follow the active language), whatever language a page this thread
        # served last left active. Not restored: every site request activates its own language
        # (LocaleMiddleware), and activate() costs 1 µs where an override costs 4.
        translation.activate("en")
        try:
            return checked(request, *args, **kwargs)
        except (OperationalError, InterfaceError):  # the database is down or restarting
            logger.warning("kiosk API: database unavailable", exc_info=True)
            response = JsonResponse({"error": "the database is not available: nothing was stored, send it again "
                                              "in a moment"}, status=503)
            response["Retry-After"] = "5"
            return response

    def checked(request, *args, **kwargs):
        try:
            kiosk = kiosk_authenticate(request.META.get("HTTP_AUTHORIZATION"), remembered=remembered)
        except KioskAuthError as exc:
            return JsonResponse({"error": str(exc)}, status=exc.status)
        allowed, retry_after = ratelimit.allow("kiosk", kiosk.pk)
        if not allowed:
            response = JsonResponse({"error": "too many requests from this kiosk; retry later"}, status=429)
            response["Retry-After"] = str(retry_after)
            return response
        length = request.META.get("CONTENT_LENGTH") or "0"
        too_large = not length.isdigit() or int(length) > settings.KIOSK_MAX_BODY_BYTES
        if too_large or (request.method == "POST" and len(request.body) > settings.KIOSK_MAX_BODY_BYTES):
            return JsonResponse(
                {"error": f"the body is larger than {settings.KIOSK_MAX_BODY_BYTES} bytes"}, status=413
            )
        return view(request, kiosk, *args, **kwargs)

    return wrapper


def _json_body(request):
    try:
        return json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:  # ValueError: bad JSON, or a number of 4,300+ digits
        raise SubmissionError(400, {"body": [f"not valid JSON: {exc}"]}) from exc
    except RecursionError as exc:
        raise SubmissionError(400, {"body": ["not valid JSON: nested too deeply"]}) from exc


def _closed_here(survey_round, unit, known):
    """(whole unit closed?, closed strata) for the kiosk: a closed stratum on an answer known from
    the unit closes the whole unit when it is the unit's answer, and concerns no one here otherwise
    (the kiosk is not sent that question, so it could not match it)."""
    unit_closed, strata = closed_for_unit(survey_round=survey_round, unit=unit)
    asked = [s for s in strata if s["item"] not in known]
    return unit_closed or any(known.get(s["item"]) == s["value"] for s in strata), asked


def _round_names(survey_round):
    """The round's name by language: the Vietnamese one where no English name was given."""
    return {"vi": survey_round.name, "en": survey_round.name_en or survey_round.name}


@require_GET
@kiosk_api
def questionnaire(request, kiosk):
    """The open round and its questionnaire, less the items whose answers the server fills in from
    the kiosk's unit (fieldwork.responses.known_answers), as the kiosk shows it."""
    survey_round = open_round_for_unit(kiosk.unit)
    unit_closed, closed_strata, known = False, [], {}
    if survey_round:
        known = known_answers(survey_round.questionnaire.parsed, kiosk.unit)
        unit_closed, closed_strata = _closed_here(survey_round, kiosk.unit, known)
        if unit_closed:
            survey_round = None  # this unit's quota is full and closes: nothing more to ask here
    return JsonResponse(questionnaire_body(
        kiosk_name=kiosk.name, unit=kiosk.unit,
        round_info=survey_round and {
            "id": survey_round.pk, "name": survey_round.name, "name_en": survey_round.name_en or None,
            "names": _round_names(survey_round), "ask_dossier_code": survey_round.ask_dossier_code,
        },
        definition=survey_round and survey_round.questionnaire.parsed, known=known,
        quota_full=unit_closed, closed_strata=closed_strata,
    ))


def in_both(message):
    """A text (marked with gettext_noop) the kiosk shows as it is, in each of its languages: {"vi", "en"}."""
    names = {}
    for language in ("vi", "en"):
        with translation.override(language):
            names[language] = translation.gettext(message)
    return names


def questionnaire_body(*, kiosk_name, unit, round_info, definition, known, quota_full=False, closed_strata=()):
    """The body of GET questionnaire, for the kiosk API and for the preview of a version
    (fieldwork.views_preview), which must show the questionnaire exactly as a kiosk does."""
    return {
        "kiosk": {"name": kiosk_name},
        "unit": unit and {"code": unit.code, "name": unit.name},
        "round": round_info,
        "idle_seconds": settings.KIOSK_IDLE_SECONDS,
        "thanks_seconds": settings.KIOSK_THANKS_SECONDS,
        "questionnaire": definition and definition.api(known=known),
        "quota_full": quota_full,
        "closed_strata": list(closed_strata),
    }


@require_POST
@kiosk_api(remembered=True)
def responses(request, kiosk):
    if request.content_type != "application/json":
        sent = request.content_type or "no content type"
        return JsonResponse({"error": f"send the response as application/json, not {sent}"}, status=415)
    try:
        result = response_submit(unit=kiosk.unit, kiosk=kiosk, payload=_json_body(request))
    except KioskAuthError as exc:  # revoked or given a new token since this process last saw it
        return JsonResponse({"error": str(exc)}, status=exc.status)
    except SubmissionError as exc:
        if exc.status == 400:
            return JsonResponse({"errors": exc.errors}, status=400)
        return JsonResponse({"error": "; ".join(m for ms in exc.errors.values() for m in ms), "errors": exc.errors},
                            status=exc.status)
    return JsonResponse({"id": str(result.response_id), "status": "stored"}, status=201 if result.created else 200)


@require_POST
@kiosk_api
def heartbeat(request, kiosk):
    """``{"waiting": N}``: the kiosk is alive with N responses queued (a whole number that fits the column)."""
    try:
        body = _json_body(request)
    except SubmissionError as exc:
        return JsonResponse({"errors": exc.errors}, status=400)
    if not isinstance(body, dict):
        return JsonResponse({"errors": {"body": ["must be a JSON object, e.g. {\"waiting\": 3}"]}}, status=400)
    waiting = whole_number(body.get("waiting", 0), high=INT_MAX)
    if waiting is None:
        return JsonResponse({"errors": {"waiting": [f"must be a whole number from 0 to {INT_MAX}"]}}, status=400)
    kiosk_heartbeat(kiosk=kiosk, waiting=waiting)
    return HttpResponse(status=204)
