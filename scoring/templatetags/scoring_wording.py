"""The score pages' numbers, written by ``scoring.wording`` as the report, charts and exports write them."""

from django import template

from scoring import wording

register = template.Library()


@register.filter
def number(value, decimals=1) -> str:
    """``{{ value|number }}``: rounded half up, for the active language; "" for None (add ``|default``)."""
    return wording.number(value, int(decimals))
