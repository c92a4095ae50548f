"""A run's claim on its connection, renewed as the run goes (a heartbeat).

The claim is a lease (``SYNC_LEASE_SECONDS``) so that a run whose worker died is taken
over once it goes stale. A run longer than the lease therefore renews it between pages
and before every write batch; a run that finds its claim gone (it stalled past the lease
and another worker took over) stops before its next write, so two runs of one connection
never write at once.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from connectors.base import ConnectorError
from sync.models import Connection, RunStatus, SyncRun


class ClaimLost(ConnectorError):
    """Another worker holds the connection now: this run must not write again. (A
    ConnectorError so that the write phase stops and records what it already wrote.)"""


class Claim:
    """The claim ``worker`` holds on connection ``pk``; ``keep()`` before each write."""

    def __init__(self, pk: int, worker: str, lease_seconds: float | None = None) -> None:
        self.pk = pk
        self.worker = worker
        self.lease = float(lease_seconds or settings.SYNC_LEASE_SECONDS)
        self.renewed_at = time.monotonic()
        self.renewals = 0

    def fresh(self) -> bool:
        """Whether the lease was renewed so lately that ``keep`` has nothing to do (no
        query: a writer thread asks it before each batch, writers.py)."""
        return time.monotonic() - self.renewed_at < self.lease / 4

    def keep(self) -> None:
        """Renew the lease when a quarter of it has passed; raise ClaimLost when another
        worker has taken the connection over meanwhile."""
        if self.fresh():
            return  # renewed recently: the lease cannot have run out since
        if not Connection.objects.renew(self.pk, self.worker, self.lease):
            raise ClaimLost(
                "This run stalled past its lease and another run took the connection over; "
                "it stopped before writing again."
            )
        self.renewed_at = time.monotonic()
        self.renewals += 1


def close_abandoned_runs(connection_pk: int, current_run_pk: int) -> int:
    """Mark the runs of a connection that are still "queued" or "running" but older than
    ``current_run_pk`` as failed: the run that just claimed the connection can only have
    done so because their claim went stale (their worker was killed or timed out)."""
    return SyncRun.objects.filter(
        connection_id=connection_pk,
        status__in=[RunStatus.QUEUED, RunStatus.RUNNING],
        pk__lt=current_run_pk,
    ).update(
        status=RunStatus.FAILED,
        finished_at=timezone.now(),
        error=(
            "Its worker stopped before the run finished (killed, or past the task timeout); "
            f"run {current_run_pk} took over from where it had got to."
        ),
    )


def close_stale_runs() -> int:
    """Fail every run still marked running whose connection nobody holds any more (its
    worker died and no run has taken over yet), so no run looks "running" for ever."""
    now = timezone.now()
    return (
        SyncRun.objects.filter(status=RunStatus.RUNNING)
        .filter(
            Q(connection__claimed_by="")
            | Q(connection__claimed_until__lt=now)
            | Q(connection__claimed_until__isnull=True)
        )
        .update(
            status=RunStatus.FAILED,
            finished_at=now,
            error="Its worker stopped before the run finished (killed, or past the task timeout).",
        )
    )
