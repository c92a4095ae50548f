"""A person reviews what a run did: undo the run, settle a conflict the other way,
approve or dismiss deletions awaiting review. Each writes through the connectors in the
applier's batches (``apply.push``), journals what it did (old and new values), and
records on the link what the side now holds (``apply.remember``), so the next run sees
its own write as an echo. The journal itself is written by the run (apply.py)."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from connectors.base import Change, ConnectorError, Result
from sync.engine import mapping
from sync.engine.apply import push, remember
from sync.engine.context import RunContext, close_all, context_of, entity_order
from sync.engine.planner import deletion_write
from sync.engine.sides import direction_into, other, target_of
from sync.models import (
    Connection,
    EventStatus,
    LinkState,
    RecordLink,
    RunStatus,
    SyncEvent,
    SyncRun,
    Trigger,
)

logger = logging.getLogger(__name__)

# Journal actions that changed a record and can be written back.
UNDOABLE = ("create", "update", "delete", "trash", "remove_from_list", "mark", "tag", "unsubscribe")


class ConnectionBusy(Exception):
    """A run of the connection is in progress; try again when it has finished."""


def _target(event: SyncEvent) -> str:
    """The side an event happened on (its direction's target)."""
    return target_of(event.direction)


class _Claimed:
    """Hold the connection's claim for the duration of a journal operation."""

    def __init__(self, connection: Connection, what: str) -> None:
        self.connection = connection
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{what}"

    def __enter__(self) -> None:
        if not Connection.objects.claim(self.connection.pk, self.worker):
            raise ConnectionBusy(f"Connection {self.connection.pk} is running; try again soon.")

    def __exit__(self, *exc: object) -> None:
        Connection.objects.release(self.connection.pk, self.worker)


def _push(ctx: RunContext, side: str, changes: list[Change]) -> dict[str, Result]:
    return push(ctx.connectors[side], side, changes)


def _remember(ctx: RunContext, link: RecordLink, side: str, fields: dict[str, Any] | None) -> None:
    """Record what ``side`` holds after our write (an echo for the next run), and save."""
    remember(ctx, link.side(side), fields)
    link.save()


def _event(run: SyncRun | None, link: RecordLink | None, side: str, **kwargs: Any) -> SyncEvent:
    return SyncEvent(
        connection_id=(run.connection_id if run else link.connection_id),  # type: ignore[union-attr]
        run=run,
        link=link,
        entity=link.entity if link else "contact",
        direction=direction_into(side),
        record_id=(link.side_id(side) or "") if link else "",
        label=link.match_key if link else "",
        **kwargs,
    )


def undo_run(run: SyncRun) -> SyncRun:
    """Write the journaled old values of ``run`` back through the connectors: updates get
    their old values, created records are deleted, deleted ones recreated (as new records,
    where the vendor allows creating). Journaled as a run with trigger undo, undo_of=run."""
    connection = run.connection
    undo = SyncRun.objects.create(
        connection=connection,
        trigger=Trigger.UNDO,
        undo_of=run,
        status=RunStatus.RUNNING,
        started_at=timezone.now(),
    )
    try:
        with _Claimed(connection, f"undo-{run.pk}"):
            contexts: dict[str, RunContext] = {}
            try:
                errors = _undo_events(contexts, run, undo)
            finally:
                undo.api_calls = sum(ctx.api_calls() for ctx in contexts.values())
                for ctx in contexts.values():
                    close_all(ctx.connectors)
            undo.status = RunStatus.PARTIAL if errors else RunStatus.SUCCEEDED
    except (ConnectionBusy, ConnectorError) as exc:
        undo.status, undo.error = RunStatus.FAILED, str(exc)
    undo.finished_at = timezone.now()
    undo.save()
    return undo


def _undo_events(contexts: dict[str, RunContext], run: SyncRun, undo: SyncRun) -> int:
    """Undo ``run``'s events. Deleted records are made again first, the entities others
    refer to first (companies before their contacts), so that a record put back refers
    to the new id of a company put back with it (``remade``), never to the deleted id
    nor to a second company made by its name. Then the rest newest first: a later
    entity's writes (contacts) are undone before those of the entities they refer to
    (companies), written earlier, and the oldest old value is written last."""
    events = list(
        run.events.filter(
            # An approved deletion is written in the review's run (its own event there).
            status=EventStatus.OK,
            action__in=UNDOABLE,
            link__isnull=False,
        )
        .select_related("link")
        .order_by("-pk")
    )
    recreations = sorted(
        (e for e in events if e.action == "delete"),
        key=lambda e: (entity_order(e.link.entity if e.link else e.entity), e.pk),
    )
    events = recreations + [e for e in events if e.action != "delete"]
    remade: dict[tuple[str, str], dict[str, str]] = {}  # (side, entity) -> old id -> new
    errors = 0
    for event in events:
        link = RecordLink.objects.get(pk=event.link_id)
        if link.entity not in contexts:
            contexts[link.entity] = context_of(run.connection, link.entity)
        ctx = contexts[link.entity]
        side = _target(event)
        current = dict(link.side(side).fields or {})
        old = {k: v.get("old") for k, v in (event.changes or {}).items() if isinstance(v, dict)}
        new = {k: v.get("new") for k, v in (event.changes or {}).items() if isinstance(v, dict)}
        old = _without_dangling(ctx, side, _remade_references(ctx, side, old, remade))
        key = f"undo-{event.pk}"
        if event.action == "create":
            record_id = event.record_id or link.side_id(side)
            change = Change("delete", key, id=record_id)
        elif event.action == "delete":
            change = Change("create", key, fields={k: v for k, v in old.items() if v is not None})
        else:
            if not old:
                continue  # only references to records that are gone: nothing to restore
            change = Change("update", key, id=link.side_id(side), fields=old)
        result = _push(ctx, side, [change]).get(key)
        error = result.error if result else ConnectorError("no answer")
        if error is not None:
            errors += 1
            _event(undo, link, side, action="error", status="error", error=str(error)).save()
            continue
        with transaction.atomic():
            if change.op == "delete":
                link.side(side).id = None
                link.state = LinkState.DELETED  # undone creates are not made again
                _remember(ctx, link, side, None)
            elif change.op == "create":
                assert result is not None
                if event.record_id and result.id:
                    remade.setdefault((side, link.entity), {})[event.record_id] = result.id
                link.side(side).id = result.id
                link.state = LinkState.LINKED
                _remember(ctx, link, side, dict(change.fields))
            else:
                _remember(ctx, link, side, {**current, **old})
            changes = {k: {"old": new.get(k), "new": old.get(k)} for k in old}
            _event(undo, link, side, action="undo", changes=changes, reason=event.action).save()
            SyncEvent.objects.filter(pk=event.pk).update(status=EventStatus.UNDONE)
        undo.writes += 1
    return errors


def _remade_references(
    ctx: RunContext,
    side: str,
    old: dict[str, Any],
    remade: dict[tuple[str, str], dict[str, str]],
) -> dict[str, Any]:
    """``old`` with its references to records this undo made again pointing at their
    new ids (``remade``: by side and entity, old id -> new id)."""
    if not remade:
        return old
    kept = dict(old)
    for pair in ctx.pairs:
        field = pair.field(side)
        if pair.refers_to and kept.get(field) not in (None, ""):
            kept[field] = remade.get((side, pair.refers_to), {}).get(str(kept[field]), kept[field])
    return kept


def _without_dangling(ctx: RunContext, side: str, old: dict[str, Any]) -> dict[str, Any]:
    """``old`` without the references to records no longer linked on ``side`` (a
    company deleted since): undo never writes a dangling id back."""
    references = ctx.options.mapping.references
    if references is None:
        return old
    kept = dict(old)
    for pair in ctx.pairs:
        field = pair.field(side)
        if pair.refers_to and kept.get(field) not in (None, ""):
            value = references.normalize(side, pair.refers_to, kept[field])
            if value is None or value.startswith("?"):
                del kept[field]
    return kept


def _review_run(connection: Connection) -> SyncRun:
    """The run a person's later decision is journaled in (trigger review)."""
    return SyncRun.objects.create(
        connection=connection,
        trigger=Trigger.REVIEW,
        status=RunStatus.RUNNING,
        started_at=timezone.now(),
    )


def _finish_review_run(run: SyncRun, ctx: RunContext | None, counts: dict[str, Any]) -> None:
    run.counts = counts
    run.writes = sum(n for actions in counts.values() for n in actions.values())
    run.api_calls = ctx.api_calls() if ctx else 0
    run.status = RunStatus.SUCCEEDED
    run.finished_at = timezone.now()
    run.save()


def resolve_conflict(event: SyncEvent, use: str = "other") -> SyncEvent:
    """Settle a conflict: ``use="other"`` writes the losing value to both sides (it was
    right after all); ``use="kept"`` accepts the outcome. The writes are journaled in a
    run of their own (trigger review), so undoing the conflict's run leaves them alone;
    the conflict event becomes resolved. Returns the conflict event."""
    if event.action != "conflict":
        raise ValueError("Only conflict events can be resolved.")
    if use not in ("other", "lost", "kept"):
        raise ValueError("use must be 'other' or 'kept'.")
    if use != "kept" and event.link_id:
        with _Claimed(event.connection, f"resolve-{event.pk}"):
            link = RecordLink.objects.get(pk=event.link_id)
            ctx = context_of(event.connection, link.entity)
            wanted = {k: v["lost"] for k, v in event.changes.items() if isinstance(v, dict)}
            pairs = [p for p in ctx.pairs if p.key in wanted]
            run: SyncRun | None = None
            counts: dict[str, Any] = {}
            for side in ("a", "b"):
                current = link.side(side).fields
                if current is None or not link.side_id(side):
                    continue
                fields = mapping.write_side(pairs, side, wanted, current, ctx.options.mapping)
                fields = {k: v for k, v in fields.items() if current.get(k) != v}
                if not fields:
                    continue
                run = run or _review_run(event.connection)
                key = f"resolve-{event.pk}-{side}"
                change = Change("update", key, id=link.side_id(side), fields=fields)
                result = _push(ctx, side, [change]).get(key)
                if result is None or result.error is not None:
                    run.status, run.error = RunStatus.FAILED, str(result.error if result else "")
                    run.finished_at = timezone.now()
                    run.save()
                    raise ConnectorError(str(result.error if result else "no answer"))
                changes = {k: {"old": current.get(k), "new": v} for k, v in fields.items()}
                with transaction.atomic():
                    _remember(ctx, link, side, {**current, **fields})
                    _event(
                        run, link, side, action="update", changes=changes, reason="conflict"
                    ).save()
                counts.setdefault(direction_into(side), {})["update"] = 1
            if run is not None:
                _finish_review_run(run, ctx, counts)
    event.status = EventStatus.RESOLVED
    event.save(update_fields=["status"])
    return event


def review_deletions(events: Iterable[SyncEvent], approve: bool) -> int:
    """Approve (apply the configured deletion action) or dismiss (keep the record) the
    given deletions awaiting review. Returns how many were handled."""
    handled = 0
    by_connection: dict[tuple[int, str], list[SyncEvent]] = {}
    for event in events:
        if event.status == EventStatus.PENDING_REVIEW:
            by_connection.setdefault((event.connection_id, event.entity), []).append(event)
    for (connection_id, entity), pending in by_connection.items():
        connection = Connection.objects.get(pk=connection_id)
        with _Claimed(connection, f"review-{connection_id}"):
            ctx = context_of(connection, entity) if approve else None
            run = _review_run(connection) if approve else None
            counts: dict[str, Any] = {}
            try:
                for event in pending:
                    handled += _review_one(ctx, event, approve, run, counts)
            finally:
                if run is not None:
                    _finish_review_run(run, ctx, counts)
    return handled


def _review_one(
    ctx: RunContext | None,
    event: SyncEvent,
    approve: bool,
    run: SyncRun | None = None,
    counts: dict[str, Any] | None = None,
) -> int:
    """Apply or dismiss one pending deletion. An approved one is journaled as a new event
    of ``run`` (the review's own run), the pending event only marked approved."""
    link = RecordLink.objects.filter(pk=event.link_id).first()
    side = _target(event)
    gone = other(side)
    if link is None or link.state != LinkState.PENDING_DELETE:
        event.status = EventStatus.DISMISSED  # the record came back meanwhile
        event.save(update_fields=["status"])
        return 0
    if approve:
        assert ctx is not None
        current = dict(link.side(side).fields or {})
        write, action, state_after = deletion_write(event.reason, side, current, ctx.options)
        if write is None:
            raise ValueError(f"The deletion action {event.reason!r} is not possible here.")
        key = f"review-{event.pk}"
        change = Change(write.op, key, id=link.side_id(side), fields=write.fields)  # type: ignore[arg-type]
        result = _push(ctx, side, [change]).get(key)
        if result is None or result.error is not None:
            raise ConnectorError(str(result.error if result else "no answer"))
    with transaction.atomic():
        link.side(gone).forget()
        if approve:
            assert ctx is not None and write is not None
            if write.op == "delete":
                changes = {k: {"old": v, "new": None} for k, v in current.items()}
            else:
                changes = {k: {"old": current.get(k), "new": v} for k, v in write.fields.items()}
            # Made before the link forgets a deleted record's id, which it names.
            done = _event(run, link, side, action=action, changes=changes, reason=event.reason)
            if write.op == "delete":
                link.side(side).id = None
                _remember(ctx, link, side, None)
            else:
                _remember(ctx, link, side, {**current, **write.fields})
            link.state = state_after
            event.status = EventStatus.APPROVED
            done.save()
            if counts is not None:
                per_direction = counts.setdefault(event.direction, {})
                per_direction[action] = per_direction.get(action, 0) + 1
        else:
            link.state = LinkState.DELETED
            event.status = EventStatus.DISMISSED
        link.dirty = link.side(side).pending is not None
        link.save()
        event.save(update_fields=["status"])
    return 1
