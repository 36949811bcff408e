from celery.exceptions import TimeoutError as CeleryTimeout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, user_passes_test
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from surveyapp import tasks
from surveyapp.forms import ThrottledPasswordChangeForm
from surveyapp.selectors import staff_home_context


@login_required
def home(request):
    return render(request, "surveyapp/home.html", staff_home_context(request.user))


@never_cache
def healthz(request):
    """For load balancers and monitors: is the database reachable, is Redis reachable?"""
    from django.core.cache import cache

    status = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        status["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report any failure as text
        status["database"] = f"error: {exc.__class__.__name__}"
    try:
        cache.set("healthz", "ok", 5)
        status["redis"] = "ok" if cache.get("healthz") == "ok" else "error"
    except Exception as exc:  # noqa: BLE001
        status["redis"] = f"error: {exc.__class__.__name__}"
    healthy = all(v == "ok" for v in status.values())
    return JsonResponse(status, status=200 if healthy else 503)


@require_POST
@user_passes_test(lambda u: u.is_superuser)
def worker_check(request):
    """Sends a task through the broker and waits briefly for a worker to answer."""
    result = tasks.ping.delay()
    try:
        answer = result.get(timeout=10)
    except CeleryTimeout:
        return JsonResponse({"ok": False, "error": "no worker answered within 10 seconds"}, status=503)
    return JsonResponse({"ok": True, "task": result.id, **answer})


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's, with the old password checked under the login throttle."""

    form_class = ThrottledPasswordChangeForm
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("password_change_done")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}
