"""The response browser's short ids and sources, for every page that shows a response."""

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

from fieldwork import selectors
from fieldwork.models import Response

register = template.Library()


@register.filter
def short_id(response_id) -> str:
    """``{{ response.pk|short_id }}``: what the browser's search finds (selectors.short_id)."""
    return selectors.short_id(response_id) if response_id else ""


@register.filter
def source_label(response) -> str:
    """``{{ response|source_label }}``: kiosk, form without JavaScript, paper typed in or imported."""
    return selectors.Source(selectors.response_source(response)).label


@register.filter
def completed(response) -> str:
    """When the response was completed, in the site's time zone: the day alone for a paper form
    (its time is the start of the day written on it)."""
    moment = timezone.localtime(response.submitted_at)
    return date_format(moment, "d/m/Y" if response.channel == Response.Channel.PAPER else "d/m/Y H:i")
