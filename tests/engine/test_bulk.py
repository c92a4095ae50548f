"""The engine's bulk writes (sync/engine/bulk.py) and the queries of an initial sync.

An initial sync writes every link twice (staged, then settled) and an event per create:
its database work must grow with its pages and chunks, never with the records in them,
on SQLite (executemany) and on PostgreSQL (COPY, and UPDATE … FROM a COPY-filled
temporary table). Wall-clock time is left to bench/engine.py; these count statements,
which a per-record query or a per-row statement would multiply.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection as db
from django.db import transaction
from django.test.utils import CaptureQueriesContext

from sync.engine import run as run_module
from sync.engine.bulk import update_rows
from sync.models import RecordLink
from tests.engine.support import synced
from tests.fakes.connector import FakeConnector
from tests.plugins.fake import make_fake_connection


def _links(connection, count: int) -> list[RecordLink]:
    RecordLink.objects.bulk_create(
        RecordLink(connection=connection, a_id=f"a{i}", match_key=f"p{i}@example.com")
        for i in range(count)
    )
    return list(RecordLink.objects.filter(connection=connection).order_by("pk"))


def test_update_rows_saves_every_kind_of_value(fake_vendor, account) -> None:
    connection = make_fake_connection(
        account, fake_vendor.make_app("bulk-a"), fake_vendor.make_app("bulk-b")
    )
    links = _links(connection, 3)
    when = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
    links[0].a_pending = {"email": "x@example.com", "tags": ["a", "b"], "n": 1.5}
    links[0].a_updated_at, links[0].dirty, links[0].a_gone = when, True, True
    links[1].a_pending, links[1].a_updated_at, links[1].dirty = None, None, False
    links[2].a_id, links[2].state = None, "deleted"
    update_rows(links, ["a_id", "a_pending", "a_updated_at", "a_gone", "state", "dirty"])
    stored = {link.pk: link for link in RecordLink.objects.filter(connection=connection)}
    first, second, third = (stored[link.pk] for link in links)
    assert first.a_pending == {"email": "x@example.com", "tags": ["a", "b"], "n": 1.5}
    assert (first.a_updated_at, first.dirty, first.a_gone) == (when, True, True)
    assert (second.a_pending, second.a_updated_at, second.dirty) == (None, None, False)
    assert (third.a_id, third.state, third.a_id is None) == (None, "deleted", True)


class Label(str):
    """A str subclass, as Django's TextChoices members are."""


# Values that go through json.dumps's and orjson's edges: text beyond ASCII and quotes,
# nested empties, a 2**70 that orjson cannot write, keys that are not strings.
AWKWARD_JSON = [
    {"name": 'Zoë "Ω" \\ Straße\n\t', "tags": [], "sub": {"x": None}, "n": -0.5},
    {"big": 2**70, "ok": True},
    {1: "one", "two": [1, 2.25, None]},
    {"label": Label("vip"), "text": "e\u0301"},
    "just text",
]


@pytest.mark.parametrize("value", AWKWARD_JSON, ids=range(len(AWKWARD_JSON)))
def test_bulk_writes_store_json_as_the_orm_does(fake_vendor, account, value) -> None:
    """Through COPY on PostgreSQL (JSON text written by orjson, or json.dumps for what
    orjson cannot write), through executemany on SQLite: what reads back is what the
    ORM's own save stores."""
    connection = make_fake_connection(
        account, fake_vendor.make_app("json-a"), fake_vendor.make_app("json-b")
    )
    bulk, orm = _links(connection, 2)
    bulk.a_fields = value
    update_rows([bulk], ["a_fields"])
    orm.a_fields = value
    orm.save(update_fields=["a_fields"])
    stored = {link.pk: link.a_fields for link in RecordLink.objects.filter(connection=connection)}
    assert stored[bulk.pk] == stored[orm.pk]


def test_update_rows_of_one_object_twice_keeps_the_last(fake_vendor, account) -> None:
    """As the statements one by one did: the later values of the same row win."""
    connection = make_fake_connection(
        account, fake_vendor.make_app("twice-a"), fake_vendor.make_app("twice-b")
    )
    (link,) = _links(connection, 1)
    again = RecordLink.objects.get(pk=link.pk)
    link.match_key, again.match_key = "first@example.com", "last@example.com"
    update_rows([link, again], ["match_key"])
    assert RecordLink.objects.get(pk=link.pk).match_key == "last@example.com"


def test_update_rows_after_a_rollback_and_outside_a_transaction(fake_vendor, account) -> None:
    """A rollback takes back what its transaction made (PostgreSQL's temporary table
    among it); the next update works all the same, in a transaction or not."""
    connection = make_fake_connection(
        account, fake_vendor.make_app("rb-a"), fake_vendor.make_app("rb-b")
    )
    links = _links(connection, 2)
    with pytest.raises(RuntimeError), transaction.atomic():
        links[0].match_key = "rolled@example.com"
        update_rows(links, ["match_key"])
        raise RuntimeError("undo")
    assert RecordLink.objects.get(pk=links[0].pk).match_key == "p0@example.com"
    links[1].match_key = "kept@example.com"
    update_rows(links, ["match_key"])
    with transaction.atomic():
        links[0].match_key = "inside@example.com"
        update_rows(links, ["match_key"])
    keys = dict(RecordLink.objects.filter(connection=connection).values_list("pk", "match_key"))
    assert keys == {links[0].pk: "inside@example.com", links[1].pk: "kept@example.com"}


def test_update_rows_statements_do_not_grow_with_the_rows(fake_vendor, account) -> None:
    connection = make_fake_connection(
        account, fake_vendor.make_app("rows-a"), fake_vendor.make_app("rows-b")
    )
    counts = []
    for size in (3, 300):
        links = _links(connection, size)
        for link in links:
            link.dirty = True
        with CaptureQueriesContext(db) as queries:
            update_rows(links, ["dirty"])
        counts.append(len(queries))
        RecordLink.objects.filter(connection=connection).delete()
    assert counts[0] == counts[1], counts
    assert counts[0] <= 5, counts  # SQLite: one executemany; PostgreSQL: four statements


def _initial_sync_queries(fake_vendor: type[FakeConnector], account, records: int) -> int:
    """Statements of the initial sync of two apps of ``records`` contacts each, a third
    of them sharing an email (matched), the rest created on the other side."""
    a = fake_vendor.make_app(f"init{records}-a", page_size=20, batch_size=20)
    b = fake_vendor.make_app(f"init{records}-b", page_size=20, batch_size=20)
    shared = records // 3
    for i in range(records):
        a.add(email=f"p{i}@example.com", first_name=f"P{i}", phone=f"+39 02 {1000000 + i}")
        j = i if i < shared else records + i
        b.add(email=f"p{j}@example.com", first_name=f"P{j}", tags=["lead"] if i % 2 else [])
    connection = make_fake_connection(account, a, b)
    with CaptureQueriesContext(db) as queries:
        run = synced(connection, initial=True)
    links = 2 * records - shared
    assert run.counts["a_to_b"]["create"] == records - shared
    assert run.counts["b_to_a"]["create"] == records - shared
    assert RecordLink.objects.filter(connection=connection, dirty=False).count() == links
    return len(queries)


def test_initial_sync_queries_grow_with_pages_and_chunks_not_records(
    fake_vendor, account, monkeypatch
) -> None:
    """Pages of 20, chunks of 20 links: 60 contacts a side are 3 pages a side and 5
    chunks; 120 are 6 and 10. Every page and chunk adds the same few statements, and
    the records in them add none."""
    monkeypatch.setattr(run_module, "CHUNK", 20)
    small = _initial_sync_queries(fake_vendor, account, 60)
    large = _initial_sync_queries(fake_vendor, account, 120)
    pages_and_chunks = (6 + 6 + 10) - (3 + 3 + 5)
    per_unit = (large - small) / pages_and_chunks
    # Measured: about 7 statements per page or chunk on SQLite and on PostgreSQL (a
    # page's read, stage and progress; a chunk's read, journal, links, events, phone
    # index). One per record would add 120 here.
    assert per_unit <= 10, (small, large, per_unit)


def test_any_lookup_finds_what_in_finds(fake_vendor, account) -> None:
    """``__any`` (one array parameter on PostgreSQL) selects, excludes and updates the
    rows ``__in`` does, duplicates and None included, and an empty list matches none."""
    import sync.engine.bulk  # noqa: F401  (registers the lookup)

    connection = make_fake_connection(
        account, fake_vendor.make_app("any-a"), fake_vendor.make_app("any-b")
    )
    links = _links(connection, 6)
    of = RecordLink.objects.filter(connection=connection)
    ids = ["a1", "a3", "a3", None, "a5", "nope"]
    pks = [links[0].pk, links[2].pk, links[2].pk]
    for wanted, name in ((ids, "a_id"), (pks, "pk"), ([], "a_id"), (set(ids), "a_id")):

        def found(lookup: str, values=wanted, name=name) -> list[int]:
            return list(of.filter(**{f"{name}__{lookup}": values}).values_list("pk", flat=True))

        assert found("any") == found("in")
        kept = of.exclude(**{f"{name}__any": wanted}).values_list("pk", flat=True)
        assert list(kept) == list(
            of.exclude(**{f"{name}__in": wanted}).values_list("pk", flat=True)
        )
    assert of.filter(a_id__any=["a2", "a4"]).update(dirty=True) == 2
    assert sorted(of.filter(dirty=True).values_list("a_id", flat=True)) == ["a2", "a4"]
    with CaptureQueriesContext(db) as queries:
        list(of.filter(a_id__any=[f"a{i}" for i in range(500)]))
    if db.vendor == "postgresql":
        assert "ANY(" in queries[0]["sql"] and queries[0]["sql"].count("%s") == 0
