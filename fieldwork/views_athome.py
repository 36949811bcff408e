"""The pages a citizen answers at home on (issue 19): the personal link's page, its two calls (Start,
the response), and the small page where the short code of a printed slip is typed.

The link's page changes nothing on a GET: a messaging app (Zalo, Messenger, an e-mail client) that
fetches the link to show a preview would otherwise count as the citizen opening it. The invitation
is counted opened when the citizen presses Start (POST .../start) or, failing that, when the
response arrives. The two calls carry no cookie and no CSRF token: the signed token in the path is
the credential (as the kiosk's device token), so a forged cross-site request would need it.
"""

import json

from django import forms
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.html import json_script
from django.utils.translation import gettext_lazy, gettext_noop
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from fieldwork import invitations, ratelimit
from fieldwork.athome import Refused, athome_questionnaire, athome_submit
from fieldwork.kiosk_api import in_both
from fieldwork.responses import SubmissionError
from surveyapp.proxy import client_address

# What the clear page of a link that cannot be answered says, and its status.
REFUSED_STATUS = {"unknown": 404, "expired": 410, "used": 410, "closed": 410, "off": 410, "answered": 409}
CODE_TRIES_PER_MINUTE = 10  # short codes typed from one address (a code is a credential: no guessing)


# The at-home screens' own words (the questions and the kiosk's words come with the kiosk's modules).
TEXTS = {
    "consent": gettext_noop(
        "Your answers are anonymous: they are stored without your name, phone number or e-mail address, "
        "and are used only to measure satisfaction with public services, under the Law on Personal Data "
        "Protection (91/2025/QH15). Pressing Start means you agree to answer."),
    "intro": gettext_noop("About 5 minutes. If you close the page, your answers are kept on this phone until you "
                          "come back to the link."),
    "resume": gettext_noop("Continue where you left off"),
    "thanks": gettext_noop("Thank you! Your answers have been received. You can close this page."),
    "used": gettext_noop("This invitation has already been answered. Thank you!"),
    "expired": gettext_noop("This invitation has expired."),
    "closed": gettext_noop("This survey is not open at the moment."),
    "unknown": gettext_noop("This link is not valid. Please check that it was copied whole."),
    # A unit's link for anyone (fieldwork.views_unitlinks):
    "off": gettext_noop("Answering through this link is switched off at the moment. Thank you for your interest."),
    "answered": gettext_noop("You have already answered from this phone. Thank you!"),
    "offline": gettext_noop("Your answers could not be sent: check the connection and press Send again. "
                            "Nothing is lost."),
    "retry": gettext_noop("Send again"),
}


class _Readable(DjangoJSONEncoder):
    """JSON with the Vietnamese letters as they are: escaped as \\uXXXX they would take 6 bytes each
    (json_script's default), and the page's budget counts bytes (README, issue 19)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "ensure_ascii": False})


def storage_key(token) -> str:
    """Where the phone keeps the answers so far to a link: the token's public-id half (not its MAC)."""
    return "sipas.athome." + token[:22]


def refused_page(request, reason, key=None):
    """The clear page of a link that cannot be answered; for a real link's (``key``: where the phone
    keeps its answers so far), the page deletes what the phone kept for it."""
    return render(request, "athome/refused.html", {
        "reason": reason, "message": in_both(TEXTS[reason]),
        "storage_key": key if reason != "unknown" else None,
    }, status=REFUSED_STATUS[reason])


@gzip_page
@never_cache
@require_safe
def athome_page(request, token):
    """The questionnaire on the citizen's phone; a clear page in Vietnamese and English when the link
    cannot be answered. Marks nothing: see the module's docstring. Compressed (the questionnaire in
    it is most of its 40 KB; about 8 KB gzipped): the page echoes nothing a visitor sends but the
    token it was opened with, so compression lets no one guess a secret in it (BREACH)."""
    found = invitations.invitation_find(token)
    if found.invitation is None:
        return refused_page(request, found.reason, storage_key(token))
    # The script appends "start" and "responses" to the base (fieldwork.urls_invitations).
    return phone_page(request, athome_questionnaire(found.invitation),
                      api_base=reverse("fieldwork:invitation-open", args=[token]), key=storage_key(token))


def phone_page(request, questionnaire, *, api_base, key, once_key=None):
    """The questionnaire page of a citizen's phone: the kiosk's modules started by athome.js, given the
    questionnaire body, the base of its API, where the answers so far are kept, and (a unit's link)
    the key that marks this browser as having answered."""
    response = render(request, "athome/app.html", {
        "body": json_script(questionnaire, "athome-questionnaire", encoder=_Readable),
        "texts": json_script({key: in_both(value) for key, value in TEXTS.items()}, "athome-texts", encoder=_Readable),
        "api_base": api_base, "storage_key": key, "once_key": once_key,
        "athome_main": static("athome/athome.js"),
    })
    response["Content-Language"] = "vi"
    return response


def json_refused(reason):
    texts = in_both(TEXTS[reason])
    return JsonResponse({"reason": reason, "error": texts["vi"], "texts": texts},
                        status=409 if reason == "used" else REFUSED_STATUS[reason])


def limited(key, kind="athome", limit=None):
    """A 429 answer when ``key`` (a link's public half, a client's address) asked too often, else None."""
    allowed, retry_after = ratelimit.allow(kind, key, limit=limit, lease=1 if limit else None)
    if allowed:
        return None
    response = JsonResponse({"error": "too many requests; retry later"}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


@csrf_exempt  # the token in the path is the credential; no cookie is read
@never_cache
@require_POST
def athome_start(request, token):
    """Start was pressed: the invitation counts as opened (the first time)."""
    refused = limited(token[:22])
    if refused:
        return refused
    opened = invitations.invitation_open(token)
    if opened.invitation is None:
        return json_refused(opened.reason)
    return JsonResponse({"status": "opened"})


@csrf_exempt  # the token in the path is the credential; no cookie is read
@never_cache
@require_POST
def athome_responses(request, token):
    """The response, as the kiosk API takes it (``id``, ``questionnaire``, times, ``language``,
    ``answers``; ``round`` may be left out): 201 stored, 200 the same again, 400 naming what is wrong
    (in the response's language), 409 already answered, 404/410 a link that cannot be answered."""
    return limited(token[:22]) or submit_json(request, lambda payload: athome_submit(token=token, payload=payload))


def submit_json(request, submit):
    """Read a phone's JSON response and store it with ``submit(payload)``; the JSON answer (see
    ``athome_responses``). Shared by the personal link and the unit link (fieldwork.views_unitlinks)."""
    if len(request.body) > settings.KIOSK_MAX_BODY_BYTES:
        return JsonResponse({"error": f"the body is larger than {settings.KIOSK_MAX_BODY_BYTES} bytes"}, status=413)
    try:
        payload = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return JsonResponse({"errors": {"body": ["not valid JSON"]}}, status=400)
    language = payload.get("language") if isinstance(payload, dict) else None
    with translation.override(language if language in ("vi", "en") else "vi"):
        try:
            result = submit(payload)
        except Refused as exc:
            return json_refused(exc.reason)
        except SubmissionError as exc:
            if exc.status == 400:
                return JsonResponse({"errors": exc.errors}, status=400)
            return JsonResponse({"error": "; ".join(m for ms in exc.errors.values() for m in ms),
                                 "errors": exc.errors}, status=exc.status)
    return JsonResponse({"id": str(result.response_id), "status": "stored"}, status=201 if result.created else 200)


class CodeForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Code on your slip (8 letters and digits)"), max_length=20,
                           widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters",
                                                         "spellcheck": "false", "inputmode": "text"}))


@never_cache
@require_http_methods(["GET", "POST"])
def athome_code(request):
    """The short code of a printed slip, typed by hand: on to the invitation's link, or a clear error.
    In Vietnamese with English beside it, whatever the browser's language (as the link's pages)."""
    with translation.override("vi"):
        response = _code_page(request)
    response["Content-Language"] = "vi"
    return response


def _both_said(message):
    texts = in_both(message)
    return f"{texts['vi']} ({texts['en']})"


def _code_page(request):
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        allowed, _retry = ratelimit.allow("athome-code", client_address(request), limit=CODE_TRIES_PER_MINUTE,
                                          lease=1)
        if not allowed:
            form.add_error("code", _both_said(gettext_noop("Too many codes tried from here: wait a minute and try "
                                                           "again.")))
            status = 429
        else:
            found = invitations.invitation_find_code(form.cleaned_data["code"])
            if found.invitation is not None:
                return redirect("fieldwork:invitation-open", invitations.invitation_token(found.invitation))
            if found.reason != "unknown":
                return refused_page(request, found.reason)
            form.add_error("code", _both_said(gettext_noop("No open survey has this code: check the letters and "
                                                           "digits on your slip.")))
            status = 404
    elif request.method == "POST":
        status = 400
    return render(request, "athome/code.html", {"form": form}, status=status)
