"""Reads of both sides at once (issue 18): side B is read while side A is staged, and
its pages are still staged in order, after A's, as one run."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from functools import partial
from typing import Any, ClassVar

import pytest

from connectors import registry
from connectors.base import ConnectorError, Page, Record
from sync.models import AppAuthorization, RecordLink
from tests.engine.support import sync, synced
from tests.fakes.connector import FakeConnector
from tests.plugins.fake import make_fake_connection


def test_side_b_is_read_while_side_a_is_listed_and_staged(fake_apps: Any, account: Any) -> None:
    a, b = fake_apps
    a.page_size = b.page_size = 10
    a.delay = 0.1  # every call of A's takes 100 ms: its three pages 300 ms at least
    for n in range(30):
        a.add(email=f"a{n}@example.com", first_name=f"A{n}")
        b.add(email=f"b{n}@example.com", first_name=f"B{n}")
    connection = make_fake_connection(account, a, b)
    a_pages_read_when_b_started: list[int] = []
    b.on_fetch = lambda: a_pages_read_when_b_started.append(a.reads)

    synced(connection, trigger="initial", initial=True)

    # B's listing began before A's three pages were all read (one after the other, it
    # would have begun after them: 3).
    assert a_pages_read_when_b_started and a_pages_read_when_b_started[0] < 3
    # Everything read ahead was staged and synced: 30 + 30 on each side, 60 links.
    assert RecordLink.objects.filter(connection=connection).count() == 60
    assert len(a.records) == len(b.records) == 60
    assert {r.fields["email"] for r in a.records.values()} == {
        r.fields["email"] for r in b.records.values()
    }


class StubbedFake(FakeConnector):
    """The fake as GetResponse reads: list rows carry ids and times only (stubs), each
    contact's record comes from ``details``."""

    events: ClassVar[list[str]] = []

    def fetch(self, cursor: Any) -> Iterator[Page]:
        for page in super().fetch(cursor):
            stubs = [Record(r.id, r.updated_at, {}) for r in page.records]
            yield Page(
                records=[],
                stubs=stubs,
                deleted=page.deleted,
                cursor=page.cursor,
                complete=page.complete,
            )

    def details(self, ids: list[str]) -> list[Record]:
        self.events.append("details")
        time.sleep(0.2)  # the vendor's answers take a while: worth overlapping
        return [self._record(i) for i in ids if i in self.app.records]


def test_a_pages_details_are_read_while_the_page_before_is_staged(
    fake_apps: Any, account: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sync.engine import stage

    monkeypatch.setitem(registry.VENDORS, "stubbed", f"{__name__}.StubbedFake")
    StubbedFake.events = events = []
    staged = stage._stage_page

    def stage_page(ctx: Any, run: Any, side: str, *args: Any) -> None:
        staged(ctx, run, side, *args)
        events.append(f"staged {side}")

    monkeypatch.setattr(stage, "_stage_page", stage_page)
    a, b = fake_apps
    a.page_size = 10
    for n in range(30):
        a.add(email=f"a{n}@example.com", first_name=f"A{n}")
    connection = make_fake_connection(account, a, b)
    AppAuthorization.objects.filter(pk=connection.a_authorization_id).update(vendor="stubbed")

    synced(connection, trigger="initial", initial=True)

    listing = [e for e in events if e in ("details", "staged a")]
    # Three pages: the second page's details were asked before the first was staged
    # (one after the other: details, staged, details, staged...).
    assert listing[:3] == ["details", "details", "staged a"], listing
    assert listing.count("details") == 3 and listing.count("staged a") == 3
    assert len(b.records) == 30  # every contact's details reached the other side
    assert {r.fields["first_name"] for r in b.records.values()} == {f"A{n}" for n in range(30)}


# --- Both readers at once, their order, their failures (issue 18 point 4).


class ScriptedFake(FakeConnector):
    """The fake with a script per app (by store name): ``fail_after`` pages yielded
    before its read fails, and ``events`` of every read's start and end."""

    fail_after: ClassVar[dict[str, int]] = {}
    events: ClassVar[list[str]] = []

    def fetch(self, cursor: Any) -> Iterator[Page]:
        name = self.app.name
        self.events.append(f"fetch {name}")
        limit = self.fail_after.get(name)
        for number, page in enumerate(super().fetch(cursor)):
            if limit is not None and number >= limit:
                raise ConnectorError("HTTP 503: the listing broke off", status=503)
            yield page
        self.events.append(f"fetched {name}")


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> type[ScriptedFake]:
    monkeypatch.setitem(registry.VENDORS, "scripted", f"{__name__}.ScriptedFake")
    ScriptedFake.fail_after = {}
    ScriptedFake.events = []
    return ScriptedFake


def _scripted_connection(account: Any, a: Any, b: Any) -> Any:
    connection = make_fake_connection(account, a, b)
    AppAuthorization.objects.filter(
        pk__in=[connection.a_authorization_id, connection.b_authorization_id]
    ).update(vendor="scripted")
    return connection


def _staged_pages(
    monkeypatch: pytest.MonkeyPatch, slow_b: float = 0.0, log: list[str] | None = None
) -> list[tuple[str, Any]]:
    """What the run stages, page by page: (side, the page's record ids), in order;
    ``slow_b`` seconds more for each of B's pages; ``log`` gets "staged <side>"."""
    from sync.engine import stage

    staged: list[tuple[str, Any]] = []
    original = stage._stage_page

    def stage_page(ctx: Any, run: Any, side: str, page: Page, *args: Any) -> None:
        original(ctx, run, side, page, *args)
        staged.append((side, [r.id for r in page.records]))
        if log is not None:
            log.append(f"staged {side}")
        if side == "b" and slow_b:
            time.sleep(slow_b)

    monkeypatch.setattr(stage, "_stage_page", stage_page)
    return staged


def _readers_alive() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "read-ahead" and t.is_alive()]


def test_both_sides_reads_are_under_way_at_once(
    fake_apps: Any, account: Any, scripted: type[ScriptedFake]
) -> None:
    a, b = fake_apps
    for n in range(20):
        a.add(email=f"a{n}@example.com")
        b.add(email=f"b{n}@example.com")
    # Each side's first read waits until the other's has begun: read one after the
    # other, the first would wait in vain and the barrier break (after 10 s, no hang).
    barrier = threading.Barrier(2, timeout=10)
    met: set[str] = set()

    def meet(name: str) -> None:
        if name not in met:
            met.add(name)
            barrier.wait()

    a.on_fetch, b.on_fetch = partial(meet, "a"), partial(meet, "b")
    connection = _scripted_connection(account, a, b)

    synced(connection, trigger="initial", initial=True)

    assert met == {"a", "b"} and not barrier.broken
    assert len(a.records) == len(b.records) == 40


def test_side_b_pages_are_staged_in_their_order_after_a_s(
    fake_apps: Any, account: Any, scripted: type[ScriptedFake], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sync.engine import run as run_module

    monkeypatch.setattr(run_module, "RECORDS_AHEAD", 10)  # one page held at a time
    staged = _staged_pages(monkeypatch)
    a, b = fake_apps
    a.page_size = b.page_size = 10
    for n in range(20):
        a.add(email=f"a{n}@example.com")
    b_ids = [b.add(email=f"b{n}@example.com") for n in range(50)]
    connection = _scripted_connection(account, a, b)

    synced(connection, trigger="initial", initial=True)

    sides = [side for side, _ids in staged]
    assert sides == ["a"] * 2 + ["b"] * 5 + ["a"]  # (the last: A's catch-up read)
    listed = sorted(b_ids)  # the fake lists by id
    assert [ids for side, ids in staged if side == "b"] == [
        listed[i : i + 10] for i in range(0, 50, 10)
    ]
    assert len(a.records) == 70 and not _readers_alive()


def test_a_failing_read_of_b_ends_the_run_and_b_s_cursor_stays_at_its_last_staged_page(
    fake_apps: Any, account: Any, scripted: type[ScriptedFake], monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = _staged_pages(monkeypatch)
    a, b = fake_apps
    a.page_size = b.page_size = 10
    connection = _scripted_connection(account, a, b)
    a.add(email="first@example.com")
    synced(connection, trigger="initial", initial=True)
    for n in range(30):
        b.add(email=f"b{n}@example.com")
    start = connection.cursor_b
    scripted.fail_after = {"b": 1}  # B's delta: its first page, then a failure
    staged.clear()

    run = sync(connection)

    assert run.status == "failed" and "broke off" in run.error
    # B's cursor moved no further than its pages staged before the run stopped: none
    # (the failure ended the run while A was staged) or the one read before it.
    first_page_end = sorted(r.seq for r in b.records.values())[9]
    b_pages = [side for side, _ids in staged].count("b")
    assert b_pages in (0, 1)
    assert connection.cursor_b == (first_page_end if b_pages else start)
    assert len(a.records) == 1  # nothing written
    assert not _readers_alive()

    scripted.fail_after = {}
    synced(connection)
    assert len(a.records) == 31  # the next run reads on from there


def test_b_s_failure_stops_the_staging_of_a(
    fake_apps: Any, account: Any, scripted: type[ScriptedFake]
) -> None:
    a, b = fake_apps
    a.page_size = 10
    a.delay = 0.05  # A's ten pages: half a second at least
    for n in range(100):
        a.add(email=f"a{n}@example.com")
    b.add(email="b@example.com")
    scripted.fail_after = {"b": 0}
    connection = _scripted_connection(account, a, b)

    run = sync(connection, trigger="initial", initial=True)

    assert run.status == "failed" and "broke off" in run.error
    assert a.reads < 10  # A was not listed to its end for a run that had failed
    assert RecordLink.objects.filter(connection=connection, b_id__isnull=False).count() == 0
    assert len(b.records) == 1 and not _readers_alive()


def test_a_s_failure_stops_b_s_reader(
    fake_apps: Any, account: Any, scripted: type[ScriptedFake], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sync.engine import run as run_module

    monkeypatch.setattr(run_module, "RECORDS_AHEAD", 10)
    a, b = fake_apps
    b.page_size = 10
    b.delay = 0.02
    a.add(email="a@example.com")
    for n in range(300):
        b.add(email=f"b{n}@example.com")
    scripted.fail_after = {"a": 0}
    connection = _scripted_connection(account, a, b)

    run = sync(connection, trigger="initial", initial=True)

    assert run.status == "failed" and "broke off" in run.error
    assert b.reads < 30  # B's reader stopped with the run, not at the end of its listing
    assert not _readers_alive()
    assert len(a.records) == 1 and not RecordLink.objects.filter(connection=connection).exists()


def test_the_catch_up_read_of_a_starts_when_b_s_read_ends_before_its_staging_does(
    fake_apps: Any, account: Any, scripted: type[ScriptedFake], monkeypatch: pytest.MonkeyPatch
) -> None:
    events = scripted.events
    staged = _staged_pages(monkeypatch, slow_b=0.1, log=events)  # B's staging lags
    a, b = fake_apps
    b.page_size = 10
    a.add(email="a@example.com")
    for n in range(50):
        b.add(email=f"b{n}@example.com")
    connection = _scripted_connection(account, a, b)

    synced(connection, trigger="initial", initial=True)

    # A's catch-up read (its second) began after B's read had ended, and before the
    # last of B's pages was staged.
    catch_up = [i for i, e in enumerate(events) if e == "fetch a"][1]
    last_b_page = max(i for i, e in enumerate(events) if e == "staged b")
    assert events.index("fetched b") < catch_up < last_b_page, events
    assert [side for side, _ids in staged].count("b") == 5
    assert len(a.records) == 51 and not _readers_alive()
