"""The run: claim, read both sides, plan every dirty link, write, journal (DESIGN.md 4).

Phases: ``list_a`` and ``list_b`` stage each side's pages into the links (stage.py; the
matching by email happens there), ``check`` plans the dirty links and runs the circuit
breaker over the whole plan, ``write`` applies the plans chunk by chunk (apply.py). A dry
run goes through the same phases in a scratch copy of the links (scratch.py) and only
tallies the plans. Here: claiming, phases, progress (small updates outside any
transaction) and the outcome (outcome.py records it); every run ends in ``Runner._end``.

A connection with several entities (issue 17) runs them in one SyncRun, in reference
order (``context.tracks_of``: companies before contacts before opportunities…), each
with its own RunContext: every entity is listed, then the circuit breaker checks the plans
of all of them, then each entity is written in turn, so that a reference is translated
once its record is on the other side (references.py). Before an entity is written, its
references to records the run removed are cleared (``_clear_references``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import nullcontext, suppress
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connections as db_connections
from django.utils import timezone

from connectors.base import AuthError, Connector, ConnectorError, Page
from sync.engine import match, outcome
from sync.engine.apply import (
    Applier,
    Pending,
    Planned,
    Tally,
    change,
    decide,
    push,
    refusal,
    remember,
    side_state,
)
from sync.engine.bulk import fewer_collections, refresh_statistics
from sync.engine.claim import Claim, ClaimLost, close_abandoned_runs
from sync.engine.context import RunContext, build_context, close_all, tracks_of
from sync.engine.planner import Decision
from sync.engine.scratch import staged_in_scratch
from sync.engine.sides import SIDES, TWO_WAY, direction_into
from sync.engine.stage import Abort, adopt_made_again, links_of, stage_side
from sync.models import (
    Connection,
    ConnectionState,
    LinkState,
    RecordLink,
    RunStatus,
    SyncEvent,
    SyncRun,
    Trigger,
)
from sync.setup import replaced_side

logger = logging.getLogger(__name__)

CHUNK = 500  # links planned and written per transaction
# Records of a side read ahead of its staging (ReadAhead): side B's pages are read
# while side A is staged, up to this many (at least one page) held at a time.
RECORDS_AHEAD = 5_000
# Staging this many links changes the link table enough that PostgreSQL's statistics
# must be refreshed before the write phase (see _refresh_statistics).
ANALYZE_AFTER = 10_000
# Plans the circuit breaker's check keeps for the write phase (see _check_and_write).
KEEP_PLANNED = 10_000
# Seconds between two stored progress updates (the pages poll every few seconds): a
# large run stages and writes several pages a second, each update a commit of its own.
PROGRESS_EVERY = 0.5
# Columns of a link that planning and writing never read.
_UNREAD = ("created_at", "updated_at")
# Chunks whose writes may be under way at once (issue 18 point 6): while the writer
# threads write them, the run's thread settles those written before and plans the next.
IN_FLIGHT = 16


class ReadAhead:
    """A side's pages read in a thread of its own, up to RECORDS_AHEAD records (at
    least one page) ahead of the staging that consumes them (``pages``, in the run's
    thread). Only the connector's ``fetch`` runs there, which makes HTTP calls and
    touches no database: the seam's limits registration is renewed from there meanwhile
    (Gate.adopt, limits.py, with a database connection of that thread's own, closed at
    its end). An error of the read is raised where its page would have been staged;
    ``close`` stops the read early.

    ``after``: another reader whose fetch must have ended before this one's begins (the
    catch-up read of side A follows side B's read, see ``Runner._catch_up``); when that
    reader read nothing, or failed, this one reads nothing either."""

    def __init__(
        self, connector: Connector, cursor: Any, *, after: ReadAhead | None = None
    ) -> None:
        self.connector = connector
        self.after = after
        self.items: deque[tuple[str, Any]] = deque()
        self.held = 0  # records in ``items``
        self.room = threading.Condition()
        self.stop = threading.Event()
        self.fetched = threading.Event()  # the fetch ended (or failed, or was stopped)
        self.read_any = False  # the fetch yielded a record or a stub (what _stage counts)
        connector.stubs = True  # as stage_side sets it before its fetch
        self.thread = threading.Thread(
            target=self._read, args=(cursor,), name="read-ahead", daemon=True
        )
        self.thread.start()

    def _read(self, cursor: Any) -> None:
        gate = self.connector.http.gate
        try:
            if self.after is not None and not self._after_read_any():
                self._put(("end", None))
                return
            if gate is not None:
                gate.adopt()
            for page in self.connector.fetch(cursor):
                self.read_any = self.read_any or bool(page.records or page.stubs)
                if not self._put(("page", page)):
                    return
            self.fetched.set()
            self._put(("end", None))
        except BaseException as exc:  # raised in the run's thread, at its page
            self.read_any = False  # a reader waiting for this one reads nothing
            self._put(("error", exc))
        finally:
            self.fetched.set()
            db_connections.close_all()  # only this thread's (a store's registration)

    def _after_read_any(self) -> bool:
        """Wait for ``after``'s fetch to end; whether it read anything (and this read is
        still wanted)."""
        assert self.after is not None
        while not self.after.fetched.wait(timeout=0.2):
            if self.stop.is_set():
                return False
        return self.after.read_any and not self.stop.is_set()

    def _put(self, item: tuple[str, Any]) -> bool:
        size = len(item[1].records) + len(item[1].stubs) if item[0] == "page" else 0
        with self.room:
            while self.held and self.held + size > RECORDS_AHEAD and not self.stop.is_set():
                self.room.wait(timeout=0.2)
            if self.stop.is_set():
                return False
            self.items.append(item)
            self.held += size
            self.room.notify_all()
        return True

    def _take(self) -> tuple[str, Any]:
        with self.room:
            while not self.items:
                self.room.wait()
            kind, value = self.items.popleft()
            if kind == "page":
                self.held -= len(value.records) + len(value.stubs)
            self.room.notify_all()
        return kind, value

    def check(self) -> None:
        """Raise the read's error now if it has failed (its pages before the failure
        are not staged then): the run stops without staging the other side to its end."""
        with self.room:
            failed = [value for kind, value in self.items if kind == "error"]
        if failed:
            raise failed[0]

    def pages(self) -> Iterator[Page]:
        while True:
            kind, value = self._take()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value

    def close(self) -> None:
        """Stop the read (after the call under way) and take the seam back."""
        self.stop.set()
        with self.room:
            self.room.notify_all()
        self.thread.join()
        gate = self.connector.http.gate
        if gate is not None:
            gate.adopt()


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
    preview: counts and samples in ``SyncRun.preview``; it stages in a scratch copy of
    the links, so nothing of the run but the SyncRun row is stored); ``replace_destination``
    (with ``confirm_replace``; the target of a one-way connection, or the side
    ``setup.replaced_side`` names) removes destination records the source does not have
    and overwrites the others with the source's, journaled; ``confirm_mass_change`` lets
    a run through the circuit breaker. A run that cannot claim the connection ends at
    once as aborted.
    """
    if replace_destination and not confirm_replace:
        raise ValueError("Replacing the destination deletes records; confirm it explicitly.")
    connection = Connection.objects.select_related("account").get(pk=connection_id)
    if replace_destination and connection.direction == TWO_WAY and not replaced_side(connection):
        raise ValueError(
            "Replace destination needs a one-way connection, or a side whose app is "
            "replaced at activation."
        )
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
    close_abandoned_runs(connection.pk, run.pk)
    try:
        connection.refresh_from_db()
        runner = Runner(
            connection,
            run,
            claim=Claim(connection.pk, worker),
            dry_run=dry_run,
            initial=initial or replace_destination,
            replace_destination=replace_destination,
            confirm_mass_change=confirm_mass_change,
        )
        with fewer_collections():
            runner.execute()
    finally:
        Connection.objects.release(connection.pk, worker)
    if runner.continues and run.status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL):
        from sync.tasks import enqueue_run  # the chain goes on once the claim is free

        enqueue_run(connection, trigger, initial=False)
    return run


class Runner:
    """One run of one connection; ``execute`` never raises for vendor trouble: the
    outcome (failed, aborted, paused) is recorded on the run and the connection."""

    def __init__(
        self,
        connection: Connection,
        run: SyncRun,
        *,
        claim: Claim | None = None,
        dry_run: bool = False,
        initial: bool = False,
        replace_destination: bool = False,
        confirm_mass_change: bool = False,
    ) -> None:
        self.connection = connection
        self.run = run
        self.claim = claim
        self.started = time.monotonic()
        self.budget = float(settings.SYNC_RUN_BUDGET_SECONDS)
        self.continues = False  # stopped at a checkpoint; the next run goes on
        self.dry_run = dry_run
        self.initial = initial
        self.replace_destination = replace_destination
        self.confirm_mass_change = confirm_mass_change
        self.ctx: RunContext | None = None  # the entity being staged or written
        self.contexts: list[RunContext] = []  # one per entity, in reference order
        self.appliers: dict[str, Applier] = {}
        # Ids of records this run removed (deleted, found gone), by entity and side.
        # (id -> the link that held it: a record put back under a new id is referred to
        # by that id again.)
        self.removed: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
        self.tally = Tally(sampling=dry_run)
        self.applier: Applier | None = None
        self.pending: deque[Pending] = deque()  # chunks whose writes are under way
        self.written = 0
        self.skipped: dict[str, int] = defaultdict(int)  # planner's skips by reason
        self.progress_saved = 0.0  # when the progress was last stored (_progress)

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
                outcome.set_state(connection, ConnectionState.INITIAL_SYNC, "")
        started = time.monotonic()
        try:
            for track in tracks_of(connection):
                ctx = build_context(
                    connection, replace_destination=self.replace_destination, track=track
                )
                self.contexts.append(ctx)
                references = ctx.options.mapping.references
                if self.dry_run and references is not None:
                    references.assume_created = True  # a preview's creates count (refs)
                applier = Applier(ctx, run)
                if self.claim is not None:
                    applier.before_write = self.claim.keep  # never write once taken over
                    applier.claim = self.claim
                self.appliers[ctx.entity] = applier
            self._enter(self.contexts[0])
            # A dry run stages and plans in a scratch copy of the links (scratch.py): it
            # leaves no trace but its run, and holds no transaction on the product's
            # database while it reads the apps.
            with staged_in_scratch(connection) if self.dry_run else nullcontext():
                try:
                    self._phases()
                finally:
                    run.match_summary = match.summary(self._stats(), self.skipped, connection)
        except ClaimLost as exc:
            # The connection is another run's now: record this one, touch nothing else.
            run.status, run.error = RunStatus.ABORTED, str(exc)
        except AuthError as exc:
            outcome.failed(connection, run, exc, auth=True)
        except ConnectorError as exc:
            outcome.failed(connection, run, exc, auth=False)
        except Paused as exc:
            run.status, run.error = RunStatus.ABORTED, str(exc)
            outcome.set_state(connection, ConnectionState.PAUSED, str(exc))
        except Abort as exc:
            run.status, run.error = RunStatus.ABORTED, str(exc)
            outcome.schedule_next(connection, failed=False)
            Connection.objects.filter(pk=connection.pk).update(state_reason=str(exc))
        except Exception as exc:  # a bug must not wedge the connection; it is recorded
            logger.exception("Run %s of connection %s crashed", run.pk, connection.pk)
            error = ConnectorError(f"Internal error: {type(exc).__name__}: {exc}")
            outcome.failed(connection, run, error, auth=False)
        else:
            errors = sum(applier.record_errors for applier in self.appliers.values())
            run.status = RunStatus.PARTIAL if errors else RunStatus.SUCCEEDED
            outcome.succeeded(
                connection,
                run,
                dry_run=self.dry_run,
                initial=self.initial,
                continues=self.continues,
            )
        finally:
            self._end(started)

    def _end(self, started: float) -> None:
        """Where every run ends, whatever its outcome: its counts, preview and API calls
        recorded on the run, what the connectors learnt kept."""
        run = self.run
        run.finished_at = timezone.now()
        run.counts = self.tally.counted()
        if self.dry_run:
            run.preview = {
                "counts": run.counts,
                "summary": run.match_summary,
                "samples": self.tally.sampled(),
                "replace": self.replace_destination,  # its deletes are the replacement's
            }
        run.api_calls = sum(ctx.api_calls() for ctx in self.contexts)
        if not self.dry_run:
            for ctx in self.contexts:
                outcome.save_authorizations(self.connection, ctx.connectors)
        run.progress = {**run.progress, "seconds": round(time.monotonic() - started, 3)}
        try:
            run.save()
        finally:  # the writer threads and the connectors' sessions end with the run
            for applier in self.appliers.values():
                applier.close()
            for ctx in self.contexts:
                close_all(ctx.connectors)

    def _enter(self, ctx: RunContext) -> None:
        """Make ``ctx``'s entity the one being staged or written."""
        self.ctx, self.applier = ctx, self.appliers[ctx.entity]

    def _stats(self) -> Any:
        """The contexts' matching counts together, for the run summary."""
        from types import SimpleNamespace

        stats: dict[str, int] = defaultdict(int)
        for ctx in self.contexts:
            for reason, count in ctx.match_stats.items():
                stats[reason] += count
        return SimpleNamespace(match_stats=stats)

    def _key(self, phase: str) -> str:
        """A progress key: the phase, with the entity beyond the primary one."""
        ctx = self.ctx
        return phase if ctx is None or ctx.track is None else f"{phase}:{ctx.entity}"

    def _phases(self) -> None:
        for ctx in self.contexts:
            self._enter(ctx)
            self._stage()
        self._check_and_write()

    def _stage(self) -> None:
        ctx = self.ctx
        assert ctx is not None
        if self.replace_destination:
            links_of(self.connection, ctx.entity).update(dirty=True)  # every record decides
        read: dict[str, int] = {}
        cursors = {side: self._cursor(side) for side in SIDES}
        # Side B's pages are read while side A is staged (issue 18: independent reads at
        # once); they are staged after A's, in their order, as before. Not in a dry run,
        # whose reads stay in the thread that has the scratch database (scratch.py).
        ahead = None if self.dry_run else ReadAhead(ctx.connectors["b"], cursors["b"])
        catch_up: ReadAhead | None = None
        try:
            for side in SIDES:
                self._phase(f"list_{side}")
                try:
                    read[side] = stage_side(
                        ctx,
                        self.run,
                        side,
                        cursors[side],
                        save_cursor=not self.dry_run,
                        on_page=partial(self._staged, side, ahead),
                        pages=ahead.pages() if ahead and side == "b" else None,
                    )
                except ConnectorError as exc:
                    exc.side = exc.side or side
                    raise
                self._after_listing(side, read[side], cursors[side])
                cursor = self._catch_up_cursor() if side == "a" and ahead else None
                if cursor is not None:
                    # The catch-up's read starts once B's read has ended, while B's last
                    # pages are still being staged (its pages are staged after them).
                    catch_up = ReadAhead(ctx.connectors["a"], cursor, after=ahead)
            if read["b"] and catch_up is not None:
                self._catch_up(catch_up)
        finally:
            for reader in (catch_up, ahead):
                if reader is not None:
                    reader.close()
        adopt_made_again(ctx, self.run)

    def _staged(self, side: str, ahead: ReadAhead | None, done: int) -> None:
        """After each staged page: the progress, and, while A is staged, a failure of B's
        read ends the run at once (raised as B's)."""
        self._progress(self._key(f"list_{side}"), done)
        if side == "a" and ahead is not None:
            try:
                ahead.check()
            except ConnectorError as exc:
                exc.side = "b"
                raise

    def _after_listing(self, side: str, read: int, cursor: Any) -> None:
        if side == "a" and read >= ANALYZE_AFTER:
            refresh_statistics()  # B's records are matched against A's links next
        if cursor is None and not self.dry_run:
            assert self.ctx is not None
            self.ctx.save_listed_at(side, timezone.now())

    def _catch_up_cursor(self) -> Any:
        """Side A's cursor for the catch-up read (``_catch_up``), or None for none: in a
        dry run, or where A has no delta reads (its connector's conditional writes
        cover the window, if any)."""
        ctx = self.ctx
        assert ctx is not None
        if self.dry_run or not ctx.connectors["a"].capabilities.delta:
            return None
        return ctx.cursor("a")

    def _catch_up(self, reader: ReadAhead) -> None:
        """Read side A once more, from the cursor its listing just saved, before anything
        is written: a record edited in A's app while B was being read is then planned
        with its new values (merged, or a conflict settled by the policy and journaled)
        instead of being overwritten with B's older ones. Side B was read last (the
        ``reader`` starts its read once B's has ended), so its listing is as fresh as
        it gets. Only after a B that read something: a quiet B needs no second look."""
        ctx = self.ctx
        assert ctx is not None
        cursor = ctx.cursor("a")
        try:
            stage_side(
                ctx,
                self.run,
                "a",
                cursor,
                save_cursor=True,
                on_page=lambda _n: None,
                pages=reader.pages(),
            )
        except ConnectorError as exc:
            exc.side = "a"
            raise

    def _cursor(self, side: str) -> Any:
        """Where to read ``side`` from: its cursor, or None for a complete listing on an
        initial run, when the cursor has expired, or when the app reports no deletions
        and the last complete listing is older than SYNC_FULL_LISTING_MINUTES."""
        cursor = self.ctx.cursor(side) if self.ctx else None
        connector = self.ctx.connectors[side] if self.ctx else None
        if self.initial or cursor is None or connector is None:
            return None
        if connector.cursor_expired(cursor):
            return None
        if not connector.capabilities.deletion_feed:
            listed_at = self.ctx.listed_at(side) if self.ctx else None
            every = timedelta(minutes=settings.SYNC_FULL_LISTING_MINUTES)
            if listed_at is None or timezone.now() - listed_at >= every:
                return None
        return cursor

    def _phase(self, phase: str) -> None:
        if self.claim is not None:
            self.claim.keep()
        self.run.phase = phase
        # A small update of its own, outside any transaction, for the pages to show.
        SyncRun.objects.filter(pk=self.run.pk).update(phase=phase, progress=self.run.progress)

    def _progress(self, phase: str, done: int) -> None:
        if self.claim is not None:
            self.claim.keep()
        self.run.progress = {**self.run.progress, phase: {"done": done}}
        # The latest counts are stored at most every PROGRESS_EVERY, and always with the
        # next phase and at the run's end (which save ``run.progress`` whole).
        if time.monotonic() - self.progress_saved < PROGRESS_EVERY:
            return
        self.progress_saved = time.monotonic()
        SyncRun.objects.filter(pk=self.run.pk).update(progress=self.run.progress)

    # --- Planning and applying.

    def _dirty_chunks(self, after: int = 0) -> Iterator[list[RecordLink]]:
        """The dirty links of the entity in primary-key order, CHUNK at a time."""
        assert self.ctx is not None
        links = links_of(self.connection, self.ctx.entity)
        while True:
            # Held links (an ambiguous group, match.py) wait for the tenant's decision.
            # Their own created/updated times are left unread (and unparsed): nothing of
            # the run reads them, and the links are written back by column (update_rows).
            dirty = links.filter(dirty=True, held="", pk__gt=after).defer(*_UNREAD)
            chunk = list(dirty.order_by("pk")[:CHUNK])
            if not chunk:
                return
            after = chunk[-1].pk
            yield chunk

    def _plan(self, chunk: list[RecordLink]) -> list[Planned]:
        ctx = self.ctx
        assert ctx is not None
        return [decide(ctx, link) for link in chunk]

    def _check_and_write(self) -> None:
        """The ``check`` phase plans the dirty links and stops a mass change (the
        circuit breaker); the ``write`` phase applies the plans, entity by entity. A link
        is planned once: the check keeps up to KEEP_PLANNED plans of the first entity for
        the writes (beyond that, memory wins over planning time and the rest are planned
        again as they are written; a later entity's plans depend on the writes of those
        before it, so they are made again)."""
        self._phase("check")
        dirty = sum(
            links_of(self.connection, ctx.entity).filter(dirty=True).count()
            for ctx in self.contexts
        )
        self._progress("check", dirty)
        if dirty >= ANALYZE_AFTER:
            refresh_statistics()
        kept: list[list[Planned]] = []
        if not (self.initial or self.dry_run or self.confirm_mass_change):
            kept = self._check_breaker()
        self._phase("write")
        try:
            self._write_entities(kept)
        except BaseException:
            # What is under way still lands: settle it if the database lets us (a
            # failure of this thread's own must not hide behind a second one).
            with suppress(Exception):
                self._drain(0)
            raise
        self._drain(0)

    def _write_entities(self, kept: list[list[Planned]]) -> None:
        """The write phase, entity by entity; each entity's writes have all ended before
        the next one's are planned (its references are translated through them)."""
        for index, ctx in enumerate(self.contexts):
            self._drain(0)
            self._enter(ctx)
            references = ctx.options.mapping.references
            if references is not None:
                references.reset()  # the entities written before changed their links
                if not self.dry_run:
                    self._clear_references()
            last_pk = 0
            for planned in kept if index == 0 else []:
                last_pk = planned[-1][0].pk
                self._write(planned)
                if self._out_of_time(index, last_pk):
                    return
            for chunk in self._dirty_chunks(after=last_pk):
                self._write(self._plan(chunk))
                if self._out_of_time(index, chunk[-1].pk):
                    return

    def _out_of_time(self, index: int, last_pk: int) -> bool:
        """Whether to stop at this checkpoint: past the run's budget, before the task
        timeout could kill it mid-write, with dirty links left for the next run (of this
        entity after ``last_pk``, or of the entities after it)."""
        if self.dry_run or time.monotonic() - self.started <= self.budget:
            return False
        ctx = self.contexts[index]
        later = links_of(self.connection, ctx.entity).filter(dirty=True, held="", pk__gt=last_pk)
        self.continues = later.exists() or any(
            links_of(self.connection, after.entity).filter(dirty=True, held="").exists()
            for after in self.contexts[index + 1 :]
        )
        return self.continues

    def _write(self, planned: list[Planned]) -> None:
        assert self.applier is not None and self.ctx is not None
        removed = self.removed[self.ctx.entity]
        for link, states, decision in planned:
            self.tally.add(link, states, decision, self._refused(link, decision))
            for event in decision.events:
                if event.action == "skip":
                    self.skipped[match.skip_reason(event.reason)] += 1
            for side in SIDES:
                # Records gone from a side (found deleted, or deleted by this write):
                # the references to them are cleared before the next entity is written.
                write = decision.writes.get(side)
                if states[side].id and (
                    states[side].gone or (write is not None and write.op == "delete")
                ):
                    removed[side][str(states[side].id)] = link.pk
        if not self.dry_run:
            self.pending.append(self.applier.begin(planned))
            self._drain(IN_FLIGHT - 1)
        self.written += len(planned)
        self._progress("write", self.written)

    def _refused(self, link: RecordLink, decision: Decision) -> dict[str, str] | None:
        """A preview's writes that a run would not send (apply.refusal), by side: the
        preview counts them as failing, with the reason the run would report."""
        if not self.dry_run or not decision.writes:
            return None
        assert self.ctx is not None
        found = {}
        for side in decision.writes:
            reason = refusal(self.ctx.connectors[side], change(link, side, decision))
            if reason is not None:
                found[side] = reason
        return found or None

    def _drain(self, keep: int) -> None:
        """Settle the chunks whose writes have ended, oldest first, and wait for the
        oldest until at most ``keep`` are under way. At a vendor failure the chunks
        already under way are waited for and settled too (a side that failed sends
        nothing more: writers.py), then the first failure is raised."""
        while self.pending and (len(self.pending) > keep or self.pending[0].done()):
            pending = self.pending.popleft()
            assert self.applier is not None
            try:
                self.applier.finish(pending)
            except ConnectorError:
                while self.pending:
                    with suppress(ConnectorError):
                        self.applier.finish(self.pending.popleft())
                raise

    def _clear_references(self) -> None:
        """Before this entity is written: its records that still refer to a record the
        run removed (a deleted company) get that reference cleared on their side, never
        left pointing at a deleted id. Each is journaled as an update (undo puts it
        back) and remembered on the link, so the next run sees no change of its own.
        A deleted company's contacts are never deleted for it: a vendor that deletes
        them with it reports their deletions, which follow the contacts' own deletion
        option; those that survive stay, without the company."""
        ctx = self.ctx
        assert ctx is not None
        for side in SIDES:
            for pair in ctx.pairs:
                removed = self.removed.get(pair.refers_to, {}).get(side)
                field = pair.field(side)
                if not pair.refers_to or not removed:
                    continue
                self._clear(ctx, side, field, removed)

    def _clear(self, ctx: RunContext, side: str, field: str, removed: dict[str, int]) -> None:
        from django.db.models import Q

        column = f"{side}_fields"
        pending = f"{side}_pending"
        # What the record holds now decides: its pending read when it changed this run
        # (a user who moved the contact to another company keeps the move), else what
        # was last synced.
        ids = list(removed)
        links = links_of(self.connection, ctx.entity).filter(
            Q(**{f"{pending}__{field}__in": ids})
            | Q(**{f"{pending}__isnull": True, f"{column}__{field}__in": ids}),
            **{f"{side}_id__isnull": False, f"{side}_gone": False},
        )
        found = list(links)
        if not found:
            return
        from connectors.base import Change

        # A referenced record this run put back under a new id (deleted on this side,
        # edited on the other) is referred to by its new id; any other is cleared.
        now = {
            link.pk: link.side_id(side)
            for link in RecordLink.objects.filter(
                pk__in=set(removed.values()), state=LinkState.LINKED, **{f"{side}_gone": False}
            )
        }

        def replacement(link: RecordLink) -> str | None:
            view = link.side(side)
            held = (view.pending if view.pending is not None else view.fields or {}).get(field)
            new_id = now.get(removed.get(str(held), 0))
            return new_id if new_id and new_id != str(held) else None

        targets = [replacement(link) for link in found]
        changes = [
            Change("update", f"{link.pk}-{side}", id=link.side_id(side), fields={field: target})
            for link, target in zip(found, targets, strict=True)
        ]
        answers = push(
            ctx.connectors[side], side, changes, self.applier.before_write if self.applier else None
        )
        events = []
        for link, sent, target in zip(found, changes, targets, strict=True):
            result = answers.get(sent.key)
            view = link.side(side)
            old = (view.pending if view.pending is not None else view.fields or {}).get(field)
            ok = result is not None and result.error is None
            events.append(
                SyncEvent(
                    connection_id=self.connection.pk,
                    run=self.run,
                    entity=ctx.entity,
                    link=link,
                    action="update",
                    direction=direction_into(side),
                    record_id=view.id or "",
                    label=link.match_key,
                    changes={field: {"old": old, "new": target}},
                    status="ok" if ok else "error",
                    reason=f"{field}: the record it referred to was deleted",
                    error="" if ok else str(result.error if result else "no answer"),
                )
            )
            if not ok:
                continue
            pending = view.pending
            if view.fields is not None:
                remember(ctx, view, {**view.fields, field: target})  # (drops pending)
            if pending is not None:
                view.pending = {**pending, field: target}
            link.save()
        SyncEvent.objects.bulk_create(events)

    def _check_breaker(self) -> list[list[Planned]]:
        """Pause instead of running a mass change (deletes, unsubscribes, overwrites) of
        any entity. Returns the plans of the first entity kept for the write phase."""
        kept: list[list[Planned]] = []
        destructive, planned_links, linked = 0, 0, 0
        for index, ctx in enumerate(self.contexts):
            self._enter(ctx)
            for chunk in self._dirty_chunks():
                planned = self._plan(chunk)
                destructive += sum(decision.destructive for _link, _states, decision in planned)
                if index == 0 and planned_links + len(planned) <= KEEP_PLANNED:
                    kept.append(planned)  # (once one is not kept, no later one fits either)
                planned_links += len(planned)
        self._enter(self.contexts[0])
        if destructive < self.connection.breaker_count:
            return kept
        for ctx in self.contexts:
            linked += links_of(self.connection, ctx.entity).filter(state=LinkState.LINKED).count()
        linked = linked or 1
        if destructive >= self.connection.breaker_share * linked:
            raise Paused(
                f"This run would delete, unsubscribe or overwrite {destructive} of {linked} "
                "synced contacts, so the connection was paused. Check the apps, then run it "
                "again confirming the change."
            )
        return kept


__all__ = ["Runner", "run_connection", "side_state"]
