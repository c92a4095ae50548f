"""Fast bulk INSERT and UPDATE of the many links and events a run writes, and the
database and memory tuning a large run needs (statistics, garbage collection).

Django's ``bulk_update`` builds one ``CASE WHEN pk=… THEN …`` expression per field and
row, and ``bulk_create`` compiles a placeholder and a prepared value per field and row
through several layers; for the hundreds of thousands of rows of an initial sync that
costs far more than the database work. Here, on SQLite, each row is one parameterized
statement sent with ``executemany`` (SQLite runs it in-process); on PostgreSQL, rows are
streamed with ``COPY`` (inserts straight into their table; updates into a temporary
table, then one ``UPDATE … FROM`` for the batch): a statement per row would cost a round
trip, a parse and a plan each, several times the row's own work.

Values are prepared the way the ORM would store them: JSON and date fields through the
field's own ``get_db_prep_save`` (JSON for PostgreSQL's COPY as its text, by orjson);
plain text, numbers, booleans and foreign keys, which the database drivers take as they
are, without it.
"""

from __future__ import annotations

import gc
import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson
from django.core.exceptions import EmptyResultSet
from django.db import connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.lookups import In
from django.utils import timezone

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


def _db(model: type[models.Model]) -> BaseDatabaseWrapper:
    """The database ``model``'s rows are written to (a dry run's scratch one for the
    links and events it stages, sync/engine/scratch.py)."""
    return connections[router.db_for_write(model)]


def _preparer(
    field: models.Field[Any, Any], db: BaseDatabaseWrapper
) -> Callable[[Any], Any] | None:
    """How a value of ``field`` becomes a query parameter of ``db``; None: as it is."""
    kind = field.get_internal_type()
    if kind in _AS_IS:
        return None  # a foreign key's attname holds the related (integer) primary key
    ops = db.ops
    if kind == "JSONField":
        encoder = field.encoder  # type: ignore[attr-defined]
        if db.vendor == "postgresql" and encoder is None:
            # PostgreSQL's rows go through COPY, whose text a jsonb column parses: the
            # JSON text itself serves, written by orjson (``_json_text``).
            return _json_text
        # None is SQL NULL, as JSONField.get_db_prep_save stores it.
        return lambda value: None if value is None else ops.adapt_json_value(value, encoder)
    if kind == "DateTimeField":
        adapt = ops.adapt_datetimefield_value
        last: list[Any] = [None, None]  # the last value and its result: a batch's timestamp

        def prepare(value: Any) -> Any:
            if value is last[0]:
                return last[1]
            if isinstance(value, datetime) and value.tzinfo is not None:
                result = adapt(value)
            else:
                # get_prep_value parses text and makes naive values aware, as the ORM does.
                result = adapt(field.get_prep_value(value))
            last[0], last[1] = value, result
            return result

        return prepare
    return lambda value: field.get_db_prep_save(value, db)


# orjson leaves to ``default`` (which refuses them) the values json.dumps refuses too:
# datetimes and dataclasses, and the subclasses of str, int, dict and list, which
# json.dumps writes by their base type; those go to json.dumps, as do the values orjson
# cannot write (integers beyond 64 bits, keys that are not strings).
_ORJSON_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _refuse(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _json_text(value: Any) -> str | None:
    """``value`` as JSON text for a jsonb column (None: SQL NULL, as JSONField stores
    it). The text json.dumps would write, but for spacing and escapes, which jsonb does
    not keep, at a fraction of the cost: an initial sync writes every record's fields
    into the links and the journal, some 40% of its JSON encoding time in json.dumps."""
    if value is None:
        return None
    try:
        return orjson.dumps(value, default=_refuse, option=_ORJSON_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return json.dumps(value)


def _prepared(
    fields: Sequence[models.Field[Any, Any]],
    rows: Iterable[Sequence[Any]],
    db: BaseDatabaseWrapper,
) -> list[list[Any]]:
    """``rows`` (values in the order of ``fields``) as query parameters of ``db``."""
    preparers = list(enumerate(_preparer(f, db) for f in fields))
    converting = [(i, prepare) for i, prepare in preparers if prepare is not None]
    out = []
    for values in rows:
        row = list(values)
        for i, prepare in converting:
            row[i] = prepare(row[i])
        out.append(row)
    return out


def update_rows(objs: Sequence[models.Model], field_names: Sequence[str]) -> None:
    """Save ``field_names`` of every object in ``objs`` (all of one model)."""
    if not objs:
        return
    model = type(objs[0])
    meta, db = model._meta, _db(model)
    fields = [meta.get_field(name) for name in field_names]
    quote = db.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)  # type: ignore[union-attr]
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    names = [f.attname for f in fields] + [meta.pk.attname]  # type: ignore[union-attr]
    if db.vendor == "postgresql":
        # One row per object, the last one's values winning as the statements in
        # order would (UPDATE … FROM takes an arbitrary one of duplicate keys).
        latest = {obj.pk: obj for obj in objs}.values()
        with_pk = [*fields, meta.pk]
        rows = _prepared(with_pk, ([getattr(o, n) for n in names] for o in latest), db)  # type: ignore[arg-type]
        _update_from_copy(db, meta.db_table, with_pk, rows)  # type: ignore[arg-type]
        return
    rows = _prepared(fields, ([getattr(obj, n) for n in names] for obj in objs), db)  # type: ignore[arg-type]
    with db.cursor() as cursor:
        cursor.executemany(sql, rows)


def _update_from_copy(
    db: BaseDatabaseWrapper,
    table_name: str,
    fields: Sequence[models.Field[Any, Any]],
    prepared: list[list[Any]],
) -> None:
    """PostgreSQL: COPY ``prepared`` (the values of ``fields``, the primary key last)
    into a temporary table of those columns, then UPDATE ``table_name`` from it in one
    statement. The temporary table lives as long as the database session (one per set
    of columns); its rows go as the UPDATE reads them, and at commit or rollback."""
    quote = db.ops.quote_name
    *assigned, pk = (quote(f.column) for f in fields)
    columns = ", ".join([*assigned, pk])
    table = quote(table_name)
    temp = quote(f"bulk_{table_name}_{zlib.crc32(columns.encode()):08x}")
    assignments = ", ".join(f"{c} = s.{c}" for c in assigned)
    create = (
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {temp} ON COMMIT DELETE ROWS "  # noqa: S608
        f"AS SELECT {columns} FROM {table} WITH NO DATA"
    )
    # The rows go as they are used, in the same statement: a data-modifying WITH.
    update = (
        f"WITH s AS (DELETE FROM {temp} RETURNING *) "  # noqa: S608
        f"UPDATE {table} SET {assignments} FROM s WHERE {table}.{pk} = s.{pk}"
    )
    with transaction.atomic(using=db.alias, savepoint=False), db.cursor() as cursor:
        # Asked each time (a no-op once made): a rollback takes back the table made in
        # its transaction, and the session may be a new one.
        cursor.execute(create)
        with cursor.cursor.copy(f"COPY {temp} ({columns}) FROM STDIN") as copy:
            for row in prepared:
                copy.write_row(row)
        cursor.execute(update)


def insert_rows(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ``rows`` of ``model``, each a dict of field attnames (``connection_id``,
    not ``connection``) to values; the primary key is left to the database, missing
    fields take their defaults, and dates set automatically take one timestamp for the
    whole batch. No model instances are made: for the many rows of a run nobody reads
    back in the same breath, such as staged links and journal events."""
    if not rows:
        return
    meta, db = model._meta, _db(model)
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    defaults = {f.attname: _default(f, now) for f in fields}
    width = len(defaults)
    # Each row over the defaults, in their (the fields') order: one dict merge in C
    # instead of a look-up per field (a link has 30); keys that are no field's come
    # after them and are cut off.
    prepared = _prepared(fields, ([*{**defaults, **row}.values()][:width] for row in rows), db)
    _insert(db, meta.db_table, fields, prepared)


def copy_rows(source: models.QuerySet[Any], alias: str, chunk: int = 2000) -> int:
    """Copy the rows of ``source`` (primary keys included) into the same table of the
    database ``alias``, ``chunk`` at a time; returns how many. Values travel through
    the ORM's conversions both ways, so the two databases may be of different kinds."""
    meta, db = source.model._meta, connections[alias]
    fields = list(meta.concrete_fields)
    values = source.order_by("pk").values_list(*(f.attname for f in fields))
    copied, batch = 0, []
    for row in values.iterator(chunk_size=chunk):
        batch.append(row)
        if len(batch) == chunk:
            _insert(db, meta.db_table, fields, _prepared(fields, batch, db))
            copied, batch = copied + len(batch), []
    _insert(db, meta.db_table, fields, _prepared(fields, batch, db))
    return copied + len(batch)


def _insert(
    db: BaseDatabaseWrapper,
    table_name: str,
    fields: Sequence[models.Field[Any, Any]],
    prepared: list[list[Any]],
) -> None:
    if not prepared:
        return
    quote = db.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    table = quote(table_name)
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            # COPY streams the rows in one statement, several times faster than
            # pipelined INSERTs; psycopg adapts each value as it would for a query.
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in prepared:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
            cursor.executemany(sql, prepared)


def _default(field: models.Field[Any, Any], now: datetime) -> Any:
    """What the ORM would store for ``field`` when a new object does not set it."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    return field.get_default()


@contextmanager
def fewer_collections(threshold: int = 50_000) -> Iterator[None]:
    """Let the cyclic garbage collector run less often while a run goes. A run makes
    millions of short-lived objects, none of them in cycles; with the default
    threshold every 700 allocations start a collection, and the full ones traverse
    every live object of the process (measured: a fifth of an initial sync's time)."""
    previous = gc.get_threshold()
    gc.set_threshold(max(threshold, previous[0]), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def commit_without_waiting(alias: str) -> None:
    """Let the transaction under way on ``alias`` commit without waiting for its WAL
    to be flushed to disk (PostgreSQL's ``synchronous_commit = off``, for this
    transaction only); no-op elsewhere. For the transactions of a run that a lost
    commit only makes repeat: a staged page (its cursor is saved with it, so the page
    is read again) and a chunk's settled links (its vendor writes are idempotent: the
    next run plans them again and their creates are recognised by their keys). Only a
    crash of the database server itself loses such a commit (the last fraction of a
    second of them), never one of the application; the journal rows written before the
    vendor writes are committed as usual. An initial sync commits a transaction per
    page and per chunk, each of which would otherwise wait for a disk flush (measured:
    10 ms each, a tenth of the sync on PostgreSQL)."""
    db = connections[alias]
    if db.vendor == "postgresql" and db.in_atomic_block:
        with db.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


@models.Field.register_lookup
class AnyOf(In):
    """``field__any=values``: ``field__in=values`` that PostgreSQL receives as one
    array parameter, ``field = ANY(%s)``, instead of an IN list of one placeholder a
    value. Django's psycopg binds parameters on the client, and psycopg's parse of a
    query for its placeholders is cached only for short queries: an IN list of a
    page's 500 ids cost some 10 ms of the client's time a query to parse (the staging
    queries of each page, the echo check of each chunk; measured: 21.6 ms against
    8.7 ms for the whole query). The same rows, the same index scans; elsewhere (and
    for a subquery) it is ``__in``."""

    lookup_name = "any"

    def as_sql(self, compiler: Any, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        if connection.vendor != "postgresql" or not isinstance(self.rhs, list | tuple | set):
            return super().as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [
            field.get_db_prep_value(value, connection, prepared=True)
            for value in dict.fromkeys(self.rhs)  # as In: without duplicates and None
            if value is not None
        ]
        if not values:
            raise EmptyResultSet
        return f"{lhs} = ANY(%s)", (*lhs_params, values)


def refresh_statistics() -> None:
    """ANALYZE the link table (PostgreSQL). A large initial sync fills it faster than
    autovacuum re-samples it (or at all, where autovacuum is off); planned on stale
    statistics, each chunk's query scans every link of the connection instead of
    walking the dirty-links index (measured: 177 ms instead of 2 ms per chunk at 85,000
    links). Sampling costs a fraction of a second."""
    from sync.models import RecordLink

    db = _db(RecordLink)
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute(f"ANALYZE {RecordLink._meta.db_table}")
