"""How scoring writes things for people: one function per thing, shared by the pages
(``scoring.selectors``, the templates through the ``number`` filter), the report (HTML and PDF),
the exports and the score API (which calls it with English active: its JSON stays English).

- ``language_of(code=None) -> "en" | "vi"``: the questionnaire language for a UI language code (the
  active one when none is given): English for "en" and its variants, Vietnamese for anything else.
- ``rounded(value, decimals=1) -> Decimal``: half up on the decimal digits the float prints
  (86.45 → 86.5), as the template filter ``floatformat`` rounds (``number_format`` alone cuts).
- ``number(value, decimals=1) -> str``: rounded and written for the active language ("86.5",
  "86,5"); "" for None (callers and templates choose their dash); never "-0.0".
- ``signed(value, decimals=1) -> str``: a change with the sign of what is written: "+3.1",
  "−3.1" (a minus sign), "±0.0"; "" for None.
- Why a unit's figures are withheld (``withheld`` is the stored ``UnitScore.withheld``, see
  ``scoring.disclosure``): ``withheld_reason(n, minimum, withheld)``, short, for table cells, CSV
  notes and chart notes ("28 responses, fewer than the 30 needed"); ``withheld_sentence(n, minimum,
  withheld)``, a sentence for where the unit's own figures would be (the unit page, the report, the
  API): "Only 28 valid responses: at least 30 are needed before figures are shown."
- ``no_responses()`` (a sub-unit's cell) and ``not_computed()`` (a unit without a stored score).
"""

from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from scoring import disclosure

MINUS = "−"  # U+2212, as typeset; a hyphen would read as a dash in the tables


def language_of(code=None) -> str:
    """ "en" for English and its regional variants, "vi" for anything else; the active language
    when no code is given."""
    code = get_language() if code is None else code
    return "en" if (code or "").lower().startswith("en") else "vi"


def rounded(value, decimals=1) -> Decimal:
    """Half up on the digits the float prints: 0.05 → 0.1, 86.45 → 86.5, -0.05 → -0.1."""
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def number(value, decimals=1) -> str:
    """The value rounded half up and written for the active language; "" for None."""
    if value is None:
        return ""
    shown = rounded(value, decimals)
    return formats.number_format(abs(shown) if shown == 0 else shown, decimals)


def signed(value, decimals=1) -> str:
    """A change with its sign, taken from the written figure (-0.04 → "±0.0"); "" for None."""
    if value is None:
        return ""
    shown = rounded(value, decimals)
    sign = "+" if shown > 0 else MINUS if shown < 0 else "±"
    return sign + formats.number_format(abs(shown), decimals)


def withheld_reason(n: int, minimum: int, withheld: str) -> str:
    """Why a unit's figures are not shown, short (table cells, CSV notes), in the active language."""
    if withheld == disclosure.PROTECTS:
        return ngettext("%(n)d response, withheld so that a unit with too few cannot be worked out",
                        "%(n)d responses, withheld so that a unit with too few cannot be worked out",
                        n) % {"n": n}
    return ngettext("%(n)d response, fewer than the %(minimum)d needed",
                    "%(n)d responses, fewer than the %(minimum)d needed", n) % {"n": n, "minimum": minimum}


def withheld_sentence(n: int, minimum: int, withheld: str) -> str:
    """Why a unit's figures are not shown, as a sentence (unit page, report, API)."""
    if withheld == disclosure.PROTECTS:
        return ngettext(
            "%(n)d valid response: figures withheld so that those of a unit with too few responses cannot be "
            "worked out from them.",
            "%(n)d valid responses: figures withheld so that those of a unit with too few responses cannot be "
            "worked out from them.", n) % {"n": n}
    return ngettext("Only %(n)d valid response: at least %(minimum)d are needed before figures are shown.",
                    "Only %(n)d valid responses: at least %(minimum)d are needed before figures are shown.",
                    n) % {"n": n, "minimum": minimum}


def no_responses() -> str:
    """A sub-unit's cell when nobody answered for it."""
    return _("no responses")


def not_computed() -> str:
    """Why a unit without a stored score shows nothing."""
    return _("No scores have been computed for this unit in this round yet.")
