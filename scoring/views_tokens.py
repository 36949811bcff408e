"""Score-API tokens in the web pages: a user lists, creates and revokes their own; an administrator
also those of the staff of their units (scoring.selectors.api_tokens_managed_by says whose)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from scoring import selectors
from scoring.services import api_token_create
from surveyapp.limits import PlainTextField


class TokenForm(forms.Form):
    # No control characters (surveyapp.limits): a name is read on this page and by administrators.
    name = PlainTextField(label=gettext_lazy("What is it for?"), max_length=100,
                          help_text=gettext_lazy("For example: the province's dashboard."))


def _get_token_for_user(request, token_id):
    """The token, if the user may manage it; else 404 (we do not confirm that it exists)."""
    return get_object_or_404(selectors.api_tokens_managed_by(request.user), pk=token_id)


def _list_page(request, form, new_key=None):
    tokens = list(selectors.api_tokens_managed_by(request.user))
    return render(request, "scoring/api_tokens.html", {
        "form": form, "new_key": new_key,
        "own": [t for t in tokens if t.user_id == request.user.pk],
        "others": [t for t in tokens if t.user_id != request.user.pk],
    })


@login_required
@require_GET
def token_list(request):
    return _list_page(request, TokenForm())


@login_required
@require_POST
def token_create(request):
    """Creates a token and shows its key on this answer only (never stored, never redirected)."""
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form)
    _token, key = api_token_create(user=request.user, name=form.cleaned_data["name"])
    return _list_page(request, TokenForm(), new_key=key)


@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request, token_id):
    """GET asks for confirmation; POST revokes."""
    token = _get_token_for_user(request, token_id)
    if request.method == "GET":
        return render(request, "scoring/api_token_revoke.html", {"token": token})
    token.revoke(by=request.user)
    messages.success(request, _("Token “%(name)s” of %(user)s is revoked: it no longer opens the score API.")
                     % {"name": token.name or token.pk, "user": token.user.get_username()})
    return redirect("api-tokens")
