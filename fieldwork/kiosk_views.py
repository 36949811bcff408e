"""The citizen-facing kiosk pages: the app shell, its service worker, pairing, and the no-JS form."""

import uuid

from django import forms
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from fieldwork.forms import PairingForm, ResponseForm
from fieldwork.ids import uuid7
from fieldwork.models import Response
from fieldwork.responses import SubmissionError, known_answers, response_submit
from fieldwork.services import KioskAuthError, kiosk_authenticate, kiosk_pair, open_round_for_unit

TOKEN_COOKIE = "sipas_kiosk"
TEN_YEARS = 10 * 365 * 24 * 3600
ERRORS_NAMED = 5  # at the top of the form without JavaScript, the rest counted


def app(request):
    """The JavaScript kiosk. The service worker keeps a copy for when the network drops."""
    api_base = reverse("fieldwork:api-questionnaire").rsplit("/", 1)[0] + "/"
    response = render(request, "kiosk/app.html", {"api_base": api_base})
    response["Cache-Control"] = "no-cache"
    return response


def service_worker(request):
    """Served from /kiosk/ so that its scope is the kiosk, not the staff pages."""
    with open(finders.find("kiosk/sw.js"), encoding="utf-8") as f:
        response = HttpResponse(f.read(), content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def pair(request, code=""):
    form = PairingForm(request.POST or None, initial={"code": code})
    refused = None
    if request.method == "POST" and form.is_valid():
        try:
            kiosk, token = kiosk_pair(code=form.cleaned_data["code"])
        except KioskAuthError as exc:
            refused = str(exc)  # the page says it in Vietnamese and English, as everything on it
            form.add_error("code", refused)
        else:
            response = render(request, "kiosk/paired.html", {"kiosk": kiosk, "token": token})
            # The JS kiosk keeps the token in localStorage; the no-JS form reads this cookie.
            response.set_cookie(TOKEN_COOKIE, token, max_age=TEN_YEARS, httponly=True, samesite="Strict",
                                secure=request.is_secure())
            return response
    return render(request, "kiosk/pair.html", {"form": form, "refused": refused})


def _form_kiosk(request):
    try:
        return kiosk_authenticate("Kiosk " + request.COOKIES.get(TOKEN_COOKIE, ""))
    except KioskAuthError:
        return None


def _page_language(request):
    return "en" if request.GET.get("lang") == "en" else "vi"


@never_cache
@require_http_methods(["GET", "POST"])
def form(request):
    """The questionnaire as one server-rendered form, stored exactly as the API stores it, in the
    language of ``?lang=`` (Vietnamese unless ``en``): its texts and every message, the answers'
    checks included. No timed refresh: a person may take any time over it; "Làm lại từ đầu" (start
    over) clears it, after a confirmation."""
    language = _page_language(request)
    with translation.override(language):
        response = _form(request, language)
    response["Content-Language"] = language
    return response


def _form(request, language):
    kiosk = _form_kiosk(request)
    survey_round = kiosk and open_round_for_unit(kiosk.unit)
    context = {"kiosk": kiosk, "round": survey_round, "language": language}
    if survey_round is None:
        return render(request, "kiosk/form.html", context)
    definition = survey_round.questionnaire.parsed
    # What the server knows from the kiosk's unit is filled in when the response is stored, not asked.
    known = known_answers(definition, kiosk.unit)
    # "send" the answers; or show them again, unchecked, in the language asked for ("language") or
    # under the question whether to clear them ("restart").
    action = None
    if request.method == "POST":
        action = request.POST["action"] if request.POST.get("action") in ("language", "restart") else "send"
    # The id is made when the form is shown, so a double tap on Send stores one response.
    response_id = request.POST.get("response_id") or str(uuid7())
    if action in ("language", "restart"):
        form = ResponseForm(definition=definition, language=language, known=known)
        form.initial = _answers_so_far(form, request.POST)
    else:
        form = ResponseForm(request.POST or None, definition=definition, language=language, known=known)
    if action == "send" and Response.objects.filter(pk=_uuid_or_none(response_id), kiosk=kiosk).exists():
        # The same form sent twice (a double tap). Looked up here, not left to the writer's retry
        # check: this page stamps submitted_at at each send, so the writer would see a different
        # response under the same id (409).
        return redirect(f"{request.path}thanks?lang={language}")
    if action == "send" and form.is_valid():
        payload = {
            "id": response_id, "round": survey_round.pk, "questionnaire": survey_round.questionnaire.code,
            "started_at": request.POST.get("started_at") or None, "submitted_at": _now_iso(),
            "language": language, "answers": form.answers(asked_only=True),
        }
        if request.POST.get("dossier_code"):
            payload["dossier_code"] = request.POST["dossier_code"]
        try:
            response_submit(unit=kiosk.unit, kiosk=kiosk, payload=payload, channel=Response.Channel.WEB)
        except SubmissionError as exc:
            for field, messages in exc.errors.items():
                form.add_error(field if field in form.fields else None, "; ".join(messages))
        else:
            return redirect(f"{request.path}thanks?lang={language}")
    sections = [
        {"code": section["code"], "title": section["title"][language],
         "lead": (section.get("lead") or {}).get(language),
         "questions": [{"field": form[item["code"]], "kind": item["kind"]}
                       for item in section["items"] if item["code"] in form.fields]}
        for section in definition.doc["sections"]
    ]
    # The error summary names the first questions to look at, and how many more there are.
    marked = [form[name] for name, errors in form.errors.items() if name in form.fields]
    context.update(form=form, sections=[section for section in sections if section["questions"]],
                   marked=marked[:ERRORS_NAMED], marked_more=len(marked[ERRORS_NAMED:]),
                   response_id=response_id, started_at=request.POST.get("started_at") or _now_iso(),
                   dossier_code=request.POST.get("dossier_code", ""), restart=action == "restart",
                   title=survey_round.questionnaire.title(language),
                   other_language="vi" if language == "en" else "en")
    return render(request, "kiosk/form.html", context)


def _answers_so_far(form, data):
    """What the person had chosen or typed, as the form's initial values."""
    return {name: data.getlist(name) if isinstance(field, forms.MultipleChoiceField) else data.get(name)
            for name, field in form.fields.items() if name in data}


def form_thanks(request):
    """Thanks, and a button to an empty form in Vietnamese for the next person: no timed refresh
    (axe-core's meta-refresh, WCAG 2.2.1), the page holds nothing of the response."""
    language = _page_language(request)
    with translation.override(language):
        response = render(request, "kiosk/form_thanks.html", {"language": language})
    response["Content-Language"] = language
    return response


def _uuid_or_none(value):
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _now_iso():
    from django.utils import timezone

    return timezone.now().isoformat()
