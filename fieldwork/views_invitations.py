"""Officers' page of a round's invitations to answer at home (create them from the latest sample,
upload contacts, send); the page a citizen's link opens is fieldwork.views_athome. The officer pages are for the round's
owners (404 otherwise), like the sampling pages whose samples they start from."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.formats import localize
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from fieldwork import invitations, senders, slips, tasks, unitlinks
from fieldwork.models import Invitation, Round, Sample
from fieldwork.selectors import get_round_for_user
from surveyapp.limits import UploadField
from surveyapp.spreadsheet import more_problems
from units import access


class ContactsForm(forms.Form):
    file = UploadField(
        label=gettext_lazy("Contacts (CSV file)"),
        help_text=gettext_lazy("UTF-8, with the header dossier_code,phone,email (phone or email may be left out)."),
        max_bytes=lambda: settings.INVITATION_UPLOAD_MAX_BYTES,
        too_large=gettext_lazy("The file is larger than %(size)s: split it into smaller files."),
    )


class SendForm(forms.Form):
    channel = forms.ChoiceField(label=gettext_lazy("Send by"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [(c.value, c.label) for c in Invitation.Channel
                                          if senders.get_sender(c.value) is not None]


ALL_UNITS = gettext_lazy("All units of the round")


class UnitForm(forms.Form):
    """A unit of the round, by code (empty: the whole round); ``choices`` read once for the page's forms."""

    unit = forms.ChoiceField(label=gettext_lazy("Unit"), required=False)

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", ALL_UNITS), *choices]


class SlipsForm(UnitForm):
    part = forms.IntegerField(label=gettext_lazy("Part"), min_value=1, max_value=100_000, required=False)


class SwitchForm(UnitForm):
    off = forms.BooleanField(required=False)


def _unit_choices(survey_round):
    return [(u.code, f"{u.code} · {u.name}") for u in unitlinks.poster_units(survey_round)]


def _round(request, round_id):
    return get_round_for_user(request.user, round_id, access.FIELDWORK, whole=True)


def _latest_sample(survey_round):
    return Sample.objects.filter(dossier_list__round=survey_round).order_by("-drawn_at", "-pk").first()


def _page(request, survey_round, contacts_form=None, errors=(), more=0, status=200):
    return render(request, "fieldwork/invitations.html", {
        "round": survey_round, "sample": _latest_sample(survey_round),
        "counts": invitations.invitation_counts(survey_round),
        "resendable": invitations.invitations_resendable(survey_round=survey_round),
        "contacts": invitations.masked_contacts(survey_round),
        "contacts_form": contacts_form or ContactsForm(), "send_form": SendForm(),
        "errors": errors, "errors_more": more_problems(more), **_print_forms(survey_round),
    }, status=status)


def _print_forms(survey_round):
    """The forms of the page's slips, posters and unit links, and the unit links' states."""
    choices = _unit_choices(survey_round)
    states = unitlinks.unit_link_states(survey_round)
    names = dict(choices)
    return {
        "slips_form": SlipsForm(choices=choices, auto_id="slips_%s", initial={"part": 1}),
        "slips_per_file": settings.INVITATION_SLIPS_PER_FILE,
        "posters_form": UnitForm(choices=choices, auto_id="posters_%s"),
        "switch_form": SwitchForm(choices=choices, auto_id="switch_%s"),
        "unit_links_off": states["round_off"],
        "unit_link_rows": sorted(([names.get(row.unit.code, row.unit.code), row] for row in states["units"].values()),
                                 key=lambda pair: pair[1].unit.path),
    }


@login_required
@never_cache
def invitation_list(request, round_id):
    return _page(request, _round(request, round_id))


@login_required
@never_cache
@require_POST
def invitations_create(request, round_id):
    survey_round = _round(request, round_id)
    sample = _latest_sample(survey_round)
    if sample is None:
        messages.error(request, _("Draw a sample first: invitations are made for the dossiers of the latest sample."))
    else:
        created = invitations.invitations_create(sample=sample)
        messages.success(request, ngettext("%(n)s invitation is created.", "%(n)s invitations are created.",
                                           created) % {"n": localize(created)})
    return redirect("fieldwork:invitations", survey_round.pk)


@login_required
@never_cache
@require_POST
def contacts_upload(request, round_id):
    survey_round = _round(request, round_id)
    form = ContactsForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, survey_round, contacts_form=form, status=400)
    try:
        stored = invitations.contacts_import(survey_round=survey_round, file=form.cleaned_data["file"])
    except invitations.InvitationError as exc:
        return _page(request, survey_round, contacts_form=form, errors=exc.errors, more=exc.more, status=400)
    messages.success(request, ngettext("%(n)s contact is stored.", "%(n)s contacts are stored.", stored)
                     % {"n": localize(stored)})
    return redirect("fieldwork:invitations", survey_round.pk)


@login_required
@never_cache
@require_POST
def invitations_send(request, round_id):
    survey_round = _round(request, round_id)
    form = SendForm(request.POST)
    if survey_round.status != Round.Status.OPEN:
        messages.error(request, _("Invitations are sent only while the round is open."))
    elif form.is_valid():
        channel = form.cleaned_data["channel"]
        transaction.on_commit(lambda: tasks.queue_invitations.delay(survey_round.pk, channel))
        messages.success(request, _("The messages are being queued; the counts below grow as they are sent."))
    else:
        messages.error(request, _("Choose how to send the invitations."))
    return redirect("fieldwork:invitations", survey_round.pk)


def _chosen_unit(request, survey_round, form):
    """The unit a valid form names (None: the whole round); False, with a message, when it names none."""
    if not form.is_valid():
        messages.error(request, _("Choose a unit of this round (and a part from 1)."))
        return False
    code = form.cleaned_data["unit"]
    return unitlinks.poster_units(survey_round).filter(code=code).first() if code else None


def _back(request, survey_round, message=None):
    """Back to the invitations page, saying why (a form's problem is said already)."""
    if message:
        messages.error(request, message)
    return redirect("fieldwork:invitations", survey_round.pk)


def _pdf(body, name, survey_round, unit, *parts):
    response = HttpResponse(body, content_type="application/pdf")
    filename = "-".join(str(p) for p in (name, survey_round.pk, unit.code if unit else "", *parts) if p != "")
    response["Content-Disposition"] = f'attachment; filename="{filename}.pdf"'
    return response


@login_required
@never_cache
@require_safe
def slips_download(request, round_id):
    """The A6 slips of the round's invitations (of one unit's subtree, if chosen), a part of them, a PDF."""
    survey_round = _round(request, round_id)
    form = SlipsForm(request.GET, choices=_unit_choices(survey_round))
    unit = _chosen_unit(request, survey_round, form)
    if unit is False:
        return _back(request, survey_round)
    part = form.cleaned_data["part"] or 1
    body, pages = slips.slips_pdf(survey_round=survey_round, unit=unit, part=part)
    if not pages:
        return _back(request, survey_round, _("There are no invitations to print: create them first.") if part == 1
                     else _("There is no part %(part)s: each part holds %(size)s slips.")
                     % {"part": part, "size": localize(settings.INVITATION_SLIPS_PER_FILE)})
    return _pdf(body, "phieu-moi", survey_round, unit, part)


@login_required
@never_cache
@require_safe
def posters_download(request, round_id):
    """The A4 desk posters of the round's units (or one unit's), each with its unit link, a PDF."""
    survey_round = _round(request, round_id)
    unit = _chosen_unit(request, survey_round, UnitForm(request.GET, choices=_unit_choices(survey_round)))
    if survey_round.status == Round.Status.CLOSED:
        return _back(request, survey_round, _("The round is closed: its unit links take no answers."))
    if unit is False:
        return _back(request, survey_round)
    body, _pages = slips.posters_pdf(survey_round=survey_round,
                                     units=[unit] if unit else unitlinks.poster_units(survey_round))
    return _pdf(body, "ap-phich", survey_round, unit)


@login_required
@never_cache
@require_POST
def unit_links_switch(request, round_id):
    """Switch the round's unit links (no unit chosen) or one unit's off or back on."""
    survey_round = _round(request, round_id)
    form = SwitchForm(request.POST, choices=_unit_choices(survey_round))
    unit = _chosen_unit(request, survey_round, form)
    if unit is not False:
        off = form.cleaned_data["off"]
        unitlinks.unit_links_switch(survey_round=survey_round, unit=unit, off=off, user=request.user)
        where = unit.name if unit else _("every unit of the round")
        messages.success(request, (_("The unit link of %(where)s is switched off: it stores nothing.") if off
                                   else _("The unit link of %(where)s is switched on.")) % {"where": where})
    return redirect("fieldwork:invitations", survey_round.pk)


@login_required
@never_cache
@require_POST
def invitations_resend(request, round_id):
    """Send again the failed invitations that may now go (fieldwork.invitations.invitations_resend)."""
    survey_round = _round(request, round_id)
    if survey_round.status != Round.Status.OPEN:
        messages.error(request, _("Invitations are sent only while the round is open."))
        return redirect("fieldwork:invitations", survey_round.pk)
    queued = invitations.invitations_resend(survey_round=survey_round)
    if queued:
        messages.success(request, ngettext("%(n)s failed invitation is queued to be sent again.",
                                           "%(n)s failed invitations are queued to be sent again.", queued)
                         % {"n": localize(queued)})
    else:
        messages.info(request, _("No failed invitation can be sent again now: a refused number or address is "
                                 "sent again only after a new upload changes it."))
    return redirect("fieldwork:invitations", survey_round.pk)
