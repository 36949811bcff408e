"""Forms of the administration pages: they only clean and convert; units.services holds the rules."""

import datetime

from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.validators import ProhibitNullCharactersValidator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from surveyapp.limits import PlainTextField, PlainTextValidator, UploadField
from units.hours import WEEKDAYS, day_text, parse_day
from units.imports import CODE_MAX_LENGTH, NAME_MAX_LENGTH
from units.models import Role

# A unit file of a whole country (about 4,000 units) is well under 1 MB.
UNIT_UPLOAD_MAX_BYTES = 10 * 1024 * 1024


class PlainTextForm(forms.Form):
    """A form whose text fields refuse a control character with our translated message, in place
    of Django's "Null characters are not allowed." (which its Vietnamese catalog lacks)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        plain_text_fields(self)


def plain_text_fields(form):
    for field in form.fields.values():
        if isinstance(field, forms.CharField) and not isinstance(field, forms.FileField):
            field.validators = [v for v in field.validators if not isinstance(v, ProhibitNullCharactersValidator)]
            if not any(isinstance(v, PlainTextValidator) for v in field.validators):
                field.validators.append(PlainTextValidator())


class SearchForm(PlainTextForm):
    q = PlainTextField(label=_("Search"), max_length=200, required=False)

    def search(self):
        return self.cleaned_data["q"].strip() if self.is_valid() else ""


class UnitImportForm(forms.Form):
    file = UploadField(
        label=_("CSV file"),
        help_text=_("UTF-8, with the header code,name,parent_code,level,valid_from,valid_to,successor_code; "
                    "dates as YYYY-MM-DD."),
        max_bytes=lambda: UNIT_UPLOAD_MAX_BYTES,  # read when checked (a test lowers it)
        too_large=_("The file is larger than %(size)s: is this the right file?"),
    )


class UnitImportConfirmForm(PlainTextForm):
    """What the preview page posts back: the stored file's key and the digest of what was shown."""

    key = forms.RegexField(regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput)
    digest = forms.RegexField(regex=r"^[0-9a-f]{64}$", widget=forms.HiddenInput)


class UnitRenameForm(PlainTextForm):
    name = PlainTextField(label=_("New name"), max_length=NAME_MAX_LENGTH)


class UnitCodeField(PlainTextField):
    """A unit's code, typed (with suggestions from a datalist); the service looks it up."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", CODE_MAX_LENGTH)
        super().__init__(**kwargs)
        self.widget.attrs.update({"list": "unit-codes", "autocomplete": "off", "spellcheck": "false",
                                  "autocapitalize": "none"})


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class UnitCloseForm(PlainTextForm):
    valid_to = forms.DateField(
        label=_("Last day of the unit"), widget=DateInput(),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        help_text=_("For the units merged in 2025: 30/06/2025 (the new units started on 1 July 2025)."),
    )
    successor = UnitCodeField(
        label=_("Code of the unit that takes it over"), required=False,
        help_text=_("Leave empty when no unit takes it over (e.g. a district abolished in 2025)."),
    )

    def clean_valid_to(self):
        day = self.cleaned_data["valid_to"]
        if day.year < 1900 or day == datetime.date.max:
            raise forms.ValidationError(_("Enter a date after 1900."))
        return day


ROLE_CHOICES = [(kind.value, kind.label) for kind in Role.Kind]


class RoleForm(PlainTextForm):
    unit = UnitCodeField(label=_("Unit code"), help_text=_("The role covers this unit and every unit below it."))
    kind = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES, initial=Role.Kind.OFFICER,
                             help_text=_("Survey officers run fieldwork; heads read scores; administrators "
                                         "do both and manage units and staff."))


class StaffCreateForm(RoleForm):
    username = forms.CharField(
        label=_("Username"), max_length=150, validators=[UnicodeUsernameValidator()],
        help_text=_("What they type to log in: letters, digits and @ . + - _ only, e.g. lan.nguyen"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}),
    )
    full_name = PlainTextField(label=_("Full name"), max_length=150)
    email = forms.EmailField(label=_("E-mail"), required=False, max_length=254)

    field_order = ["username", "full_name", "email", "unit", "kind"]

    def clean_username(self):
        return self.cleaned_data["username"].strip()


# Django 5.2 words the minimum length "%d character" while its Vietnamese catalog still translates
# the older "%(min_length)d character": declared here, our catalog (locale/vi) has it, and Django
# consults ours first. (The same as surveyapp/i18n_fixes.py does for timesince.)
PASSWORD_TOO_SHORT = ngettext_lazy("This password is too short. It must contain at least %d character.",
                                   "This password is too short. It must contain at least %d characters.")


class PasswordSetForm(SetPasswordForm):
    """Django's, with a control character refused in our words (a password may hold any other
    character)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        plain_text_fields(self)


class UnitHoursForm(PlainTextForm):
    """A desk's opening hours, one field a weekday (``day_1`` Monday … ``day_7`` Sunday); each cleans to
    the stored intervals (units.hours.parse_day)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for day, label in WEEKDAYS:
            self.fields[f"day_{day}"] = PlainTextField(
                label=label, max_length=120, required=False,
                help_text=_("For example 07:30-11:30, 13:30-17:00; empty: closed.") if day == 1 else "")
        plain_text_fields(self)

    def clean(self):
        cleaned = super().clean()
        hours = {}
        for day, _label in WEEKDAYS:
            name = f"day_{day}"
            if name in cleaned:
                try:
                    hours[day] = parse_day(cleaned[name])
                except forms.ValidationError as exc:
                    self.add_error(name, exc)
        cleaned["hours"] = hours
        return cleaned

    @staticmethod
    def initial_for(unit) -> dict:
        return {f"day_{day}": day_text(unit.opening_hours.get(str(day))) for day, _label in WEEKDAYS}
