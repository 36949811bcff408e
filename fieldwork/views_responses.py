"""Survey officers' response browser: a round's responses (in their part of it), filtered and paged;
one response opened with its answers, excluded or restored from there (fieldwork.exclusions)."""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from fieldwork import exclusions, selectors
from fieldwork.models import Exclusion
from fieldwork.selectors import BrowseFilters, Flag, Source, State
from surveyapp.limits import PlainTextField

INVALID_CHOICE = {"invalid_choice": gettext_lazy("Choose one of the options in the list.")}


class ResponseSearchField(forms.CharField):
    """A short id or a whole response id, converted to the hex digits to look for
    (selectors.response_search); anything else, a NUL character too, is one message."""

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return ""
        try:
            return selectors.response_search(text)
        except ValueError:
            raise forms.ValidationError(
                _("Enter a response's short id (the %(length)d characters shown in the list), at least its last "
                  "%(minimum)d characters, or its whole id.")
                % {"length": selectors.SHORT_ID_LENGTH, "minimum": selectors.SEARCH_MIN_LENGTH}) from None


class CursorField(forms.CharField):
    """Where a page of the list starts (selectors.encode_cursor), as the links give it."""

    widget = forms.HiddenInput

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return None
        try:
            return selectors.decode_cursor(text)
        except ValueError:
            raise forms.ValidationError(_("This page link is not valid: start again from the newest responses.")) \
                from None


class ResponseFilterForm(forms.Form):
    """The list's filters, read from the query string. Units and kiosks are offered from the user's
    part of the round only, so a value from elsewhere is an invalid choice, like a mistyped one."""

    q = ResponseSearchField(label=gettext_lazy("Response id"), required=False,
                            help_text=gettext_lazy("The short id (8 characters) or the whole id."))
    unit = forms.ChoiceField(label=gettext_lazy("Unit (with its sub-units)"), required=False,
                             error_messages=INVALID_CHOICE)
    date_from = forms.DateField(label=gettext_lazy("From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    date_to = forms.DateField(label=gettext_lazy("To"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    source = forms.ChoiceField(label=gettext_lazy("Channel"), required=False, error_messages=INVALID_CHOICE,
                               choices=[("", gettext_lazy("all channels"))] + Source.choices)
    kiosk = forms.ChoiceField(label=gettext_lazy("Kiosk"), required=False, error_messages=INVALID_CHOICE)
    flag = forms.ChoiceField(label=gettext_lazy("Flag"), required=False, error_messages=INVALID_CHOICE,
                             choices=[("", gettext_lazy("with or without flags"))] + Flag.choices)
    state = forms.ChoiceField(label=gettext_lazy("Included or excluded"), required=False, error_messages=INVALID_CHOICE,
                              choices=[("", gettext_lazy("both"))] + State.choices)
    older = CursorField(label=gettext_lazy("Older"), required=False)
    newer = CursorField(label=gettext_lazy("Newer"), required=False)

    def __init__(self, *args, units, kiosks, **kwargs):
        super().__init__(*args, **kwargs)
        self.units = {unit.code: unit for unit in units}
        self.kiosks = {str(kiosk.pk): kiosk for kiosk in kiosks}
        top = min((unit.depth for unit in units), default=0)
        self.fields["unit"].choices = [("", _("all units"))] + [
            (unit.code, "\u2003" * (unit.depth - top) + f"{unit.code} · {unit.name}") for unit in units]
        self.fields["kiosk"].choices = [("", _("all kiosks"))] + [
            (str(kiosk.pk), f"{kiosk.name} · {kiosk.unit.name}") for kiosk in kiosks]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The last day is before the first."))
        return cleaned

    def filters(self) -> BrowseFilters:
        data = self.cleaned_data
        return BrowseFilters(search=data["q"], unit=self.units.get(data["unit"]), date_from=data["date_from"],
                             date_to=data["date_to"], source=data["source"], kiosk=self.kiosks.get(data["kiosk"]),
                             flag=data["flag"], state=data["state"])


class ExcludeForm(forms.Form):
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), choices=Exclusion.Reason.choices,
                               error_messages=INVALID_CHOICE)
    note = PlainTextField(label=gettext_lazy("Note"), max_length=exclusions.NOTE_MAX_LENGTH, required=False,
                          multiline=True, widget=forms.Textarea(attrs={"rows": 2}),
                          help_text=gettext_lazy("Required for the reason “other”."))
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


class RestoreForm(forms.Form):
    note = PlainTextField(label=gettext_lazy("Note"), max_length=exclusions.NOTE_MAX_LENGTH, required=False,
                          multiline=True, widget=forms.Textarea(attrs={"rows": 2}))
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


def _language():
    return "en" if (translation.get_language() or "").startswith("en") else "vi"


def _query(request, **changes):
    """The list's query string with some parameters changed (None removes one)."""
    query = request.GET.copy()
    for key, value in changes.items():
        query.pop(key, None)
        if value is not None:
            query[key] = value
    return query.urlencode()


def _export_units(survey_round, form):
    """The units whose raw responses (scoring's responses.csv) the list links to: the chosen unit,
    else the roots of the user's part of the round."""
    chosen = getattr(form, "cleaned_data", {}).get("unit")
    if chosen:
        return [form.units[chosen]]
    return [unit for unit in form.units.values() if unit.path in survey_round.scope_paths]


@login_required
@never_cache
@require_GET
def response_list(request, round_id):
    survey_round = selectors.get_round_for_user(request.user, round_id)
    form = ResponseFilterForm(request.GET, units=selectors.browse_units(survey_round),
                              kiosks=selectors.browse_kiosks(survey_round))
    page = count = None
    if form.is_valid():
        responses = selectors.browse_responses(survey_round, form.filters())
        page = selectors.browse_page(responses, older=form.cleaned_data["older"], newer=form.cleaned_data["newer"])
        count = selectors.browse_count(responses)
    return render(request, "fieldwork/response_list.html", {
        "round": survey_round, "form": form, "page": page, "count": count,
        "list_query": _query(request), "first_query": _query(request, older=None, newer=None),
        "older_query": page and page.older and _query(request, older=page.older, newer=None),
        "newer_query": page and page.newer and _query(request, newer=page.newer, older=None),
        "export_units": _export_units(survey_round, form),
    }, status=200 if page is not None else 400)


def _back_to_detail(request, survey_round, response):
    """The response's page after a change, still leading back to the list as it was."""
    url = reverse("fieldwork:response", args=[survey_round.pk, response.pk])
    back = request.GET.get("back")
    return redirect(f"{url}?{urlencode({'back': back})}" if back else url)


def _detail_page(request, survey_round, response, *, exclude_form=None, restore_form=None, confirm=None,
                 status=200):
    excluded = getattr(response, "exclusion", None)  # None when it counts
    return render(request, "fieldwork/response_detail.html", {
        "round": survey_round, "response": response, "excluded": excluded,
        "source": Source(selectors.response_source(response)).label,
        "sections": selectors.response_answers(response, survey_round, _language()),
        "history": selectors.response_history(response),
        "exclude_form": exclude_form or ExcludeForm(), "restore_form": restore_form or RestoreForm(),
        "confirm": confirm, "back_query": request.GET.get("back", ""),
    }, status=status)


@login_required
@never_cache
@require_GET
def response_detail(request, round_id, response_id):
    survey_round = selectors.get_round_for_user(request.user, round_id)
    response = selectors.get_browsed_response(survey_round, response_id)
    return _detail_page(request, survey_round, response)


@login_required
@require_POST
def response_exclude(request, round_id, response_id):
    survey_round = selectors.get_round_for_user(request.user, round_id)
    response = selectors.get_browsed_response(survey_round, response_id)
    form = ExcludeForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, survey_round, response, exclude_form=form, status=400)
    if not form.cleaned_data["confirmed"]:  # first the question, with what excluding does
        return _detail_page(request, survey_round, response, exclude_form=form, confirm="exclude")
    try:
        exclusions.response_exclude(response=response, reason=form.cleaned_data["reason"],
                                    note=form.cleaned_data["note"], user=request.user)
    except exclusions.ExclusionError as exc:  # e.g. excluded meanwhile by someone else: show it as it is now
        form.add_error(None, str(exc))
        response = selectors.get_browsed_response(survey_round, response_id)
        return _detail_page(request, survey_round, response, exclude_form=form, status=400)
    messages.success(request, _("Response %(id)s is excluded: it no longer counts in the quotas and scores.")
                     % {"id": selectors.short_id(response.pk)})
    return _back_to_detail(request, survey_round, response)


@login_required
@require_POST
def response_restore(request, round_id, response_id):
    survey_round = selectors.get_round_for_user(request.user, round_id)
    response = selectors.get_browsed_response(survey_round, response_id)
    form = RestoreForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, survey_round, response, restore_form=form, status=400)
    if not form.cleaned_data["confirmed"]:
        return _detail_page(request, survey_round, response, restore_form=form, confirm="restore")
    try:
        exclusions.response_restore(response=response, user=request.user, note=form.cleaned_data["note"])
    except exclusions.ExclusionError as exc:
        form.add_error(None, str(exc))
        response = selectors.get_browsed_response(survey_round, response_id)
        return _detail_page(request, survey_round, response, restore_form=form, status=400)
    messages.success(request, _("Response %(id)s is restored: it counts again.")
                     % {"id": selectors.short_id(response.pk)})
    return _back_to_detail(request, survey_round, response)
