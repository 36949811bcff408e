from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FieldworkConfig(AppConfig):
    """Survey rounds, kiosks and the responses they collect."""

    name = "fieldwork"
    verbose_name = _("Fieldwork")

    def ready(self):
        from fieldwork.services import warn_unit_closing
        from units.signals import unit_closing

        unit_closing.connect(warn_unit_closing, dispatch_uid="fieldwork.warn_unit_closing")
