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
    # The shares of the vendors' limits are renewed by the clock (connectors/limits.py),
    # like the progress: not the records' work, and more of them on a loaded machine.
    return sum(1 for q in queries if "sync_limitholder" not in q["sql"])


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
