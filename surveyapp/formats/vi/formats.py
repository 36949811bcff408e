"""Vietnamese formats where Django's own (django/conf/locale/vi/formats.py) are not how Vietnamese
offices write: dates as 06/12/2026 (Django: 06-12-2026), and numbers grouped by thousands with a dot
(1.930; Django sets the separator but no grouping). The rest comes from Django's module."""

from django.conf.locale.vi.formats import *  # noqa: F403

SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]  # ISO first: what <input type="date"> shows and sends
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "."
NUMBER_GROUPING = 3
