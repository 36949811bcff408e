"""The citizen-facing kiosk pages: the app shell, its service worker, pairing, and the no-JS form."""

import uuid

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from fieldwork.forms import PairingForm, ResponseForm
from fieldwork.ids import uuid7
from fieldwork.models import Response
from fieldwork.responses import SubmissionError, known_answers, response_submit
from fieldwork.services import KioskAuthError, kiosk_authenticate, kiosk_pair, open_round_for_unit

TOKEN_COOKIE = "sipas_kiosk"
TEN_YEARS = 10 * 365 * 24 * 3600


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
    if request.method == "POST" and form.is_valid():
        try:
            kiosk, token = kiosk_pair(code=form.cleaned_data["code"])
        except KioskAuthError as exc:
            form.add_error("code", str(exc))
        else:
            response = render(request, "kiosk/paired.html", {"kiosk": kiosk, "token": token})
            # The JS kiosk keeps the token in localStorage; the no-JS form reads this cookie.
            response.set_cookie(TOKEN_COOKIE, token, max_age=TEN_YEARS, httponly=True, samesite="Strict",
                                secure=request.is_secure())
            return response
    return render(request, "kiosk/pair.html", {"form": form})


def _form_kiosk(request):
    try:
        return kiosk_authenticate("Kiosk " + request.COOKIES.get(TOKEN_COOKIE, ""))
    except KioskAuthError:
        return None


@never_cache
@require_http_methods(["GET", "POST"])
def form(request):
    """The questionnaire as one server-rendered form, stored exactly as the API stores it."""
    language = "en" if request.GET.get("lang") == "en" else "vi"
    kiosk = _form_kiosk(request)
    survey_round = kiosk and open_round_for_unit(kiosk.unit)
    context = {"kiosk": kiosk, "round": survey_round, "language": language,
               "refresh_seconds": settings.KIOSK_IDLE_SECONDS * 6}
    if survey_round is None:
        return render(request, "kiosk/form.html", context)
    definition = survey_round.questionnaire.parsed
    # What the server knows from the kiosk's unit is filled in when the response is stored, not asked.
    form = ResponseForm(request.POST or None, definition=definition, language=language,
                        known=known_answers(definition, kiosk.unit))
    # The id is made when the form is shown, so a double tap on Send stores one response.
    response_id = request.POST.get("response_id") or str(uuid7())
    if request.method == "POST" and Response.objects.filter(pk=_uuid_or_none(response_id), kiosk=kiosk).exists():
        return redirect(f"{request.path}thanks?lang={language}")  # the same form sent twice: a double tap
    if request.method == "POST" and form.is_valid():
        payload = {
            "id": response_id, "round": survey_round.pk, "questionnaire": survey_round.questionnaire.code,
            "started_at": request.POST.get("started_at") or None, "submitted_at": _now_iso(),
            "language": language, "answers": form.answers(),
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
        {"title": section["title"][language], "lead": (section.get("lead") or {}).get(language),
         "fields": [form[item["code"]] for item in section["items"] if item["code"] in form.fields]}
        for section in definition.doc["sections"]
    ]
    sections = [section for section in sections if section["fields"]]
    context.update(form=form, sections=sections, response_id=response_id,
                   started_at=request.POST.get("started_at") or _now_iso(),
                   title=survey_round.questionnaire.title(language))
    return render(request, "kiosk/form.html", context)


def form_thanks(request):
    language = "en" if request.GET.get("lang") == "en" else "vi"
    return render(request, "kiosk/form_thanks.html",
                  {"language": language, "seconds": settings.KIOSK_THANKS_SECONDS})


def _uuid_or_none(value):
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _now_iso():
    from django.utils import timezone

    return timezone.now().isoformat()
