"""Survey officers' pages for reviewing flagged responses, excluding them and restoring them."""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from fieldwork import exclusions
from fieldwork.models import Exclusion, IntegrityFlag
from fieldwork.selectors import get_round_for_user, in_scope
from surveyapp.limits import PlainTextField


class ExcludeForm(forms.Form):
    response_id = forms.UUIDField(label=gettext_lazy("Response id"))
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), choices=Exclusion.Reason.choices)
    note = PlainTextField(label=gettext_lazy("Note"), max_length=exclusions.NOTE_MAX_LENGTH, required=False,
                          multiline=True, widget=forms.Textarea(attrs={"rows": 2}))


def _exclusions_page(request, survey_round, form, status=200):
    return render(request, "fieldwork/exclusion_list.html", {
        "round": survey_round, "form": form,
        "exclusions": exclusions.round_exclusions(survey_round=survey_round).filter(
            in_scope(survey_round, "response__unit")),
        "log": exclusions.round_exclusion_log(survey_round=survey_round,
                                              scope=in_scope(survey_round, "response__unit")),
        "reasons": Exclusion.Reason.choices,
    }, status=status)


def _review_filter(request) -> tuple[str, int | None]:
    """The queue's filter from ?flag= (a flag's name or an integrity flag's kind) and ?kiosk= (an id);
    anything else is no filter."""
    kind = request.GET.get("flag", "")
    kinds = {"straight_lining", "too_fast", "integrity", *IntegrityFlag.Kind.values}
    kiosk = request.GET.get("kiosk", "")
    return (kind if kind in kinds else ""), (int(kiosk) if kiosk.isascii() and kiosk.isdigit()
                                              and len(kiosk) < 10 else None)


@login_required
@never_cache
def review(request, round_id):
    survey_round = get_round_for_user(request.user, round_id)
    kind, kiosk = _review_filter(request)
    flagged = exclusions.flagged_responses(survey_round=survey_round, kind=kind, kiosk=kiosk).filter(
        in_scope(survey_round))
    page = Paginator(flagged, exclusions.REVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "fieldwork/exclusion_review.html", {
        "round": survey_round, "page": page, "reasons": Exclusion.Reason.choices,
        "min_answers": exclusions.STRAIGHT_LINING_MIN_ANSWERS, "min_seconds": exclusions.review_min_seconds(),
        "filtered": bool(kind or kiosk), "filter_query": urlencode({k: v for k, v in
                                                                    (("flag", kind), ("kiosk", kiosk)) if v}),
        "flag_label": dict(IntegrityFlag.Kind.choices).get(kind, ""),
    })


@login_required
@never_cache
def exclusion_list(request, round_id):
    survey_round = get_round_for_user(request.user, round_id)
    return _exclusions_page(request, survey_round, ExcludeForm())


def _response_of_form(user, survey_round, form):
    """The response whose id was typed, or None with a form error (not a whole-page 404: the id was
    probably mistyped); the same words whether it does not exist or lies outside the user's units."""
    try:
        return exclusions.get_response_for_round(user, survey_round, form.cleaned_data["response_id"])
    except Http404:
        form.add_error("response_id", _("No response of this round among your units has this id: check it."))
        return None


@login_required
@require_POST
def exclude(request, round_id):
    survey_round = get_round_for_user(request.user, round_id)
    form = ExcludeForm(request.POST)
    response = _response_of_form(request.user, survey_round, form) if form.is_valid() else None
    if response is not None:
        try:
            exclusions.response_exclude(response=response, reason=form.cleaned_data["reason"],
                                        note=form.cleaned_data["note"], user=request.user)
        except exclusions.ExclusionError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Response %(id)s is excluded.") % {"id": response.pk})
            back = "fieldwork:review" if request.POST.get("next") == "review" else "fieldwork:exclusions"
            return redirect(back, survey_round.pk)
    return _exclusions_page(request, survey_round, form, status=400)


@login_required
@require_POST
def restore(request, round_id, response_id):
    survey_round = get_round_for_user(request.user, round_id)
    response = exclusions.get_response_for_round(request.user, survey_round, response_id)
    try:
        exclusions.response_restore(response=response, user=request.user)
    except exclusions.ExclusionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Response %(id)s is restored: it counts again.") % {"id": response.pk})
    return redirect("fieldwork:exclusions", survey_round.pk)
