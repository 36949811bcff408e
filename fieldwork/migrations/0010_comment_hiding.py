import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """Hidden comments, and an index of the responses that hold free text (for the comment pages).
    No extension: the accent-insensitive search folds text with core PostgreSQL (fieldwork.comments)."""

    dependencies = [
        ("fieldwork", "0009_round_name_en"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="response",
            index=models.Index(condition=models.Q(("texts__isnull", False)), fields=["round", "unit"],
                               name="response_text_round_unit_idx"),
        ),
        migrations.CreateModel(
            name="CommentHiding",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("reason", models.CharField(choices=[("person", "names a person"), ("phone", "gives a phone number"), ("contact", "other personal details (address, e-mail, ID number)"), ("abuse", "abusive or offensive")], max_length=16, verbose_name="reason")),
                ("note", models.CharField(blank=True, max_length=500, verbose_name="note")),
                ("hidden_at", models.DateTimeField()),
                ("unhidden_at", models.DateTimeField(blank=True, null=True)),
                ("hidden_by", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
                ("response", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="comment_hidings", to="fieldwork.response")),
                ("round", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="fieldwork.round")),
                ("unhidden_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "verbose_name": "hidden comment",
                "verbose_name_plural": "hidden comments",
                "ordering": ["-hidden_at"],
                "constraints": [
                    models.UniqueConstraint(condition=models.Q(("unhidden_at__isnull", True)), fields=("response",), name="comment_hidden_once"),
                    models.CheckConstraint(condition=models.Q(("unhidden_at__isnull", True), ("unhidden_by__isnull", False), _connector="OR"), name="comment_unhidden_by_someone"),
                ],
            },
        ),
    ]
