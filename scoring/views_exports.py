"""Downloads of a unit's scores (XLSX, CSV), its raw responses (CSV, officers) and its printable
report (HTML for the browser's print, and PDF).

Every view takes the round and the unit from the URL and checks them together: the user needs the
capability on the unit, and the unit must lie in the round's subtree; anything else is a 404, so a
round id of another province gives nothing away.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import translation
from django.views.decorators.http import require_GET

from fieldwork.models import Round
from scoring import exports, pdf, report, report_docx
from surveyapp import spreadsheet
from units import access

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _get_round_and_unit(request, round_id, unit_code, capability):
    survey_round = get_object_or_404(Round.objects.select_related("unit", "questionnaire"), pk=round_id)
    unit = access.get_unit_for_user(request.user, unit_code, capability)
    if not unit.path.startswith(survey_round.unit.path):
        raise Http404("The unit is not in the round.")
    return survey_round, unit


def _download(response, filename):
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _name(survey_round, unit, suffix):
    return f"sipas-round{survey_round.pk}-{unit.code}{suffix}"  # codes are letters, digits, . - _


def _dialect(request):
    """The CSV variant asked for: ``?dialect=excel-vi`` for Excel set to Vietnamese, else the standard one."""
    return request.GET.get("dialect", spreadsheet.STANDARD)


def _csv_name(survey_round, unit, suffix, dialect):
    return _name(survey_round, unit, f"{suffix}-excel-vi.csv" if dialect == spreadsheet.EXCEL_VI else f"{suffix}.csv")


def _bad_request(exc):
    return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")


@login_required
@require_GET
def scores_xlsx(request, round_id, unit_code):
    survey_round, unit = _get_round_and_unit(request, round_id, unit_code, access.SCORES)
    body = exports.scores_xlsx(survey_round=survey_round, unit=unit, language=translation.get_language())
    return _download(HttpResponse(body, content_type=XLSX), _name(survey_round, unit, ".xlsx"))


@login_required
@require_GET
def scores_csv(request, round_id, unit_code):
    survey_round, unit = _get_round_and_unit(request, round_id, unit_code, access.SCORES)
    table, dialect = request.GET.get("table", "units"), _dialect(request)
    try:
        lines = exports.scores_csv(survey_round=survey_round, unit=unit, table=table,
                                   language=translation.get_language(), dialect=dialect)
    except exports.ExportError as exc:
        return _bad_request(exc)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    return _download(response, _csv_name(survey_round, unit, f"-{table}", dialect))


@login_required
@require_GET
def responses_csv(request, round_id, unit_code):
    survey_round, unit = _get_round_and_unit(request, round_id, unit_code, access.FIELDWORK)
    dialect = _dialect(request)
    try:
        if request.GET.get("part") == "codebook":
            lines = exports.responses_codebook_csv(survey_round=survey_round, language=translation.get_language(),
                                                   dialect=dialect)
            suffix = "-responses-codebook"
        else:
            lines = exports.responses_csv(survey_round=survey_round, unit=unit, dialect=dialect)
            suffix = "-responses"
    except exports.ExportError as exc:
        return _bad_request(exc)
    return _download(StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8"),
                     _csv_name(survey_round, unit, suffix, dialect))


@login_required
@require_GET
def report_page(request, round_id, unit_code):
    survey_round, unit = _get_round_and_unit(request, round_id, unit_code, access.SCORES)
    data = report.unit_report(survey_round=survey_round, unit=unit, language=translation.get_language())
    response = render(request, "scoring/report.html", {"report": data, "survey_round": survey_round, "unit": unit})
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def report_pdf(request, round_id, unit_code):
    survey_round, unit = _get_round_and_unit(request, round_id, unit_code, access.SCORES)
    data = report.unit_report(survey_round=survey_round, unit=unit, language=translation.get_language())
    body = pdf.report_pdf(data)
    return _download(HttpResponse(body, content_type="application/pdf"), _name(survey_round, unit, "-report.pdf"))


@login_required
@require_GET
def report_docx_download(request, round_id, unit_code):
    survey_round, unit = _get_round_and_unit(request, round_id, unit_code, access.SCORES)
    data = report.unit_report(survey_round=survey_round, unit=unit, language=translation.get_language())
    body = report_docx.report_docx(data, channels=report.channel_counts(survey_round=survey_round, unit=unit),
                                   exclusions=report.exclusion_reasons(survey_round=survey_round, unit=unit))
    return _download(HttpResponse(body, content_type=DOCX), _name(survey_round, unit, "-report.docx"))
