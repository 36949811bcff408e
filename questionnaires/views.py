"""Administrators' pages for questionnaire versions: the list, one version laid out for reading,
uploading a definition file (stored as a draft) and publishing a draft. The preview on the real
kiosk client is fieldwork's (fieldwork/views_preview.py): it uses the kiosk API's builder."""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from questionnaires import selectors, services
from questionnaires.access import may_load_versions, may_see_versions
from questionnaires.definition import DefinitionError, Problem
from questionnaires.forms import DefinitionUploadForm
from questionnaires.models import QuestionnaireVersion
from surveyapp.spreadsheet import more_problems

OUTCOMES = {
    "created": lambda code: _("Draft %(code)s stored. Read it and preview it, then publish it.") % {"code": code},
    "updated": lambda code: _("Draft %(code)s replaced by the new file.") % {"code": code},
    "unchanged": lambda code: _("%(code)s already holds exactly this definition: nothing changed.") % {"code": code},
}


def _language():
    return "en" if (translation.get_language() or "").startswith("en") else "vi"


def _get_version_for_user(request, code, may=may_see_versions):
    """The version, if the user may see it (or load: ``may``); else 404, as for a unit outside one's roles."""
    if not may(request.user):
        raise Http404("No such questionnaire version.")
    return get_object_or_404(QuestionnaireVersion, code=code)


def _problems_context(problems):
    shown = problems[:settings.IMPORT_ERROR_LIMIT]
    return {"problems": shown, "more": more_problems(len(problems) - len(shown))}


def _upload(request, form):
    """Stores the uploaded file and returns the LoadResult (a message says what happened), or
    returns every problem that kept it from being stored, the form's error saying so."""
    try:
        result = services.questionnaire_upload(raw=form.cleaned_data["file"].read(), by=request.user.get_username())
    except DefinitionError as exc:
        problems = exc.errors
    except services.FrozenVersionError as exc:  # published by someone else meanwhile
        problems = [Problem("code", str(exc))]
    else:
        messages.success(request, OUTCOMES[result.outcome](result.code))
        return result
    form.add_error("file", ngettext("Nothing was stored: the file has %(count)s problem, named below.",
                                    "Nothing was stored: the file has %(count)s problems, named below.",
                                    len(problems)) % {"count": len(problems)})
    return problems


@login_required
@require_http_methods(["GET", "POST"])
def version_list(request):
    """The versions; for those who may load one, the upload form too (POST: a definition file)."""
    may_load = may_load_versions(request.user)
    if not may_see_versions(request.user) or (request.method == "POST" and not may_load):
        raise Http404("No such page.")
    form = DefinitionUploadForm(request.POST, request.FILES) if request.method == "POST" else DefinitionUploadForm()
    outcome = _upload(request, form) if form.is_bound and form.is_valid() else []
    if isinstance(outcome, services.LoadResult):
        return redirect("questionnaire-version", outcome.code)
    return render(request, "questionnaires/version_list.html", {
        "versions": selectors.versions_for_list(request.user), "may_load": may_load, "form": form,
        "language": _language(), **_problems_context(outcome),
    })


@login_required
@require_GET
def version_detail(request, code):
    version = _get_version_for_user(request, code)
    return render(request, "questionnaires/version_detail.html", {
        "version": version, "outline": selectors.version_outline(version, _language()),
        "may_load": may_load_versions(request.user), "preview_units": selectors.preview_units(request.user),
    })


@login_required
@require_GET
def version_definition(request, code):
    """The stored definition file, to read or to start a new version from."""
    version = _get_version_for_user(request, code)
    response = HttpResponse(json.dumps(version.definition, ensure_ascii=False, indent=2) + "\n",
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{version.code}.json"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def version_publish(request, code):
    """GET asks for confirmation (publishing cannot be undone); POST publishes."""
    version = _get_version_for_user(request, code, may=may_load_versions)
    problems = []
    if request.method == "POST":
        try:
            version, published = services.questionnaire_publish(code=version.code, by=request.user.get_username())
        except DefinitionError as exc:
            problems = exc.errors
        else:
            if published:
                messages.success(request, _("%(code)s is published: new rounds can use it, and it can no longer "
                                            "change.") % {"code": version.code})
            else:
                messages.info(request, _("%(code)s was already published.") % {"code": version.code})
            return redirect("questionnaire-version", version.code)
    return render(request, "questionnaires/version_publish.html", {"version": version,
                                                                    **_problems_context(problems)})
