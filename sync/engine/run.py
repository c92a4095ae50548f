"""The run: claim, read both sides, plan every dirty link, write, journal (DESIGN.md 4).

Phases: ``list_a`` and ``list_b`` stage each side's pages into the links (stage.py; the
matching by email happens there), ``match`` checks the circuit breaker over the whole
plan, ``write`` plans the dirty links in chunks and applies them: journal first (so an
overwritten value is in the journal even if the process dies mid-write), then the vendor
writes in batches, then links, bases and create events in one transaction per chunk.
Writes are idempotent (updates set values; creates carry a key derived from the link, and
a create whose answer was lost is re-matched by email), so a crash never duplicates.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from connectors.base import AuthError, Change, ConnectorError, RecordGone, Result
from sync.engine import match
from sync.engine.bulk import insert_rows, update_rows
from sync.engine.context import RunContext, build_context
from sync.engine.planner import SIDES, Decision, LinkView, SideState, direction_of, other, plan
from sync.engine.stage import Abort, create_key, links_of, read_side
from sync.models import (
    AppAuthorization,
    Connection,
    ConnectionState,
    Health,
    LinkState,
    RecordLink,
    RunStatus,
    SyncEvent,
    SyncRun,
    Trigger,
)

logger = logging.getLogger(__name__)

CHUNK = 500  # links planned and written per transaction
# Staging this many links changes the link table enough that PostgreSQL's statistics
# must be refreshed before the write phase (see _refresh_statistics).
ANALYZE_AFTER = 10_000
SAMPLES = 20  # preview samples per action and direction
MAX_BACKOFF = timedelta(hours=6)


class Paused(Abort):
    """The circuit breaker tripped: the connection is paused until someone confirms."""


def run_connection(
    connection_id: int,
    trigger: str = Trigger.MANUAL,
    *,
    dry_run: bool = False,
    initial: bool = False,
    replace_destination: bool = False,
    confirm_replace: bool = False,
    confirm_mass_change: bool = False,
    worker: str = "",
) -> SyncRun:
    """Run connection ``connection_id`` once and return its SyncRun.

    ``initial`` lists both sides whole; ``dry_run`` plans without writing anything (the
    preview: counts and samples in ``SyncRun.preview``; nothing of the run but the SyncRun
    row is stored — its links and events are rolled back); ``replace_destination``
    (one-way connections, with ``confirm_replace``) removes destination records the
    source does not have, journaled; ``confirm_mass_change`` lets a run through the
    circuit breaker. A run that cannot claim the connection ends at once as aborted.
    """
    if replace_destination and not confirm_replace:
        raise ValueError("Replacing the destination deletes records; confirm it explicitly.")
    connection = Connection.objects.select_related("account").get(pk=connection_id)
    if replace_destination and connection.direction == "two_way":
        raise ValueError("Replace destination needs a one-way connection.")
    run = SyncRun.objects.create(
        connection=connection, trigger=trigger, dry_run=dry_run, status=RunStatus.QUEUED
    )
    worker = worker or f"{socket.gethostname()}:{os.getpid()}:{run.pk}"
    if not Connection.objects.claim(connection.pk, worker):
        run.status = RunStatus.ABORTED
        run.error = "Another run of this connection is in progress."
        run.finished_at = timezone.now()
        run.save()
        return run
    try:
        connection.refresh_from_db()
        runner = Runner(
            connection,
            run,
            dry_run=dry_run,
            initial=initial or replace_destination,
            replace_destination=replace_destination,
            confirm_mass_change=confirm_mass_change,
        )
        with fewer_collections():
            runner.execute()
    finally:
        Connection.objects.release(connection.pk, worker)
    return run


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


class Runner:
    """One run of one connection; ``execute`` never raises for vendor trouble: the
    outcome (failed, aborted, paused) is recorded on the run and the connection."""

    def __init__(
        self,
        connection: Connection,
        run: SyncRun,
        *,
        dry_run: bool = False,
        initial: bool = False,
        replace_destination: bool = False,
        confirm_mass_change: bool = False,
    ) -> None:
        self.connection = connection
        self.run = run
        self.dry_run = dry_run
        self.initial = initial
        self.replace_destination = replace_destination
        self.confirm_mass_change = confirm_mass_change
        self.ctx: RunContext | None = None
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.samples: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self.record_errors = 0
        self.skipped: dict[str, int] = defaultdict(int)  # planner's skips by reason

    # --- Lifecycle.

    def execute(self) -> None:
        run, connection = self.run, self.connection
        run.status, run.started_at = RunStatus.RUNNING, timezone.now()
        run.save(update_fields=["status", "started_at"])
        if not self.dry_run:
            Connection.objects.filter(pk=connection.pk).update(current_run=run)
            if self.initial and connection.state in (
                ConnectionState.DRAFT,
                ConnectionState.PREVIEWED,
            ):
                self._set_state(ConnectionState.INITIAL_SYNC, "")
        started = time.monotonic()
        try:
            self.ctx = build_context(connection, replace_destination=self.replace_destination)
            if self.dry_run:
                with transaction.atomic():
                    self._phases()
                    transaction.set_rollback(True)  # A dry run leaves no trace but its run.
            else:
                self._phases()
        except AuthError as exc:
            self._fail(exc, auth=True)
        except ConnectorError as exc:
            self._fail(exc)
        except Paused as exc:
            run.status, run.error = RunStatus.ABORTED, str(exc)
            self._set_state(ConnectionState.PAUSED, str(exc))
        except Abort as exc:
            run.status, run.error = RunStatus.ABORTED, str(exc)
            self._schedule_next(failed=False)
            Connection.objects.filter(pk=connection.pk).update(state_reason=str(exc))
        except Exception as exc:  # a bug must not wedge the connection; it is recorded
            logger.exception("Run %s of connection %s crashed", run.pk, connection.pk)
            self._fail(ConnectorError(f"Internal error: {type(exc).__name__}: {exc}"))
        else:
            run.status = RunStatus.PARTIAL if self.record_errors else RunStatus.SUCCEEDED
            self._succeeded()
        run.finished_at = timezone.now()
        run.counts = {d: dict(c) for d, c in self.counts.items()}
        if self.ctx is not None:
            run.match_summary = match.summary(self.ctx, self.skipped, self.connection)
        if self.dry_run:
            run.preview = {
                "counts": run.counts,
                "summary": run.match_summary,
                "samples": {d: dict(s) for d, s in self.samples.items()},
            }
        run.api_calls = self.ctx.api_calls() if self.ctx else 0
        if not self.dry_run:
            self._save_authorizations()
        run.progress = {**run.progress, "seconds": round(time.monotonic() - started, 3)}
        run.save()

    def _phases(self) -> None:
        ctx = self.ctx
        assert ctx is not None
        if self.replace_destination:
            links_of(self.connection).update(dirty=True)  # every record gets a decision
        for side in SIDES:
            cursor = self._cursor(side)
            self._phase(f"list_{side}")
            try:
                read = read_side(
                    ctx,
                    self.run,
                    side,
                    cursor,
                    save_cursor=not self.dry_run,
                    on_page=lambda n, s=side: self._progress(f"list_{s}", n),
                )
            except ConnectorError as exc:
                exc.side = side  # type: ignore[attr-defined]
                raise
            if side == "a" and read >= ANALYZE_AFTER:
                _refresh_statistics()  # B's records are matched against A's links next
            if cursor is None and not self.dry_run:
                Connection.objects.filter(pk=self.connection.pk).update(
                    **{f"{side}_listed_at": timezone.now()}
                )
        self._phase("match")
        dirty = links_of(self.connection).filter(dirty=True).count()
        self._progress("match", dirty)
        if dirty >= ANALYZE_AFTER:
            _refresh_statistics()
        if not (self.initial or self.dry_run or self.confirm_mass_change):
            self._check_breaker()
        self._phase("write")
        done = 0
        last_pk = 0
        while True:
            chunk = list(
                # Held links (an ambiguous group, match.py) wait for the tenant's decision.
                links_of(self.connection)
                .filter(dirty=True, held="", pk__gt=last_pk)
                .order_by("pk")[:CHUNK]
            )
            if not chunk:
                break
            last_pk = chunk[-1].pk
            self._apply_chunk(chunk)
            done += len(chunk)
            self._progress("write", done)

    def _cursor(self, side: str) -> Any:
        """Where to read ``side`` from: its cursor, or None for a complete listing on an
        initial run, when the cursor has expired, or when the app reports no deletions
        and the last complete listing is older than SYNC_FULL_LISTING_MINUTES."""
        cursor = getattr(self.connection, f"cursor_{side}")
        connector = self.ctx.connectors[side] if self.ctx else None
        if self.initial or cursor is None or connector is None:
            return None
        if connector.cursor_expired(cursor):
            return None
        if not connector.capabilities.deletion_feed:
            listed_at = getattr(self.connection, f"{side}_listed_at")
            every = timedelta(minutes=settings.SYNC_FULL_LISTING_MINUTES)
            if listed_at is None or timezone.now() - listed_at >= every:
                return None
        return cursor

    def _save_authorizations(self) -> None:
        """Keep what the connectors learnt during the run: refreshed OAuth tokens and
        the vendor's reported API usage."""
        if self.ctx is None:
            return
        for side, connector in self.ctx.connectors.items():
            opened_with = self.connection.authorization(side).secrets
            fresh = AppAuthorization.objects.get(pk=self.connection.authorization(side).pk)
            changed = []
            # Only what the connector itself changed (a token refresh) is written back, so
            # a re-authorization saved while the run was going is never overwritten.
            if connector.credentials.secrets != opened_with:
                fresh.secrets = connector.credentials.secrets
                changed.append("secrets_json")
            usage = connector.usage()
            if usage and usage != fresh.limit_info:
                fresh.limit_info = usage
                changed.append("limit_info")
            if changed:
                fresh.save(update_fields=changed)

    def _succeeded(self) -> None:
        now = timezone.now()
        state = self.connection.state
        if self.dry_run:
            if state == ConnectionState.DRAFT:
                self._set_state(ConnectionState.PREVIEWED, "")
            return
        if state in (
            ConnectionState.INITIAL_SYNC,
            ConnectionState.DRAFT,
            ConnectionState.PREVIEWED,
        ):
            state = ConnectionState.ACTIVE if self.initial else state
        if state == ConnectionState.ERROR:
            state = ConnectionState.ACTIVE
        Connection.objects.filter(pk=self.connection.pk).update(
            state=state,
            state_reason="",
            consecutive_failures=0,
            last_run_at=now,
            next_run_at=now + timedelta(minutes=self.connection.interval_minutes),
        )
        self.connection.state = state

    def _fail(self, exc: ConnectorError, *, auth: bool = False) -> None:
        self.run.status, self.run.error = RunStatus.FAILED, str(exc)
        if auth:
            # Credentials rejected: pause and flag the authorization; retrying won't help.
            side = getattr(exc, "side", "")
            authorization = self.connection.authorization(side) if side else None
            if authorization is not None:
                authorization.health = Health.AUTH_FAILED
                authorization.health_message = str(exc)
                authorization.checked_at = timezone.now()
                authorization.save(update_fields=["health", "health_message", "checked_at"])
            self._set_state(ConnectionState.PAUSED, f"Authorization failed: {exc}")
            return
        self._schedule_next(failed=True, retry_after=getattr(exc, "retry_after", 0.0))

    def _schedule_next(self, *, failed: bool, retry_after: float = 0.0) -> None:
        now = timezone.now()
        failures = self.connection.consecutive_failures + 1 if failed else 0
        if failed:
            # Exponential backoff from one interval (or Retry-After), capped.
            base = max(timedelta(minutes=1), timedelta(seconds=retry_after))
            delay = min(base * 2 ** (failures - 1), MAX_BACKOFF)
        else:
            delay = timedelta(minutes=self.connection.interval_minutes)
        Connection.objects.filter(pk=self.connection.pk).update(
            consecutive_failures=failures, next_run_at=now + delay, last_run_at=now
        )
        self.connection.consecutive_failures = failures

    def _set_state(self, state: str, reason: str) -> None:
        Connection.objects.filter(pk=self.connection.pk).update(state=state, state_reason=reason)
        self.connection.state = state

    def _phase(self, phase: str) -> None:
        self.run.phase = phase
        if not self.dry_run:
            SyncRun.objects.filter(pk=self.run.pk).update(phase=phase, progress=self.run.progress)

    def _progress(self, phase: str, done: int) -> None:
        self.run.progress = {**self.run.progress, phase: {"done": done}}
        if not self.dry_run:
            SyncRun.objects.filter(pk=self.run.pk).update(progress=self.run.progress)

    # --- Planning.

    def _decide(self, link: RecordLink) -> tuple[dict[str, SideState], Decision]:
        assert self.ctx is not None
        states = {side: side_state(link, side) for side in SIDES}
        view = LinkView(link.state, link.match_key, list(link.rules_matched or []))
        return states, plan(view, states["a"], states["b"], self.ctx.options)

    def _check_breaker(self) -> None:
        """Pause instead of running a mass change (deletes, unsubscribes, overwrites)."""
        links = links_of(self.connection)
        destructive, last_pk = 0, 0
        while True:
            chunk = list(links.filter(dirty=True, pk__gt=last_pk).order_by("pk")[:CHUNK])
            if not chunk:
                break
            last_pk = chunk[-1].pk
            self.ctx.forget_values()  # type: ignore[union-attr]
            destructive += sum(self._decide(link)[1].destructive for link in chunk)
        if destructive < self.connection.breaker_count:
            return
        linked = links.filter(state=LinkState.LINKED).count() or 1
        if destructive >= self.connection.breaker_share * linked:
            raise Paused(
                f"This run would delete, unsubscribe or overwrite {destructive} of {linked} "
                "synced contacts, so the connection was paused. Check the apps, then run it "
                "again confirming the change."
            )

    # --- Applying.

    def _apply_chunk(self, links: list[RecordLink]) -> None:
        ctx = self.ctx
        assert ctx is not None
        ctx.forget_values()
        planned = [(link, *self._decide(link)) for link in links]
        for link, states, decision in planned:
            self._count(link, states, decision)
        if self.dry_run:
            return
        # 1. Journal overwrites and deletions before writing them.
        journal: dict[tuple[int, str], list[SyncEvent]] = defaultdict(list)
        early = []
        for link, states, decision in planned:
            for event in decision.events:
                if event.action == "create":
                    continue
                row = SyncEvent(**self._event_values(link, states, event))
                journal[(link.pk, event.target)].append(row)
                early.append(row)
        SyncEvent.objects.bulk_create(early, batch_size=500)
        # 2. Vendor writes, in batches per side.
        results: dict[tuple[int, str], Result] = {}
        failure: ConnectorError | None = None
        try:
            for side in SIDES:
                changes = [
                    (link.pk, _change(link, side, decision))
                    for link, _states, decision in planned
                    if side in decision.writes
                ]
                size = max(1, ctx.connectors[side].capabilities.batch_size)
                for start in range(0, len(changes), size):
                    batch = changes[start : start + size]
                    try:
                        answers = ctx.connectors[side].push([c for _pk, c in batch])
                    except ConnectorError as exc:
                        exc.side = side  # type: ignore[attr-defined]
                        raise
                    by_key = {r.key: r for r in answers}
                    for pk, change in batch:
                        if change.key in by_key:
                            results[(pk, side)] = by_key[change.key]
        except ConnectorError as exc:
            failure = exc
        # 3. Links, bases and create events, in one transaction.
        with transaction.atomic():
            self._finalize(planned, results, journal, failure)
        if failure is not None:
            raise failure

    def _finalize(
        self,
        planned: list[tuple[RecordLink, dict[str, SideState], Decision]],
        results: dict[tuple[int, str], Result],
        journal: dict[tuple[int, str], list[SyncEvent]],
        failure: ConnectorError | None,
    ) -> None:
        assert self.ctx is not None
        done: list[RecordLink] = []
        creates: list[dict[str, Any]] = []  # event rows inserted without model instances
        failed_events: list[SyncEvent] = []
        for link, states, decision in planned:
            errors = []
            for side in decision.writes:
                result = results.get((link.pk, side))
                error = result.error if result else (failure or ConnectorError("no answer"))
                if error is None:
                    continue
                errors.append(f"{side.upper()}: {error}")
                write = decision.writes[side]
                if isinstance(error, RecordGone) and write.op != "create":
                    setattr(link, f"{side}_gone", True)  # handled as a deletion next run
                if write.op == "create" and result is None:
                    # No answer: the record may exist now. Its signature lets the next
                    # listing recognise it even without a key or an email.
                    link.create_signature = self.ctx.signature(side, write.fields)
                for row in journal.get((link.pk, side), []):
                    row.status, row.error = "error", f"outcome unknown or failed: {error}"
                    failed_events.append(row)
            if errors:
                # One failing record is logged and retried next run; it blocks nothing.
                link.last_error = "; ".join(errors)[:2000]
                self.record_errors += 1
                creates.append(
                    {
                        "connection_id": self.connection.pk,
                        "run_id": self.run.pk,
                        "link_id": link.pk,
                        "action": "error",
                        "label": link.match_key,
                        "status": "error",
                        "error": link.last_error,
                    }
                )
                done.append(link)
                continue
            self._settle(link, states, decision, results)
            self.run.writes += len(decision.writes)
            for event in decision.events:
                if event.action == "create":
                    row = self._event_values(link, states, event)
                    row["record_id"] = getattr(link, f"{event.target}_id") or ""
                    creates.append(row)
            done.append(link)
        self._absorb_echo_links(done, planned)
        update_rows(done, _LINK_FIELDS)
        insert_rows(SyncEvent, creates)
        if failed_events:
            SyncEvent.objects.bulk_update(failed_events, ["status", "error"], batch_size=500)
        SyncRun.objects.filter(pk=self.run.pk).update(writes=self.run.writes)

    def _absorb_echo_links(
        self,
        done: list[RecordLink],
        planned: list[tuple[RecordLink, dict[str, SideState], Decision]],
    ) -> None:
        """A create retried with its idempotency key may answer with a record this run's
        listing already put on a half link of its own (a vendor that keeps the key but
        does not report it). That half link is the echo of our create: it goes."""
        ours = {link.pk for link in done}
        for side in SIDES:
            created = [
                getattr(link, f"{side}_id")
                for link, _states, decision in planned
                if decision.writes.get(side) and decision.writes[side].op == "create"
            ]
            created = [record_id for record_id in created if record_id]
            if created:
                # Primary keys first: almost always there is none, and a delete() would
                # load whole rows to look for related events.
                echoes = list(
                    links_of(self.connection)
                    .filter(**{f"{side}_id__in": created, f"{other(side)}_id__isnull": True})
                    .exclude(pk__in=ours)
                    .values_list("pk", flat=True)
                )
                if echoes:
                    RecordLink.objects.filter(pk__in=echoes).delete()

    def _settle(
        self,
        link: RecordLink,
        states: dict[str, SideState],
        decision: Decision,
        results: dict[tuple[int, str], Result],
    ) -> None:
        """Every write of the link succeeded: record what each side now holds."""
        ctx = self.ctx
        assert ctx is not None
        for side in SIDES:
            state = states[side]
            fields = state.current if not state.gone else None
            record_id = state.id
            if side in decision.forget or (state.gone and decision.state != "pending_delete"):
                fields, record_id = None, None
            if state.gone and decision.state == "pending_delete":
                continue  # Awaiting review: the side stays as it was.
            write = decision.writes.get(side)
            if write is not None:
                result = results[(link.pk, side)]
                if write.op == "delete":
                    fields, record_id = None, None
                elif write.op == "create":
                    record_id = result.id
                    fields = result.record.fields if result.record else dict(write.fields)
                    link.create_key = _create_key(link, side)
                else:
                    stored = result.record.fields if result.record else None
                    fields = stored or {**(state.current or {}), **write.fields}
            setattr(link, f"{side}_id", record_id)
            setattr(link, f"{side}_fields", fields)
            setattr(link, f"{side}_pending", None)
            setattr(link, f"{side}_gone", False)
            setattr(link, f"{side}_hash", ctx.side_hash(side, fields))
        shown = link.a_fields if link.a_fields is not None else link.b_fields
        side = "a" if link.a_fields is not None else "b"
        link.base = ctx.side_values(side, shown) if shown is not None else {}
        link.state = decision.state
        link.rules_matched = decision.rules_matched
        link.dirty = False
        link.last_error = ""
        link.create_signature = ""

    def _event_values(
        self, link: RecordLink, states: dict[str, SideState], event: Any
    ) -> dict[str, Any]:
        """A SyncEvent row's values (by attname) for a planned event of ``link``."""
        source = other(event.target)
        return {
            "connection_id": self.connection.pk,
            "run_id": self.run.pk,
            "link_id": link.pk,
            "action": event.action,
            "direction": event.direction,
            "record_id": states[event.target].id or "",
            "source_id": states[source].id or "",
            "label": link.match_key or _label(states),
            "changes": event.changes,
            "status": event.status,
            "reason": event.reason[:300],
        }

    def _count(self, link: RecordLink, states: dict[str, SideState], decision: Decision) -> None:
        for event in decision.events:
            self.counts[event.direction][event.action] += 1
            if event.action == "skip":
                self.skipped[match.skip_reason(event.reason)] += 1
            if self.dry_run and len(self.samples[event.direction][event.action]) < SAMPLES:
                self.samples[event.direction][event.action].append(
                    {
                        "label": link.match_key or _label(states),
                        "record_id": states[event.target].id,
                        "changes": event.changes,
                        "reason": event.reason,
                    }
                )


_LINK_FIELDS = [
    "a_id",
    "b_id",
    "a_fields",
    "b_fields",
    "a_pending",
    "b_pending",
    "a_gone",
    "b_gone",
    "a_hash",
    "b_hash",
    "base",
    "state",
    "rules_matched",
    "dirty",
    "last_error",
    "create_key",
    "create_signature",
]


def _refresh_statistics() -> None:
    """ANALYZE the link table (PostgreSQL). A large initial sync fills it faster than
    autovacuum re-samples it (or at all, where autovacuum is off); planned on stale
    statistics, each chunk's query scans every link of the connection instead of
    walking the dirty-links index (measured: 177 ms instead of 2 ms per chunk at 85,000
    links). Sampling costs a fraction of a second."""
    if db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {RecordLink._meta.db_table}")


def side_state(link: RecordLink, side: str) -> SideState:
    """One side of a link as the planner sees it."""
    pending = getattr(link, f"{side}_pending")
    last = getattr(link, f"{side}_fields")
    return SideState(
        id=getattr(link, f"{side}_id"),
        current=pending if pending is not None else last,
        last=last,
        updated_at=getattr(link, f"{side}_updated_at"),
        gone=getattr(link, f"{side}_gone"),
    )


def _create_key(link: RecordLink, side: str) -> str:
    return create_key(link.connection_id, link.pk, side)


def _change(link: RecordLink, side: str, decision: Decision) -> Change:
    write = decision.writes[side]
    if write.op == "create":
        return Change("create", _create_key(link, side), fields=write.fields)
    record_id = getattr(link, f"{side}_id")
    return Change(write.op, f"{link.pk}-{side}", id=record_id, fields=write.fields)  # type: ignore[arg-type]


def _label(states: dict[str, SideState]) -> str:
    for state in states.values():
        fields = state.current or {}
        for key in ("email", "name", "full_name", "last_name"):
            if fields.get(key):
                return str(fields[key])[:320]
    return ""


__all__ = ["Runner", "direction_of", "run_connection", "side_state"]
