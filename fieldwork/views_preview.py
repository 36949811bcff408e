"""Previewing a questionnaire version exactly as a citizen sees it, storing nothing.

The page is the real kiosk client (static/kiosk/, its frame as in templates/kiosk/app.html) pointed
at a preview API that answers like the kiosk API: the same questionnaire body
(kiosk_api.questionnaire_body) for the version instead of a round's, as at a unit the
administrator chose (an item known from the unit is not asked there, as on a kiosk); and a POST
of a response checked as the kiosk API checks it and answered as if stored, so that the citizen's
flow ends on the thank-you screen, though nothing is written. No service worker, and a banner.

The kiosk sends no cookies (``credentials: "omit"``) but its device token, so the page lends it a
preview key in place of one (static/questionnaires/preview.js): signed for the staff member, valid
for the day, useless for anything but this API. The API also takes the staff session itself (and
then its CSRF token, as every staff page).
Only administrators (questionnaires.access.may_see_versions) see a preview; anyone else gets 404.
"""

import datetime
import json
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from fieldwork.kiosk_api import in_both, questionnaire_body
from fieldwork.responses import SubmissionError, known_answers, parse_envelope
from questionnaires.access import may_see_versions
from questionnaires.answers import AnswerErrors, pack_answers
from questionnaires.models import QuestionnaireVersion
from units import access

KEY_PREFIX = "preview."  # preview.js tells a preview key from a paired kiosk's token by it
KEY_SALT = "fieldwork.preview-key"
NO_UNIT = "-"  # in the API's path: a preview at no unit (every item asked)


# ---------------------------------------------------------------------------------------------
# The preview key


def preview_key(user, day=None) -> str:
    """The same key all day for one user (so two preview tabs lend the kiosk the same token), and
    a new one after a password change (the session hash is in it)."""
    day = day or timezone.localdate()
    value = {"u": user.pk, "h": user.get_session_auth_hash()[:16], "d": day.isoformat()}
    return KEY_PREFIX + signing.Signer(salt=KEY_SALT).sign_object(value)


def _user_for_key(key):
    try:
        value = signing.Signer(salt=KEY_SALT).unsign_object(key[len(KEY_PREFIX):])
        day = datetime.date.fromisoformat(value["d"])
        user = get_user_model().objects.get(pk=value["u"], is_active=True)
    except (signing.BadSignature, KeyError, TypeError, ValueError, get_user_model().DoesNotExist):
        return None
    fresh = timezone.localdate() - day <= datetime.timedelta(days=1)  # a page opened just before midnight
    return user if fresh and constant_time_compare(value["h"], user.get_session_auth_hash()[:16]) else None


def _api_user(request):
    """(user, by key): the preview key's user, else the session's (None: neither)."""
    scheme, _space, key = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme == "Kiosk" and key.startswith(KEY_PREFIX):
        return _user_for_key(key), True
    return (request.user if request.user.is_authenticated else None), False


def _preview_unit(user, code):
    """The unit the preview is at (None: every item asked); 404 outside the user's units."""
    return None if code in (None, "", NO_UNIT) else access.get_unit_for_user(user, code, access.ADMINISTER)


def preview_api(view):
    """401 without a key or a session (as the kiosk API without a token), 404 for anyone who may not
    preview or for an unknown version or unit; messages in English, as the kiosk API's."""

    # The kiosk sends its key in a header and no cookie: no CSRF token either. A request on the staff
    # session is checked as every staff form is.
    @csrf_exempt
    @wraps(view)
    def wrapper(request, code, unit_code):
        user, by_key = _api_user(request)
        if user is None:
            return JsonResponse({"error": "a preview key or a staff session is needed"}, status=401)
        if not by_key:
            refused = CsrfViewMiddleware(lambda request: None).process_view(request, None, (), {})
            if refused is not None:
                return refused
        with translation.override("en"):
            try:
                if not may_see_versions(user):
                    raise Http404
                version = get_object_or_404(QuestionnaireVersion, code=code)
                unit = _preview_unit(user, unit_code)
            except Http404:
                return JsonResponse({"error": "not found"}, status=404)
            return view(request, version, unit)

    return wrapper


# ---------------------------------------------------------------------------------------------
# The API the previewed kiosk talks to


@require_GET
@preview_api
def preview_questionnaire(request, version, unit):
    definition = version.parsed
    known = known_answers(definition, unit) if unit else {}
    names = in_both(gettext_noop("Preview"))  # the round's name, under the questionnaire's title
    return JsonResponse(questionnaire_body(
        kiosk_name=in_both(gettext_noop("Preview — nothing is stored"))["vi"], unit=unit,
        round_info={"id": None, "name": names["vi"], "name_en": names["en"], "names": names,
                    "ask_dossier_code": False},
        definition=definition, known=known,
    ))


def _checked(request, version, unit):
    """The kiosk API's checks of a response (its envelope, then every answer against the version,
    with those known from the unit), without a round; SubmissionError(400) naming what is wrong."""
    if len(request.body) > settings.KIOSK_MAX_BODY_BYTES:
        raise SubmissionError(413, {"body": [f"the body is larger than {settings.KIOSK_MAX_BODY_BYTES} bytes"]})
    try:
        payload = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise SubmissionError(400, {"body": ["not valid JSON"]})
    envelope = parse_envelope(payload)
    if payload["questionnaire"] != version.code:
        raise SubmissionError(400, {"questionnaire": [f"'{payload['questionnaire']}' is not the previewed "
                                                      f"version ({version.code})"]})
    try:
        pack_answers(version.parsed, payload.get("answers"), known=known_answers(version.parsed, unit) if unit else {})
    except AnswerErrors as exc:
        raise SubmissionError(400, exc.errors)
    return envelope


@require_POST
@preview_api
def preview_responses(request, version, unit):
    """Answers as the kiosk API would have after storing it (201), or its 400; stores nothing."""
    try:
        envelope = _checked(request, version, unit)
    except SubmissionError as exc:
        if exc.status == 400:
            return JsonResponse({"errors": exc.errors}, status=400)
        return JsonResponse({"error": "; ".join(m for ms in exc.errors.values() for m in ms)}, status=exc.status)
    return JsonResponse({"id": str(envelope.id), "status": "previewed, not stored"}, status=201)


@require_POST
@preview_api
def preview_heartbeat(request, version, unit):
    return HttpResponse(status=204)


@login_required
def no_service_worker(request):
    """The preview's data-sw-url: a 404, so the kiosk's service worker registration fails there and
    nothing of the preview is cached (the kiosk has no switch to register none)."""
    raise Http404("The preview has no service worker.")


# ---------------------------------------------------------------------------------------------
# The page


@login_required
@require_GET
def preview(request, code):
    """The kiosk client at ?unit=CODE (default: the first unit the user administers)."""
    if not may_see_versions(request.user):
        raise Http404("No such questionnaire version.")
    version = get_object_or_404(QuestionnaireVersion, code=code)
    requested = request.GET.get("unit")
    if requested is None:
        first = access.top_units(request.user, access.ADMINISTER).first()
        requested = first.code if first else NO_UNIT
    try:
        unit = _preview_unit(request.user, requested)
    except Http404:  # a unit code typed or kept from elsewhere: say so on the version's page
        messages.error(request, _("No unit with the code “%(code)s” among the units you administer: choose one "
                                  "from the list.") % {"code": requested})
        return redirect("questionnaire-version", version.code)
    # The kiosk appends "questionnaire", "responses" and "heartbeat" to its API base.
    questionnaire_url = reverse("fieldwork:questionnaire-preview-api-questionnaire",
                                args=[version.code, unit.code if unit else NO_UNIT])
    api = questionnaire_url.removesuffix("questionnaire")
    return render(request, "questionnaires/preview_kiosk.html", {
        "version": version, "unit": unit, "api_base": api,
        "preview_key": preview_key(request.user), "kiosk_main": static("kiosk/main.js"),
        "no_sw_url": reverse("fieldwork:questionnaire-preview-no-sw"),
    })
