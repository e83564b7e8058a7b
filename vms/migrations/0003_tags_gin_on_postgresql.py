"""A GIN index on VM tags for PostgreSQL, where the list's tag filter is a `tags @> {...}` containment.

SQLite has no GIN index (its tag filter reads the JSON key), so the index exists only on PostgreSQL.
"""

from django.db import migrations


def create_gin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE INDEX IF NOT EXISTS vm_tags_gin ON vms_vm USING gin (tags jsonb_path_ops)")


def drop_gin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS vm_tags_gin")


class Migration(migrations.Migration):
    dependencies = [("vms", "0002_list_indexes")]

    operations = [migrations.RunPython(create_gin, drop_gin)]
