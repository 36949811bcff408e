from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("questionnaires", "0002_freeze_published_versions")]

    operations = [
        migrations.AddField(
            model_name="questionnaireversion",
            name="loaded_by",
            field=models.CharField(blank=True, db_default="", default="", max_length=150, verbose_name="loaded by"),
        ),
        migrations.AddField(
            model_name="questionnaireversion",
            name="published_by",
            field=models.CharField(blank=True, db_default="", default="", max_length=150, verbose_name="published by"),
        ),
    ]
