"""The administration pages: a province's (or any unit's) administrators manage the units, staff
accounts and roles of their subtrees, with no shell. Every page is for someone holding an
administrator role (or a superuser), and sees only what lies inside their units: a unit, account or
role outside them is a 404. Changes are POST only; irreversible ones are confirmed first.

Also the page where a new member of staff sets their password from a one-time link."""

import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from surveyapp.spreadsheet import more_problems
from units import access, hours, selectors, services
from units.forms import (
    PasswordSetForm,
    RoleForm,
    SearchForm,
    StaffCreateForm,
    UnitCloseForm,
    UnitHoursForm,
    UnitImportConfirmForm,
    UnitImportForm,
    UnitRenameForm,
)
from units.models import Role
from units.signals import closing_warnings

PREVIEW_SECONDS = 60 * 60  # how long an uploaded unit file waits for its confirmation
PREVIEW_ROWS = 200  # rows of each table on the preview page
UNITS_PER_PAGE = 100
STAFF_PER_PAGE = 50


def _scope(request):
    return access.administered_scope(request.user)


def _posted(request, files=False):
    """A form's data: what was posted (even nothing: then every required field says so), or none."""
    if request.method != "POST":
        return ()
    return (request.POST, request.FILES) if files else (request.POST,)


def _add_error(form, exc: services.AdministrationError):
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@login_required
@require_GET
def home(request):
    scope = _scope(request)
    roots = [] if scope.everything else list(access.top_units(request.user, access.ADMINISTER))
    return render(request, "units/admin_home.html", {"scope": scope, "roots": roots})


# ---------------------------------------------------------------------------------------------
# Units


@login_required
@require_GET
def unit_list(request):
    scope = _scope(request)
    search = SearchForm(request.GET)
    query = search.search()
    page = Paginator(selectors.admin_units(scope, query), UNITS_PER_PAGE).get_page(request.GET.get("page"))
    base = 0 if scope.everything else min(path.count("/") - 2 for path in scope.paths)
    for unit in page:
        unit.indent = 0 if query else max(unit.depth - base, 0)
    return render(request, "units/admin_units.html", {"search": search, "query": query, "page": page})


def _import_key(request, key):
    return f"units-import:{request.user.pk}:{key}"


def _preview_page(request, plan, key, notice=""):
    return render(request, "units/admin_import_preview.html", {
        "plan": plan, "notice": notice, "limit": PREVIEW_ROWS, "closed": plan.closed,
        "confirm": UnitImportConfirmForm(initial={"key": key, "digest": plan.digest}),
    })


def _import_page(request, form, error=None):
    problems, more = (error.problems, error.more) if error else ([], 0)
    return render(request, "units/admin_import.html", {
        "form": form, "problems": problems, "more": more_problems(more),
        "problem_count": len(problems) + more,
    })


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def unit_import(request):
    """GET: the upload form. POST: the preview of what the file would change, nothing written; the
    file waits in the cache for the confirmation."""
    scope = _scope(request)
    form = UnitImportForm(*_posted(request, files=True))
    if request.method == "GET" or not form.is_valid():
        return _import_page(request, form)
    data = form.cleaned_data["file"].read()
    try:
        plan = services.units_import_preview(text=data, scope=scope)
    except services.UnitImportError as exc:
        return _import_page(request, form, exc)
    key = secrets.token_hex(16)
    cache.set(_import_key(request, key), data, PREVIEW_SECONDS)
    return _preview_page(request, plan, key)


@login_required
@never_cache
@require_POST
def unit_import_confirm(request):
    """Writes what the preview showed, all in one transaction; if the units changed meanwhile, shows
    the new preview instead."""
    scope = _scope(request)
    form = UnitImportConfirmForm(request.POST)
    data = cache.get(_import_key(request, form.cleaned_data["key"])) if form.is_valid() else None
    if data is None:
        messages.error(request, _("This preview has expired or was already imported: upload the file again."))
        return redirect("administration:unit-import")
    key = form.cleaned_data["key"]
    try:
        result = services.units_import_csv(text=data, scope=scope, expect=form.cleaned_data["digest"])
    except services.UnitImportChanged as exc:
        return _preview_page(request, exc.plan, key, notice=_(
            "The units changed since the preview, so nothing was imported. Check what the file would change "
            "now, then confirm again."))
    except services.UnitImportError as exc:
        cache.delete(_import_key(request, key))
        return _import_page(request, UnitImportForm(), exc)
    cache.delete(_import_key(request, key))
    messages.success(request, _("Units imported: %(created)d added, %(updated)d changed (%(closed)d of them "
                                "closed), %(unchanged)d unchanged.") % {
        "created": len(result.created), "updated": len(result.updated), "closed": len(result.closed),
        "unchanged": result.unchanged})
    return redirect("administration:units")


def _get_unit(request, code):
    return access.get_unit_for_user(request.user, code, access.ADMINISTER)


@login_required
@require_http_methods(["GET", "POST"])
def unit_rename(request, code):
    scope, unit = _scope(request), _get_unit(request, code)
    form = UnitRenameForm(*_posted(request), initial={"name": unit.name})
    if request.method == "POST" and form.is_valid():
        old_name = unit.name
        try:
            services.unit_rename(unit=unit, name=form.cleaned_data["name"], scope=scope)
        except services.AdministrationError as exc:
            _add_error(form, exc)
        else:
            messages.success(request, _("%(old)s is renamed %(new)s.") % {"old": old_name, "new": unit.name})
            return redirect("administration:units")
    return render(request, "units/admin_unit_rename.html", {"unit": unit, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def unit_close(request, code):
    """GET: the form. POST: checked, then the confirmation page; POST with ``confirmed``: closed."""
    scope, unit = _scope(request), _get_unit(request, code)
    form = UnitCloseForm(*_posted(request))
    context = {"unit": unit, "form": form, "open_units": selectors.open_units(scope)}
    if request.method == "GET" or not form.is_valid():
        return render(request, "units/admin_unit_close.html", context)
    valid_to, successor_code = form.cleaned_data["valid_to"], form.cleaned_data["successor"]
    try:
        if "confirmed" not in request.POST:
            successor = services.unit_close_check(unit=unit, valid_to=valid_to, successor_code=successor_code,
                                                  scope=scope)
            return render(request, "units/admin_unit_close_confirm.html",
                          {"unit": unit, "valid_to": valid_to, "successor": successor,
                           "warnings": closing_warnings(unit, valid_to)})
        services.unit_close(unit=unit, valid_to=valid_to, successor_code=successor_code, scope=scope)
    except services.AdministrationError as exc:
        _add_error(form, exc)
        return render(request, "units/admin_unit_close.html", context)
    messages.success(request, _("%(unit)s is closed: its last day is %(day)s.")
                     % {"unit": unit, "day": valid_to.strftime("%d/%m/%Y")})
    return redirect("administration:units")


@login_required
@require_http_methods(["GET", "POST"])
def unit_hours(request, code):
    """The desk's opening hours, for its administrators and survey officers (the integrity checks
    flag kiosk responses outside them)."""
    unit = access.get_unit_for_user(request.user, code, access.FIELDWORK)
    form = UnitHoursForm(*_posted(request), initial=UnitHoursForm.initial_for(unit))
    if request.method == "POST" and form.is_valid():
        hours.unit_set_hours(unit=unit, hours=form.cleaned_data["hours"])
        messages.success(request, _("The opening hours of %(unit)s are saved; the next integrity check uses them.")
                         % {"unit": unit.name})
        return redirect("administration:unit-hours", unit.code)
    return render(request, "units/admin_unit_hours.html", {"unit": unit, "form": form,
                                                           "administers": access.user_can(request.user, unit,
                                                                                          access.ADMINISTER)})


# ---------------------------------------------------------------------------------------------
# Staff accounts and roles


def _get_staff(scope, user_id):
    return get_object_or_404(selectors.staff_for_admin(scope), pk=user_id)


def _link_page(request, member, parts, created=False):
    link = request.build_absolute_uri(reverse("administration:set-password", args=parts))
    hours = settings.PASSWORD_RESET_TIMEOUT // 3600
    return render(request, "units/admin_staff_link.html",
                  {"member": member, "link": link, "hours": hours, "days": hours // 24, "created": created})


@login_required
@require_GET
def staff_list(request):
    scope = _scope(request)
    search = SearchForm(request.GET)
    page = Paginator(selectors.staff_for_admin(scope, search.search()), STAFF_PER_PAGE).get_page(
        request.GET.get("page"))
    return render(request, "units/admin_staff.html", {"search": search, "query": search.search(), "page": page})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def staff_create(request):
    """GET: the form. POST: the account with its first role, and the one-time link to set its
    password, shown on this answer only."""
    scope = _scope(request)
    form = StaffCreateForm(*_posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            member = services.staff_create(username=data["username"], full_name=data["full_name"],
                                           email=data["email"], unit_code=data["unit"], kind=data["kind"],
                                           scope=scope)
        except services.AdministrationError as exc:
            _add_error(form, exc)
        else:
            return _link_page(request, member, services.password_link_parts(member), created=True)
    return render(request, "units/admin_staff_new.html", {"form": form, "open_units": selectors.open_units(scope)})


def _staff_page(request, scope, member, form=None):
    return render(request, "units/admin_staff_detail.html", {
        "member": member, "form": form or RoleForm(), "open_units": selectors.open_units(scope),
        "cannot_manage": services.staff_may_manage(user=member, scope=scope, by=request.user),
    })


@login_required
@require_GET
def staff_detail(request, user_id):
    scope = _scope(request)
    return _staff_page(request, scope, _get_staff(scope, user_id))


@login_required
@require_POST
def role_grant(request, user_id):
    scope = _scope(request)
    member = _get_staff(scope, user_id)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            role, created = services.role_grant(username=member.get_username(), unit_code=form.cleaned_data["unit"],
                                                kind=form.cleaned_data["kind"], scope=scope)
        except services.AdministrationError as exc:
            _add_error(form, exc)
        else:
            text = (_("%(user)s is now %(role)s of %(unit)s.") if created
                    else _("%(user)s was already %(role)s of %(unit)s."))
            messages.success(request, text % {"user": member.get_full_name() or member.get_username(),
                                              "role": role.get_kind_display().lower(), "unit": role.unit})
            return redirect("administration:staff-detail", member.pk)
    return _staff_page(request, scope, member, form)


@login_required
@require_http_methods(["GET", "POST"])
def role_revoke(request, user_id, role_id):
    scope = _scope(request)
    member = _get_staff(scope, user_id)
    role = get_object_or_404(Role.objects.filter(scope.q("unit__")).select_related("unit"), pk=role_id, user=member)
    if request.method == "GET":
        others = [r for r in member.scoped_roles if r.pk != role.pk]
        return render(request, "units/admin_role_revoke.html",
                      {"member": member, "role": role, "last": not others and not member.roles_elsewhere})
    try:
        services.role_revoke(role=role, scope=scope, by=request.user)
    except services.AdministrationError as exc:
        messages.error(request, exc.message)
        return redirect("administration:staff-detail", member.pk)
    messages.success(request, _("%(user)s is no longer %(role)s of %(unit)s.") % {
        "user": member.get_full_name() or member.get_username(), "role": role.get_kind_display().lower(),
        "unit": role.unit})
    if not selectors.staff_for_admin(scope).filter(pk=member.pk).exists():
        return redirect("administration:staff")
    return redirect("administration:staff-detail", member.pk)


def _account_action(request, user_id, template, action, action_name):
    """GET: the confirmation (or why it cannot be done). POST: ``action(member, scope)``, which
    answers the page to show, or None to go back to the account's page."""
    scope = _scope(request)
    member = _get_staff(scope, user_id)
    if request.method == "GET":
        return render(request, template, {
            "member": member, "action_name": action_name,
            "cannot_manage": services.staff_may_manage(user=member, scope=scope, by=request.user)})
    try:
        answer = action(member, scope)
    except services.AdministrationError as exc:
        messages.error(request, exc.message)
        answer = None
    return answer or redirect("administration:staff-detail", member.pk)


@login_required
@require_http_methods(["GET", "POST"])
def staff_deactivate(request, user_id):
    def deactivate(member, scope):
        services.staff_set_active(user=member, active=False, scope=scope, by=request.user)
        messages.success(request, _("The account %(username)s is deactivated: it can no longer log in.")
                         % {"username": member.get_username()})

    return _account_action(request, user_id, "units/admin_staff_deactivate.html", deactivate, _("Deactivate"))


@login_required
@require_http_methods(["GET", "POST"])
def staff_reactivate(request, user_id):
    def reactivate(member, scope):
        services.staff_set_active(user=member, active=True, scope=scope, by=request.user)
        messages.success(request, _("The account %(username)s is active again.") % {"username": member.get_username()})

    return _account_action(request, user_id, "units/admin_staff_reactivate.html", reactivate, _("Reactivate"))


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def staff_reset(request, user_id):
    def reset(member, scope):
        parts = services.staff_password_reset(user=member, scope=scope, by=request.user)
        return _link_page(request, member, parts)

    return _account_action(request, user_id, "units/admin_staff_reset.html", reset,
                           _("New link to set the password"))


# ---------------------------------------------------------------------------------------------
# Setting a password from a one-time link


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """Django's password reset confirmation, for a link an administrator passed on: for active
    accounts only, and the person then logs in with the password they chose."""

    form_class = PasswordSetForm
    template_name = "registration/password_set.html"
    success_url = reverse_lazy("login")
    post_reset_login = False

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def form_valid(self, form):
        answer = super().form_valid(form)
        messages.success(self.request, _("Your password is set. Log in with your username, %(username)s, and your new "
                                         "password.") % {"username": form.user.get_username()})
        return answer


password_set = PasswordSetView.as_view()
