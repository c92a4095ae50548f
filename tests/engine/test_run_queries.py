"""A run's database work grows with its pages and chunks, never with the records in
them: a per-record query (a deferred column read, a lazy relation) would turn an initial
sync of 100,000 contacts into 100,000 round trips."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from tests.engine.support import synced
from tests.fakes.connector import FakeConnector
from tests.plugins.fake import make_fake_connection


def queries_of_a_run(
    fake_vendor: type[FakeConnector], account, name: str, records: int, *, listing: bool
) -> int:
    """Queries of the third run of a connection whose side A holds ``records`` contacts:
    after a delta read, every one of them was edited; after a complete listing, one was
    (the others go through the unchanged path)."""
    a, b = fake_vendor.make_app(f"{name}-a"), fake_vendor.make_app(f"{name}-b")
    connection = make_fake_connection(account, a, b)
    ids = [a.add(email=f"p{i}@example.com", first_name=f"P{i}") for i in range(records)]
    synced(connection)
    synced(connection)  # reads the first run's own writes back
    edited = ids[:1] if listing else ids
    for record_id in edited:
        a.edit(record_id, company=f"Edited {record_id}")
    if listing:
        a.delta = b.delta = False  # both sides are listed whole
    with CaptureQueriesContext(db) as queries:
        run = synced(connection)
    assert run.counts["a_to_b"]["update"] == len(edited)
    return len(records_work([q["sql"] for q in queries]))


def records_work(statements: list[str]) -> list[str]:
    """``statements`` without the shares of the vendors' limits, renewed by the clock
    (connectors/limits.py) like the progress: not the records' work, and more of them on
    a loaded machine. Their savepoints go with them: a savepoint block holding nothing
    but limit-holder statements is theirs."""
    kept: list[str] = []
    opened: list[tuple[int, bool]] = []  # (position in kept, held only limit work)
    for sql in statements:
        if sql.startswith("SAVEPOINT"):
            opened.append((len(kept), True))
            kept.append(sql)
        elif sql.startswith("RELEASE SAVEPOINT") and opened:
            start, only_limits = opened.pop()
            if only_limits:
                del kept[start:]
            else:
                kept.append(sql)
        elif "sync_limitholder" in sql:
            continue
        else:
            opened = [(start, False) for start, _only in opened]
            kept.append(sql)
    return kept


@pytest.mark.parametrize("listing", [False, True], ids=["delta", "listing"])
def test_queries_do_not_grow_with_the_records_of_a_page(
    fake_vendor, account, listing, monkeypatch
) -> None:
    # Progress is stored by the clock (run.PROGRESS_EVERY), not by the records: kept to
    # the phase changes here, so that a slow machine does not count more of them.
    monkeypatch.setattr("sync.engine.run.PROGRESS_EVERY", 3600.0)
    few = queries_of_a_run(fake_vendor, account, "few", 5, listing=listing)
    many = queries_of_a_run(fake_vendor, account, "many", 80, listing=listing)
    assert many - few <= 3, (few, many)


def test_the_limits_own_savepoints_are_not_counted_as_records_work() -> None:
    limits = [
        'SAVEPOINT "x1"',
        'SELECT … "sync_limitholder"',
        'SAVEPOINT "x2"',
        'INSERT INTO "sync_limitholder"',
        'RELEASE SAVEPOINT "x2"',
        'RELEASE SAVEPOINT "x1"',
    ]
    page = ['SAVEPOINT "x3"', 'UPDATE "sync_recordlink"', 'RELEASE SAVEPOINT "x3"']
    assert records_work([*limits, *page, *limits]) == page
