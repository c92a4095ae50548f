"""Reading one side into the links (DESIGN.md 4.2-4.4, 4.8): page by page, streaming.

Each page is *staged* in one transaction: the records that changed (their content hash
differs from the link's) are stored on their RecordLink as ``<side>_pending`` and the link
is marked dirty; records without a link are matched by normalized email to a link of the
other side, else get a new half link; deleted ids mark their links. The cursor is saved
in the same transaction, so a crash re-reads at most one page. Memory holds one page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.db import transaction

from connectors.base import Page, Record
from sync.engine import match
from sync.engine.bulk import commit_without_waiting, insert_rows, update_rows
from sync.engine.context import RunContext
from sync.engine.edge import clean_page
from sync.engine.scratch import links_db
from sync.engine.sides import SIDES, direction_from, other
from sync.models import Connection, LinkState, RecordLink, SyncEvent, SyncRun, link_column

logger = logging.getLogger(__name__)

_LIVE = [LinkState.LINKED]
_STAGING_COLUMNS = ("id", "connection_id", "entity", "match_key", "state", "dirty")


def _side_columns(side: str) -> tuple[str, ...]:
    names = ("id", "fields", "hash", "pending", "gone", "updated_at", "seen_run")
    return tuple(link_column(side, name) for name in names)


def create_key(connection_id: int, link_pk: int, side: str) -> str:
    """The idempotency key of creating ``side``'s record of a link. Derived from the link,
    so a retried create carries the same key, and a record that comes back with it
    (``Record.key``) is recognised as ours."""
    return f"cs-{connection_id}-{link_pk}-{side}"


def _link_of_key(connection_id: int, key: str | None, side: str) -> int | None:
    parts = (key or "").split("-")
    if (
        len(parts) == 4
        and parts[0] == "cs"
        and parts[1] == str(connection_id)
        and parts[3] == side
        and parts[2].isdigit()
    ):
        return int(parts[2])
    return None


class Abort(Exception):
    """A safety check stopped the run; the message says why (shown to the user)."""


def links_of(connection: Connection, entity: str = "contact") -> Any:
    """The links of ``connection``'s records of ``entity``."""
    return RecordLink.objects.filter(connection=connection, entity=entity)


def stage_side(
    ctx: RunContext,
    run: SyncRun,
    side: str,
    cursor: Any,
    *,
    save_cursor: bool,
    on_page: Callable[[int], None],
    pages: Iterable[Page] | None = None,
) -> int:
    """Read ``side`` since ``cursor`` into the links; returns the records read.
    ``pages``: the connector's ``fetch(cursor)`` already under way (run.py reads side B
    ahead while side A is staged)."""
    connector = ctx.connectors[side]
    listing = cursor is None or not connector.capabilities.delta
    connector.stubs = True
    total = 0

    def stage(page: Page, unchanged: list[str], details: Future[list[Record]] | None) -> None:
        nonlocal total
        if details is not None:
            page.records.extend(clean_page(Page(details.result())).records)
        total += len(page.records) + len(unchanged)
        if page.complete and total == 0:
            _guard_empty_side(ctx, side)
        # The links' database: a dry run's scratch one (scratch.py), which its cursor
        # never reaches (``save_cursor`` is off), so the product's stays untouched.
        with transaction.atomic(using=links_db()):
            commit_without_waiting(links_db())  # a lost page is read again
            _stage_page(ctx, run, side, page, listing, unchanged)
            if page.complete:
                _sweep(ctx, run, side)
            # A complete listing's cursor is saved only at its end: resuming a listing
            # half-way from a delta cursor would miss the records not listed yet.
            if save_cursor and (page.complete or not listing) and page.cursor is not None:
                ctx.save_cursor(side, page.cursor)
        on_page(total)

    # Pipelined (issue 18): the details of a page's stubs are read, in a thread that
    # makes HTTP calls only, while the page before is staged; pages are staged in order.
    waiting: tuple[Page, list[str], Future[list[Record]] | None] | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="details") as ahead:
        for page in map(clean_page, connector.fetch(cursor) if pages is None else pages):
            unchanged, wanted = _split_stubs(ctx, side, page) if page.stubs else ([], [])
            details = ahead.submit(connector.details, wanted) if wanted else None
            if waiting is not None:
                stage(*waiting)
            waiting = (page, unchanged, details)
        if waiting is not None:
            stage(*waiting)
    return total


def _guard_empty_side(ctx: RunContext, side: str) -> None:
    """vdirsyncer's guard: a side that suddenly lists nothing while links exist is far
    more likely broken (wrong scope, revoked access) than emptied on purpose."""
    linked = links_of(ctx.connection, ctx.entity).filter(
        **{link_column(side, "id__isnull"): False}, state__in=_LIVE
    )
    count = linked.count()
    if count:
        raise Abort(
            f"Side {side.upper()} listed no contacts while {count} are linked; the run was "
            "stopped so that nothing is deleted. Check the app's scope and access."
        )


def _split_stubs(ctx: RunContext, side: str, page: Page) -> tuple[list[str], list[str]]:
    """The ids of the page's stubs whose updated_at equals the one last read into their
    link (unchanged), and of the others, whose details are read (wanted). The link's
    updated_at is that of its last read, synced or still pending in this run (the
    re-read before writing), so either way an equal one is nothing new. Asked before
    the page ahead of it is staged: a link that staging moves on is then only wanted
    once more, never taken for unchanged."""
    by_id = {stub.id: stub for stub in page.stubs}
    id_field, at_field = link_column(side, "id"), link_column(side, "updated_at")
    known = links_of(ctx.connection, ctx.entity).filter(
        **{f"{id_field}__any": list(by_id), link_column(side, "gone"): False}
    )
    unchanged = [
        record_id
        for record_id, updated_at in known.values_list(id_field, at_field)
        if updated_at is not None and updated_at == by_id[record_id].updated_at
    ]
    return unchanged, [record_id for record_id in by_id if record_id not in set(unchanged)]


def _stage_page(
    ctx: RunContext, run: SyncRun, side: str, page: Page, listing: bool, stubs_seen: list[str]
) -> None:
    """Stage one page; ``stubs_seen`` are ids listed as stubs that need nothing but to
    count as seen by a complete listing."""
    id_field = link_column(side, "id")
    seen_field = link_column(side, "seen_run")
    links = links_of(ctx.connection, ctx.entity)
    ids = [r.id for r in page.records]
    # Only this side's columns: most records of a page are unchanged, and decoding the
    # other side's fields and the base of each would cost more than the comparison.
    # Everything staging reads or writes is among them (a deferred one would cost a
    # query per link; tests/engine/test_run_queries.py watches that).
    known = links.filter(**{f"{id_field}__any": ids}).only(*_STAGING_COLUMNS, *_side_columns(side))
    by_id = {getattr(link, id_field): link for link in known}
    changed: list[RecordLink] = []
    seen: list[str] = list(stubs_seen)
    unlinked = []
    for record in page.records:
        link = by_id.get(record.id)
        if link is None:
            if not record.partial:  # a fragment of a record never synced is no record
                unlinked.append(record)
            continue
        seen.append(record.id)
        view = link.side(side)
        fields = {**(view.current or {}), **record.fields} if record.partial else record.fields
        unchanged = view.pending is None and ctx.unchanged(side, fields, view.fields, view.hash)
        if unchanged and not view.gone:
            continue  # The same content as last synced: an echo of our own write.
        view.stage(fields, record.updated_at if record.updated_at else view.updated_at)
        changed.append(link)
    if page.deleted:
        # The vendor's deletion feed: the planner decides what a deletion means. Only
        # linked records: a deletion already handled (trashed, deleted, under review) is
        # not handled again when a feed that lists every removal reports it once more.
        # Marked before the page's new records are matched, so that a record deleted
        # and made again under the same key (a company of the same name) is not
        # counted as a second holder of the key.
        listed = set(ids)
        links.filter(
            **{f"{id_field}__any": [i for i in page.deleted if i not in listed]},
            state__in=_LIVE,
        ).update(**{link_column(side, "gone"): True, "dirty": True})
    new_links, events = _match_unlinked(ctx, run, side, unlinked, links, changed)
    if listing:
        for link in changed:
            link.side(side).seen_run = run.pk
        for row in new_links:
            row[seen_field] = run.pk
        links.filter(**{f"{id_field}__any": seen}).update(**{seen_field: run.pk})
    if changed:
        update_rows(
            changed,
            [
                *(link_column(side, c) for c in ("id", "pending", "updated_at", "gone")),
                seen_field,
                "state",
                "dirty",
            ],
        )
    insert_rows(RecordLink, new_links)
    insert_rows(SyncEvent, events)


def _match_unlinked(
    ctx: RunContext,
    run: SyncRun,
    side: str,
    records: list[Any],
    links: Any,
    changed: list[RecordLink],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Link records seen for the first time: our own creates whose answer was lost, then
    by identity, email or a second key inside a duplicate-email group (``match.py``) to a
    link of the other side, else a new half link; records of an ambiguous group get a
    held half link. New links and events come back as row values for ``insert_rows``."""
    id_field = link_column(side, "id")
    # Our own create whose answer was lost, recognised by its idempotency key.
    by_key = {r.id: _link_of_key(ctx.connection.pk, r.key, side) for r in records}
    wanted_pks = {pk for pk in by_key.values() if pk}
    created = (
        {
            link.pk: link
            for link in links.filter(pk__any=wanted_pks, **{f"{id_field}__isnull": True})
        }
        if wanted_pks
        else {}
    )
    keys = {r.id: ctx.match_key(side, r.fields) for r in records}
    orphans = _lost_creates(ctx, side, [r for r in records if not keys[r.id]], links, by_key)
    mine_of = {}
    for record in records:
        mine = created.pop(by_key[record.id] or 0, None) or orphans.pop(record.id, None)
        if mine is not None:
            mine_of[record.id] = mine
    # Identity, then email, then a second key inside duplicate-email groups (match.py).
    matches = match.match_records(
        ctx, side, [r for r in records if r.id not in mine_of], keys, links
    )
    if matches.held_links:
        links.filter(pk__in=[link.pk for link in matches.held_links]).update(held=match.AMBIGUOUS)
    new_links: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for record in records:
        key = keys[record.id]
        mine = mine_of.get(record.id)
        if mine is not None:
            mine.side(side).id = record.id
            mine.side(side).stage(record.fields, record.updated_at)
            changed.append(mine)
            continue
        link = matches.links.get(record.id)
        if link is not None:
            # Matched to the other side's record (by identity, email or second key).
            link.side(side).id = record.id
            if link.state in (LinkState.DELETED, LinkState.TRASHED):
                link.state = LinkState.LINKED
            link.side(side).stage(record.fields, record.updated_at)
            changed.append(link)
            continue
        held = matches.held.get(record.id, "")
        if held:
            # Not linked at all: listed for the tenant (Duplicates), never first-wins.
            events.append(
                {
                    "connection_id": ctx.connection.pk,
                    "run_id": run.pk,
                    "entity": ctx.entity,
                    "action": "skip",
                    "direction": direction_from(side),
                    "source_id": record.id,
                    "label": key,
                    "status": "skipped",
                    "reason": held[:300],
                }
            )
        # A record of this side only, so far (or held): a new half link, staged.
        new_links.append(
            {
                "connection_id": ctx.connection.pk,
                "entity": ctx.entity,
                "match_key": key,
                "identity_key": matches.identities.get(record.id, ""),
                "held": match.AMBIGUOUS if held else "",
                id_field: record.id,
                link_column(side, "pending"): record.fields,
                link_column(side, "updated_at"): record.updated_at,
                "dirty": True,
            }
        )
    return new_links, events


def _lost_creates(
    ctx: RunContext,
    side: str,
    records: list[Any],
    links: Any,
    by_key: dict[str, int | None],
) -> dict[str, RecordLink]:
    """Records without an email that are creates of ours whose answer was lost, on an
    app that does not report our key: found by the signature of the values the create
    sent (``RecordLink.create_signature``). By record id; each link adopts one record."""
    candidates = [r for r in records if not by_key[r.id]]
    if not candidates or not ctx.lost_creates:
        return {}
    signatures = {r.id: ctx.signature(side, r.fields) for r in candidates}
    waiting: dict[str, list[RecordLink]] = {}
    for link in links.filter(
        create_signature__any=set(signatures.values()), **{link_column(side, "id__isnull"): True}
    ).order_by("pk"):
        waiting.setdefault(link.create_signature, []).append(link)
    found = {}
    for record in candidates:
        queue = waiting.get(signatures[record.id])
        if queue:
            found[record.id] = queue.pop(0)
    return found


def _sweep(ctx: RunContext, run: SyncRun, side: str) -> None:
    """After a complete listing, linked records it did not contain were deleted."""
    links_of(ctx.connection, ctx.entity).filter(
        **{link_column(side, "id__isnull"): False}, state__in=_LIVE
    ).exclude(**{link_column(side, "seen_run"): run.pk}).update(
        **{link_column(side, "gone"): True, "dirty": True}
    )


def adopt_made_again(ctx: RunContext, run: SyncRun) -> int:
    """A record deleted and made again under the same key on one side (a company deleted
    and created anew with its name, a contact with its email) while its partner on the
    other side lives on: the new record takes the deleted one's link, so the run merges
    it with its partner (an edit made there meanwhile included) instead of putting the
    deleted record back beside it, or deleting the partner and creating it again.

    Run once both sides are staged, because a complete listing knows its deletions only
    at its end (``_sweep``), after the new record was given a half link of its own. Only
    unambiguous cases: one deleted record and one new record of that key, the new one
    staged by this run (so no create of it has gone out yet). Returns the links adopted."""
    adopted = 0
    links = links_of(ctx.connection, ctx.entity)
    since = run.started_at or run.created_at
    for side in SIDES:
        theirs = other(side)
        orphans: dict[str, list[RecordLink]] = {}
        # Both kinds are dirty (staged, not planned yet): the partial index of the dirty
        # links keeps these two queries off a quiet connection's whole table.
        for link in links.filter(
            state__in=_LIVE,
            dirty=True,
            held="",
            **{
                link_column(side, "gone"): True,
                link_column(theirs, "id__isnull"): False,
                link_column(theirs, "gone"): False,
            },
        ).exclude(match_key=""):
            orphans.setdefault(link.match_key, []).append(link)
        if not orphans:
            continue
        newcomers: dict[str, list[RecordLink]] = {}
        for link in links.filter(
            state__in=_LIVE,
            dirty=True,
            held="",
            create_signature="",
            created_at__gte=since,
            match_key__in=list(orphans),
            **{
                link_column(side, "id__isnull"): False,
                link_column(side, "gone"): False,
                link_column(side, "pending__isnull"): False,
                link_column(theirs, "id__isnull"): True,
            },
        ):
            newcomers.setdefault(link.match_key, []).append(link)
        for key, found in newcomers.items():
            if len(found) != 1 or len(orphans[key]) != 1:
                continue  # several of a key: matching's business (held or paired), not ours
            _adopt(orphans[key][0], found[0], side)
            adopted += 1
    if adopted:
        ctx.match_stats["made again"] += adopted
    return adopted


def _adopt(link: RecordLink, newcomer: RecordLink, side: str) -> None:
    """``link`` (its ``side`` record deleted) takes ``newcomer``'s record of ``side``."""
    new, view = newcomer.side(side), link.side(side)
    values = (new.id, new.pending, new.updated_at, new.seen_run)
    with transaction.atomic(using=links_db()):
        newcomer.delete()  # first: a record has one link (unique per side)
        view.id, view.pending, view.updated_at, view.seen_run = values
        view.gone = False
        link.identity_key = newcomer.identity_key or link.identity_key
        link.dirty = True
        columns = ("id", "pending", "updated_at", "seen_run", "gone")
        link.save(update_fields=[*(link_column(side, c) for c in columns), "identity_key", "dirty"])
