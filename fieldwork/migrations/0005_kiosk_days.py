import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def count_existing(apps, schema_editor):
    """Fill the counters from the responses already stored (one grouped scan, once)."""
    schema_editor.execute(
        """INSERT INTO fieldwork_kioskday (kiosk_id, day, responses)
           SELECT kiosk_id, (received_at AT TIME ZONE %s)::date, count(*)
           FROM fieldwork_response WHERE kiosk_id IS NOT NULL GROUP BY 1, 2""",
        [settings.TIME_ZONE],
    )


class Migration(migrations.Migration):

    dependencies = [
        ('fieldwork', '0004_quota_days'),
    ]

    operations = [
        migrations.CreateModel(
            name='KioskDay',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('responses', models.IntegerField(default=0)),
                ('kiosk', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name='days', to='fieldwork.kiosk')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('kiosk', 'day'), name='kiosk_day_once')],
            },
        ),
        migrations.RunPython(count_existing, migrations.RunPython.noop),
    ]
