"""Printed invitations (issue 19): an A6 slip per invitation, handed out with the receipt, and an A4
poster per unit for its desk (reportlab, the vendored font of ``surveyapp.pdf_fonts``).

A slip holds the QR code of the invitation's personal link, its short code (large, in two groups
of four) with the address to type it at (SITE_URL/i/), the round's and unit's names, the link's
last valid day, the invitation in Vietnamese with an English line under it, the privacy line, and
the dossier code in small print so the desk hands it with the right receipt; no contact data. A
poster holds the QR code of the unit's link for anyone (``fieldwork.unitlinks``) and the same words.

Thousands of slips: a file holds at most INVITATION_SLIPS_PER_FILE (2,000), so that each is built
within a request and a round of 10,000 comes in five parts; the invitations are read in chunks,
each QR code is encoded in a version found once and with a fixed mask pattern (choosing the best
of the eight tries all of them: five times slower; any mask is valid and read by every scanner)
and drawn as one filled path of runs of dark modules; the words common to a unit's slips are one
PDF form drawn once; each page is compressed when it is finished (README, "Answering at home", has
the measured time and size).
"""

import functools
import io

import qrcode
import qrcode.util
from django.conf import settings
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext_noop
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, A6
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from fieldwork import invitations, unitlinks
from fieldwork.kiosk_api import in_both
from fieldwork.models import Invitation, Round
from surveyapp.pdf_fonts import BOLD, REGULAR, register_fonts
from units.models import Unit

INK = colors.HexColor("#212529")
MUTED = colors.HexColor("#5c636a")
CHUNK = 2000

# The printed words, each shown in Vietnamese with the English under it (in_both).
TEXTS = {
    "slip_title": gettext_noop("Invitation to rate a public service"),
    "slip_invite": gettext_noop(
        "You are invited to say how satisfied you are with the public service you received. Scan the QR code "
        "with your phone, or open the address below and enter the code."),
    "code": gettext_noop("Code"),
    "enter_at": gettext_noop("Enter the code at"),
    "valid_until": gettext_noop("Valid until %(day)s"),
    "dossier": gettext_noop("Dossier %(code)s"),
    "privacy": gettext_noop(
        "Anonymous: your answers are stored without your name, phone number or e-mail address and used only to "
        "measure satisfaction with public services (Law on Personal Data Protection 91/2025/QH15)."),
    "poster_title": gettext_noop("How satisfied are you with our service?"),
    "poster_invite": gettext_noop(
        "Scan the QR code with your phone's camera and answer a few questions (about 5 minutes). No login, "
        "no name."),
    "or_open": gettext_noop("Or open"),
}


def qr_matrix(text: str) -> list[list[bool]]:
    """The QR code of ``text`` (error correction M, no quiet zone: the page's margin is one), with a
    fixed mask pattern (see the module's docstring), in the smallest version that holds a text of
    its length (found once a length: finding it costs as much as the code)."""
    code = qrcode.QRCode(version=_qr_version(len(text)), error_correction=ERROR_CORRECT_M, border=0,
                         mask_pattern=0)
    code.add_data(text)
    code.make(fit=False)
    return code.get_matrix()


@functools.lru_cache(maxsize=64)
def _qr_version(length: int) -> int:
    """The QR version for ``length`` bytes in byte mode (a link's letters never need more: a text that
    another mode can hold needs fewer bits)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, mask_pattern=0)
    code.add_data(qrcode.util.QRData(b"a" * length, mode=qrcode.util.MODE_8BIT_BYTE))
    code.make(fit=True)
    return code.version


def draw_qr(canvas: Canvas, text: str, x: float, y: float, size: float) -> None:
    """The QR code of ``text`` as a black square of side ``size`` with its lower left corner at (x, y):
    one filled path, a rectangle per run of dark modules in a row, in whole modules under a scaling
    (written as PDF operators directly: reportlab's path object formats every number through a
    pure-Python routine, 10 ms a code)."""
    matrix = qr_matrix(text)
    count = len(matrix)
    module = size / count
    ops = [f"q 0 g {module:.4f} 0 0 {module:.4f} {x:.2f} {y:.2f} cm"]
    for row, cells in enumerate(matrix):
        bottom, start = count - 1 - row, None
        for col, dark in enumerate([*cells, False]):
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                ops.append(f"{start} {bottom} {col - start} 1 re")
                start = None
    ops.append("f Q")
    canvas.addLiteral("\n".join(ops))


@functools.lru_cache(maxsize=256)
def _wrapped(text, font, size, width):
    """A text's lines within a width (the slips' fixed words are wrapped once, not once a page)."""
    return tuple(simpleSplit(text, font, size, width))


class _Writer:
    """Lines of text drawn down a page from a top, within a width, centred or from the left."""

    def __init__(self, canvas, left, width, top):
        self.canvas, self.left, self.width, self.y = canvas, left, width, top

    def lines(self, text, size, font=REGULAR, color=INK, center=False, leading=1.22, gap=0):
        self.canvas.setFont(font, size)
        self.canvas.setFillColor(color)
        for line in _wrapped(text, font, size, self.width):
            self.y -= size * leading
            if center:
                self.canvas.drawCentredString(self.left + self.width / 2, self.y, line)
            else:
                self.canvas.drawString(self.left, self.y, line)
        self.y -= gap

    def both(self, texts, size, font=REGULAR, center=False, gap=2):
        """A text in Vietnamese, then its English line smaller and grey."""
        self.lines(texts["vi"], size, font, center=center)
        self.lines(texts["en"], size * 0.82, REGULAR, MUTED, center=center, gap=gap)


def _both(key, **values):
    return {language: text % values if values else text for language, text in in_both(TEXTS[key]).items()}


def _day(moment) -> dict:
    day = timezone.localtime(moment).date()
    return {"vi": formats.date_format(day, "d/m/Y"), "en": formats.date_format(day, "j M Y", use_l10n=False)}


def _round_names(survey_round: Round) -> dict:
    return {"vi": survey_round.name, "en": survey_round.name_en or survey_round.name}


def _code_groups(code: str) -> str:
    return f"{code[:4]} {code[4:]}"


QR_SIZE = 40 * mm


def _slip_form(canvas, forms, survey_round, invitation, texts, address):
    """The words of a slip, the same on every slip of a unit and a last valid day, drawn once as a
    PDF form that each of their pages shows (a tenth of the work and size of drawing them a page);
    its name and where the page's QR code and short code go."""
    day = _day(invitation.expires_at)
    key = (invitation.unit.name, day["vi"])
    if key in forms:
        return forms[key]
    name = f"slip{len(forms)}"
    width, height = A6
    margin = 7 * mm
    canvas.beginForm(name)
    out = _Writer(canvas, margin, width - 2 * margin, height - margin)
    out.both(texts["slip_title"], 11.5, BOLD, center=True, gap=1)
    out.lines(survey_round.name, 8, center=True)
    out.lines(invitation.unit.name, 8, BOLD, center=True, gap=2)
    out.both(texts["slip_invite"], 7.5, gap=1)
    qr_y = out.y - QR_SIZE - 1 * mm
    out.y -= QR_SIZE + 2 * mm
    out.lines(f"{texts['code']['vi']} / {texts['code']['en']}", 7, color=MUTED, center=True)
    code_y = out.y - 22 * 1.1
    out.y = code_y - 1
    out.lines(f"{texts['enter_at']['vi']} / {texts['enter_at']['en']}:", 7, color=MUTED, center=True)
    out.lines(address, 10, BOLD, center=True, gap=2)
    out.lines(texts["valid_until"]["vi"] % {"day": day["vi"]} + " / " + texts["valid_until"]["en"] % {"day": day["en"]},
              7, center=True, gap=2)
    out.both(texts["privacy"], 6, gap=0)
    canvas.endForm()
    forms[key] = (name, qr_y, code_y)
    return forms[key]


def _slip(canvas, forms, survey_round, invitation, texts, address):
    width, height = A6
    form, qr_y, code_y = _slip_form(canvas, forms, survey_round, invitation, texts, address)
    canvas.doForm(form)
    canvas.setFont(REGULAR, 6.5)
    canvas.setFillColor(MUTED)
    canvas.drawRightString(width - 7 * mm, height - 5 * mm, texts["dossier"]["vi"] % {"code": invitation.dossier.code})
    canvas.setFont(BOLD, 22)
    canvas.setFillColor(INK)
    canvas.drawCentredString(width / 2, code_y, _code_groups(invitation.code))
    draw_qr(canvas, invitations.invitation_link(invitation), (width - QR_SIZE) / 2, qr_y, QR_SIZE)
    canvas.showPage()


def slip_invitations(survey_round: Round, unit: Unit | None = None):
    """The round's invitations (in a unit's subtree, if given) to print, by unit and dossier code."""
    rows = Invitation.objects.filter(round=survey_round)
    if unit is not None:
        rows = rows.filter(unit__path__startswith=unit.path)
    return (rows.select_related("unit", "dossier").only("public_id", "code", "expires_at", "unit__name",
                                                         "dossier__code")
            .order_by("unit__path", "dossier__code"))


def _canvas(buffer, pagesize, title):
    register_fonts()
    canvas = Canvas(buffer, pagesize=pagesize, pageCompression=1, invariant=1)
    canvas.setTitle(title)
    canvas.setAuthor("SIPAS")
    return canvas


def slips_pdf(*, survey_round: Round, unit: Unit | None = None, part: int = 1) -> tuple[bytes, int]:
    """The A6 slips of the round's invitations (of a unit's subtree, if given), one a page, the
    ``part``-th INVITATION_SLIPS_PER_FILE of them; the PDF's bytes and how many slips it has."""
    texts = {key: _both(key) for key in TEXTS}
    address = settings.SITE_URL.rstrip("/") + reverse("fieldwork:athome-code")
    buffer = io.BytesIO()
    canvas = _canvas(buffer, A6, f"{texts['slip_title']['vi']} · {survey_round.name}")
    pages, forms = 0, {}
    size = settings.INVITATION_SLIPS_PER_FILE
    rows = slip_invitations(survey_round, unit)[(part - 1) * size:part * size]
    for invitation in rows.iterator(chunk_size=CHUNK):
        _slip(canvas, forms, survey_round, invitation, texts, address)
        pages += 1
    canvas.save()
    return buffer.getvalue(), pages


def _poster(canvas, survey_round, unit, texts):
    width, height = A4
    margin = 18 * mm
    out = _Writer(canvas, margin, width - 2 * margin, height - margin)
    out.both(texts["poster_title"], 26, BOLD, center=True, gap=6)
    out.lines(unit.name, 16, BOLD, center=True)
    names = _round_names(survey_round)
    out.lines(names["vi"], 11, center=True)
    if names["en"] != names["vi"]:
        out.lines(names["en"], 9, color=MUTED, center=True)
    out.y -= 6
    out.both(texts["poster_invite"], 13, center=True, gap=4)
    size = 105 * mm
    link = unitlinks.unit_link(survey_round, unit)
    draw_qr(canvas, link, (width - size) / 2, out.y - size - 4 * mm, size)
    out.y -= size + 10 * mm
    out.lines(f"{texts['or_open']['vi']} / {texts['or_open']['en']}:", 10, color=MUTED, center=True)
    out.lines(link, 10 if stringWidth(link, BOLD, 10) <= out.width else 8, BOLD, center=True, gap=10)
    out.both(texts["privacy"], 9, center=True)
    canvas.showPage()


def posters_pdf(*, survey_round: Round, units) -> tuple[bytes, int]:
    """The A4 desk posters of these units of the round, one a page; the PDF's bytes and how many."""
    texts = {key: _both(key) for key in TEXTS}
    buffer = io.BytesIO()
    canvas = _canvas(buffer, A4, f"{texts['poster_title']['vi']} · {survey_round.name}")
    pages = 0
    for unit in units:
        _poster(canvas, survey_round, unit, texts)
        pages += 1
    canvas.save()
    return buffer.getvalue(), pages
