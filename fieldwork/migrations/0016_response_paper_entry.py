"""How a paper form came in, stored (``Response.paper_entry``): the response browser told typed-in
forms from imported ones by the id's UUID version (7: made by the entry page), which a file's
``form_id`` column can break. Existing paper forms are filled by that old rule, once."""

from django.db import migrations, models

# With the append-only trigger off, and its foreign key checks at once rather than at commit so
# that the constraint can be added after it in the same transaction (as 0006).
FILL = """
ALTER TABLE fieldwork_response DISABLE TRIGGER fieldwork_response_append_only;
SET CONSTRAINTS ALL IMMEDIATE;
UPDATE fieldwork_response SET paper_entry = CASE WHEN substr(id::text, 15, 1) = '7' THEN 1 ELSE 2 END
 WHERE channel = 2;
SET CONSTRAINTS ALL DEFERRED;
ALTER TABLE fieldwork_response ENABLE TRIGGER fieldwork_response_append_only;
"""


class Migration(migrations.Migration):
    dependencies = [("fieldwork", "0015_response_channel_link")]

    operations = [
        migrations.AddField(
            model_name="response",
            name="paper_entry",
            field=models.PositiveSmallIntegerField(
                blank=True, choices=[(1, "Typed in on the entry page"), (2, "Imported from a file")], null=True),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="response",
            constraint=models.CheckConstraint(
                condition=models.Q(("channel", 2), ("paper_entry__isnull", False))
                | models.Q(models.Q(("channel", 2), _negated=True), ("paper_entry__isnull", True)),
                name="response_paper_entry_with_paper"),
        ),
    ]
