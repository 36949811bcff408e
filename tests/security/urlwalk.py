"""Every URL pattern of the project, with its parameters filled in, for the access tests.

``walk()`` flattens the resolver into (route, name, callback) rows. ``fill()`` turns a route into
a URL with values from a dict keyed by parameter name; a parameter it does not know is an error,
so that a new page with a new kind of parameter cannot slip past the access tests unchecked.
"""

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern


@dataclass
class Route:
    route: str  # "rounds/<int:round_id>/paper/"
    name: str  # "fieldwork:paper-entry"
    regex: bool  # a regular expression (the admin's), not a path() route


def _text(pattern) -> tuple[str, bool]:
    if isinstance(pattern, RoutePattern):
        return str(pattern._route), False
    if isinstance(pattern, RegexPattern):
        return pattern._regex, True
    return str(pattern), True


def walk(patterns=None, prefix="", namespace="", regex=False):
    """Yield a Route for every URLPattern under the project's URL configuration."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        text, is_regex = _text(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, prefix + text, inner, regex or is_regex)
        elif isinstance(entry, URLPattern):
            yield Route(route=prefix + text, name=f"{namespace}{entry.name or '?'}", regex=regex or is_regex)


# ``<int:round_id>`` in a path() route, ``(?P<app_label>auth|units)`` in a regular expression.
PARAMETER = re.compile(r"\(\?P<(?P<group>[^>]+)>[^)]*\)|<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


class UnknownParameter(LookupError):
    pass


def parameters(route: str) -> list[str]:
    return [m.group("group") or m.group("name") for m in PARAMETER.finditer(route)]


def fill(route: str, values: dict) -> str:
    """The URL of a route with each ``<converter:name>`` replaced by ``values[name]``."""

    def replace(match):
        name = match.group("group") or match.group("name")
        if name not in values:
            raise UnknownParameter(
                f"the access walker cannot fill <{name}> in {route!r}: add a value of another province "
                "for it in tests/security/test_access_walk.py, so that the new page is checked too"
            )
        return str(values[name])

    return "/" + PARAMETER.sub(replace, route).replace("^", "").replace("$", "")
