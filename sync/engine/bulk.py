"""Fast bulk UPDATE of many rows by primary key.

Django's ``bulk_update`` builds one ``CASE WHEN pk=… THEN …`` expression per field and
row, which costs far more than the database work for the thousands of links a run
settles. Here each row is one parameterized ``UPDATE … WHERE id = …`` sent with
``executemany`` (SQLite runs it in-process; psycopg 3 pipelines it), values prepared by
the fields themselves so JSON and dates are stored exactly as the ORM would.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection as default_connection
from django.db import models


def update_rows(objs: Sequence[models.Model], field_names: Sequence[str]) -> None:
    """Save ``field_names`` of every object in ``objs`` (all of one model)."""
    if not objs:
        return
    model = type(objs[0])
    meta = model._meta
    fields = [meta.get_field(name) for name in field_names]
    connection = default_connection
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)  # type: ignore[union-attr]
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    rows = [
        [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]  # type: ignore[union-attr]
        + [obj.pk]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
