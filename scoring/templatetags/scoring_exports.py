"""Template helpers for the export links and the printable report."""

from django import template
from django.utils.translation import gettext as _

from scoring import charts
from units import access

register = template.Library()


@register.simple_tag(takes_context=True)
def can_export_responses(context, unit) -> bool:
    """Whether the page's user may download the unit's raw responses (survey officers and
    administrators: the fieldwork capability). One query, none for a superuser."""
    user = context.get("user") or getattr(context.get("request"), "user", None)
    return bool(user is not None and unit is not None and access.user_can(user, unit, access.FIELDWORK))


@register.filter
def factor_chart(rows):
    """The report's factor indices as a bar chart, each with its "in general" rate as a marker."""
    return charts.bar_chart_svg(rows, title=_("Factor indices (%), with the “in general” rate marked"))
