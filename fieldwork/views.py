"""Survey officers' pages: rounds, quotas and their progress, kiosks."""

import io

import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from fieldwork import selectors, services
from fieldwork.invitations import invitation_progress
from fieldwork.models import Kiosk, Quota, Round
from fieldwork.quotas import STRATUM_ITEMS, QuotaError, quota_set
from fieldwork.sampling import FIELD_ITEM, service_fields
from questionnaires.models import QuestionnaireVersion
from surveyapp.limits import PlainTextField, WholeNumberField
from units import access

QUOTAS_PER_PAGE = 100


# Text fields refuse control characters and numbers stay within their column (limits): nothing a
# person types can make PostgreSQL refuse the row.


class KioskForm(forms.Form):
    name = PlainTextField(label=gettext_lazy("Name"), max_length=100)


class KioskMoveForm(forms.Form):
    name = PlainTextField(label=gettext_lazy("Name"), max_length=100)
    unit_code = PlainTextField(label=gettext_lazy("Unit code"), max_length=32)


class ConfirmForm(forms.Form):
    """The box of a confirmation page: an action that cannot be taken back is done only with it."""

    confirm = forms.BooleanField(required=True, widget=forms.HiddenInput, initial=True)


class RoundForm(forms.Form):
    name = PlainTextField(label=gettext_lazy("Name"), max_length=200)
    name_en = PlainTextField(label=gettext_lazy("Name in English"), max_length=200, required=False,
                             help_text=gettext_lazy("Shown on the kiosk to citizens who choose English."))
    questionnaire = forms.ModelChoiceField(label=gettext_lazy("Questionnaire version"),
                                           queryset=QuestionnaireVersion.objects.filter(status="published"))
    period_start = forms.DateField(label=gettext_lazy("Start"), required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=gettext_lazy("End"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    ask_dossier_code = forms.BooleanField(label=gettext_lazy("Ask for the dossier code (one response per dossier)"),
                                          required=False)
    quota_policy = forms.ChoiceField(label=gettext_lazy("When a quota is full"), choices=Quota.Policy.choices)
    score_over_quota = forms.BooleanField(label=gettext_lazy("Count over-quota responses in the scores"),
                                          required=False)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("period_start"), cleaned.get("period_end")
        if start and end and end < start:
            self.add_error("period_end", _("The end is before the start."))
        return cleaned


class QuotaForm(forms.Form):
    unit_code = PlainTextField(label=gettext_lazy("Unit code"), max_length=32,
                               widget=forms.TextInput(attrs={"list": "round-units", "autocomplete": "off"}))
    stratum_item = forms.ChoiceField(label=gettext_lazy("Stratum"), required=False,
                                     choices=[("", gettext_lazy("whole unit"))] + [(i, i) for i in STRATUM_ITEMS])
    stratum_value = PlainTextField(label=gettext_lazy("Answer code"), required=False, max_length=64)
    target = WholeNumberField(label=gettext_lazy("Target"))
    policy = forms.ChoiceField(label=gettext_lazy("When full"), required=False,
                               choices=[("", gettext_lazy("the round's default"))] + list(Quota.Policy.choices))


def _get_kiosk_for_user(request, kiosk_id):
    kiosk = get_object_or_404(Kiosk.objects.select_related("unit"), pk=kiosk_id)
    access.check_unit_access(request.user, kiosk.unit, access.FIELDWORK)
    return kiosk


def _pairing_page(request, kiosk, code):
    link = request.build_absolute_uri(reverse("fieldwork:kiosk-pair-code", args=[code]))
    image = qrcode.make(link, image_factory=qrcode.image.svg.SvgPathImage, box_size=12)
    svg = io.BytesIO()
    image.save(svg)
    return render(request, "fieldwork/kiosk_pairing.html",
                  {"kiosk": kiosk, "code": code, "link": link, "qr_svg": svg.getvalue().decode()})


@login_required
@never_cache
def kiosk_list(request, code):
    unit = access.get_unit_for_user(request.user, code, access.FIELDWORK)
    form = KioskForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        kiosk, pairing_code = services.kiosk_create(unit=unit, name=form.cleaned_data["name"],
                                                    created_by=request.user)
        return _pairing_page(request, kiosk, pairing_code)
    return render(request, "fieldwork/kiosk_list.html",
                  {"unit": unit, "kiosks": selectors.kiosks_with_activity(unit), "form": form})


@login_required
@never_cache
@require_POST
def kiosk_pairing(request, kiosk_id):
    kiosk = _get_kiosk_for_user(request, kiosk_id)
    if kiosk.is_revoked:
        messages.error(request, _("A revoked kiosk cannot be paired again: register a new one."))
        return redirect("fieldwork:kiosk-list", kiosk.unit.code)
    return _pairing_page(request, kiosk, services.kiosk_new_pairing_code(kiosk=kiosk))


def _confirm_page(request, *, title, question, consequences, button, back, status=200):
    """The page that asks before an action that cannot be taken back; its form posts ``confirm``."""
    return render(request, "fieldwork/confirm.html", {
        "title": title, "question": question, "consequences": consequences, "button": button, "back": back,
        "form": ConfirmForm(initial={"confirm": True}),
    }, status=status)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def kiosk_revoke(request, kiosk_id):
    """Revoking cannot be undone: the kiosk list links here, this page asks, its form revokes."""
    kiosk = _get_kiosk_for_user(request, kiosk_id)
    if request.method == "POST" and ConfirmForm(request.POST).is_valid() and not kiosk.is_revoked:
        services.kiosk_revoke(kiosk=kiosk)
        messages.success(request, _("Kiosk “%(name)s” is revoked: it can no longer send responses.")
                         % {"name": kiosk.name})
        return redirect("fieldwork:kiosk-list", kiosk.unit.code)
    if kiosk.is_revoked:
        messages.info(request, _("Kiosk “%(name)s” was already revoked.") % {"name": kiosk.name})
        return redirect("fieldwork:kiosk-list", kiosk.unit.code)
    return _confirm_page(
        request, title=_("Revoke kiosk “%(name)s”?") % {"name": kiosk.name},
        question=_("Revoke kiosk “%(name)s” of %(unit)s?") % {"name": kiosk.name, "unit": kiosk.unit.name},
        consequences=[
            _("The tablet can no longer send responses or fetch the questionnaire; this cannot be undone."),
            _("Responses it has stored are kept. Responses still waiting on the tablet (%(waiting)s reported) "
              "can no longer be sent.") % {"waiting": formats.localize(kiosk.waiting_reported)},
            _("To use the tablet again, register a new kiosk and pair it."),
        ],
        button=_("Revoke the kiosk"), back=reverse("fieldwork:kiosk-list", args=[kiosk.unit.code]))


def _unit_from_code(user, code):
    """The unit of a code typed in a form, if the user may run fieldwork there; else None (a form
    error, with the same words for a unit that does not exist and one outside their units)."""
    try:
        return access.get_unit_for_user(user, code.strip(), access.FIELDWORK)
    except Http404:
        return None


def _unknown_unit(code):
    return _("There is no unit with the code “%(code)s” among your units: check the code.") % {"code": code}


@login_required
@never_cache
@require_POST
def kiosk_update(request, kiosk_id):
    """Rename a kiosk, or move it to another unit the officer manages. A mistake shows the list again
    with this kiosk's form open, as typed, and what is wrong."""
    kiosk = _get_kiosk_for_user(request, kiosk_id)
    form = KioskMoveForm(request.POST)
    unit = _unit_from_code(request.user, form.cleaned_data["unit_code"]) if form.is_valid() else None
    if form.is_valid() and unit is None:
        form.add_error("unit_code", _unknown_unit(form.cleaned_data["unit_code"]))
    if form.is_valid():
        services.kiosk_update(kiosk=kiosk, name=form.cleaned_data["name"], unit=unit)
        messages.success(request, _("Kiosk saved."))
        return redirect("fieldwork:kiosk-list", kiosk.unit.code)
    list_unit = access.get_unit_for_user(request.user, kiosk.unit.code, access.FIELDWORK)
    return render(request, "fieldwork/kiosk_list.html", {
        "unit": list_unit, "kiosks": selectors.kiosks_with_activity(list_unit), "form": KioskForm(),
        "edit_kiosk": kiosk.pk, "edit_form": form}, status=400)


# ---------------------------------------------------------------------------------------------
# Rounds


@login_required
def round_list(request, code):
    unit = access.get_unit_for_user(request.user, code, access.FIELDWORK)
    form = RoundForm(request.POST or None, initial={
        "quota_policy": Quota.Policy.FLAG,
        "questionnaire": QuestionnaireVersion.objects.filter(code=settings.DEFAULT_QUESTIONNAIRE).first(),
    })
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            survey_round = services.round_create(
                name=data["name"], name_en=data["name_en"], questionnaire_code=data["questionnaire"].code,
                unit_code=unit.code, period_start=data["period_start"], period_end=data["period_end"],
                ask_dossier_code=data["ask_dossier_code"],
            )
            services.round_update(survey_round=survey_round, quota_policy=data["quota_policy"],
                                  score_over_quota=data["score_over_quota"])
        except services.RoundError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("fieldwork:round", survey_round.pk)
    rounds = selectors.rounds_for_unit(unit)
    return render(request, "fieldwork/round_list.html", {"unit": unit, "rounds": rounds, "form": form})


@login_required
def round_detail(request, round_id):
    survey_round = selectors.get_round_for_user(request.user, round_id)
    form = None
    if survey_round.status != Round.Status.CLOSED and survey_round.whole_scope:
        form = RoundForm(request.POST or None, initial={
            **{f: getattr(survey_round, f) for f in services.ROUND_EDITABLE},
            "questionnaire": survey_round.questionnaire,
        })
        if survey_round.status != Round.Status.DRAFT:
            form.fields["questionnaire"].disabled = True
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            services.round_update(survey_round=survey_round, **form.cleaned_data)
        except services.RoundError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Round saved."))
            return redirect("fieldwork:round", survey_round.pk)
    return render(request, "fieldwork/round_detail.html", {
        "round": survey_round, "form": form, "summary": selectors.round_summary(survey_round),
    })


@login_required
@require_POST
def round_status(request, round_id, action):
    """Open or reopen a round (closing asks first: ``round_close``)."""
    survey_round = selectors.get_round_for_user(request.user, round_id, whole=True)
    try:
        services.round_open(survey_round=survey_round)
    except services.RoundError as exc:
        messages.error(request, str(exc))
    return redirect("fieldwork:round", survey_round.pk)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def round_close(request, round_id):
    """Closing freezes the round and stops its kiosks: the round page links here, this page asks
    and says what closing does, its form closes the round."""
    survey_round = selectors.get_round_for_user(request.user, round_id, whole=True)
    if survey_round.status == Round.Status.CLOSED:
        messages.info(request, _("This round is already closed."))
        return redirect("fieldwork:round", survey_round.pk)
    if request.method == "POST" and ConfirmForm(request.POST).is_valid():
        services.round_close(survey_round=survey_round)
        messages.success(request, _("The round is closed. Reopen it to enter the last forms."))
        return redirect("fieldwork:round", survey_round.pk)
    summary = selectors.round_summary(survey_round)
    return _confirm_page(
        request, title=_("Close the round “%(name)s”?") % {"name": survey_round.name},
        question=_("Close the round “%(name)s”?") % {"name": survey_round.name},
        consequences=[
            _("Kiosks of %(unit)s stop taking new responses; those completed before the close still arrive.")
            % {"unit": survey_round.unit.name},
            _("The round is frozen: no changes to its settings or quotas, and no paper forms."),
            _("It holds %(total)s responses, %(paper)s of them paper forms.")
            % {"total": formats.localize(summary["total"]), "paper": formats.localize(summary["paper"])},
            _("It can be reopened later, for example to enter the last paper forms."),
        ],
        button=_("Close the round"), back=reverse("fieldwork:round", args=[survey_round.pk]))


def _at_home(survey_round, rows):
    """The invitations' progress (answering at home) by unit and by stratum, each row with the desk's
    quota beside it (``desk``: (in quota, target) or None) and a stratum's label."""
    at_home = invitation_progress(survey_round)
    desk_units, desk_strata = selectors.quota_desk(rows, FIELD_ITEM)
    labels = service_fields(survey_round)
    for row in at_home["units"]:
        row["desk"] = desk_units.get(row["unit__code"])
    for row in at_home["strata"]:
        value = row["dossier__service_field"]
        row["desk"], row["label"] = desk_strata.get(value), labels.get(value, value)
    return at_home


@login_required
def quota_progress(request, round_id):
    """Every quota of the round with target, fill, pace and projected completion; a form to set one."""
    survey_round = selectors.get_round_for_user(request.user, round_id)
    form = QuotaForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        unit = _unit_from_code(request.user, data["unit_code"])
        if unit is None:
            form.add_error("unit_code", _unknown_unit(data["unit_code"]))
    if request.method == "POST" and form.is_valid():
        try:
            quota_set(survey_round=survey_round, unit=unit, target=data["target"],
                      stratum_item=data["stratum_item"], stratum_value=data["stratum_value"].strip(),
                      policy=data["policy"])
        except QuotaError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Quota saved."))
            return redirect("fieldwork:quotas", survey_round.pk)
    rows = selectors.quota_progress(survey_round)
    summary = {"quotas": len(rows), "full": sum(r.quota.filled >= r.quota.target for r in rows),
               "lagging": sum(r.lagging for r in rows)}
    at_home = _at_home(survey_round, rows)
    lagging_only = request.GET.get("lagging") == "1"
    if lagging_only:
        rows = [r for r in rows if r.lagging]
    page = Paginator(rows, QUOTAS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "fieldwork/quota_progress.html", {
        "round": survey_round, "rows": page, "page": page, "summary": summary, "lagging_only": lagging_only,
        "at_home": at_home,
        "form": form, "units": selectors.round_units(survey_round, None if survey_round.whole_scope else request.user)
        .only("code", "name"),
    })
