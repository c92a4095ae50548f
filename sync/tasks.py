"""Scheduling with django-q2 (DESIGN.md section 6).

One django-q2 Schedule (made by ``manage.py setup_schedules``) calls ``dispatch_due``
every minute; it enqueues a run of every connection whose ``next_run_at`` has passed.
Webhooks and the "run now" button call ``enqueue_run``. Any number of workers may take
runs: runs of different connections go in parallel, and the claim on the connection row
(``Connection.objects.claim``) makes sure two runs of one connection never overlap.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from sync.models import Connection, ConnectionState, SyncRun, Trigger

logger = logging.getLogger(__name__)

DISPATCH_SCHEDULE = "sync.dispatch_due"


def run_task(connection_id: int, trigger: str = Trigger.SCHEDULE, **options: Any) -> int:
    """The task a worker executes: one run of one connection; returns the SyncRun id."""
    from sync.engine.run import run_connection

    if trigger in (Trigger.INITIAL, Trigger.RESYNC):
        options.setdefault("initial", True)
    run = run_connection(connection_id, trigger, **options)
    return run.pk


def enqueue_run(connection: Connection, trigger: str = Trigger.MANUAL, **options: Any) -> Any:
    """Queue a run of ``connection`` (runs at once, in-process, when django-q2 is set to
    synchronous, as in tests). ``options`` go to ``run_connection`` (e.g. initial=True)."""
    return async_task(
        "sync.tasks.run_task",
        connection.pk,
        trigger,
        task_name=f"sync-{connection.pk}-{trigger}",
        group=f"connection-{connection.pk}",
        **options,
    )


def on_start_task(connection_id: int, side: str) -> str:
    """The task that asks one side's app to call back (sync/lifecycle.py ``tell_app``)."""
    from sync.lifecycle import tell_app

    return tell_app(connection_id, side)


def enqueue_on_start(connection: Connection, side: str) -> Any:
    """Queue ``on_start_task`` (inline when django-q2 is synchronous, as in tests)."""
    return async_task(
        "sync.tasks.on_start_task",
        connection.pk,
        side,
        task_name=f"on-start-{connection.pk}-{side}",
        group=f"connection-{connection.pk}",
    )


def queue_run(connection: Connection, trigger: str, **options: Any) -> dict[str, Any]:
    """Queue a run of ``connection`` (``enqueue_run``) and name it when it exists
    already, which is always the case when tasks run inline, as in tests:
    ``{"connection": pk, "trigger": trigger, "run": SyncRun | None}``."""
    queued_at = timezone.now()
    result = enqueue_run(connection, trigger, **options)
    run = result if isinstance(result, SyncRun) else None
    if run is None:  # django-q2 answers with a task id; the worker creates the run
        run = connection.runs.filter(trigger=trigger, created_at__gte=queued_at).first()
    return {"connection": connection.pk, "trigger": trigger, "run": run}


def queue_preview(connection: Connection) -> dict[str, Any]:
    """Queue a dry run of ``connection`` (see ``queue_run``), run as
    ``setup.preview_options`` says (``sync.engine.preview`` asks it too)."""
    from sync.setup import preview_options

    return queue_run(connection, Trigger.PREVIEW, **preview_options(connection))


def dispatch_due() -> int:
    """Enqueue a run of every connection whose next run time has passed; returns how
    many were enqueued. Each connection's ``next_run_at`` is first pushed one lease ahead
    with a conditional UPDATE, so a dispatcher running twice (or on two machines) enqueues
    it once, and a task lost with its worker is retried when the lease has passed."""
    from sync.engine.claim import close_stale_runs

    closed = close_stale_runs()
    if closed:
        logger.warning("Closed %d run(s) whose worker stopped before they finished", closed)
    now = timezone.now()
    lease = timedelta(seconds=settings.SYNC_LEASE_SECONDS)
    enqueued = 0
    for connection in Connection.objects.due(now).only("pk", "state", "next_run_at"):
        moved = Connection.objects.filter(pk=connection.pk, next_run_at__lte=now).update(
            next_run_at=now + lease
        )
        if not moved:
            continue
        trigger = (
            Trigger.INITIAL
            if connection.state == ConnectionState.INITIAL_SYNC
            else Trigger.SCHEDULE
        )
        enqueue_run(connection, trigger)
        enqueued += 1
    if enqueued:
        logger.info("Enqueued %d due connection runs", enqueued)
    return enqueued


def ensure_schedule() -> Schedule:
    """The one every-minute schedule of ``dispatch_due``, created or corrected (idempotent)."""
    schedule, _created = Schedule.objects.update_or_create(
        name=DISPATCH_SCHEDULE,
        defaults={
            "func": "sync.tasks.dispatch_due",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
    return schedule
