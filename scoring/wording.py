"""How scoring writes things for people: one function per thing, shared by the pages
(``scoring.selectors``, the templates through the ``number`` filter), the report (HTML and PDF),
the exports and the score API (which calls it with English active: its JSON stays English).

- ``language_of(code=None) -> "en" | "vi"``: the questionnaire language for a UI language code (the
  active one when none is given): English for "en" and its variants, Vietnamese for anything else.
- ``text_in(value, language) -> str``: a questionnaire text ({"vi": …, "en": …}) in the language,
  the Vietnamese where it has none in it; a plain string as it is.
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
- A unit's place among its siblings (``UnitScore.rank``, ``rank_of``): ``rank(3, 12)`` "3rd of 12"
  ("hạng 3/12"), for the headline and the page's tables; ``rank_short(3, 12)`` "3/12", for the
  report's narrow column headed "Rank"; "" when the unit is not ranked. ``ordinal(3)`` "3rd".
- A unit's place in its block (khối, ``scoring.ranking.block_places``): ``block_rank(3, 64, "communes")``
  "3rd of 64 communes and wards" ("Hạng 3/64 xã, phường"); ``block_units(key)`` the units of a
  block as the rank names them; "" when the unit is not ranked.
- The change since the previous round (``change_points``, ``change_places``: positive = up):
  ``points(3.13)`` "+3.1 points", ``places(-5)`` "down 5 places", ``change(3.13, -5)`` "+3.1 points,
  down 5 places" (the unit page, the report, the PDF); a column headed "Change (points)" writes
  ``signed(3.13)`` "+3.1".

Every figure is written with ``DECIMALS`` (1) decimals: a percentage, and a change in points, the
difference of two of them, as precise as what it compares (the ministry's reports, SIPAS.md §9, give
both with two). The workbook's number format says the same (``spreadsheet_format()``, "0.0"); the
score API and the exports' cells carry the stored floats, unrounded.
"""

import unicodedata
from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats, timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from scoring import disclosure

MINUS = "−"  # U+2212, as typeset; a hyphen would read as a dash in the tables
DECIMALS = 1  # of every percentage and every change in points the product writes


def language_of(code=None) -> str:
    """ "en" for English and its regional variants, "vi" for anything else; the active language
    when no code is given."""
    code = get_language() if code is None else code
    return "en" if (code or "").lower().startswith("en") else "vi"


def text_in(value, language) -> str:
    """A questionnaire text in the language ("vi", "en"), else its Vietnamese; a plain string as it is."""
    if isinstance(value, dict):
        return value.get(language) or value.get("vi") or ""
    return str(value or "")


def rounded(value, decimals=DECIMALS) -> Decimal:
    """Half up on the digits the float prints: 0.05 → 0.1, 86.45 → 86.5, -0.05 → -0.1."""
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def number(value, decimals=DECIMALS) -> str:
    """The value rounded half up and written for the active language; "" for None."""
    if value is None:
        return ""
    shown = rounded(value, decimals)
    return formats.number_format(abs(shown) if shown == 0 else shown, decimals)


def signed(value, decimals=DECIMALS) -> str:
    """A change with its sign, taken from the written figure (-0.04 → "±0.0"); "" for None."""
    if value is None:
        return ""
    shown = rounded(value, decimals)
    sign = "+" if shown > 0 else MINUS if shown < 0 else "±"
    return sign + formats.number_format(abs(shown), decimals)


def count(value) -> str:
    """A whole number for people, grouped as the active language writes it: "1.930", "1,930"."""
    return formats.localize(value)


def spreadsheet_format(decimals=DECIMALS) -> str:
    """The number format of a workbook cell that shows a figure as ``number`` writes it: "0.0"."""
    return "0." + "0" * decimals if decimals > 0 else "0"


def withheld_reason(n: int, minimum: int, withheld: str) -> str:
    """Why a unit's figures are not shown, short (table cells, CSV notes), in the active language."""
    if withheld == disclosure.PROTECTS:
        return ngettext("%(n)s response, withheld so that a unit with too few cannot be worked out",
                        "%(n)s responses, withheld so that a unit with too few cannot be worked out",
                        n) % {"n": count(n)}
    return ngettext("%(n)s response, fewer than the %(minimum)s needed",
                    "%(n)s responses, fewer than the %(minimum)s needed", n) % {
        "n": count(n), "minimum": count(minimum)}


def withheld_sentence(n: int, minimum: int, withheld: str) -> str:
    """Why a unit's figures are not shown, as a sentence (unit page, report, API)."""
    if withheld == disclosure.PROTECTS:
        return ngettext(
            "%(n)s valid response: figures withheld so that those of a unit with too few responses cannot be "
            "worked out from them.",
            "%(n)s valid responses: figures withheld so that those of a unit with too few responses cannot be "
            "worked out from them.", n) % {"n": count(n)}
    return ngettext("Only %(n)s valid response: at least %(minimum)s are needed before figures are shown.",
                    "Only %(n)s valid responses: at least %(minimum)s are needed before figures are shown.",
                    n) % {"n": count(n), "minimum": count(minimum)}


def cell_withheld_reason(n: int, minimum: int, withheld: str) -> str:
    """Why a breakdown cell's figures are not shown, short (table cells, the API, the workbook)."""
    if withheld == disclosure.PROTECTS:
        return ngettext("%(n)s response, withheld so that a smaller group cannot be worked out",
                        "%(n)s responses, withheld so that a smaller group cannot be worked out",
                        n) % {"n": count(n)}
    if withheld == disclosure.TOO_FEW:
        return withheld_reason(n, minimum, withheld)
    return _("being counted: shown after the next count of the breakdowns")


def just_now(moment) -> bool:
    """Whether a moment is under a minute ago: "computed just now", not "0 minutes ago"."""
    return moment is not None and (timezone.now() - moment).total_seconds() < 60


def no_responses() -> str:
    """A sub-unit's cell when nobody answered for it."""
    return _("no responses")


def collected_at_the_unit() -> str:
    """The forms collected at a unit itself (not at a unit below it), where a table lists its sub-units."""
    return _("collected at the unit itself; counted in its figures")


def not_computed() -> str:
    """Why a unit without a stored score shows nothing."""
    return _("No scores have been computed for this unit in this round yet.")


# ---------------------------------------------------------------------------------------------
# Rank and change


def name_key(name: str) -> str:
    """A sort key for Vietnamese names: letters without their marks first (Đ with D, Ơ with O),
    so that "Đông" sorts among the Ds, not after Z; the marks only break ties."""
    folded = name.casefold().replace("đ", "d")
    bare = "".join(c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c))
    return f"{bare}\x00{folded}"


def ordinal(number: int) -> str:
    """3 → "3rd" in English; other languages write the plain number (the translation of
    "%(rank)s of %(total)s" carries their wording, e.g. "hạng 3/12")."""
    if language_of() != "en":
        return str(number)
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def rank(place, out_of) -> str:
    """ "3rd of 12" ("hạng 3/12"); "" when the unit is not ranked."""
    if place is None or out_of is None:
        return ""
    return _("%(rank)s of %(total)s") % {"rank": ordinal(place), "total": out_of}


def rank_short(place, out_of) -> str:
    """ "3/12", for a narrow column headed "Rank"; "" when the unit is not ranked."""
    if place is None or out_of is None:
        return ""
    return f"{place}/{out_of}"


def points(value) -> str:
    """A change in points, signed as ``signed`` writes it: "+3.1 points", "−1.0 point"; "" for None."""
    if value is None:
        return ""
    one = abs(rounded(value)) == 1  # the written figure decides: 0.96 is "+1.0 point"
    return ngettext("%(value)s point", "%(value)s points", 1 if one else 2) % {"value": signed(value)}


def places(value) -> str:
    """A change in places (positive = up): "up 5 places", "down 1 place", "same place"; "" for None."""
    if value is None:
        return ""
    if value > 0:
        return ngettext("up %(count)d place", "up %(count)d places", value) % {"count": value}
    if value < 0:
        return ngettext("down %(count)d place", "down %(count)d places", -value) % {"count": -value}
    return _("same place")


def change(points_value, places_value) -> str:
    """The change since the previous round: "+3.1 points, down 5 places"; "" when there is nothing to
    compare with (either part may be missing alone)."""
    return ", ".join(part for part in (points(points_value), places(places_value)) if part)


def block_units(block) -> str:
    """The units of a block as a rank names them: "communes and wards" ("xã, phường")."""
    names = {
        "departments": _("departments and centres"),
        "communes": _("communes and wards"),
        "vertical": _("vertical agencies"),
        "districts": _("districts"),
        "provinces": _("provinces and cities"),
    }
    return names.get(block, block)


def block_rank(place, out_of, block) -> str:
    """ "3rd of 64 communes and wards" ("Hạng 3/64 xã, phường"); "" when the unit is not ranked."""
    if place is None or out_of is None:
        return ""
    return _("%(rank)s of %(total)s %(units)s") % {"rank": ordinal(place), "total": out_of,
                                                    "units": block_units(block)}
