from django import forms
from django.utils.translation import gettext_lazy

from questionnaires.services import MAX_DEFINITION_BYTES
from surveyapp.limits import UploadField


class DefinitionUploadForm(forms.Form):
    """The file only; reading and checking it is the loader's (questionnaires.services)."""

    file = UploadField(
        label=gettext_lazy("Definition file (JSON)"),
        help_text=gettext_lazy("UTF-8 text in the format of questionnaires/definitions/*.json. It is stored as a "
                               "draft: preview it, then publish it."),
        max_bytes=lambda: MAX_DEFINITION_BYTES,
        too_large=gettext_lazy("The file is larger than %(size)s: a definition is far smaller (the shipped ones "
                               "are about 35 KB). Is it the right file?"),
    )
