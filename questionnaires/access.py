"""Who may see and load questionnaire versions.

Versions are national: any published version is offered to every round of every unit, so a version
belongs to no unit's subtree. Administrators (units.access.ADMINISTER: a role of administrator on
some unit) and superusers list, read and preview them; loading a new version and publishing it is
for superusers and for the administrators of a whole tree (a role of administrator on a unit
without a parent, such as a province in a province's own deployment), since what they publish
reaches every unit. Everyone else gets a 404 for these pages.
"""

from django.db.models import Q

from units import access
from units.models import Role


def _admin_roles(user):
    return Role.objects.filter(user=user, kind__in=access.ROLES_WITH[access.ADMINISTER])


def may_see_versions(user) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or _admin_roles(user).exists()


def may_load_versions(user) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or _admin_roles(user).filter(unit__parent__isnull=True).exists()


def rounds_in_scope(user) -> Q | None:
    """A filter on rounds (through ``rounds__``) for those in the user's administered subtrees; None
    for a superuser, who sees every round. No one learns of rounds outside their units."""
    if user.is_superuser:
        return None
    condition = Q(rounds__unit__path="")  # no unit has an empty path: no round, without a role
    for path in _admin_roles(user).values_list("unit__path", flat=True):
        condition |= Q(rounds__unit__path__startswith=path)
    return condition
