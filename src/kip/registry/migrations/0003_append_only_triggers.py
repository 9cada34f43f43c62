"""Append-only audit entries and undeletable patients, enforced by the database itself.

Row triggers refuse UPDATE and DELETE on registry_auditentry and DELETE on registry_patient, so no
code path (ORM, raw SQL, a shell) can rewrite history or hard-delete a patient without first
dropping a trigger, which the hash chain then still exposes. PostgreSQL also refuses TRUNCATE,
which skips row triggers. The statements are written here, not imported, so the migration keeps
meaning what it meant when it was applied.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

AUDIT_REFUSED = "audit entries are append-only"
PATIENT_REFUSED = "patients are never deleted: archive them (archived_at)"

SQLITE_CREATE = [
    "CREATE TRIGGER registry_auditentry_no_update BEFORE UPDATE ON registry_auditentry "
    f"BEGIN SELECT RAISE(ABORT, '{AUDIT_REFUSED}: UPDATE refused'); END",
    "CREATE TRIGGER registry_auditentry_no_delete BEFORE DELETE ON registry_auditentry "
    f"BEGIN SELECT RAISE(ABORT, '{AUDIT_REFUSED}: DELETE refused'); END",
    "CREATE TRIGGER registry_patient_no_delete BEFORE DELETE ON registry_patient "
    f"BEGIN SELECT RAISE(ABORT, '{PATIENT_REFUSED}'); END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS registry_auditentry_no_update",
    "DROP TRIGGER IF EXISTS registry_auditentry_no_delete",
    "DROP TRIGGER IF EXISTS registry_patient_no_delete",
]

# integrity_constraint_violation (23000) so both databases raise django.db.IntegrityError.
POSTGRESQL_CREATE = [
    """CREATE OR REPLACE FUNCTION registry_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '%: % refused', TG_ARGV[0], TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END;
    $$""",
    "CREATE TRIGGER registry_auditentry_append_only BEFORE UPDATE OR DELETE ON registry_auditentry "
    f"FOR EACH ROW EXECUTE FUNCTION registry_refuse_change('{AUDIT_REFUSED}')",
    "CREATE TRIGGER registry_auditentry_no_truncate BEFORE TRUNCATE ON registry_auditentry "
    f"FOR EACH STATEMENT EXECUTE FUNCTION registry_refuse_change('{AUDIT_REFUSED}')",
    "CREATE TRIGGER registry_patient_no_delete BEFORE DELETE ON registry_patient "
    f"FOR EACH ROW EXECUTE FUNCTION registry_refuse_change('{PATIENT_REFUSED}')",
    "CREATE TRIGGER registry_patient_no_truncate BEFORE TRUNCATE ON registry_patient "
    f"FOR EACH STATEMENT EXECUTE FUNCTION registry_refuse_change('{PATIENT_REFUSED}')",
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS registry_auditentry_append_only ON registry_auditentry",
    "DROP TRIGGER IF EXISTS registry_auditentry_no_truncate ON registry_auditentry",
    "DROP TRIGGER IF EXISTS registry_patient_no_delete ON registry_patient",
    "DROP TRIGGER IF EXISTS registry_patient_no_truncate ON registry_patient",
    "DROP FUNCTION IF EXISTS registry_refuse_change()",
]

STATEMENTS = {
    "sqlite": (SQLITE_CREATE, SQLITE_DROP),
    "postgresql": (POSTGRESQL_CREATE, POSTGRESQL_DROP),
}


def _run(schema_editor: BaseDatabaseSchemaEditor, which: int) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in STATEMENTS:
        raise RuntimeError(f"no append-only triggers written for {vendor}")
    # A plain cursor: the schema editor would read plpgsql's % as a parameter placeholder.
    with schema_editor.connection.cursor() as cursor:
        for sql in STATEMENTS[vendor][which]:
            cursor.execute(sql)


def create(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _run(schema_editor, 0)


def drop(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0002_audit_entry"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
