"""ScorePending's table now belongs to fieldwork.models.ResponseChange (fieldwork 0008): forget the
model here, in Django's state only. The table and its rows stay."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("fieldwork", "0008_response_change_log"),
        ("scoring", "0004_unitscore_withheld"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ScorePending")],
            database_operations=[],
        ),
    ]
