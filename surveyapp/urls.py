from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from surveyapp import views
from surveyapp.forms import AdminLoginForm, StaffAuthenticationForm

# The admin's login counts and refuses like the staff login (the backend does that for every login
# page); this form words a refusal as one.
admin.site.login_form = AdminLoginForm

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=StaffAuthenticationForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="registration/password_changed.html"),
        name="password_change_done",
    ),
    path("", include("fieldwork.urls")),
    path("", include("scoring.urls")),
    path("units/", include("units.urls")),
    path("", include("units.urls_admin")),
    path("administration/questionnaires/", include("questionnaires.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("system/worker-check", views.worker_check, name="worker-check"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
