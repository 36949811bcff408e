"""The round's integrity panel (``/rounds/<id>/integrity/``): each kiosk's flags (fieldwork.integrity),
the days with more kiosk responses than dossiers, the thresholds, "check now", and the desks' daily
dossier counts (typed or uploaded). Survey officers and administrators, of their units only."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from fieldwork import desk_days, integrity
from fieldwork.models import IntegrityFlag
from fieldwork.selectors import get_round_for_user
from surveyapp.limits import PlainTextField, UploadField, WholeNumberField
from surveyapp.spreadsheet import more_problems

DESK_DAYS_MAX_BYTES = 2 * 1024 * 1024
DESK_DAYS_MAX_TEXT = 200_000


class ThresholdsForm(forms.Form):
    min_gap_seconds = WholeNumberField(
        label=gettext_lazy("Shortest plausible time between two responses of a kiosk (seconds)"), required=False,
        min_value=1, max_value=3600, help_text=gettext_lazy("Empty: the default."))
    run_length = WholeNumberField(
        label=gettext_lazy("Responses in a row with identical or all-top answers that are flagged"), required=False,
        min_value=2, max_value=1000, help_text=gettext_lazy("Empty: the default."))


class DeskDaysForm(forms.Form):
    file = UploadField(
        label=gettext_lazy("CSV file"), required=False,
        help_text=gettext_lazy("UTF-8, with the header unit_code,date,dossiers; dates as YYYY-MM-DD."),
        max_bytes=DESK_DAYS_MAX_BYTES,
        too_large=gettext_lazy("The file is larger than %(size)s: split it into smaller files."))
    text = PlainTextField(
        label=gettext_lazy("Or type the counts"), required=False, max_length=DESK_DAYS_MAX_TEXT, multiline=True,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "unit_code,date,dossiers\n02212,2026-12-01,40"}),
        help_text=gettext_lazy("The same lines as the file, the header first."))

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("file") and not (cleaned.get("text") or "").strip():
            raise forms.ValidationError(_("Choose a file or type the counts."))
        return cleaned


def _panel(request, survey_round, *, thresholds_form=None, days_form=None, problems=(), more=0, status=200):
    row = integrity.status(survey_round)
    return render(request, "fieldwork/integrity_panel.html", {
        "round": survey_round, "kinds": IntegrityFlag.Kind.choices,
        "kiosks": integrity.kiosk_rows(survey_round), "unit_links": integrity.unit_link_rows(survey_round),
        "over_days": integrity.over_dossier_days(survey_round),
        "check": row, "limits": integrity.thresholds(survey_round, row),
        "thresholds_form": thresholds_form or ThresholdsForm(initial={
            "min_gap_seconds": row and row.min_gap_seconds, "run_length": row and row.run_length}),
        "days_form": days_form or DeskDaysForm(), "problems": problems, "more": more_problems(more),
        "desk_days": desk_days.recent_desk_days(survey_round),
    }, status=status)


@login_required
@require_GET
@never_cache
def panel(request, round_id):
    return _panel(request, get_round_for_user(request.user, round_id))


@login_required
@require_POST
def check_now(request, round_id):
    survey_round = get_round_for_user(request.user, round_id)
    if integrity.integrity_request(round_id=survey_round.pk):
        messages.success(request, _("The check is queued: this page shows its flags once it has run."))
    else:
        messages.info(request, _("A check is already queued; it will see every response received so far."))
    return redirect("fieldwork:integrity", survey_round.pk)


@login_required
@require_POST
def thresholds(request, round_id):
    survey_round = get_round_for_user(request.user, round_id, whole=True)
    form = ThresholdsForm(request.POST)
    if not form.is_valid():
        return _panel(request, survey_round, thresholds_form=form, status=400)
    integrity.integrity_settings_update(survey_round=survey_round, **form.cleaned_data)
    messages.success(request, _("The thresholds are saved; a check with them is queued."))
    return redirect("fieldwork:integrity", survey_round.pk)


@login_required
@require_POST
def dossier_counts(request, round_id):
    survey_round = get_round_for_user(request.user, round_id)
    form = DeskDaysForm(request.POST, request.FILES)
    if not form.is_valid():
        return _panel(request, survey_round, days_form=form, status=400)
    try:
        stored = desk_days.desk_days_import(survey_round=survey_round, user=request.user,
                                            file=form.cleaned_data["file"], text=form.cleaned_data["text"])
    except desk_days.DeskDayError as exc:
        return _panel(request, survey_round, days_form=form, problems=exc.errors, more=exc.more, status=400)
    messages.success(request, _("%(n)s dossier counts are saved; a check with them is queued.") % {"n": stored})
    return redirect("fieldwork:integrity", survey_round.pk)
