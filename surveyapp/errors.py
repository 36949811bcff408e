"""Errors a person reads, worded when they are shown.

A service refuses something with ``UserError`` (or a subclass: ``RoundError``, ``QuotaError``): a
translatable message marked with ``gettext_lazy`` and its parameters. The text is made by
``str(error)`` in the language active at that moment, so one refusal reads in Vietnamese on a
Vietnamese page, in English on an English one, and in the server's language (settings.LANGUAGE_CODE)
from a management command. Views show it as a form error (``form.add_error(None, str(error))``) or
a message; nothing below the views formats the text itself. Identifiers (a round's id, a code) go
in as strings: only counts are written with the language's digit grouping.

    raise QuotaError(_("%(count)s responses are already in this quota"), count=5)
"""

from django.utils import formats


class UserError(Exception):
    """A refusal for a person: ``message`` (lazy, with ``%(name)s`` placeholders) and ``params``.

    Numbers among the parameters are written as the active language writes them ("1.930")."""

    def __init__(self, message, **params):
        super().__init__(message)
        self.message, self.params = message, params

    def __str__(self):
        text = str(self.message)
        if not self.params:
            return text
        return text % {name: _shown(value) for name, value in self.params.items()}


def _shown(value):
    if isinstance(value, int) and not isinstance(value, bool):
        return formats.localize(value)
    return str(value)
