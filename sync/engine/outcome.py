"""What the end of a run means for its connection (DESIGN.md 4.10): the state it is left
in, when it runs next (the interval, or an exponential backoff after a failure), a
rejected authorization flagged, and what the connectors learnt during the run (refreshed
OAuth tokens, reported API usage) kept. ``run.py`` decides which outcome a run had;
this module records it. Every write here is one short UPDATE outside any transaction.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from connectors.base import Connector, ConnectorError
from sync import lifecycle
from sync.models import (
    AppAuthorization,
    Connection,
    ConnectionState,
    Health,
    RunStatus,
    SyncRun,
)

MAX_BACKOFF = timedelta(hours=6)


def set_state(connection: Connection, state: str, reason: str) -> None:
    """Put ``connection`` in ``state``, saying why (shown on its page)."""
    Connection.objects.filter(pk=connection.pk).update(state=state, state_reason=reason)
    connection.state = state


def succeeded(
    connection: Connection, run: SyncRun, *, dry_run: bool, initial: bool, continues: bool
) -> None:
    """A run that got to its end: a preview marks a draft previewed; a real run leaves
    the connection active (an initial sync or an error is over), clears the failure
    count and schedules the next run an interval later, or at once when it
    ``continues`` from a checkpoint."""
    now = timezone.now()
    state = connection.state
    lifecycle.authorizations_worked(connection)  # the run was a check of both apps
    if dry_run:
        if state == ConnectionState.DRAFT:
            set_state(connection, ConnectionState.PREVIEWED, "")
        return
    if state in (
        ConnectionState.INITIAL_SYNC,
        ConnectionState.DRAFT,
        ConnectionState.PREVIEWED,
    ):
        state = ConnectionState.ACTIVE if initial else state
    if state == ConnectionState.ERROR:
        state = ConnectionState.ACTIVE
    reason, next_run = "", now + timedelta(minutes=connection.interval_minutes)
    if continues:
        # An initial sync stays one until its last record is written.
        state, next_run = connection.state, now
        reason = "The sync continues in the next run, from where this one stopped."
        run.progress = {**run.progress, "continues": True}
    Connection.objects.filter(pk=connection.pk).update(
        state=state,
        state_reason=reason,
        consecutive_failures=0,
        last_run_at=now,
        next_run_at=next_run,
    )
    connection.state = state


def failed(connection: Connection, run: SyncRun, exc: ConnectorError, *, auth: bool) -> None:
    """A run stopped by a vendor: credentials rejected (``auth``) pause the connection
    and flag the authorization, since retrying won't help; anything else is retried
    after a backoff."""
    run.status, run.error = RunStatus.FAILED, str(exc)
    if auth:
        side = exc.side
        authorization = connection.authorization(side) if side else None
        if authorization is not None:
            authorization.health = Health.AUTH_FAILED
            authorization.health_message = str(exc)
            authorization.checked_at = timezone.now()
            authorization.save(update_fields=["health", "health_message", "checked_at"])
        set_state(connection, ConnectionState.PAUSED, f"Authorization failed: {exc}")
        return
    schedule_next(connection, failed=True, retry_after=getattr(exc, "retry_after", 0.0))


def schedule_next(connection: Connection, *, failed: bool, retry_after: float = 0.0) -> None:
    """When the connection runs next: an interval from now, or after a failure an
    exponential backoff from one minute (or the vendor's Retry-After), capped."""
    now = timezone.now()
    failures = connection.consecutive_failures + 1 if failed else 0
    if failed:
        base = max(timedelta(minutes=1), timedelta(seconds=retry_after))
        delay = min(base * 2 ** (failures - 1), MAX_BACKOFF)
    else:
        delay = timedelta(minutes=connection.interval_minutes)
    Connection.objects.filter(pk=connection.pk).update(
        consecutive_failures=failures, next_run_at=now + delay, last_run_at=now
    )
    connection.consecutive_failures = failures


def save_authorizations(connection: Connection, connectors: dict[str, Connector]) -> None:
    """Keep what the connectors learnt during the run: refreshed OAuth tokens and the
    vendor's reported API usage."""
    for side, connector in connectors.items():
        opened_with = connection.authorization(side).secrets
        fresh = AppAuthorization.objects.get(pk=connection.authorization(side).pk)
        changed = []
        # Only what the connector itself changed (a token refresh) is written back, so a
        # re-authorization saved while the run was going is never overwritten.
        if connector.credentials.secrets != opened_with:
            fresh.secrets = connector.credentials.secrets
            changed.append("secrets_json")
        usage = connector.usage()
        if usage and usage != fresh.limit_info:
            fresh.limit_info = usage
            changed.append("limit_info")
        if changed:
            fresh.save(update_fields=changed)
