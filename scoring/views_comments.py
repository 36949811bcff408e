"""What citizens wrote (issue 18): a round's comments for a unit and its subtree, for heads and
survey officers; officers hide and unhide comments that name a person or give a phone number.

The page lives in scoring because it shows each response's factor scores (scoring's rule), and
scoring may import fieldwork, where the hiding is stored and written (fieldwork.comments)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from fieldwork import comments as fieldwork_comments
from fieldwork.models import CommentHiding, Response
from scoring import comments, selectors
from surveyapp.limits import PlainTextField
from units import access

# Heads read scores, officers run fieldwork: OVERVIEW is the capability both hold (and administrators).
READERS = access.OVERVIEW


class CommentSearchForm(forms.Form):
    q = PlainTextField(label=gettext_lazy("Words in the comment"), required=False,
                       max_length=fieldwork_comments.SEARCH_MAX_LENGTH,
                       help_text=gettext_lazy("Accents and capitals do not matter: “ha noi” finds “Hà Nội”."))
    page = forms.IntegerField(label=gettext_lazy("Page"), required=False, min_value=1, max_value=1_000_000,
                              widget=forms.HiddenInput)

    def clean_q(self):
        return " ".join(self.cleaned_data["q"].split())


class HideForm(forms.Form):
    reason = forms.ChoiceField(
        label=gettext_lazy("Reason"), choices=CommentHiding.Reason.choices,
        error_messages={"invalid_choice": gettext_lazy("Choose one of the reasons in the list.")})
    note = PlainTextField(label=gettext_lazy("Note"), max_length=fieldwork_comments.NOTE_MAX_LENGTH, required=False)


def _round_and_unit(request, round_id, unit_code):
    survey_round = selectors.get_round_for_scores(request.user, round_id, READERS)
    unit = selectors.get_unit_in_round(request.user, survey_round, unit_code, READERS)
    return survey_round, unit


@login_required
@require_GET
def round_comments(request, round_id):
    """The round's comments: the round's unit, or the first unit of the user's part of it."""
    survey_round = selectors.get_round_for_scores(request.user, round_id, READERS)
    code = survey_round.scope_paths[0].strip("/").split("/")[-1]
    return redirect("scores-comments", survey_round.pk, code)


@login_required
@never_cache
@require_GET
def comment_list(request, round_id, unit_code):
    survey_round, unit = _round_and_unit(request, round_id, unit_code)
    form = CommentSearchForm(request.GET)
    page = rows = None
    if form.is_valid():
        factor_labels = selectors.labels(survey_round, get_language())["factors"]
        page, rows = comments.comment_page(survey_round=survey_round, unit=unit, user=request.user,
                                           search=form.cleaned_data["q"],
                                           page_number=form.cleaned_data["page"] or 1, factor_labels=factor_labels)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "scoring/comments.html", {
        "survey_round": survey_round, "unit": unit, "form": form, "page": page, "rows": rows,
        "search_query": query.urlencode(), "hide_form": HideForm(), "full_query": request.GET.urlencode(),
        "breadcrumb": selectors.breadcrumb(survey_round=survey_round, unit=unit),
    }, status=200 if page is not None else 400)


def _response_for_officer(request, survey_round, unit, response_id) -> Response:
    response = get_object_or_404(Response.objects.select_related("unit", "round__questionnaire"),
                                 pk=response_id, round=survey_round, unit__path__startswith=unit.path)
    if not comments.may_hide(request.user, response):
        raise Http404("Not found.")
    return response


def _back(request, survey_round, unit):
    url = reverse("scores-comments", args=[survey_round.pk, unit.code])
    back = QueryDict(request.POST.get("back", "")).urlencode()  # re-encoded: no raw text reaches the header
    return redirect(f"{url}?{back}" if back else url)


@login_required
@require_POST
def comment_hide(request, round_id, unit_code, response_id):
    survey_round, unit = _round_and_unit(request, round_id, unit_code)
    response = _response_for_officer(request, survey_round, unit, response_id)
    form = HideForm(request.POST)
    if form.is_valid():
        try:
            fieldwork_comments.comment_hide(response=response, reason=form.cleaned_data["reason"],
                                            note=form.cleaned_data["note"], user=request.user)
        except fieldwork_comments.CommentError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The comment is hidden: heads see who hid it and why, not its text."))
    else:
        errors = "; ".join(f"{form.fields[name].label}: {' '.join(errs)}" for name, errs in form.errors.items())
        messages.error(request, _("The comment was not hidden. %(errors)s") % {"errors": errors})
    return _back(request, survey_round, unit)


@login_required
@require_POST
def comment_unhide(request, round_id, unit_code, response_id):
    survey_round, unit = _round_and_unit(request, round_id, unit_code)
    response = _response_for_officer(request, survey_round, unit, response_id)
    try:
        fieldwork_comments.comment_unhide(response=response, user=request.user)
    except fieldwork_comments.CommentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The comment is shown to heads again."))
    return _back(request, survey_round, unit)
