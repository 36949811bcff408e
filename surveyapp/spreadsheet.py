"""CSV files: the one writer of every CSV the product hands out, and the one reader of uploads.

Writing. Every CSV (score tables, raw responses and their codebook, the paper template and
codebook, call lists) goes through ``csv_lines`` / ``csv_text``:

* UTF-8 with a byte order mark, so that Excel reads Vietnamese letters; lines end with CRLF.
* Two dialects: STANDARD (``,`` between cells, ``.`` in numbers) and EXCEL_VI (``;`` between cells,
  ``,`` in numbers), which Excel set to Vietnamese opens with every number as a number.
* Text cells are always quoted; numbers (int, float, Decimal) are written bare, so that every
  reader takes them as numbers (Excel would read a quoted number as a number too, LibreOffice with
  "quoted field as text" would not). An empty cell (None) is ``""``.
* Formula guard ("CSV injection"). A spreadsheet runs a cell as a formula when it starts with
  ``= + - @`` (or a tab or CR, which Excel skips before such a character). It may also cut a cell
  where we did not: a file opened with another separator (Excel set to Vietnamese splits on ``;``,
  others on tab) or a value holding a line break. So, in text, an apostrophe is inserted before
  every formula character that starts the value, or follows one of ``, ; tab CR LF`` (spaces
  between them and the formula character count as nothing). Formula characters are ``= + - @``,
  tab and CR, U+2212 MINUS SIGN, and every character whose NFKC form is ``= + - @`` (fullwidth
  ``＝ ＋ － ＠``, small ``﹦ ﹢ ﹣ ﹫``, super- and subscript ``⁺ ⁼ ₊ ₌``, ``﬩``), which some
  spreadsheets map to them. ``a;=HYPERLINK(…)`` becomes ``a;'=HYPERLINK(…)`` and ``－1`` becomes
  ``'－1``: the apostrophe shows, and the text reads as text in any split. Numbers are never
  changed (a negative number stays a number); text that looks like a number (``"-3"``) is text,
  and gets its apostrophe.

Reading. ``csv_records`` reads an upload as a stream (a Django ``File``: 64 KiB chunks, an
incremental UTF-8 decoder, then ``csv.reader``), so a file of any size holds one line in memory.
It takes off Excel's byte order mark, takes ``;`` as the separator when the header has ``;`` and no
``,`` (Excel set to Vietnamese), and raises ``CsvReadError`` naming the line of bad UTF-8, a NUL
character (which no spreadsheet writes and PostgreSQL cannot store), a line longer than
``MAX_LINE_CHARACTERS`` or text the csv module cannot read (a cell longer than 131,072 characters).
``Problems`` keeps the first ``IMPORT_ERROR_LIMIT`` messages of a rejected file and counts the rest.
"""

import codecs
import csv
import io
import itertools
import re
from decimal import Decimal

from django.conf import settings
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

# Characters a spreadsheet may take as the start of a formula (see the module docstring).
FORMULA_START = "=+-@\t\r\u2212\u207a\u207c\u208a\u208c\ufb29\ufe62\ufe63\ufe66\ufe6b\uff0b\uff0d\uff1d\uff20"
# Where a spreadsheet may start a cell inside our text: its start, or after a separator it may
# split on (comma, semicolon, tab, line breaks), with any spaces in between.
_FORMULA = re.compile(f"(^|[,;\t\r\n])([ \u00a0\u3000]*)(?=[{re.escape(FORMULA_START)}])")
NUMBER_TYPES = (int, float, Decimal)

CHUNK_SIZE = 64 * 1024
MAX_LINE_CHARACTERS = 1_000_000


# ---------------------------------------------------------------------------------------------
# Writing


def safe_cell(value):
    """The cell as written: numbers as they are, None as empty text, anything else as text with an
    apostrophe before each formula character where a spreadsheet may start a cell."""
    if value is None:
        return ""
    if isinstance(value, NUMBER_TYPES) and not isinstance(value, bool):
        return value
    return _FORMULA.sub(r"\1\2'", str(value))


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value):
        return value


# The two CSV dialects a download offers. STANDARD: comma-separated, decimal point, as every program
# and script reads CSV. EXCEL_VI: what Excel opens with a double click on a computer set to Vietnamese
# (its list separator is ";" and its decimal mark ","): cells split on ";", numbers written 86,45 so
# that they arrive as numbers, not as text or as dates. Both UTF-8 with a byte order mark.
STANDARD, EXCEL_VI = "standard", "excel-vi"
DIALECTS = (STANDARD, EXCEL_VI)


def _decimal_comma(value) -> str:
    """A number as Excel set to Vietnamese reads it: 86,45; -3; 0,000012 (no exponent, no grouping)."""
    if isinstance(value, float):
        text = repr(value)
        if "e" in text or "E" in text:
            text = format(Decimal(text), "f")
    else:
        text = str(value)
    return text.replace(".", ",")


def _excel_vi_line(row) -> str:
    cells = []
    for value in map(safe_cell, row):
        if isinstance(value, NUMBER_TYPES) and not isinstance(value, bool):
            cells.append(_decimal_comma(value))
        else:
            cells.append('"' + value.replace('"', '""') + '"')
    return ";".join(cells) + "\r\n"


def csv_lines(rows, *, bom=True, dialect=STANDARD):
    """The CSV lines of the rows (text quoted, numbers bare, formulas defused), one string a row;
    the first starts with a byte order mark unless ``bom`` is false. ``dialect``: STANDARD or
    EXCEL_VI (see above). Lazy: rows are read as the lines are taken, so a streamed download never
    holds them all."""
    if dialect == EXCEL_VI:
        write = _excel_vi_line
    else:
        write = csv.writer(_Echo(), quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n").writerow
    prefix = "\ufeff" if bom else ""
    for row in rows:
        yield prefix + (write(row) if dialect == EXCEL_VI else write([safe_cell(v) for v in row]))
        prefix = ""


def csv_text(rows, *, bom=True, dialect=STANDARD) -> str:
    """CSV text of the rows, as ``csv_lines`` writes them."""
    return "".join(csv_lines(rows, bom=bom, dialect=dialect))


# ---------------------------------------------------------------------------------------------
# Reading


class CsvReadError(Exception):
    """The file cannot be read as UTF-8 CSV; ``line`` is where (1 is the header line)."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


def _chunks(source):
    """Bytes of a Django File (read again from its start at each call), bytes or str."""
    if isinstance(source, str):
        source = source.encode("utf-8", "surrogatepass")  # a lone surrogate is then bad UTF-8
    if isinstance(source, bytes):
        yield source
        return
    for chunk in source.chunks(CHUNK_SIZE):
        yield chunk.encode("utf-8", "surrogatepass") if isinstance(chunk, str) else chunk


def _not_utf8(line, exc):
    """Python's reason ("invalid start byte") is English and tells a person nothing: the line and the
    way to save the file again are what helps."""
    return CsvReadError(line, _("the file is not UTF-8 text: in Excel, save it as “CSV UTF-8 (Comma delimited)”"))


def _checked(line, text):
    if "\x00" in text:
        raise CsvReadError(line, _("holds a NUL character: is this really a CSV file?"))
    return text


def _lines(source):
    """The decoded lines of the file, each with its line break (CRLF, LF or CR)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending, line, first = "", 1, True
    for chunk in itertools.chain(_chunks(source), [None]):
        try:
            text = pending + decoder.decode(chunk or b"", final=chunk is None)
        except UnicodeDecodeError as exc:
            raise _not_utf8(line + exc.object[:exc.start].count(b"\n"), exc) from None
        if first and text:
            text, first = text.removeprefix("\ufeff"), False
        lines = io.StringIO(text, newline="").readlines()  # split on CRLF, LF and CR, in C
        # The last line waits for the next chunk unless it ended with "\n" (a "\r" may be CRLF's half).
        pending = lines.pop() if lines and chunk is not None and not lines[-1].endswith("\n") else ""
        for text in lines:
            yield _checked(line, text)
            line += 1
        if len(pending) > MAX_LINE_CHARACTERS:
            raise CsvReadError(line, _("the line is longer than %(max)s characters: is this really a CSV file?")
                               % {"max": formats.localize(MAX_LINE_CHARACTERS)})


def csv_records(source, *, delimiter=None):
    """(line, cells) for each record of the file: ``line`` is the line it starts on (the header is
    line 1; a quoted cell may hold line breaks). Blank lines give no cells. Without a
    ``delimiter``, the first line tells: ``;`` when it has one and no comma, else ``,``.

    ``source`` is a Django File (an upload, ``File(open(path, "rb"))``), bytes or str. Raises
    CsvReadError at the first line that cannot be read."""
    lines = _lines(source)
    if delimiter is None:
        header = next(lines, "")
        delimiter = ";" if ";" in header and "," not in header else ","
        lines = itertools.chain([header], lines)
    reader = csv.reader(lines, delimiter=delimiter)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CsvReadError(start, _("not readable as CSV (%(reason)s)") % {"reason": exc}) from None
        yield start, cells
        start = reader.line_num + 1


# ---------------------------------------------------------------------------------------------
# Problems of a rejected file


class Problems:
    """Messages about a file: the first ``limit`` kept (IMPORT_ERROR_LIMIT), the others counted,
    so that a file of a million bad rows costs a counter, not a million messages. Each message may
    carry its line, for ``sort``."""

    def __init__(self, limit=None):
        self.limit = settings.IMPORT_ERROR_LIMIT if limit is None else limit
        self.entries = []  # (line, message)
        self.count = 0

    def add(self, message, line=0):
        self.count += 1
        if len(self.entries) < self.limit:
            self.entries.append((line, message))

    def extend(self, messages, line=0):
        for message in messages:
            self.add(message, line)

    def sort(self):
        """Kept messages in line order (a stable sort: a line's messages keep their order)."""
        self.entries.sort(key=lambda entry: entry[0])

    def __bool__(self):
        return self.count > 0

    @property
    def messages(self) -> list[str]:
        return [message for _line, message in self.entries]

    @property
    def more(self) -> int:
        """Problems found but not kept."""
        return self.count - len(self.entries)


def more_problems(more: int) -> str:
    """The line that follows the listed problems when some were only counted ("" when none)."""
    if not more:
        return ""
    return ngettext("… and %(n)s more problem (only the first %(shown)s are listed).",
                    "… and %(n)s more problems (only the first %(shown)s are listed).", more) % {
        "n": formats.localize(more), "shown": formats.localize(settings.IMPORT_ERROR_LIMIT)}
