from django.db import migrations

# The database's own guard: a published questionnaire version cannot be changed or deleted,
# whatever code (or person with psql) tries. Publishing a draft is the one allowed change.
FREEZE = """
CREATE FUNCTION questionnaire_version_frozen() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'published' THEN
        RAISE EXCEPTION 'questionnaire version % is published and frozen: make a new version', OLD.code
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER questionnaire_version_frozen
    BEFORE UPDATE OR DELETE ON questionnaires_questionnaireversion
    FOR EACH ROW EXECUTE FUNCTION questionnaire_version_frozen();
"""

UNFREEZE = """
DROP TRIGGER questionnaire_version_frozen ON questionnaires_questionnaireversion;
DROP FUNCTION questionnaire_version_frozen();
"""


class Migration(migrations.Migration):
    dependencies = [("questionnaires", "0001_initial")]
    operations = [migrations.RunSQL(FREEZE, UNFREEZE)]
