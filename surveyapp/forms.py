from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.utils.translation import gettext_lazy as _

from surveyapp import throttle

LOCKED_MESSAGE = _("Too many failed attempts. Please wait %(minutes)s minutes and try again.")


def locked_error():
    return forms.ValidationError(LOCKED_MESSAGE, code="locked", params={"minutes": throttle.lockout_minutes()})


class LockMessageMixin:
    """Says "too many failed attempts" when the throttle refused the login, instead of "wrong
    password". The refusing itself is done by the authentication backend (surveyapp/auth.py), for
    every login page; this only words it."""

    def get_invalid_login_error(self):
        if self.request is not None and throttle.was_refused(self.request):
            return locked_error()
        return super().get_invalid_login_error()


class StaffAuthenticationForm(LockMessageMixin, AuthenticationForm):
    pass


class AdminLoginForm(LockMessageMixin, AdminAuthenticationForm):
    pass


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """The old password is a password guess too: checked by ``authenticate``, so under the same
    throttle as a login."""

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        if authenticate(self.request, username=self.user.get_username(), password=old_password) != self.user:
            if throttle.was_refused(self.request):
                raise locked_error()
            raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password
