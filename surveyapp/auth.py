"""The site's only authentication backend: Django's, with the login throttle in front of it.

Every password check goes through ``django.contrib.auth.authenticate`` — the staff login, the
admin's login, and any login page added later — and so through here: that is the one place where
failures are counted and locked attempts refused (surveyapp/throttle.py). A form or a page cannot
forget to count. A refused attempt raises PermissionDenied, which makes ``authenticate`` stop and
answer None like any failed login; the login forms (surveyapp/forms.py) then say why.
"""

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from surveyapp import throttle
from units.access import administers_units


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        if throttle.login_refused(request, username):
            raise PermissionDenied("too many failed logins")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            throttle.login_failed(request, username)
        else:
            throttle.login_succeeded(request, username)
        return user

    def get_user(self, user_id):
        """The request's user, as Django's, with ``administers_units`` (does the user hold an
        administrator role? the top menu's question) read in the same query, not one more a page."""
        user = get_user_model()._default_manager.annotate(administers_units=administers_units()) \
            .filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None

    async def aauthenticate(self, request, username=None, password=None, **kwargs):
        # ModelBackend has its own async path; ours must not skip the throttle.
        return await sync_to_async(self.authenticate)(request, username=username, password=password, **kwargs)
