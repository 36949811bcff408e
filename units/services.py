"""Changing units, roles and staff accounts: the rules of the administration pages and commands.

Every function takes the ``scope`` of the administrator acting (``units.access.AdminScope``;
commands act on everything): what lies outside it is refused as if it did not exist. Refusals are
``AdministrationError`` with a message for the person (translated) and the form field it is about.
The CSV import of units is in ``units.imports``.
"""

import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from units.access import ADMINISTER, ROLES_WITH, AdminScope
from units.imports import (  # noqa: F401 - the import's names, where callers have always found them
    EVERYTHING,
    RowProblem,
    UnitImportChanged,
    UnitImportError,
    UnitImportPlan,
    UnitImportResult,
    unit_move_subtree,
    units_import_csv,
    units_import_preview,
)
from units.models import Role, Unit


class AdministrationError(Exception):
    """A change refused; ``message`` says why (translated), ``field`` is the form field it is about
    (None: the form as a whole)."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


class RoleGrantError(AdministrationError):
    pass


def _display(user):
    return user.get_full_name() or user.get_username()


# ---------------------------------------------------------------------------------------------
# Units


def _no_unit(code, scope):
    """A code no unit has, or a unit outside the scope: the same answer (as a 404 is)."""
    if scope.everything:
        return _("There is no unit with the code “%(code)s”.") % {"code": code}
    return _("There is no unit with the code “%(code)s” among the units you administer.") % {"code": code}


def _check_unit_in_scope(unit, scope):
    if not scope.contains(unit.path):
        raise AdministrationError(_("This unit is not one of the units you administer."))


def unit_rename(*, unit: Unit, name: str, scope: AdminScope = EVERYTHING) -> Unit:
    """Give the unit a new name; its code, and so everything recorded against it, stays."""
    _check_unit_in_scope(unit, scope)
    name = name.strip()
    if not name:
        raise AdministrationError(_("The name cannot be empty."), "name")
    Unit.objects.filter(pk=unit.pk).update(name=name)
    unit.name = name
    return unit


def _next_day(day):
    return day + datetime.timedelta(days=1) if day < datetime.date.max else day


def _successor_for_close(unit, valid_to, successor_code, scope):
    if not successor_code:
        return None
    successor = Unit.objects.filter(code=successor_code).first()
    if successor is None or not scope.contains(successor.path):
        raise AdministrationError(_no_unit(successor_code, scope), "successor")
    if successor.pk == unit.pk:
        raise AdministrationError(_("A unit cannot be its own successor."), "successor")
    if successor.path.startswith(unit.path):
        raise AdministrationError(_("The successor cannot be a unit below the one being closed."), "successor")
    if not successor.is_valid_on(_next_day(valid_to)):
        raise AdministrationError(
            _("%(unit)s is not open on %(day)s, the day after the last day: choose a unit that takes over then.")
            % {"unit": successor, "day": _next_day(valid_to).strftime("%d/%m/%Y")}, "successor")
    return successor


def _open_units_below(unit, valid_to):
    return list(unit.subtree().exclude(pk=unit.pk).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=valid_to))
                .order_by("path")[:6])


def unit_close_check(*, unit: Unit, valid_to: datetime.date, successor_code: str = "",
                     scope: AdminScope = EVERYTHING) -> Unit | None:
    """The checks of closing a unit, without closing it: the successor (or None). Raises
    AdministrationError naming the field at fault."""
    _check_unit_in_scope(unit, scope)
    if unit.valid_to is not None:
        raise AdministrationError(_("This unit is already closed: its last day was %(day)s.")
                                  % {"day": unit.valid_to.strftime("%d/%m/%Y")})
    if unit.valid_from is not None and valid_to < unit.valid_from:
        raise AdministrationError(_("The last day cannot be before the unit's first day, %(day)s.")
                                  % {"day": unit.valid_from.strftime("%d/%m/%Y")}, "valid_to")
    successor = _successor_for_close(unit, valid_to, successor_code, scope)
    still_open = _open_units_below(unit, valid_to)
    if still_open:
        codes = ", ".join(u.code for u in still_open[:5]) + (" …" if len(still_open) > 5 else "")
        raise AdministrationError(
            _("Units below this one are still open after that day (%(codes)s): close them first, or move them "
              "to another unit with a CSV import.") % {"codes": codes}, "valid_to")
    return successor


@transaction.atomic
def unit_close(*, unit: Unit, valid_to: datetime.date, successor_code: str = "",
               scope: AdminScope = EVERYTHING) -> Unit:
    """Close a unit: ``valid_to`` is its last day; ``successor_code`` names the unit that took it
    over (the 2025 merger). Units are never deleted: what was recorded against it stays, and its
    history points to the successor."""
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    successor = unit_close_check(unit=unit, valid_to=valid_to, successor_code=successor_code, scope=scope)
    unit.valid_to, unit.successor = valid_to, successor
    unit.save(update_fields=["valid_to", "successor"])
    return unit


# ---------------------------------------------------------------------------------------------
# Roles


def _visible_user(username, scope):
    """The user, if the administrator may see them: a user holding a role inside the scope, or no
    role at all (not a superuser); a superuser sees everyone."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None or scope.everything:
        return user
    if user.is_superuser:
        return None
    roles = Role.objects.filter(user=user)
    if roles.exists() and not roles.filter(scope.q("unit__")).exists():
        return None
    return user


def _unit_for_grant(unit_code, scope):
    unit = Unit.objects.filter(code=unit_code).first() if unit_code else None
    if unit is None or not scope.contains(unit.path):
        raise RoleGrantError(_no_unit(unit_code, scope), "unit")
    if unit.valid_to is not None and unit.valid_to < timezone.localdate():
        raise RoleGrantError(
            _("%(unit)s was closed on %(day)s: grant the role on the unit that took it over.")
            % {"unit": unit, "day": unit.valid_to.strftime("%d/%m/%Y")}, "unit")
    return unit


def role_grant(*, username: str, unit_code: str, kind: str, scope: AdminScope = EVERYTHING) -> tuple[Role, bool]:
    """Give a user a role on a unit's subtree (the unit inside the scope, open today). Granting a
    role the user already has changes nothing: (role, created)."""
    user = _visible_user(username, scope)
    if user is None:
        raise RoleGrantError(_("There is no staff account “%(username)s”.") % {"username": username})
    unit = _unit_for_grant(unit_code, scope)
    if kind not in Role.Kind.values:
        raise RoleGrantError(_("“%(kind)s” is not a role: use one of %(kinds)s.")
                             % {"kind": kind, "kinds": ", ".join(Role.Kind.values)}, "kind")
    return Role.objects.get_or_create(user=user, unit=unit, kind=kind)


def role_revoke(*, role: Role, scope: AdminScope = EVERYTHING, by=None) -> None:
    """Take a role away. An administrator cannot take away the administrator role that lets them
    administer its unit (another administrator must)."""
    _check_unit_in_scope(role.unit, scope)
    if by is not None and role.user_id == by.pk and role.kind in ROLES_WITH[ADMINISTER] and not by.is_superuser:
        still_covered = Role.objects.filter(user=by, kind__in=ROLES_WITH[ADMINISTER],
                                            unit__path__in=role.unit.ancestor_paths()).exclude(pk=role.pk)
        if not still_covered.exists():
            raise AdministrationError(_("You cannot take away your own administrator role: you would no longer "
                                        "administer this unit. Ask another administrator."))
    role.delete()


# ---------------------------------------------------------------------------------------------
# Staff accounts


def password_link_parts(user) -> tuple[str, str]:
    """(uidb64, token) of a one-time link to set the user's password: it works until the password
    changes (so once) and for PASSWORD_RESET_TIMEOUT seconds at most (Django's token generator)."""
    return urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)


def _check_may_manage(user, scope, by):
    """An administrator changes an account only if every role it holds is inside their units."""
    if scope.everything:
        return
    if user.is_superuser:
        raise AdministrationError(_("%(user)s is a superuser: only a superuser can change this account.")
                                  % {"user": _display(user)})
    if Role.objects.filter(user=user).exclude(scope.q("unit__")).exists():
        raise AdministrationError(_("%(user)s also holds roles on units you do not administer: only an "
                                    "administrator of all their units can change this account.")
                                  % {"user": _display(user)})


def staff_may_manage(*, user, scope: AdminScope, by) -> str:
    """Why the administrator ``by`` cannot deactivate or reset ``user`` ("" when they can)."""
    if user.pk == by.pk:
        return _("This is your own account.")
    try:
        _check_may_manage(user, scope, by)
    except AdministrationError as exc:
        return exc.message
    return ""


@transaction.atomic
def staff_create(*, username: str, full_name: str, email: str, unit_code: str, kind: str,
                 scope: AdminScope = EVERYTHING):
    """A staff account without a password, with its first role (so that its administrator sees it).
    The person sets their password with a one-time link (``password_link_parts``)."""
    User = get_user_model()
    if User.objects.filter(username__iexact=username).exists():
        raise AdministrationError(_("The username “%(username)s” is taken: choose another.")
                                  % {"username": username}, "username")
    unit = _unit_for_grant(unit_code, scope)
    if kind not in Role.Kind.values:
        raise AdministrationError(_("“%(kind)s” is not a role: use one of %(kinds)s.")
                                  % {"kind": kind, "kinds": ", ".join(Role.Kind.values)}, "kind")
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=None,
                                            first_name=full_name.strip())
    except IntegrityError:  # taken by a request at the same moment
        raise AdministrationError(_("The username “%(username)s” is taken: choose another.")
                                  % {"username": username}, "username") from None
    Role.objects.create(user=user, unit=unit, kind=kind)
    return user


def staff_set_active(*, user, active: bool, scope: AdminScope, by):
    """Deactivate an account (it can no longer log in, its sessions and API tokens stop working at
    once; nothing it recorded is lost) or reactivate it."""
    if not active and user.pk == by.pk:
        raise AdministrationError(_("You cannot deactivate your own account."))
    _check_may_manage(user, scope, by)
    user.is_active = active
    user.save(update_fields=["is_active"])
    return user


def staff_password_reset(*, user, scope: AdminScope, by) -> tuple[str, str]:
    """Remove the account's password (it stops working at once, and so do earlier links and the
    person's sessions) and return the parts of a new one-time link to set one."""
    if user.pk == by.pk:
        raise AdministrationError(_("To change your own password, use “Change password” in the top menu."))
    _check_may_manage(user, scope, by)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return password_link_parts(user)
