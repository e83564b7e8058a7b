"""The database cache's table, so `manage.py migrate` alone prepares a fresh install.

`createcachetable` makes the table of every configured DatabaseCache and skips the ones that exist;
with Redis configured there is none and this does nothing. Switching an existing install from Redis
to the database cache later needs a `manage.py createcachetable`.
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps: Any, schema_editor: Any) -> None:
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []
    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop, elidable=False)]
