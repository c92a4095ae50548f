"""The dry run's scratch database: where a preview stages and plans (DESIGN.md 4).

A dry run is the planner without the applier: it reads both sides, stages their pages
into links, matches and plans them, counts and samples, and writes nothing. Staging and
matching work on the link table, so a dry run runs the very same code (stage.py,
match.py, the planner) against a scratch copy of it instead of a second, in-memory
version of those decisions: ``staged_in_scratch(connection)`` creates a throw-away
SQLite file with the engine's staging tables (links and events), copies the
connection's links into it and, for as long as it is open, routes every query of those
two models there (``ScratchRouter``; ``links_db`` names the alias). The product's
database is only read (its links, once, in short autocommit reads); no transaction is
opened on it across the vendor calls, so on the SQLite default another session's form
saves at once while a preview runs. Nothing of the preview but its SyncRun reaches the
product's database: no links, events, cursors or journal rows; the scratch file is
deleted at the end.

The scratch connection is handed to the running thread's connection handler for as
long as the dry run lasts, never added to the configured databases: it is not one of
the product's (migrations and the test suite's database permissions concern those).
"""

from __future__ import annotations

import contextvars
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models, router
from django.db.utils import load_backend

from sync.engine.bulk import copy_rows
from sync.models import Connection, RecordLink, SyncEvent

# The models a run stages into; everything else (the connection, its run, its
# authorizations) stays on the product's database even during a dry run.
STAGED: tuple[type[models.Model], ...] = (RecordLink, SyncEvent)

_active: contextvars.ContextVar[str | None] = contextvars.ContextVar("scratch_alias", default=None)


class ScratchRouter:
    """Routes the staged models to the scratch database while a dry run has one open
    (in this thread or task only: the alias lives in a context variable); otherwise it
    has no opinion, and Django uses the default database."""

    def db_for_read(self, model: type[models.Model], **hints: Any) -> str | None:
        alias = _active.get()
        if alias is None:
            return None
        # Every other model stays on the product's database, even when reached from a
        # staged row (whose own database Django would otherwise pick).
        return alias if model in STAGED else DEFAULT_DB_ALIAS

    db_for_write = db_for_read

    def allow_relation(self, obj1: models.Model, obj2: models.Model, **hints: Any) -> bool | None:
        return True if _active.get() is not None else None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db.startswith("scratch_") else None


def links_db() -> str:
    """The database alias the links are staged in now: the scratch one in a dry run."""
    return router.db_for_write(RecordLink)


@contextmanager
def staged_in_scratch(connection: Connection) -> Iterator[str]:
    """A scratch database holding a copy of ``connection``'s links, used for the
    staged models while the block runs; its alias is yielded. Dropped at the end."""
    alias = f"scratch_{uuid.uuid4().hex[:12]}"
    handle, path = tempfile.mkstemp(prefix="contactsync-dryrun-", suffix=".sqlite3")
    os.close(handle)
    # configure_settings fills in every key Django expects; it insists on a default.
    configured = connections.configure_settings(
        {
            DEFAULT_DB_ALIAS: {"ENGINE": "django.db.backends.dummy"},
            alias: {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": path,
                # A scratch file nobody else opens, thrown away after: no journal, no sync.
                "OPTIONS": {"init_command": "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"},
            },
        }
    )[alias]
    # Handed to this thread's connection handler, not added to the configured
    # databases: it is this run's alone, and not one of the product's.
    connections[alias] = load_backend(configured["ENGINE"]).DatabaseWrapper(configured, alias)
    token = _active.set(alias)
    try:
        scratch = connections[alias]
        with scratch.schema_editor() as editor:
            for model in STAGED:
                editor.create_model(model)
        with scratch.cursor() as cursor:
            # Rows point at connections and runs that live in the product's database.
            cursor.execute("PRAGMA foreign_keys = OFF")
        source = RecordLink.objects.using(DEFAULT_DB_ALIAS).filter(connection=connection)
        copy_rows(source, alias)
        yield alias
    finally:
        _active.reset(token)
        connections[alias].close()
        del connections[alias]
        for suffix in ("", "-journal", "-wal", "-shm"):
            with suppress(FileNotFoundError):
                os.unlink(path + suffix)
