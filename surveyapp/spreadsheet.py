"""CSV files that people open in spreadsheet programs."""

import csv
import io

# A cell starting with one of these is run as a formula by spreadsheet programs ("CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """The value, with a leading apostrophe where a spreadsheet would take text for a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_text(rows, *, bom=True) -> str:
    """CSV text, by default with a byte order mark so that Excel reads Vietnamese correctly."""
    out = io.StringIO()
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()
