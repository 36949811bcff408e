"""Survey officers' pages for paper forms: enter one, import many from CSV, download the template."""

import csv
import uuid
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import localize
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from fieldwork import paper, paper_jobs
from fieldwork.forms import ResponseForm
from fieldwork.ids import uuid7
from fieldwork.models import PaperImportJob, Response, Round
from fieldwork.responses import SubmissionError
from fieldwork.selectors import get_round_for_user, in_scope
from surveyapp.limits import UploadField
from surveyapp.spreadsheet import more_problems


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, unit):
        return f"{unit.code} · {unit.name}"


class PaperEntryForm(forms.Form):
    """Where and when the paper form was filled in; the answers are a ResponseForm beside it."""

    unit = UnitChoiceField(label=gettext_lazy("Unit the form came from"), queryset=None, to_field_name="code")
    form_date = forms.DateField(label=gettext_lazy("Date written on the form"),
                                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    form_id = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class PaperImportForm(forms.Form):
    file = UploadField(label=gettext_lazy("CSV file of paper forms"),
                       max_bytes=lambda: settings.PAPER_UPLOAD_MAX_BYTES,
                       too_large=gettext_lazy("The file is larger than %(size)s: split it into smaller files."))


def _language():
    return "en" if (translation.get_language() or "").startswith("en") else "vi"


def _entry_initial(request):
    """A new form keeps the unit and date of the previous one: officers enter piles from one place."""
    return {"unit": request.GET.get("unit"), "form_date": request.GET.get("date") or timezone.localdate(),
            "form_id": uuid7()}


def _add_errors(answers, entry, errors):
    for key, problems in errors.items():
        form = answers if key in answers.fields else entry
        form.add_error(key if key in form.fields else None, "; ".join(problems))


def _submit(request, survey_round, entry, answers):
    """The stored form's result (its id and whether it is new), or None when nothing was stored."""
    data = entry.cleaned_data
    try:
        return paper.paper_submit(survey_round=survey_round, unit=data["unit"], form_id=data["form_id"],
                                  form_date=data["form_date"], answers=answers.answers())
    except SubmissionError as exc:
        _add_errors(answers, entry, exc.errors)
        return None


def _last_stored(request, survey_round):
    """The form the page has just stored (``stored`` in the query string, set by the redirect after
    storing it), if it is a response of the round in the user's part of it: the page confirms it
    with its short id, linked to the response browser."""
    try:
        response_id = uuid.UUID(request.GET.get("stored", ""))
    except ValueError:
        return None
    stored = Response.objects.filter(round=survey_round, pk=response_id).filter(in_scope(survey_round)).first()
    if stored is not None:
        stored.again = request.GET.get("again") == "1"
    return stored


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def paper_entry(request, round_id):
    survey_round = get_round_for_user(request.user, round_id)
    units = paper.paper_units(survey_round=survey_round, user=request.user)
    entry = PaperEntryForm(request.POST or None, units=units, initial=_entry_initial(request))
    definition = survey_round.questionnaire.parsed
    answers = ResponseForm(request.POST or None, definition=definition, language=_language())
    if request.method == "POST" and all([entry.is_valid(), answers.is_valid()]):
        result = _submit(request, survey_round, entry, answers)
        if result is not None:
            query = urlencode({"unit": entry.cleaned_data["unit"].code, "date": entry.cleaned_data["form_date"],
                               "stored": result.response_id, **({} if result.created else {"again": 1})})
            return redirect(f"{reverse('fieldwork:paper-entry', args=[survey_round.pk])}?{query}")
    elif request.method == "POST" and answers.is_valid():  # show the answers' mistakes now, not on the next try
        _add_errors(answers, entry, paper.paper_answer_errors(survey_round=survey_round, answers=answers.answers(),
                                                              unit=entry.cleaned_data.get("unit")))
    sections = [{"title": s["title"][_language()], "fields": [answers[i["code"]] for i in s["items"]]}
                for s in definition.doc["sections"]]
    return render(request, "fieldwork/paper_entry.html", {
        "round": survey_round, "entry": entry, "answers": answers, "sections": sections,
        "is_draft": survey_round.status == Round.Status.DRAFT,
        "is_closed": survey_round.status == Round.Status.CLOSED,
        "entered_today": paper.paper_entered_today(survey_round=survey_round),
        "stored": _last_stored(request, survey_round) if request.method == "GET" else None,
    })


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def paper_import(request, round_id):
    survey_round = get_round_for_user(request.user, round_id)
    form = PaperImportForm(request.POST or None, request.FILES or None)
    errors, more = [], 0
    if request.method == "POST" and form.is_valid():
        job = _large_file_job(request, survey_round, form.cleaned_data["file"])
        if job is not None:
            return redirect("fieldwork:paper-import-job", survey_round.pk, job.pk)
        try:
            result = paper.paper_import_csv(survey_round=survey_round, file=form.cleaned_data["file"],
                                            user=request.user, max_rows=settings.PAPER_UPLOAD_MAX_ROWS)
        except paper.PaperImportError as exc:
            errors, more = exc.errors, exc.more
        else:
            messages.success(request, _("%(stored)s paper forms stored, %(already)s already stored before.")
                             % {"stored": localize(result.stored), "already": localize(result.already_stored)})
            # The page after the redirect lists their short ids (a file holds at most max_rows forms).
            request.session[_imported_key(survey_round)] = [[str(pk), created] for pk, created in result.ids]
            return redirect("fieldwork:paper-import", survey_round.pk)
    imported = request.session.pop(_imported_key(survey_round), None) if request.method == "GET" else None
    return render(request, "fieldwork/paper_import.html", {
        "round": survey_round, "form": form, "errors": errors, "errors_more": more_problems(more),
        "max_rows": settings.PAPER_UPLOAD_MAX_ROWS,
        "imported": [{"pk": pk, "created": created} for pk, created in imported or []]})


def _large_file_job(request, survey_round, file):
    """A file of more than PAPER_UPLOAD_MAX_ROWS forms goes to the worker as a job (the page then
    shows the job); a smaller one is imported in the request, as before (None). A file that is not
    UTF-8 text or not CSV is left to the import, which names the problem."""
    data = file.read()
    file.seek(0)
    try:
        text = data.decode("utf-8-sig")
        if paper_jobs.count_rows(text) <= settings.PAPER_UPLOAD_MAX_ROWS:
            return None
    except (UnicodeDecodeError, csv.Error):  # the import in the request names the problem
        return None
    return paper_jobs.paper_job_create(survey_round=survey_round, user=request.user, text=text)


def _job_for_user(request, round_id, job_id):
    survey_round = get_round_for_user(request.user, round_id)  # 404 outside the user's fieldwork roles
    return get_object_or_404(PaperImportJob.objects.select_related("round"), round=survey_round, pk=job_id)


@login_required
@never_cache
@require_GET
def paper_import_job(request, round_id, job_id):
    job = _job_for_user(request, round_id, job_id)
    return render(request, "fieldwork/paper_import_job.html", {
        "round": job.round, "job": job, "finished": job.status in FINISHED,
        "errors_more": more_problems(job.problems_more),
        "responses_url": f"{reverse('fieldwork:responses', args=[job.round.pk])}?source=paper_import"})


@login_required
@never_cache
@require_GET
def paper_import_job_status(request, round_id, job_id):
    job = _job_for_user(request, round_id, job_id)
    return JsonResponse({"status": job.status, "finished": job.status in FINISHED})


FINISHED = (PaperImportJob.Status.DONE, PaperImportJob.Status.FAILED)


def _imported_key(survey_round):
    return f"paper_import_ids_{survey_round.pk}"


def _csv_download(text, filename):
    # The BOM makes Excel read the file as UTF-8 (Vietnamese letters); the import accepts it.
    response = HttpResponse(("\ufeff" + text).encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def paper_template(request, round_id):
    survey_round = get_round_for_user(request.user, round_id)
    return _csv_download(paper.paper_template_csv(survey_round=survey_round),
                         f"paper-forms-round-{survey_round.pk}.csv")


@login_required
@require_GET
def paper_codebook(request, round_id):
    survey_round = get_round_for_user(request.user, round_id)
    return _csv_download(paper.paper_codebook_csv(survey_round=survey_round),
                         f"paper-forms-round-{survey_round.pk}-codebook.csv")
