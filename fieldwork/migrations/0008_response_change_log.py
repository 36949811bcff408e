"""The scores' change log moves from scoring to fieldwork (fieldwork.models.ResponseChange), and a
round records when its stored counts must be made again (Round.counts_reset_at).

The move changes Django's state only: the table keeps its name, ``scoring_scorepending``, and its
rows. Nothing is locked, copied or renamed on a live database, and processes of the previous
release, still writing that table while a deploy runs, write the rows this release consumes. (A copy
into a new table would lose what they write after the copy; a rename would make their submissions
fail until they are restarted.) The new column is nullable: adding it does not rewrite the table.

It depends on the scoring migration that created the table, so that on an empty database the table
exists before fieldwork adopts it; scoring's 0005 then forgets its own model of it.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("fieldwork", "0007_first_opening_and_pairing"),
        ("scoring", "0002_incremental_counts"),
    ]

    operations = [
        migrations.AddField(
            model_name="round",
            name="counts_reset_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ResponseChange",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("sign", models.SmallIntegerField()),
                        ("response", models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                                       related_name="+", to="fieldwork.response")),
                        ("round", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                                    to="fieldwork.round")),
                    ],
                    options={
                        "db_table": "scoring_scorepending",
                        "constraints": [models.CheckConstraint(condition=models.Q(("sign__in", [-1, 1])),
                                                               name="score_pending_sign")],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
