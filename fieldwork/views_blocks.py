"""The round's blocks (khối) for ranking: the block of each unit level and single units moved to
another block, changed by the round's officers before it first opens (``fieldwork.blocks``)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fieldwork import blocks
from fieldwork.selectors import get_round_for_user
from units import access
from units.models import Unit

MAX_OVERRIDES = 2000
CHOICES = [*blocks.BLOCKS.items(), (blocks.NOT_RANKED, gettext_lazy("not ranked"))]


class BlocksForm(forms.Form):
    overrides = forms.CharField(
        label=gettext_lazy("Single units in another block"), required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("One unit a line: its code, a space, then the block: departments, communes, "
                               "vertical, districts, provinces, or none (not ranked)."),
    )

    def __init__(self, *args, survey_round, **kwargs):
        super().__init__(*args, **kwargs)
        self.survey_round = survey_round
        for level, label in Unit.Level.choices:
            self.fields[f"level_{level}"] = forms.ChoiceField(label=label, choices=CHOICES, required=False)

    def clean_overrides(self):
        lines = [line.split() for line in self.cleaned_data["overrides"].splitlines() if line.strip()]
        if len(lines) > MAX_OVERRIDES:
            raise forms.ValidationError(_("At most %(n)s units a round.") % {"n": MAX_OVERRIDES})
        problems, wanted = [], {}
        for number, parts in enumerate(lines, start=1):
            block = parts[1] if len(parts) == 2 else None
            block = blocks.NOT_RANKED if block == "none" else block
            if block is None or block not in {*blocks.BLOCKS, blocks.NOT_RANKED}:
                problems.append(_("Line %(n)s: write a unit code and one of departments, communes, vertical, "
                                  "districts, provinces, none.") % {"n": number})
            else:
                wanted[parts[0][:64]] = (number, block)
        units = dict(Unit.objects.filter(code__in=list(wanted), path__startswith=self.survey_round.unit.path)
                     .values_list("code", "id"))
        for code, (number, _block) in wanted.items():
            if code not in units:
                problems.append(_("Line %(n)s: no unit %(code)s in this round.") % {"n": number, "code": code})
        if problems:
            raise forms.ValidationError(problems)
        return {units[code]: block for code, (_number, block) in wanted.items()}

    def levels(self):
        return {level: self.cleaned_data.get(f"level_{level}") or blocks.NOT_RANKED for level in Unit.Level.values}


def _initial(survey_round):
    rule = blocks.blocks_for(survey_round)
    initial = {f"level_{level}": rule.levels.get(level, blocks.DEFAULT_BY_LEVEL.get(level, blocks.NOT_RANKED))
               for level in Unit.Level.values}
    codes = dict(Unit.objects.filter(id__in=list(rule.units)).values_list("id", "code"))
    initial["overrides"] = "\n".join(f"{codes[unit_id]} {block or 'none'}" for unit_id, block in rule.units.items()
                                     if unit_id in codes)
    return initial


@login_required
def round_blocks(request, round_id):
    survey_round = get_round_for_user(request.user, round_id, access.FIELDWORK, whole=True)
    frozen = blocks.is_frozen(survey_round)
    if request.method == "POST" and not frozen:
        form = BlocksForm(request.POST, survey_round=survey_round)
        if form.is_valid():
            try:
                blocks.save_blocks(survey_round=survey_round, levels=form.levels(),
                                   units=form.cleaned_data["overrides"], user=request.user)
            except blocks.BlocksFrozen:
                form.add_error(None, _("The round has been opened: its blocks can no longer change."))
            else:
                messages.success(request, _("The blocks of the round are saved."))
                return redirect("fieldwork:round-blocks", survey_round.pk)
    else:
        form = BlocksForm(initial=_initial(survey_round), survey_round=survey_round)
    if frozen:
        for field in form.fields.values():
            field.disabled = True
    return render(request, "fieldwork/round_blocks.html", {"round": survey_round, "form": form, "frozen": frozen})
