from django.db import migrations

# Responses are append-only: corrections are exclusions recorded beside them, never edits.
APPEND_ONLY = """
CREATE FUNCTION fieldwork_response_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'responses are append-only: exclude a response instead of changing it'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER fieldwork_response_append_only
    BEFORE UPDATE OR DELETE ON fieldwork_response
    FOR EACH ROW EXECUTE FUNCTION fieldwork_response_append_only();
"""

REVERSE = """
DROP TRIGGER fieldwork_response_append_only ON fieldwork_response;
DROP FUNCTION fieldwork_response_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("fieldwork", "0001_initial")]
    operations = [migrations.RunSQL(APPEND_ONLY, REVERSE)]
