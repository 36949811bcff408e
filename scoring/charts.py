"""Server-side SVG charts for the score pages and the report: our own code, no JS library, no CDN.

- ``bar_chart_svg(rows, *, max_value=100, title="", unit="%", decimals=1) -> SafeString``: horizontal bars,
  one per row; ``rows`` are dicts ``{"label": str, "value": float | None, "marker": float | None,
  "muted": bool, "note": str (optional)}``. A label wraps onto two lines at most (the full text is
  the row's tooltip). ``marker`` (e.g. a factor's "in general" rate) is drawn as a black tick
  across the bar and written under the value ("▏90.0%"), with a legend under the chart; a
  ``muted`` row (too few responses) gets a hatched, dashed bar and its value in italics; a row
  without a value gets no bar and its ``note`` (or a dash) instead; a row with a value writes
  only the value (its ``note`` goes to the description).
- ``trend_chart_svg(points, *, title="", max_value=100, unit="%") -> SafeString``: a line over the
  points, oldest first; ``points`` are dicts ``{"label": str, "value": float | None, "muted": bool,
  "note": str (optional)}``. Muted points are hollow; a point without a value breaks the line.

Every chart has a ``viewBox`` (it scales to its container, so it fits a phone), ``role="img"``, a
``<title>`` and a ``<desc>`` that lists the figures as text, and writes every value as text beside
its mark, so it reads the same printed in black and white; colour never carries meaning alone.
Every label is escaped. Numbers are rounded half up and formatted for the active language
(``scoring.wording.number``), as the pages' tables write them.
"""

import itertools

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from scoring import wording

WIDTH = 420  # narrow: on a 390 px phone the text stays readable; the page caps the width
FONT = 15
BAR_COLOUR = "#3d6ea8"
MUTED_COLOUR = "#adb5bd"
INK = "#212529"
GRID = "#ced4da"
VALUE_COLUMN = 76  # room at the right of a bar for its value ("100.0%", "▏100.0%")
_ids = itertools.count(1)


def _value_text(value, unit, decimals=wording.DECIMALS) -> str:
    return f"{wording.number(value, decimals)}{unit}" if value is not None else "—"


def _clamp(value, low, high):
    return max(low, min(high, value))


def _svg(width, height, title, desc, body) -> SafeString:
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="score-chart" viewBox="0 0 {} {}" '
        'width="100%" role="img" aria-label="{}" preserveAspectRatio="xMinYMin meet" '
        'font-family="system-ui, -apple-system, \'Segoe UI\', Roboto, Arial, sans-serif" font-size="{}">'
        "<title>{}</title><desc>{}</desc>{}</svg>",
        width, height, title, FONT, title, desc, body,
    )


def _shorten(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ---------------------------------------------------------------------------------------------
# Bars

LABEL_LINE = 19  # a label takes one or two lines above its bar
BAR_HEIGHT = 16
ROW_GAP = 12
CHAR_WIDTH = 8.2  # an average character at FONT px, to wrap labels
HATCH = (
    '<defs><pattern id="{id}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    '<rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="{colour}" stroke-width="2"/>'
    "</pattern></defs>"
)


def _wrap(text: str, width: int, lines: int = 2) -> list[str]:
    """The text in at most ``lines`` lines of about ``width`` characters, the last shortened with …"""
    words, result, line = str(text).split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            result.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    result.append(line)
    if len(result) > lines:
        result = result[: lines - 1] + [_shorten(" ".join(result[lines - 1:]), width)]
    return [_shorten(r, width) for r in result]


def bar_chart_svg(rows, *, max_value=100, title="", unit="%", decimals=wording.DECIMALS) -> SafeString:
    """Horizontal bars with their values written beside them (see the module docstring)."""
    title = title or _("Bar chart")
    max_value = max_value or max([r.get("value") or 0 for r in rows] + [1])
    track = WIDTH - VALUE_COLUMN
    hatch_id = f"score-hatch-{next(_ids)}"  # unique per chart: a page may hide one chart's <defs>
    parts = [format_html(HATCH, id=hatch_id, colour=MUTED_COLOUR)]
    top = 0
    for row in rows:
        svg, height = _bar_row(row, top, track, max_value, unit, hatch_id, decimals)
        parts.append(svg)
        top += height
    if not rows:
        parts.append(format_html('<text x="0" y="{}" fill="{}">{}</text>', FONT + 4, INK, _("No figures.")))
        top = FONT + 10
    if any(r.get("marker") is not None for r in rows):
        parts.append(_marker_legend(top + 4))
        top += LABEL_LINE + 8
    return _svg(WIDTH, top, title, _describe(rows, unit, decimals), mark_safe("".join(parts)))


def _marker_legend(top):
    y = top + BAR_HEIGHT / 2
    return format_html(
        '<g class="legend"><line x1="4" x2="4" y1="{}" y2="{}" stroke="{}" stroke-width="3"/>'
        '<text x="14" y="{}" fill="{}" font-size="{}">{}</text></g>',
        top, top + BAR_HEIGHT, INK, y + 4, INK, FONT - 1,
        _("the share satisfied “in general”"))


def _bar_row(row, top, track, max_value, unit, hatch_id, decimals):
    """One row's SVG and its height: the label (one or two lines), then the bar and its value."""
    value, marker, muted = row.get("value"), row.get("marker"), bool(row.get("muted"))
    label = row.get("label", "")
    lines = _wrap(label, int(WIDTH / CHAR_WIDTH))
    parts = [format_html('<g class="bar-row{}"><title>{}</title>', " muted" if muted else "", label)]
    for i, line in enumerate(lines):
        parts.append(format_html('<text x="0" y="{}" fill="{}">{}</text>', top + LABEL_LINE * (i + 1) - 5, INK, line))
    bar_y = top + LABEL_LINE * len(lines)
    # the track: a thin outline of the whole scale, so an empty bar still shows where 0 and the top are
    parts.append(format_html('<rect x="0" y="{}" width="{}" height="{}" fill="none" stroke="{}"/>',
                             bar_y, track, BAR_HEIGHT, GRID))
    if value is not None:
        end = round(track * _clamp(value, 0, max_value) / max_value, 1)
        fill = f"url(#{hatch_id})" if muted else BAR_COLOUR
        parts.append(format_html(
            '<rect x="0" y="{}" width="{}" height="{}" fill="{}" stroke="{}" stroke-width="1"{}/>',
            bar_y, end, BAR_HEIGHT, fill, INK if muted else BAR_COLOUR,
            mark_safe(' stroke-dasharray="3 2"') if muted else ""))
    if marker is not None:
        x = round(track * _clamp(marker, 0, max_value) / max_value, 1)
        parts.append(format_html('<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="3"/>'
                                 '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#fff" stroke-width="1"/>',
                                 x, x, bar_y - 4, bar_y + BAR_HEIGHT + 4, INK, x, x, bar_y - 3,
                                 bar_y + BAR_HEIGHT + 3))
    text = _value_text(value, unit, decimals) if value is not None else (row.get("note") or "—")
    italic = mark_safe(' font-style="italic"') if muted or value is None else ""
    parts.append(format_html('<text x="{}" y="{}" fill="{}"{}>{}</text>', track + 6 if value is not None else 6,
                             bar_y + BAR_HEIGHT - 3, INK, italic, text))
    if marker is not None:
        parts.append(format_html('<text x="{}" y="{}" fill="{}" font-size="{}">▏{}</text>', track + 6,
                                 bar_y + BAR_HEIGHT + 12, INK, FONT - 2, _value_text(marker, unit)))
    parts.append(mark_safe("</g>"))
    height = LABEL_LINE * len(lines) + BAR_HEIGHT + ROW_GAP + (6 if marker is not None else 0)
    return mark_safe("".join(parts)), height


def _describe(rows, unit, decimals=wording.DECIMALS) -> str:
    described = []
    for row in rows:
        text = f"{row.get('label', '')}: {_value_text(row.get('value'), unit, decimals)}"
        if row.get("marker") is not None:
            text += " (" + _("in general {value}").format(value=_value_text(row["marker"], unit)) + ")"
        if row.get("note"):
            text += f" ({row['note']})"
        described.append(text)
    return "; ".join(described)


# ---------------------------------------------------------------------------------------------
# Trend

TREND_HEIGHT = 220
PLOT_TOP, PLOT_BOTTOM, PLOT_LEFT, PLOT_RIGHT = 22, 180, 40, WIDTH - 20


def trend_chart_svg(points, *, title="", max_value=100, unit="%") -> SafeString:
    """A line over the rounds, each value written above its point (see the module docstring)."""
    title = title or _("Trend")
    parts = [_grid(max_value, unit)]
    if not points:
        parts.append(format_html('<text x="{}" y="{}" fill="{}">{}</text>', PLOT_LEFT + 8, PLOT_TOP + 30, INK,
                                 _("No figures.")))
        return _svg(WIDTH, TREND_HEIGHT, title, _describe(points, unit), mark_safe("".join(parts)))
    step = (PLOT_RIGHT - PLOT_LEFT) / max(1, len(points))
    xs = [round(PLOT_LEFT + step * (i + 0.5), 1) for i in range(len(points))]
    parts.append(_lines(points, xs, max_value))
    label_limit = max(6, int(step / (CHAR_WIDTH * 0.9)))
    for x, point in zip(xs, points, strict=True):
        parts.append(_point(point, x, max_value, unit, label_limit))
    return _svg(WIDTH, TREND_HEIGHT, title, _describe(points, unit), mark_safe("".join(parts)))


def _y(value, max_value):
    return round(PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * _clamp(value, 0, max_value) / max_value, 1)


def _grid(max_value, unit):
    parts = []
    for i in range(5):
        value = max_value * i / 4
        y = _y(value, max_value)
        parts.append(format_html(
            '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}"{}/>'
            '<text x="{}" y="{}" text-anchor="end" fill="{}" font-size="{}">{}</text>',
            PLOT_LEFT, PLOT_RIGHT, y, y, GRID, mark_safe(' stroke-dasharray="2 3"') if i else "",
            PLOT_LEFT - 4, y + 4, INK, FONT - 2, f"{wording.number(value, 0)}{unit}"))
    return mark_safe("".join(parts))


def _lines(points, xs, max_value):
    """Segments between consecutive points that both have a value (a missing one breaks the line)."""
    parts = []
    for i in range(len(points) - 1):
        (x1, p1), (x2, p2) = (xs[i], points[i]), (xs[i + 1], points[i + 1])
        if p1.get("value") is None or p2.get("value") is None:
            continue
        dashed = p1.get("muted") or p2.get("muted")
        parts.append(format_html('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2"{}/>',
                                 x1, _y(p1["value"], max_value), x2, _y(p2["value"], max_value), INK,
                                 mark_safe(' stroke-dasharray="5 4"') if dashed else ""))
    return mark_safe("".join(parts))


def _point(point, x, max_value, unit, label_limit):
    value, muted = point.get("value"), bool(point.get("muted"))
    label = point.get("label", "")
    parts = [format_html('<g class="trend-point{}"><title>{}: {}</title>', " muted" if muted else "", label,
                         _value_text(value, unit) if value is not None else (point.get("note") or "—"))]
    if value is not None:
        y = _y(value, max_value)
        parts.append(format_html('<circle cx="{}" cy="{}" r="5" fill="{}" stroke="{}" stroke-width="2"/>',
                                 x, y, "#fff" if muted else BAR_COLOUR, INK))
        parts.append(format_html('<text x="{}" y="{}" text-anchor="middle" fill="{}"{}>{}</text>',
                                 x, y - 10, INK, mark_safe(' font-style="italic"') if muted else "",
                                 _value_text(value, unit)))
    else:
        parts.append(format_html('<text x="{}" y="{}" text-anchor="middle" fill="{}" font-style="italic" '
                                 'font-size="{}">{}</text>', x, PLOT_BOTTOM - 8, INK, FONT - 2,
                                 _shorten(point.get("note") or "—", label_limit)))
    parts.append(format_html('<text x="{}" y="{}" text-anchor="middle" fill="{}" font-size="{}">{}</text>',
                             x, PLOT_BOTTOM + 18, INK, FONT - 1, _shorten(label, label_limit)))
    if value is not None and point.get("note"):
        parts.append(format_html('<text x="{}" y="{}" text-anchor="middle" fill="{}" font-style="italic" '
                                 'font-size="{}">{}</text>', x, PLOT_BOTTOM + 34, INK, FONT - 2,
                                 _shorten(point["note"], label_limit)))
    parts.append(mark_safe("</g>"))
    return mark_safe("".join(parts))

