"""Fast bulk INSERT and UPDATE of the many links and events a run writes.

Django's ``bulk_update`` builds one ``CASE WHEN pk=… THEN …`` expression per field and
row, and ``bulk_create`` compiles a placeholder and a prepared value per field and row
through several layers; for the hundreds of thousands of rows of an initial sync that
costs far more than the database work. Here each row is one parameterized statement
sent with ``executemany`` (SQLite runs it in-process; psycopg 3 pipelines it).

Values are prepared the way the ORM would store them: JSON and date fields through the
field's own ``get_db_prep_save``; plain text, numbers, booleans and foreign keys, which
the database drivers take as they are, without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection as default_connection
from django.db import models

# Fields whose Python value is what the drivers store (no conversion by Django).
_AS_IS = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "EmailField",
    "ForeignKey",
    "IntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
    "SlugField",
    "TextField",
}


def _preparer(field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
    """How a value of ``field`` becomes a query parameter; None: as it is."""
    kind = field.get_internal_type()
    if kind in _AS_IS:
        return None  # a foreign key's attname holds the related (integer) primary key
    ops = default_connection.ops
    if kind == "JSONField":
        encoder = field.encoder  # type: ignore[attr-defined]
        # None is SQL NULL, as JSONField.get_db_prep_save stores it.
        return lambda value: None if value is None else ops.adapt_json_value(value, encoder)
    if kind == "DateTimeField":
        adapt = ops.adapt_datetimefield_value

        def prepare(value: Any) -> Any:
            if isinstance(value, datetime) and value.tzinfo is not None:
                return adapt(value)
            # get_prep_value parses text and makes naive values aware, as the ORM does.
            return adapt(field.get_prep_value(value))

        return prepare
    return lambda value: field.get_db_prep_save(value, default_connection)


def _rows(
    objs: Sequence[models.Model], fields: Sequence[models.Field[Any, Any]], add: bool
) -> list[list[Any]]:
    preparers = [_preparer(f) for f in fields]
    rows = []
    for obj in objs:
        row = []
        for field, prepare in zip(fields, preparers, strict=True):
            # pre_save fills auto_now(_add) dates as the ORM's own save would.
            value = field.pre_save(obj, add) if add else getattr(obj, field.attname)
            row.append(value if prepare is None else prepare(value))
        rows.append(row)
    return rows


def update_rows(objs: Sequence[models.Model], field_names: Sequence[str]) -> None:
    """Save ``field_names`` of every object in ``objs`` (all of one model)."""
    if not objs:
        return
    meta = type(objs[0])._meta
    fields = [meta.get_field(name) for name in field_names]
    quote = default_connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)  # type: ignore[union-attr]
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    rows = _rows(objs, fields, add=False)  # type: ignore[arg-type]
    for row, obj in zip(rows, objs, strict=True):
        row.append(obj.pk)
    with default_connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def insert_rows(objs: Sequence[models.Model]) -> None:
    """INSERT every object in ``objs`` (all of one model, primary keys left to the
    database). Unlike ``bulk_create`` the objects do not learn their primary keys: for
    rows nobody reads back in the same breath, such as staged links and journal events."""
    if not objs:
        return
    meta = type(objs[0])._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = default_connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    table = quote(meta.db_table)
    rows = _rows(objs, fields, add=True)
    with default_connection.cursor() as cursor:
        if default_connection.vendor == "postgresql":
            # COPY streams the rows in one statement, several times faster than
            # pipelined INSERTs; psycopg adapts each value as it would for a query.
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
            cursor.executemany(sql, rows)
