from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db.models import Exists, F, OuterRef, Prefetch, Q, Value
from django.utils import timezone

from units.access import AdminScope
from units.models import Role, Unit


def unit_detail_context(unit: Unit):
    """The unit page: its ancestors (for the breadcrumb), children and merger history."""
    ancestors = list(Unit.objects.filter(path__in=unit.ancestor_paths()[:-1]).order_by("depth"))
    # Units that exist today first; those merged away after them.
    children = list(unit.children.order_by(F("valid_to").asc(nulls_first=True), "level", "name"))
    today = timezone.localdate()
    return {
        "unit": unit,
        "ancestors": ancestors,
        "children": children,  # the table's rows: its heading counts them, nothing else
        "children_closed": sum(1 for c in children if c.valid_to is not None and c.valid_to < today),
        "predecessors": unit.predecessors.order_by("code"),
        "subtree_size": unit.subtree().count() - 1,  # every level below, said apart from the rows
    }


def units_by_codes(codes, units=None) -> dict:
    """Code as a file gives it → unit, among ``units`` (every unit by default): the unit of that code,
    else, for a code of digits, the one unit whose code it is once the zeros in front are put back.
    Excel opens "02212" in a CSV as the number 2212 and saves it so, and administrative codes of
    communes and provinces start with zeros; a code two units could be ("8" for "08" and "008") stays
    unknown. Codes not found are left out."""
    units = Unit.objects.all() if units is None else units
    codes = {code for code in codes if code}
    found = {unit.code: unit for unit in units.filter(code__in=codes)}
    lost = sorted(code for code in codes - set(found) if code.isascii() and code.isdigit())
    for start in range(0, len(lost), 500):
        chunk = lost[start:start + 500]
        candidates = defaultdict(list)
        for unit in units.filter(code__regex="^0+(" + "|".join(code.lstrip("0") for code in chunk) + ")$"):
            candidates[unit.code.lstrip("0")].append(unit)
        for code in chunk:
            if len(candidates[code.lstrip("0")]) == 1:
                found[code] = candidates[code.lstrip("0")][0]
    return found


# ---------------------------------------------------------------------------------------------
# Administration pages


def admin_units(scope: AdminScope, search: str = ""):
    """The units an administrator manages, in tree order, with what the list shows."""
    units = scope.units().select_related("successor").order_by("path")
    if search:
        units = units.filter(Q(code__icontains=search) | Q(name__icontains=search))
    return units


def open_units(scope: AdminScope, limit: int = 1000):
    """Units open today inside the scope, for the suggestions of a unit-code field (the first
    ``limit``: a form does not list a whole country)."""
    today = timezone.localdate()
    return list(scope.units().filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today))
                .order_by("path").only("code", "name")[:limit])


def staff_for_admin(scope: AdminScope, search: str = ""):
    """The staff an administrator manages: everyone holding a role inside their units (not
    superusers); a superuser's, everyone. Each with ``scoped_roles`` (their roles inside the scope,
    with the units) and ``roles_elsewhere`` (do they hold a role outside it?)."""
    User = get_user_model()
    scoped_roles = Role.objects.filter(scope.q("unit__")).select_related("unit").order_by("unit__path", "kind")
    if scope.everything:
        users = User.objects.annotate(roles_elsewhere=Value(False))
    else:
        users = User.objects.filter(is_superuser=False, pk__in=scoped_roles.values("user")).annotate(
            roles_elsewhere=Exists(Role.objects.filter(user=OuterRef("pk")).exclude(scope.q("unit__"))))
    if search:
        users = users.filter(Q(username__icontains=search) | Q(first_name__icontains=search)
                             | Q(last_name__icontains=search) | Q(email__icontains=search))
    return users.prefetch_related(Prefetch("unit_roles", queryset=scoped_roles, to_attr="scoped_roles")) \
        .order_by("username")
