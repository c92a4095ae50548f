"""Writes of both sides at once (issue 18 point 6): each side's pushes go out in a writer
thread of its own, chunks queued on a side share a push, and a side that failed sends
nothing more."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from connectors.base import Change, ConnectorError, Result
from sync.engine import run as run_module
from sync.engine.writers import NotSent, SideWriter
from sync.models import RecordLink, SyncEvent
from tests.engine.support import sync, synced
from tests.plugins.fake import make_fake_connection


def test_the_two_sides_are_written_at_once(fake_apps: Any, account: Any) -> None:
    a, b = fake_apps
    for n in range(20):
        a.add(email=f"a{n}@example.com", first_name=f"A{n}")
        b.add(email=f"b{n}@example.com", first_name=f"B{n}")
    connection = make_fake_connection(account, a, b)
    lock = threading.Lock()
    in_flight, most = [0], [0]

    def push_slowly() -> None:
        # Counts the pushes under way across both apps while each takes 200 ms.
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.2)
        with lock:
            in_flight[0] -= 1

    a.on_push = b.on_push = push_slowly
    started = time.monotonic()
    synced(connection, trigger="initial", initial=True)

    assert most[0] == 2  # A's creates and B's were under way together
    assert time.monotonic() - started < 5
    assert RecordLink.objects.filter(connection=connection).count() == 40
    assert len(a.records) == len(b.records) == 40


def test_chunks_queued_on_a_side_go_in_one_push(
    fake_apps: Any, account: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_module, "CHUNK", 10)
    a, b = fake_apps
    b.batch_size = 100
    for n in range(40):
        a.add(email=f"a{n}@example.com", first_name=f"A{n}")
    connection = make_fake_connection(account, a, b)
    pushes: list[int] = []

    def push_slowly() -> None:
        pushes.append(b.writes)
        time.sleep(0.3)  # the next chunks queue up meanwhile

    b.on_push = push_slowly
    synced(connection, trigger="initial", initial=True)

    # Four chunks of ten, fewer pushes: chunks queued on B went in the same push.
    assert len(pushes) < 4
    assert len(b.records) == 40
    assert {r.fields["email"] for r in b.records.values()} == {
        f"a{n}@example.com" for n in range(40)
    }


def test_a_side_that_failed_sends_nothing_more() -> None:
    sent: list[list[str]] = []
    first_push_began, release = threading.Event(), threading.Event()

    def push(_connector: Any, _side: str, changes: list[Change], _before: Any) -> dict[str, Result]:
        sent.append([c.key for c in changes])
        first_push_began.set()
        release.wait(5)
        raise ConnectorError("HTTP 503: down")

    connector: Any = SimpleNamespace(capabilities=SimpleNamespace(batch_size=1))
    writer = SideWriter(connector, "b", push)
    try:
        first = writer.submit([Change("create", "1-b", fields={})])
        first_push_began.wait(5)
        second = writer.submit([Change("create", "2-b", fields={})])
        release.set()
        with pytest.raises(ConnectorError, match="503"):
            first.answers.result(5)
        with pytest.raises(NotSent):
            second.answers.result(5)
    finally:
        writer.close()
    assert sent == [["1-b"]]  # the second change never went out


def test_chunks_after_a_failed_write_are_left_as_they_were(
    fake_apps: Any, account: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_module, "CHUNK", 10)
    a, b = fake_apps
    b.batch_size, b.delay = 10, 0.2  # one push a chunk; the next chunks queue meanwhile
    b.crash_after_write.add(5)  # the first push fails (its answer lost after 5 writes)
    for n in range(40):
        a.add(email=f"a{n}@example.com", first_name=f"A{n}")
    connection = make_fake_connection(account, a, b)

    run = sync(connection, trigger="initial", initial=True)

    assert run.status == "failed"
    assert b.writes == 5  # nothing of the chunks queued behind the failed push went out
    links = RecordLink.objects.filter(connection=connection)
    assert links.exclude(last_error="").count() == 10  # the failed chunk's links only
    assert SyncEvent.objects.filter(run=run, action="error").count() == 10
    assert links.filter(dirty=True).count() == 40
    # The next run writes them all, the five whose answers were lost without a twin.
    synced(connection)
    assert sorted(r.fields["email"] for r in b.records.values()) == sorted(
        f"a{n}@example.com" for n in range(40)
    )
