"""The one permission helper every staff view uses.

A role on a unit covers that unit's subtree. Someone without a suitable role on a unit gets a 404
for it, never a 403: we do not confirm that a unit or object exists to someone who may not see it.
"""

import re
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q
from django.http import Http404

from units.models import CODE_PATTERN, Role, Unit

# What each capability needs. An administrator can do everything within their subtree.
FIELDWORK = "fieldwork"  # run rounds, kiosks, quotas, paper forms, exclusions
SCORES = "scores"  # read scores, reports and exports
OVERVIEW = "overview"  # round overview: where responses come from, freshness of the scores
ADMINISTER = "administer"  # manage units and staff

ROLES_WITH = {
    FIELDWORK: [Role.Kind.OFFICER, Role.Kind.ADMIN],
    SCORES: [Role.Kind.HEAD, Role.Kind.ADMIN],
    OVERVIEW: [Role.Kind.OFFICER, Role.Kind.HEAD, Role.Kind.ADMIN],
    ADMINISTER: [Role.Kind.ADMIN],
}


def user_can(user, unit: Unit, capability: str) -> bool:
    """True if the user holds a role with the capability on the unit or one of its ancestors."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return Role.objects.filter(
        user=user, kind__in=ROLES_WITH[capability], unit__path__in=unit.ancestor_paths()
    ).exists()


def get_unit_for_user(user, code: str, capability: str) -> Unit:
    """The unit with this code, if the user may use it for the capability; else Http404 (also for
    a code no unit can have, which is never looked up: PostgreSQL refuses a NUL in text)."""
    if not isinstance(code, str) or len(code) > Unit._meta.get_field("code").max_length \
            or not re.match(CODE_PATTERN, code):
        raise Http404("No such unit.")
    unit = Unit.objects.filter(code=code).first()
    if unit is None or not user_can(user, unit, capability):
        raise Http404("No such unit.")
    return unit


def check_unit_access(user, unit: Unit, capability: str) -> None:
    """For objects that belong to a unit (rounds, kiosks): 404 unless the user may see the unit."""
    if not user_can(user, unit, capability):
        raise Http404("Not found.")


def role_paths_within(user, unit: Unit, capability: str) -> list[str]:
    """The paths of the units inside this unit's subtree where the user holds the capability."""
    if not user.is_authenticated or not user.is_active:
        return []
    return sorted(set(
        Role.objects.filter(user=user, kind__in=ROLES_WITH[capability], unit__path__startswith=unit.path)
        .values_list("unit__path", flat=True)
    ))


def visible_units(user, capability: str):
    """Every unit in the subtrees where the user holds a role with the capability."""
    if not user.is_authenticated or not user.is_active:
        return Unit.objects.none()
    if user.is_superuser:
        return Unit.objects.all()
    roots = list(
        Role.objects.filter(user=user, kind__in=ROLES_WITH[capability]).values_list("unit__path", flat=True)
    )
    if not roots:
        return Unit.objects.none()
    condition = Q()
    for path in roots:
        condition |= Q(path__startswith=path)
    return Unit.objects.filter(condition)


def top_units(user, capability: str):
    """The roots of the user's subtrees: where their navigation starts."""
    if user.is_superuser:
        return Unit.objects.filter(parent__isnull=True)
    return Unit.objects.filter(
        roles__user=user, roles__kind__in=ROLES_WITH[capability]
    ).distinct().order_by("path")


# ---------------------------------------------------------------------------------------------
# Administration: the subtrees where a user manages units, staff and roles


@dataclass(frozen=True)
class AdminScope:
    """The subtrees an administrator manages: the paths of the units where they hold an
    administrator role, none inside another (``paths``), or every unit (``everything``: a superuser).
    Units, staff and roles outside it are treated as if they did not exist."""

    paths: tuple[str, ...] = ()
    everything: bool = False

    def contains(self, path: str) -> bool:
        return self.everything or any(path.startswith(root) for root in self.paths)

    def q(self, prefix: str = "") -> Q:
        """A condition on ``<prefix>path`` selecting the units inside the scope."""
        if self.everything:
            return Q()
        condition = Q(pk__in=[])
        for root in self.paths:
            condition |= Q(**{f"{prefix}path__startswith": root})
        return condition

    def units(self):
        return Unit.objects.filter(self.q())


def administered_scope(user) -> AdminScope:
    """The units the user administers; Http404 when none (the administration pages then do not exist
    for them)."""
    if user.is_authenticated and user.is_active and user.is_superuser:
        return AdminScope(everything=True)
    paths = role_paths(user, ADMINISTER)
    roots = tuple(p for p in paths if not any(p != other and p.startswith(other) for other in paths))
    if not roots:
        raise Http404("Not found.")
    return AdminScope(paths=roots)


def role_paths(user, capability: str) -> list[str]:
    """The paths of the units where the user holds a role with the capability, sorted."""
    if not user.is_authenticated or not user.is_active:
        return []
    return sorted(set(Role.objects.filter(user=user, kind__in=ROLES_WITH[capability])
                      .values_list("unit__path", flat=True)))


def administers_units():
    """An expression for a user queryset: does the user hold an administrator role anywhere? The
    login backend adds it to the request's user (one query, not one more per page), for the menu."""
    return Exists(Role.objects.filter(user=OuterRef("pk"), kind__in=ROLES_WITH[ADMINISTER]))
