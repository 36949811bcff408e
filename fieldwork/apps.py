from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FieldworkConfig(AppConfig):
    """Survey rounds, kiosks and the responses they collect."""

    name = "fieldwork"
    verbose_name = _("Fieldwork")
