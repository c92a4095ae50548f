"""Helpers of the engine tests: run a connection and look at the result."""

from __future__ import annotations

from typing import Any

from sync.engine import run_connection
from sync.models import Connection, SyncEvent, SyncRun


def sync(connection: Connection, trigger: str = "manual", **options: Any) -> SyncRun:
    """Run ``connection`` once; refresh it; return the run."""
    run = run_connection(connection.pk, trigger, **options)
    connection.refresh_from_db()
    return run


def synced(connection: Connection, **options: Any) -> SyncRun:
    """Run ``connection`` once and insist the run succeeded."""
    run = sync(connection, **options)
    assert run.status == "succeeded", (run.status, run.error)
    return run


def events(run: SyncRun, action: str | None = None) -> list[SyncEvent]:
    qs = run.events.order_by("pk")
    return list(qs.filter(action=action) if action else qs)
