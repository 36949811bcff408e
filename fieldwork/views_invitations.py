"""Officers' page of a round's invitations to answer at home (create them from the latest sample,
upload contacts, send); the page a citizen's link opens is fieldwork.views_athome. The officer pages are for the round's
owners (404 otherwise), like the sampling pages whose samples they start from."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.formats import localize
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from fieldwork import invitations, senders, tasks
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
        "errors": errors, "errors_more": more_problems(more),
    }, status=status)


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
