"""English pages of a Vietnamese product: the same day-first dates as the Vietnamese pages and the
templates write (06/12/2026, never the American 12/06/2026); numbers as English writes them (1,930.5)."""

from django.conf.locale.en.formats import *  # noqa: F403

SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]  # ISO first: what <input type="date"> shows and sends
