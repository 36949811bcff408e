from django.db.models import F

from units.models import Unit


def unit_detail_context(unit: Unit):
    """The unit page: its ancestors (for the breadcrumb), children and merger history."""
    ancestors = list(Unit.objects.filter(path__in=unit.ancestor_paths()[:-1]).order_by("depth"))
    # Units that exist today first; those merged away after them.
    children = unit.children.order_by(F("valid_to").asc(nulls_first=True), "level", "name")
    return {
        "unit": unit,
        "ancestors": ancestors,
        "children": children,
        "predecessors": unit.predecessors.order_by("code"),
        "subtree_size": unit.subtree().count() - 1,
    }
