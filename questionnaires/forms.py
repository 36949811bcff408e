from django import forms
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from questionnaires.services import MAX_DEFINITION_BYTES


class DefinitionUploadForm(forms.Form):
    """The file only; reading and checking it is the loader's (questionnaires.services)."""

    file = forms.FileField(
        label=gettext_lazy("Definition file (JSON)"),
        help_text=gettext_lazy("UTF-8 text in the format of questionnaires/definitions/*.json. It is stored as a "
                               "draft: preview it, then publish it."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_DEFINITION_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(size)s: a definition is far smaller (the shipped ones are about "
                  "35 KB). Is it the right file?") % {"size": filesizeformat(MAX_DEFINITION_BYTES)})
        return upload
