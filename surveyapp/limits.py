"""What the database can hold, checked before anything is sent to it.

PostgreSQL refuses a whole number outside its column's range and text holding a NUL character; the
driver then raises, and the request would end in a server error. Every number and every piece of
text that a person or a kiosk sends is checked here first: ``whole_number`` for a number within a
column's range, ``control_character`` for text a person could not have meant (NUL and the other
control characters, half a surrogate pair, the invisible marks that reverse the direction of text).
The form fields below apply the same two rules to the staff pages.

It imports no app of the project, so units, questionnaires, fieldwork, scoring and the kiosk API
all take their rules from here, as they take CSV from ``surveyapp.spreadsheet``.
"""

import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

SMALLINT_MAX = 2**15 - 1  # PostgreSQL's smallint
INT_MAX = 2**31 - 1  # integer (Django's IntegerField, PositiveIntegerField)
BIGINT_MAX = 2**63 - 1  # bigint

# Marks that reverse or isolate the direction of the text that follows: invisible, and a name or a
# code holding one reads differently from what it is ("Trojan source").
DIRECTION_MARKS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_BREAKS = frozenset("\t\n\r")


def whole_number(value, *, low=0, high=INT_MAX):
    """``value`` if it is a whole number from ``low`` to ``high``, else None. A boolean, a float
    (even 3.0) or a numeric string is not a whole number: JSON and Python would each read it
    differently."""
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    return None


def control_character(text: str, *, multiline=False):
    """The first character of ``text`` that no one types on purpose, or None: a control character
    (NUL, escape…; tab and line breaks are allowed in ``multiline`` text), half of a surrogate pair,
    or a direction mark."""
    for char in text:
        if multiline and char in LINE_BREAKS:
            continue
        if unicodedata.category(char) in ("Cc", "Cs") or char in DIRECTION_MARKS:
            return char
    return None


def describe(char: str) -> str:
    """A character the reader cannot see, named: ``U+0000``."""
    return f"U+{ord(char):04X}"


@deconstructible
class PlainTextValidator:
    """A form's text without control characters (``multiline``: tab and line breaks allowed)."""

    message = _("Remove the invisible control character %(char)s (character %(position)s).")
    code = "control_character"

    def __init__(self, multiline=False):
        self.multiline = multiline

    def __call__(self, value):
        char = control_character(str(value), multiline=self.multiline)
        if char is not None:
            raise ValidationError(self.message, code=self.code,
                                  params={"char": describe(char), "position": str(value).index(char) + 1})

    def __eq__(self, other):
        return isinstance(other, PlainTextValidator) and other.multiline == self.multiline


class PlainTextField(forms.CharField):
    """A CharField whose text has no control characters; ``max_length`` is required, as the column's."""

    def __init__(self, *, max_length, multiline=False, **kwargs):
        super().__init__(max_length=max_length, **kwargs)
        self.validators.append(PlainTextValidator(multiline=multiline))


class WholeNumberField(forms.IntegerField):
    """An IntegerField within a column's range: from 0 to the largest ``integer`` unless told."""

    def __init__(self, *, min_value=0, max_value=INT_MAX, **kwargs):
        super().__init__(min_value=min_value, max_value=max_value, **kwargs)


class UploadField(forms.FileField):
    """A FileField refusing a file larger than ``max_bytes`` (a number, or a function giving it, so
    that a setting is read when the form is checked) with ``too_large``: a message naming
    %(size)s and what to do, in the user's language. The reader checks the content itself."""

    def __init__(self, *, max_bytes, too_large, **kwargs):
        super().__init__(**kwargs)
        self.max_bytes, self.too_large = max_bytes, too_large

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        limit = self.max_bytes() if callable(self.max_bytes) else self.max_bytes
        if upload is not None and upload.size > limit:
            from django.template.defaultfilters import filesizeformat

            raise ValidationError(self.too_large, code="too_large", params={"size": filesizeformat(limit)})
        return upload
