from django import forms
from django.utils.translation import gettext_lazy as _

from surveyapp.limits import PlainTextField


def _label(text, language):
    return text.get(language) or text["vi"]


class ResponseForm(forms.Form):
    """The whole questionnaire as one plain form, for browsers without JavaScript and paper entry.

    Fields are named by item code. It only converts; ``pack_answers`` applies the rules, so a
    form and the kiosk API accept exactly the same answers.
    """

    def __init__(self, *args, definition, language="vi", **kwargs):
        super().__init__(*args, **kwargs)
        self.definition = definition
        for item in definition.items:
            self.fields[item["code"]] = self._field(item, language)

    def _field(self, item, language):
        field = self._make_field(item, language)
        condition = item.get("condition") or {}
        if condition.get("item") in self.definition.by_code and "equals" in condition:
            earlier = self.definition.by_code[condition["item"]]
            wanted = condition["equals"]
            answer = next((o["label"] for o in self.definition.options(earlier) if o["code"] == wanted),
                          {"vi": str(wanted), "en": str(wanted)})
            chosen, question = _label(answer, language), _label(earlier["text"], language)
            field.help_text = (
                f"Only if you answered “{chosen}” to: {question}" if language == "en"
                else f"Chỉ trả lời nếu Ông/Bà đã chọn “{chosen}” ở câu: {question}"
            )
        return field

    def _make_field(self, item, language):
        label = _label(item["text"], language)
        choices = [(str(o["code"]), _label(o["label"], language)) for o in self.definition.options(item)]
        kind = item["kind"]
        if kind in ("satisfaction", "single", "yesno"):
            return forms.ChoiceField(label=label, choices=choices, required=False, widget=forms.RadioSelect)
        if kind == "multiple":
            return forms.MultipleChoiceField(label=label, choices=choices, required=False,
                                             widget=forms.CheckboxSelectMultiple)
        if kind == "number":
            return forms.IntegerField(label=label, required=False, min_value=item.get("min"),
                                      max_value=item.get("max"))
        return PlainTextField(label=label, required=False, max_length=item.get("max_length", 500), multiline=True,
                              widget=forms.Textarea(attrs={"rows": 3}))

    def answers(self):
        """The cleaned data in the API's answer form (satisfaction levels as numbers)."""
        answers = {}
        for item in self.definition.items:
            value = self.cleaned_data.get(item["code"])
            if value in (None, "", []):
                continue
            answers[item["code"]] = int(value) if item["kind"] == "satisfaction" else value
        return answers


class PairingForm(forms.Form):
    code = PlainTextField(label=_("Pairing code"), max_length=20)
