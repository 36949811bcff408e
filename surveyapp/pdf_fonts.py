"""The TrueType font every PDF of the tool draws with (the score report, the invitation slips, the
desk posters): reportlab's built-in PDF fonts have no Vietnamese letters. DejaVu Sans, regular and
bold, vendored in ``surveyapp/fonts/`` with its licence, so a machine with no fonts prints Vietnamese.
"""

from pathlib import Path

from reportlab import rl_config
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONTS = Path(__file__).resolve().parent / "fonts"
REGULAR, BOLD = "DejaVuSans", "DejaVuSans-Bold"


def register_fonts() -> None:
    """Register REGULAR and BOLD (and their family) with reportlab, once per process. Compressed
    streams are written as binary, not also ASCII85-encoded (reportlab's default, for 7-bit
    channels no PDF goes through now): a quarter smaller, and without reportlab's pure-Python
    ASCII85 encoder (6 ms a page of slips)."""
    rl_config.useA85 = 0
    if REGULAR not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(REGULAR, str(FONTS / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont(BOLD, str(FONTS / "DejaVuSans-Bold.ttf")))
        pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR, boldItalic=BOLD)
