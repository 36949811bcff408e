"""Withheld means withheld: stored scores gain the reason their figures are withheld, and ``enough``
becomes "figures shown". Existing rows are withheld by the same rule the engine now applies
(scoring.disclosure), including secondary suppression; a withheld unit loses its rank and change.
The ranks of the other units settle at the round's next score run (README, Upgrading)."""

from django.db import migrations, models


def withhold_stored_scores(apps, schema_editor):
    from scoring.disclosure import withheld_units

    UnitScore = apps.get_model("scoring", "UnitScore")
    Round = apps.get_model("fieldwork", "Round")
    for survey_round in Round.objects.filter(scores__isnull=False).distinct().select_related("questionnaire"):
        minimum = survey_round.questionnaire.definition["scoring"]["min_responses"]
        rows = list(UnitScore.objects.filter(round=survey_round).values_list("unit_id", "n", "unit__parent_id"))
        withheld = withheld_units({u: n for u, n, _ in rows}, {u: p for u, _, p in rows}, minimum)
        for reason in set(withheld.values()):
            UnitScore.objects.filter(
                round=survey_round, unit_id__in=[u for u, why in withheld.items() if why == reason]
            ).update(enough=False, withheld=reason, rank=None, rank_of=None, change_points=None, change_places=None)


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0003_apitoken_revocation"),
        ("fieldwork", "0006_narrow_responses"),
    ]

    operations = [
        migrations.AddField(
            model_name="unitscore",
            name="withheld",
            field=models.CharField(
                blank=True, default="", max_length=16,
                help_text="Why the figures are withheld: too_few (below the minimum) or protects (secondary).",
            ),
        ),
        migrations.AlterField(
            model_name="unitscore",
            name="enough",
            field=models.BooleanField(help_text="Figures shown: enough responses and not withheld."),
        ),
        migrations.RunPython(withhold_stored_scores, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="unitscore",
            constraint=models.CheckConstraint(
                condition=(models.Q(enough=True, withheld="")
                           | models.Q(enough=False, withheld__in=["too_few", "protects"])),
                name="unit_score_shown_unless_withheld",
            ),
        ),
    ]
