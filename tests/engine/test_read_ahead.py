"""Reads of both sides at once (issue 18): side B is read while side A is staged, and
its pages are still staged in order, after A's, as one run."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from connectors import registry
from connectors.base import Page, Record
from sync.models import AppAuthorization, RecordLink
from tests.engine.support import synced
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
