"""The score pages' numbers, written by ``scoring.wording`` as the report, charts and exports write them."""

from django import template

from scoring import wording

register = template.Library()


@register.filter
def number(value, decimals=1) -> str:
    """``{{ value|number }}``: rounded half up, for the active language; "" for None (add ``|default``)."""
    return wording.number(value, int(decimals))


@register.filter
def just_now(moment) -> bool:
    """``{% if run.finished_at|just_now %}``: under a minute ago, when "0 minutes ago" would be written."""
    return wording.just_now(moment)
