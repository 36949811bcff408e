"""Words for the integrity flags on pages (fieldwork.integrity holds them)."""

from django import template

from fieldwork import integrity
from fieldwork.models import IntegrityFlag

register = template.Library()


@register.filter
def integrity_reason(flag: dict) -> str:
    """Why the response is flagged, from a flag {"kind", "detail"} of ``integrity_flags``."""
    return integrity.flag_reason(flag.get("kind"), flag.get("detail"))


@register.filter
def integrity_kind(kind: str) -> str:
    return dict(IntegrityFlag.Kind.choices).get(kind, kind)
