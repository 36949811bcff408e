"""Survey officers' pages for the sampling frame: dossier lists, samples and their call lists, and
the quota allocation helper. Every page is for one round the user may run fieldwork for (404 otherwise)."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import localize
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache

from fieldwork import sampling
from fieldwork.models import DossierList, Sample
from fieldwork.selectors import get_round_for_user
from surveyapp.limits import PlainTextField, UploadField, WholeNumberField, control_character
from surveyapp.spreadsheet import more_problems
from units import access
from units.models import Unit


class DossierListForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=sampling.NAME_MAX_LENGTH)
    file = UploadField(  # the service reads it as a stream and checks every row
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy("UTF-8, with the header dossier_code,unit_code,service_field,completed_on; "
                               "dates as YYYY-MM-DD."),
        max_bytes=lambda: settings.DOSSIER_UPLOAD_MAX_BYTES,
        too_large=gettext_lazy("The file is larger than %(size)s: split it into smaller files."),
    )


class DrawForm(forms.Form):
    STRATA_CHOICES = [
        ("unit,service_field", gettext_lazy("unit × service field")),
        ("unit", gettext_lazy("unit")),
        ("service_field", gettext_lazy("service field")),
        ("none", gettext_lazy("none (a simple random sample)")),
    ]
    size = forms.IntegerField(label=gettext_lazy("Sample size"), min_value=1)
    strata = forms.ChoiceField(label=gettext_lazy("Strata"), choices=STRATA_CHOICES, initial="unit,service_field")
    seed = forms.IntegerField(
        label=gettext_lazy("Seed"), required=False, min_value=0, max_value=sampling.MAX_SEED,
        help_text=gettext_lazy("Leave empty for a new random seed; the same seed redraws the same sample."),
    )
    min_per_stratum = forms.IntegerField(label=gettext_lazy("Minimum per stratum"), min_value=0, initial=0,
                                         required=False)

    def clean_strata(self):
        value = self.cleaned_data["strata"]
        return () if value == "none" else tuple(value.split(","))

    def clean_min_per_stratum(self):
        return self.cleaned_data["min_per_stratum"] or 0


class AllocateForm(forms.Form):
    total = forms.IntegerField(label=gettext_lazy("Total sample"), min_value=1, required=False)
    # localize: typed and shown as the language writes it ("0,05" on a Vietnamese page, "0.05" read too).
    e = forms.FloatField(label=gettext_lazy("or margin of error e"), min_value=0.001, max_value=0.5, required=False,
                         localize=True, widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                         help_text=gettext_lazy("n = N / (1 + N·e²) per unit, e.g. 0.05"))
    minimum = forms.IntegerField(label=gettext_lazy("Minimum per unit"), min_value=0, initial=0, required=False)
    by = forms.ChoiceField(
        label=gettext_lazy("Quotas by"), initial="unit",
        choices=[("unit", gettext_lazy("unit")), ("unit_field", gettext_lazy("unit × service field"))],
    )
    dossier_list = forms.ModelChoiceField(label=gettext_lazy("Dossier list"), queryset=DossierList.objects.none(),
                                          required=False, empty_label=gettext_lazy("none (equal shares)"))

    def __init__(self, *args, survey_round, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dossier_list"].queryset = survey_round.dossier_lists.all()

    def clean_minimum(self):
        return self.cleaned_data["minimum"] or 0

    def clean(self):
        data = super().clean()
        if (data.get("total") is None) == (data.get("e") is None) and not self.errors:
            raise forms.ValidationError(gettext_lazy("Give either a total sample or a margin of error."))
        return data


class QuotaRowForm(forms.Form):
    unit = PlainTextField(max_length=32, widget=forms.HiddenInput)
    field = PlainTextField(max_length=64, widget=forms.HiddenInput, required=False)
    dossiers = WholeNumberField(widget=forms.HiddenInput, required=False)  # shown again, never trusted
    target = WholeNumberField(label=gettext_lazy("Target"), required=False,
                              widget=forms.NumberInput(attrs={"class": "form-control form-control-sm num"}))


QuotaRowFormSet = forms.formset_factory(QuotaRowForm, extra=0)


def _get_list(survey_round, list_id):
    return get_object_or_404(DossierList.objects.select_related("imported_by"), pk=list_id, round=survey_round)


@login_required
@never_cache
def dossier_lists(request, round_id):
    survey_round = get_round_for_user(request.user, round_id, access.FIELDWORK, whole=True)
    form = DossierListForm(request.POST or None, request.FILES or None)
    errors, more = [], 0
    if request.method == "POST" and form.is_valid():
        try:
            dossier_list = sampling.dossier_list_import(survey_round=survey_round, name=form.cleaned_data["name"],
                                                        file=form.cleaned_data["file"], user=request.user)
        except sampling.SamplingError as exc:
            errors, more = exc.errors, exc.more
        else:
            messages.success(request, _("The dossier list is imported."))
            return redirect("fieldwork:dossier-list", survey_round.pk, dossier_list.pk)
    lists = sampling.dossier_lists_for_round(survey_round)
    return render(request, "fieldwork/sampling_lists.html", {"round": survey_round, "lists": lists, "form": form,
                                                             "errors": errors, "errors_more": more_problems(more)})


@login_required
@never_cache
def dossier_list(request, round_id, list_id):
    survey_round = get_round_for_user(request.user, round_id, access.FIELDWORK, whole=True)
    the_list = _get_list(survey_round, list_id)
    form = DrawForm(request.POST or None)
    errors = []
    if request.method == "POST" and form.is_valid():
        try:
            data = form.cleaned_data
            sample = sampling.sample_draw(dossier_list=the_list, size=data["size"], strata=data["strata"],
                                          seed=data["seed"], min_per_stratum=data["min_per_stratum"],
                                          user=request.user)
        except sampling.SamplingError as exc:
            errors = exc.errors
        else:
            messages.success(request, _("Sample %(id)s is drawn with seed %(seed)s.")
                             % {"id": sample.pk, "seed": sample.seed})
            return redirect("fieldwork:dossier-list", survey_round.pk, the_list.pk)
    return render(request, "fieldwork/sampling_list.html", {
        "round": survey_round, "list": the_list, "form": form, "errors": errors,
        "strata": _strata_rows(survey_round, the_list),
        "samples": the_list.samples.select_related("drawn_by").order_by("-drawn_at"),
    })


def _strata_rows(survey_round, the_list):
    labels = sampling.service_fields(survey_round)
    return [dict(row, field_label=labels.get(row["service_field"], "")) for row in
            sampling.dossier_list_strata(the_list)]


@login_required
@never_cache
def sample_csv(request, round_id, sample_id):
    survey_round = get_round_for_user(request.user, round_id, access.FIELDWORK, whole=True)
    sample = get_object_or_404(Sample, pk=sample_id, dossier_list__round=survey_round)
    response = HttpResponse(sampling.sample_call_list_csv(sample=sample), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="sample-{sample.pk}-seed-{sample.seed}.csv"'
    return response


@login_required
@never_cache
def quota_allocate(request, round_id):
    survey_round = get_round_for_user(request.user, round_id, access.FIELDWORK, whole=True)
    if request.method == "POST":
        return _quota_save(request, survey_round)
    form = AllocateForm(request.GET if "by" in request.GET else None, survey_round=survey_round)
    formset, errors = None, []
    if form.is_bound and form.is_valid():
        try:
            data = form.cleaned_data
            proposals = sampling.propose_quotas(survey_round=survey_round, total=data["total"], e=data["e"],
                                                minimum=data["minimum"], by=data["by"],
                                                dossier_list=data["dossier_list"])
        except sampling.SamplingError as exc:
            errors = exc.errors
        else:
            formset = QuotaRowFormSet(initial=[{"unit": p.unit.code, "field": p.stratum_value,
                                                "dossiers": p.dossiers, "target": p.target} for p in proposals])
    return _allocate_page(request, survey_round, form, formset, errors)


def _quota_save(request, survey_round):
    formset = QuotaRowFormSet(request.POST)
    errors = []
    if formset.is_valid():
        # A row announced by the management form but never sent is empty (and valid): nothing to save.
        rows = [(f.cleaned_data["unit"], f.cleaned_data["field"], f.cleaned_data["target"])
                for f in formset if f.cleaned_data]
        try:
            saved = sampling.quota_proposal_save(survey_round=survey_round, rows=rows)
        except sampling.SamplingError as exc:
            errors = exc.errors
        else:
            messages.success(request, ngettext("%(n)s quota is saved.", "%(n)s quotas are saved.", saved)
                             % {"n": localize(saved)})
            return redirect("fieldwork:quotas", survey_round.pk)
    form = AllocateForm(None, survey_round=survey_round)
    return _allocate_page(request, survey_round, form, formset, errors)


def _allocate_page(request, survey_round, form, formset, errors):
    rows = []
    if formset is not None:
        codes = [code for code in (f["unit"].value() for f in formset)
                 if isinstance(code, str) and control_character(code) is None]  # PostgreSQL takes no NUL
        names = dict(Unit.objects.filter(code__in=codes).values_list("code", "name"))
        labels = sampling.service_fields(survey_round)
        rows = [{"form": f, "unit_name": names.get(f["unit"].value(), ""),
                 "field_label": labels.get(f["field"].value() or "", "")} for f in formset]
        for row in rows:  # each target input is named by its row, for screen readers
            unit = row["unit_name"] or row["form"]["unit"].value() or ""
            label = (_("Target for %(unit)s, %(field)s") % {"unit": unit, "field": row["field_label"]}
                     if row["field_label"] else _("Target for %(unit)s") % {"unit": unit})
            row["form"].fields["target"].widget.attrs["aria-label"] = label
    return render(request, "fieldwork/sampling_allocate.html", {
        "round": survey_round, "form": form, "formset": formset, "rows": rows, "errors": errors,
    })
