"""Writing many rows of one model as one statement run with many parameter sets.

Django's `bulk_update` builds a CASE expression per field over every row (for a page of 500 rows and
eight fields, thousands of expression nodes to resolve and compile), and `bulk_create` compiles a
VALUES list of the same size: both spend far longer in Python than the database spends writing.
Here the statement is one row's, built once, and the driver runs it for every row (`executemany`:
sqlite3 loops in C, psycopg pipelines the rows). The values go through each field's
`get_db_prep_save`, as the ORM's own writes do; no signals are sent and `auto_now` fields are not
stamped (the rows written here carry their own times).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from django.db import connections, router
from django.db.models import Field, Model


def _connection(model: type[Model]) -> Any:
    return connections[router.db_for_write(model)]


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, Field), f"{name} is not a column of {model.__name__}"
    return str(field.column)


def update_many(objs: Sequence[Model], fields: Sequence[str]) -> int:
    """UPDATE `fields` of saved rows by primary key, each to its object's value; returns len(objs)."""
    if not objs:
        return 0
    model = type(objs[0])
    connection = _connection(model)
    qn = connection.ops.quote_name
    columns: list[Field[Any, Any]] = [model._meta.get_field(name) for name in fields]  # type: ignore[misc]
    assignments = ", ".join(f"{qn(field.column)} = %s" for field in columns)
    pk = model._meta.pk
    assert pk is not None
    # Only the model's own table and column names, quoted, are in the text; every value is a parameter.
    sql = f"UPDATE {qn(model._meta.db_table)} SET {assignments} WHERE {qn(pk.column)} = %s"  # noqa: S608
    params = [
        [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in columns] + [obj.pk]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(objs)


def insert_many(
    objs: Sequence[Model],
    *,
    on_conflict: Literal["ignore", "update"] | None = None,
    unique_fields: Sequence[str] = (),
    update_fields: Sequence[str] = (),
) -> int:
    """INSERT new rows (their primary keys left to the database, and not read back).

    `on_conflict="ignore"` skips a row that breaks a unique constraint; `"update"` turns the row
    conflicting on `unique_fields` into an UPDATE of its `update_fields` (an upsert, PostgreSQL's and
    SQLite's `ON CONFLICT ... DO UPDATE`). Returns len(objs).
    """
    if not objs:
        return 0
    model = type(objs[0])
    connection = _connection(model)
    qn = connection.ops.quote_name
    meta = model._meta
    columns = [field for field in meta.concrete_fields if not field.primary_key]
    sql = (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(field.column) for field in columns)}) "  # noqa: S608 - names quoted, values parameters
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    if on_conflict == "ignore":
        sql += " ON CONFLICT DO NOTHING"
    elif on_conflict == "update":
        target = ", ".join(qn(_column(model, name)) for name in unique_fields)
        updates = ", ".join(
            f"{qn(column)} = EXCLUDED.{qn(column)}"
            for column in (_column(model, name) for name in update_fields)
        )
        sql += f" ON CONFLICT ({target}) DO UPDATE SET {updates}"
    params = [
        [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in columns] for obj in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(objs)
