from django.db import migrations, models

# Until now only the latest opening and pairing were kept. For a round, the first opening was no
# later than its latest one nor than the first response it received (a response is received only
# by a round that has been opened). For a kiosk a re-pairing leaves no trace, so its registration,
# which came before any pairing, stands in: it refuses nothing that a kiosk could have sent.
FILL = """
UPDATE fieldwork_round r
   SET first_opened_at = LEAST(r.opened_at, (SELECT min(received_at) FROM fieldwork_response WHERE round_id = r.id))
 WHERE r.opened_at IS NOT NULL OR r.status <> 'draft';
UPDATE fieldwork_kiosk SET first_paired_at = created_at WHERE paired_at IS NOT NULL;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('fieldwork', '0006_narrow_responses'),
    ]

    operations = [
        migrations.AddField(
            model_name='kiosk',
            name='first_paired_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='round',
            name='first_opened_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
    ]
