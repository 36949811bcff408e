"""Translations Django's own Vietnamese catalog lacks.

Django 5.2 spells timesince's units "%(num)d minute" while its Vietnamese catalog still translates
the old "%d minute", so "computed 3 minutes ago" came out half English. Declaring the same msgids
here puts them in our catalog (locale/vi), which Django consults before its own.
"""

from django.utils.translation import ngettext_lazy

TIMESINCE_UNITS = [
    ngettext_lazy("%(num)d year", "%(num)d years", "num"),
    ngettext_lazy("%(num)d month", "%(num)d months", "num"),
    ngettext_lazy("%(num)d week", "%(num)d weeks", "num"),
    ngettext_lazy("%(num)d day", "%(num)d days", "num"),
    ngettext_lazy("%(num)d hour", "%(num)d hours", "num"),
    ngettext_lazy("%(num)d minute", "%(num)d minutes", "num"),
]
