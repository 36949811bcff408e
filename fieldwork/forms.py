from django import forms
from django.utils.translation import gettext_lazy as _

from questionnaires.definition import condition_holds
from surveyapp.limits import PlainTextField


def _label(text, language):
    return text.get(language) or text["vi"]


class ResponseForm(forms.Form):
    """The whole questionnaire as one plain form, for browsers without JavaScript and paper entry.

    Fields are named by item code. It only converts; ``pack_answers`` applies the rules, so a
    form and the kiosk API accept exactly the same answers. ``known``: the answers known from the
    unit (fieldwork.responses.known_answers), whose items are not asked; None when the unit is not
    known yet (paper entry), then those items say that they may be left empty.
    """

    def __init__(self, *args, definition, language="vi", known=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.definition, self.known = definition, known or {}
        previous_condition = None
        for item in definition.items:
            if known and item["code"] in known:
                continue
            field = self._make_field(item, language)
            # A condition's hint once, on the first of the items that share it (a part of several).
            condition = item.get("condition")
            if condition and condition != previous_condition:
                field.help_text = self._condition_hint(condition, language)
            previous_condition = condition
            if known is None and item.get("known_from"):
                field.help_text = ("Filled in from the unit the form came from: leave it empty." if language == "en"
                                   else "Điền tự động theo đơn vị nơi thu phiếu: có thể để trống.")
            self.fields[item["code"]] = field

    def _condition_hint(self, condition, language):
        """"Only if you answered “A” or “B” to: <question>", for a condition on one earlier item."""
        earlier = self.definition.by_code.get(condition.get("item"))
        if earlier is None:
            return ""
        wanted = [condition["equals"]] if "equals" in condition else condition.get("in", [])
        labels = {o["code"]: o["label"] for o in self.definition.options(earlier)}
        chosen = [f"“{_label(labels.get(w, {'vi': str(w)}), language)}”" for w in wanted]
        question = _label(earlier["text"], language)
        if language == "en":
            return f"Only if you answered {' or '.join(chosen)} to: {question}"
        return f"Chỉ trả lời nếu Ông/Bà đã chọn {' hoặc '.join(chosen)} ở câu: {question}"

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

    def answers(self, *, asked_only=False):
        """The cleaned data in the API's answer form (satisfaction levels as numbers).

        ``asked_only``: less the answers to items that the earlier answers leave out (their condition
        is false, as pack_answers judges it). The kiosk's form shows every question, and a tap on a
        radio button cannot be taken back without JavaScript: such an answer is dropped, not refused.
        Paper entry keeps them, so that an officer sees what the paper says against its own rules."""
        answers, given = {}, dict(self.known)
        for item in self.definition.items:
            value = self.cleaned_data.get(item["code"])
            if value in (None, "", []):
                continue
            value = int(value) if item["kind"] == "satisfaction" else value
            if asked_only and not condition_holds(item.get("condition"), given):
                continue
            answers[item["code"]] = given[item["code"]] = value
        return answers


class PairingForm(forms.Form):
    code = PlainTextField(label=_("Pairing code"), max_length=20, widget=forms.TextInput(attrs={
        "class": "plain-input", "autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}))
