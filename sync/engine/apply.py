"""Applying decisions (DESIGN.md 4.9): the planner decides, this module writes.

``Applier.begin(planned)`` takes a chunk of links with their decisions and starts
applying them: journal first (so an overwritten value is in the journal even if the
process dies mid-write), then the vendor writes in batches per side (``push``), each side
in a writer thread of its own (writers.py) so that the two apps are written at once;
``Applier.finish`` waits for them and records links and create events in one
transaction (``_finalize``). ``remember`` records what a side holds after
a write of ours; the run and the journal's undo, resolve and review all go through it and
through ``push``. Writes are idempotent (updates set values; creates carry a key derived
from the link, and a create whose answer was lost is re-matched), so a crash never
duplicates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import wait
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction

from connectors.base import Change, Connector, ConnectorError, RecordGone, Result
from sync.engine.bulk import commit_without_waiting, insert_rows, update_rows
from sync.engine.choices import untranslated_in
from sync.engine.claim import Claim
from sync.engine.context import RunContext
from sync.engine.planner import Decision, Event, LinkView, SideState, plan
from sync.engine.sides import SIDES, direction_into, other
from sync.engine.stage import create_key, links_of
from sync.engine.writers import Job, NotSent, Relay, SideWriter
from sync.lookup import index_links
from sync.models import LinkSide, RecordLink, SyncEvent, SyncRun, link_column

SAMPLES = 20  # preview samples per action and direction
# Events whose write a refusal stops (the preview counts them as errors instead).
WRITTEN = frozenset({"create", "update", "unsubscribe", "trash", "tag", "mark", "remove_from_list"})

# A link with its sides as the planner saw them and the planner's decision.
Planned = tuple[RecordLink, dict[str, SideState], Decision]

_LINK_FIELDS = [
    *(link_column(side, c) for side in SIDES for c in ("id", "fields", "pending", "gone", "hash")),
    "state",
    "rules_matched",
    "dirty",
    "last_error",
    "create_signature",
]


def side_state(link: RecordLink, side: str) -> SideState:
    """One side of a link as the planner sees it."""
    view = link.side(side)
    last = view.fields
    pending = view.pending
    return SideState(
        id=view.id,
        current=pending if pending is not None else last,
        last=last,
        updated_at=view.updated_at,
        gone=view.gone,
    )


def decide(ctx: RunContext, link: RecordLink) -> Planned:
    """Plan one link: its sides and the planner's decision."""
    states = {side: side_state(link, side) for side in SIDES}
    view = LinkView(link.state, link.match_key, list(link.rules_matched or []))
    return link, states, plan(view, states["a"], states["b"], ctx.options)


def remember(
    ctx: RunContext,
    side: LinkSide,
    fields: dict[str, Any] | None,
    normalized: dict[str, Any] | None = None,
) -> None:
    """Record what ``side`` holds after a write of ours (or an accepted read), so that
    the next run recognises the record's content as an echo. ``normalized``: the
    fields' normalized values where the caller has them."""
    side.settle(fields, ctx.side_hash(side.name, fields, normalized))


def push(
    connector: Connector,
    side: str,
    changes: list[Change],
    before_batch: Callable[[], None] | None = None,
) -> dict[str, Result]:
    """Send ``changes`` to ``side``'s app in batches of its size; answers by change key.
    A failing batch raises, its ConnectorError naming the side. ``before_batch`` runs
    before each batch (the run's claim check)."""
    size = max(1, connector.capabilities.batch_size)
    results: dict[str, Result] = {}
    sendable = []
    for sent in changes:
        refused = refusal(connector, sent)
        if refused is None:
            sendable.append(sent)
        else:  # known to be refused: the record's error, never sent
            results[sent.key] = Result(
                sent.key, id=sent.id, error=ConnectorError(refused, permanent=True)
            )
    for start in range(0, len(sendable), size):
        if before_batch is not None:
            before_batch()
        try:
            answers = connector.push(sendable[start : start + size])
        except ConnectorError as exc:
            exc.side = side
            raise
        for result in answers:
            results[result.key] = result
    return results


def refusal(connector: Connector, sent: Change) -> str | None:
    """Why ``sent`` cannot be written, known before sending it: a value without a
    translation into the target field (sync/engine/choices.py), or what the app itself
    says it would refuse (``Connector.refusal``). The run reports it as the record's
    error; the preview counts it as a write that would fail."""
    if sent.op == "delete":
        return None
    untranslated = untranslated_in(sent.fields)
    if untranslated:
        return "; ".join(u.message for u in untranslated)
    return connector.refusal(sent)


@dataclass
class Tally:
    """What the planned events add up to: counts per direction and action, and (for a
    preview) up to SAMPLES samples each."""

    sampling: bool = False
    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    samples: dict[str, dict[str, list[dict[str, Any]]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )

    def add(
        self,
        link: RecordLink,
        states: dict[str, SideState],
        decision: Decision,
        refused: dict[str, str] | None = None,
    ) -> None:
        """Count ``decision``'s events; a write ``refused`` (by target side: why,
        ``refusal``) counts as an error, with that reason, in place of its event."""
        for event in decision.events:
            action, reason = event.action, event.reason
            if refused and event.target in refused and action in WRITTEN:
                action, reason = "error", refused[event.target]
            self.counts[event.direction][action] += 1
            kept = self.samples[event.direction][action]
            if self.sampling and len(kept) < SAMPLES:
                kept.append(
                    {
                        "label": link.match_key or label(states),
                        "record_id": states[event.target].id,
                        "changes": event.changes,
                        "reason": reason,
                    }
                )

    def counted(self) -> dict[str, dict[str, int]]:
        return {d: dict(c) for d, c in self.counts.items()}

    def sampled(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        return {d: dict(s) for d, s in self.samples.items()}


@dataclass
class Pending:
    """A chunk whose writes are under way: its plans, its journal rows, and per side
    the changes sent (with their links' keys) and the writer's job."""

    planned: list[Planned]
    journal: dict[tuple[int, str], list[SyncEvent]]
    sent: dict[str, list[tuple[int, Change]]] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)

    def done(self) -> bool:
        return all(job.answers.done() for job in self.jobs.values())


class Applier:
    """Writes the decisions of one run, chunk by chunk: ``begin`` journals a chunk and
    hands its writes to each side's writer thread (writers.py), ``finish`` waits for
    them and records the outcome on the links. The run keeps a few chunks between the
    two (run.py), so both apps are written at once while the run's thread settles the
    chunks written before; every database access stays on the run's thread."""

    def __init__(self, ctx: RunContext, run: SyncRun) -> None:
        self.ctx = ctx
        self.run = run
        self.record_errors = 0
        # The claim's check before a write (run's thread); ``claim``, where the run has
        # one, lets the writer threads skip it while its lease is freshly renewed.
        self.before_write: Callable[[], None] | None = None
        # Links above this primary key are the run's own (primary keys only grow): none
        # has phone entries yet (index_links). Asked before the run stages anything.
        self.links_before = 0 if run.dry_run else _last_link_pk()
        self.claim: Claim | None = None
        self.relay = Relay()
        self.writers: dict[str, SideWriter] = {}

    def apply(self, planned: list[Planned]) -> None:
        """Journal, write through the connectors, then record the outcome on the links.
        A vendor failure is raised after the links of the chunk are recorded."""
        self.finish(self.begin(planned))

    def begin(self, planned: list[Planned]) -> Pending:
        """Journal the chunk's overwrites and deletions, then start its writes."""
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
        # 2. Vendor writes, each side in its writer's thread.
        pending = Pending(planned, journal)
        for side in SIDES:
            changes = [
                (link.pk, change(link, side, decision))
                for link, _states, decision in planned
                if side in decision.writes
            ]
            if not changes:
                continue
            if self.before_write is not None and not pending.jobs:
                self.before_write()  # never write once taken over
            pending.sent[side] = changes
            pending.jobs[side] = self._writer(side).submit([c for _pk, c in changes])
        return pending

    def finish(self, pending: Pending) -> None:
        """Wait for the chunk's writes, then record links and create events in one
        transaction. A vendor failure is raised after the links are recorded."""
        jobs = [job.answers for job in pending.jobs.values()]
        while not all(job.done() for job in jobs):
            wait(jobs, timeout=0.05)
            self.serve()
        results: dict[tuple[int, str], Result] = {}
        failure: ConnectorError | None = None
        not_sent: set[str] = set()
        for side, job in pending.jobs.items():
            try:
                answers = job.answers.result()
            except NotSent as exc:
                not_sent.add(side)
                failure = failure or exc
                continue
            except ConnectorError as exc:
                failure = exc if failure is None or isinstance(failure, NotSent) else failure
                continue
            for pk, sent in pending.sent[side]:
                if sent.key in answers:
                    results[(pk, side)] = answers[sent.key]
        planned = pending.planned
        # Links none of whose writes went out (their side had stopped at an earlier
        # chunk's failure) stay as they were, dirty, with no error and no journal: the
        # next run writes them as if this one had never planned them.
        untouched = [
            link.pk
            for link, _states, decision in planned
            if decision.writes and set(decision.writes) <= not_sent
        ]
        # 3. Links and create events, in one transaction.
        with transaction.atomic():
            commit_without_waiting(DEFAULT_DB_ALIAS)  # the writes are idempotent
            if untouched:
                skipped = set(untouched)
                planned = [p for p in planned if p[0].pk not in skipped]
                rows = [
                    row.pk
                    for (pk, _side), journaled in pending.journal.items()
                    if pk in skipped
                    for row in journaled
                ]
                SyncEvent.objects.filter(pk__in=rows).delete()
            self._finalize(planned, results, pending.journal, failure)
        if failure is not None:
            raise failure

    def serve(self) -> None:
        """What the writer threads wait for on the run's thread: the claim's renewal,
        and the renewal of each side's share of its account's limits (limits.py: only
        the thread that owns a seam renews it)."""
        self.relay.serve()
        for connector in self.ctx.connectors.values():
            gate = connector.http.gate
            if gate is not None:
                gate.refresh()

    def close(self) -> None:
        """Stop the writer threads (after the push under way; nothing queued is sent)."""
        for writer in self.writers.values():
            writer.close()
        self.writers.clear()

    def _writer(self, side: str) -> SideWriter:
        writer = self.writers.get(side)
        if writer is None:
            writer = self.writers[side] = SideWriter(
                self.ctx.connectors[side], side, push, self._check_claim
            )
        return writer

    def _check_claim(self) -> None:
        """Before each batch, in a writer thread: a lease renewed a moment ago cannot
        have been taken over; otherwise the run's thread renews it (or raises ClaimLost
        here, which stops the side's writes)."""
        if self.claim is not None and not self.claim.fresh() and self.before_write:
            self.relay.call(self.before_write)

    def _finalize(
        self,
        planned: list[Planned],
        results: dict[tuple[int, str], Result],
        journal: dict[tuple[int, str], list[SyncEvent]],
        failure: ConnectorError | None,
    ) -> None:
        done: list[RecordLink] = []
        creates: list[dict[str, Any]] = []  # event rows inserted without model instances
        failed_events: list[SyncEvent] = []
        repeats: list[int] = []  # journal rows of an attempt that failed as the last one did
        for link, states, decision in planned:
            if decision.wait:
                # A reference not on the target side yet: nothing written, the link
                # stays dirty with what was read, planned again (references.py).
                self._wait(link, decision, journal)
                done.append(link)
                continue
            errors = []
            failed_sides: list[str] = []
            for side in decision.writes:
                result = results.get((link.pk, side))
                error = result.error if result else (failure or ConnectorError("no answer"))
                if error is None:
                    continue
                errors.append(f"{side.upper()}: {error}")
                failed_sides.append(side)
                write = decision.writes[side]
                if isinstance(error, RecordGone) and write.op != "create":
                    link.side(side).gone = True  # handled as a deletion next run
                if write.op == "create" and result is None:
                    # No answer: the record may exist now. Its signature lets the next
                    # listing recognise it even without a key or an email.
                    link.create_signature = self.ctx.signature(side, write.fields)
                for row in journal.get((link.pk, side), []):
                    row.status, row.error = "error", f"outcome unknown or failed: {error}"
                    failed_events.append(row)
            if errors:
                # One failing record is logged and retried next run; it blocks nothing.
                message = "; ".join(errors)[:2000]
                repeated = message == link.last_error
                link.last_error = message
                # Explain says which rule sent it, also when its write failed.
                link.rules_matched = decision.rules_matched
                self.record_errors += 1
                if repeated:
                    # The same refusal as last run: said once already, not again every
                    # run; the attempt's journal rows say nothing new either.
                    stale = [
                        r.pk for side in decision.writes for r in journal.get((link.pk, side), [])
                    ]
                    repeats.extend(stale)
                    failed_events = [r for r in failed_events if r.pk not in set(stale)]
                    done.append(link)
                    continue
                # One error row per failed write, in the direction that write went.
                creates.extend(
                    {
                        "connection_id": self.run.connection_id,
                        "run_id": self.run.pk,
                        "entity": self.ctx.entity,
                        "link_id": link.pk,
                        "action": "error",
                        "direction": direction_into(side),
                        "record_id": link.side(side).id or "",
                        "label": link.match_key,
                        "status": "error",
                        "error": link.last_error,
                    }
                    for side in failed_sides
                )
                done.append(link)
                continue
            self._settle(link, states, decision, results)
            self.run.writes += len(decision.writes)
            for event in decision.events:
                if event.action == "create":
                    values = self._event_values(link, states, event)
                    values["record_id"] = link.side(event.target).id or ""
                    creates.append(values)
            done.append(link)
        self._absorb_echo_links(done, planned)
        update_rows(done, _LINK_FIELDS)
        # Caller ID's phone index follows the settled links.
        index_links(self.ctx, done, indexed_up_to=self.links_before)
        insert_rows(SyncEvent, creates)
        if failed_events:
            SyncEvent.objects.bulk_update(failed_events, ["status", "error"], batch_size=500)
        if repeats:
            SyncEvent.objects.filter(pk__in=repeats).delete()
        SyncRun.objects.filter(pk=self.run.pk).update(writes=self.run.writes)

    def _wait(
        self,
        link: RecordLink,
        decision: Decision,
        journal: dict[tuple[int, str], list[SyncEvent]],
    ) -> None:
        """Past SYNC_REFERENCE_WAIT_RUNS runs of waiting, the wait is an error: the
        run's skip event says so and the link carries it (it is still retried)."""
        waits = SyncEvent.objects.filter(
            link_id=link.pk, action="skip", reason__startswith="waiting for"
        ).count()
        if waits <= settings.SYNC_REFERENCE_WAIT_RUNS:
            return
        message = f"{decision.wait} since {waits} runs; check that it is in scope"[:2000]
        rows = [row for rows in journal.values() for row in rows if row.link_id == link.pk]
        for row in rows:
            row.status, row.error = "error", message
            row.save(update_fields=["status", "error"])
        self.record_errors += 1
        link.last_error = message

    def _absorb_echo_links(self, done: list[RecordLink], planned: list[Planned]) -> None:
        """A create retried with its idempotency key may answer with a record this run's
        listing already put on a half link of its own (a vendor that keeps the key but
        does not report it). That half link is the echo of our create: it goes."""
        ours = {link.pk for link in done}
        for side in SIDES:
            created = [
                link.side(side).id
                for link, _states, decision in planned
                if decision.writes.get(side) and decision.writes[side].op == "create"
            ]
            created = [record_id for record_id in created if record_id]
            if created:
                # Primary keys first: almost always there is none, and a delete() would
                # load whole rows to look for related events.
                echoes = list(
                    links_of(self.ctx.connection, self.ctx.entity)
                    .filter(
                        **{
                            link_column(side, "id__any"): created,
                            link_column(other(side), "id__isnull"): True,
                        }
                    )
                    .exclude(pk__any=ours)
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
                else:
                    stored = result.record.fields if result.record else None
                    fields = stored or {**(state.current or {}), **write.fields}
            link.side(side).id = record_id
            # Unwritten, the side holds what was read: its values are normalized already.
            normalized = state.now(self.ctx.options, side) if fields is state.current else None
            remember(self.ctx, link.side(side), fields, normalized)
        link.state = decision.state
        link.rules_matched = decision.rules_matched
        link.dirty = False
        link.last_error = ""
        link.create_signature = ""

    def _event_values(
        self, link: RecordLink, states: dict[str, SideState], event: Event
    ) -> dict[str, Any]:
        """A SyncEvent row's values (by attname) for a planned event of ``link``."""
        source = other(event.target)
        return {
            "connection_id": self.run.connection_id,
            "run_id": self.run.pk,
            "entity": self.ctx.entity,
            "link_id": link.pk,
            "action": event.action,
            "direction": event.direction,
            "record_id": states[event.target].id or "",
            "source_id": states[source].id or "",
            "label": link.match_key or label(states),
            "changes": event.changes,
            "status": event.status,
            "reason": event.reason[:300],
        }


def _last_link_pk() -> int:
    """The highest primary key of any link so far (0: none yet)."""
    last = RecordLink.objects.order_by("-pk").values_list("pk", flat=True).first()
    return last or 0


def change(link: RecordLink, side: str, decision: Decision) -> Change:
    """The connector change that carries out ``decision``'s write on ``side``."""
    write = decision.writes[side]
    if write.op == "create":
        key = create_key(link.connection_id, link.pk, side)
        return Change("create", key, fields=write.fields)
    op: Any = write.op  # update | delete (the planner's Write.op is a plain str)
    return Change(op, f"{link.pk}-{side}", id=link.side(side).id, fields=write.fields)


def label(states: dict[str, SideState]) -> str:
    """A human label for a pair: the first email or name either side holds."""
    for state in states.values():
        fields = state.current or {}
        for key in ("email", "name", "full_name", "last_name"):
            if fields.get(key):
                return str(fields[key])[:320]
    return ""
