"""Narrower response rows (issue 5's storage target: at most 250 bytes of table and index each).

* ``questionnaire_id`` goes: it always equalled the round's, and a trigger now refuses to change a
  round's questionnaire once the round has responses (the answers' layout is the version's).
* ``started_at`` becomes ``seconds_taken``, a smallint (a timestamp is 8 bytes and its alignment).
* New ids default to time-ordered UUID v7 (fieldwork.ids).

Rows stored before keep their width on disk until the table is rewritten (VACUUM FULL); new rows
are narrow at once.
"""

import django.db.models.deletion
from django.db import migrations, models

import fieldwork.ids


def _fill(update):
    """``update`` run with the append-only trigger off, its foreign key checks at once (SET
    CONSTRAINTS ALL IMMEDIATE) rather than at commit, so that the table can be altered after it in
    the same transaction."""
    return f"""
ALTER TABLE fieldwork_response DISABLE TRIGGER fieldwork_response_append_only;
SET CONSTRAINTS ALL IMMEDIATE;
{update};
SET CONSTRAINTS ALL DEFERRED;
ALTER TABLE fieldwork_response ENABLE TRIGGER fieldwork_response_append_only;
"""


FILL_SECONDS = _fill("""UPDATE fieldwork_response
   SET seconds_taken = LEAST(32767, GREATEST(0, floor(EXTRACT(EPOCH FROM submitted_at - started_at))))::smallint
 WHERE started_at IS NOT NULL""")

FILL_STARTED = _fill("""UPDATE fieldwork_response SET started_at = submitted_at - make_interval(secs => seconds_taken)
 WHERE seconds_taken IS NOT NULL""")

FILL_QUESTIONNAIRE = _fill("""UPDATE fieldwork_response r SET questionnaire_id = ro.questionnaire_id FROM fieldwork_round ro
 WHERE ro.id = r.round_id""")

QUESTIONNAIRE_FROZEN = """
CREATE FUNCTION fieldwork_round_questionnaire_frozen() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM fieldwork_response WHERE round_id = OLD.id) THEN
        RAISE EXCEPTION 'round % has responses: its questionnaire version cannot change', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER fieldwork_round_questionnaire_frozen
    BEFORE UPDATE OF questionnaire_id ON fieldwork_round
    FOR EACH ROW WHEN (OLD.questionnaire_id IS DISTINCT FROM NEW.questionnaire_id)
    EXECUTE FUNCTION fieldwork_round_questionnaire_frozen();
"""

QUESTIONNAIRE_FROZEN_REVERSE = """
DROP TRIGGER fieldwork_round_questionnaire_frozen ON fieldwork_round;
DROP FUNCTION fieldwork_round_questionnaire_frozen();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("fieldwork", "0005_kiosk_days"),
        ("questionnaires", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="response",
            name="seconds_taken",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.RunSQL(FILL_SECONDS, FILL_STARTED),
        migrations.RemoveField(model_name="response", name="started_at"),
        migrations.AlterField(
            model_name="response",
            name="questionnaire",
            field=models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="+", to="questionnaires.questionnaireversion"),
        ),
        migrations.RunSQL(migrations.RunSQL.noop, FILL_QUESTIONNAIRE),
        migrations.RemoveField(model_name="response", name="questionnaire"),
        migrations.RunSQL(QUESTIONNAIRE_FROZEN, QUESTIONNAIRE_FROZEN_REVERSE),
        migrations.AlterField(
            model_name="response",
            name="id",
            field=models.UUIDField(default=fieldwork.ids.uuid7, primary_key=True, serialize=False),
        ),
    ]
