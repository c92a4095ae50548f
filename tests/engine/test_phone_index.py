"""Caller ID's phone index (sync/lookup.py) follows the links a run settles: the links a
run makes are indexed without looking for entries they cannot have yet, and a number
that changes later replaces its entry."""

from __future__ import annotations

from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from sync.models import PhoneEntry
from tests.engine.support import synced
from tests.fakes.connector import FakeConnector
from tests.plugins.fake import make_fake_connection


def numbers_of(connection) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    entries = PhoneEntry.objects.filter(link__connection=connection)
    return sorted(entries.values_list("side", "phone"))


def test_an_initial_sync_indexes_each_number_without_deleting_any(
    fake_vendor: type[FakeConnector], account
) -> None:
    a, b = fake_vendor.make_app("idx-a"), fake_vendor.make_app("idx-b")
    connection = make_fake_connection(account, a, b, default_phone_country="IT")
    for i in range(3):
        a.add(email=f"p{i}@example.com", first_name=f"P{i}", phone=f"02 1234 567{i}")
    with CaptureQueriesContext(db) as queries:
        synced(connection, initial=True)
    deletes = [q["sql"] for q in queries if q["sql"].startswith('DELETE FROM "sync_phoneentry"')]
    assert deletes == []  # every link is the run's own: it has no entries to replace
    expected = [(side, f"+39021234567{i}") for i in range(3) for side in ("a", "b")]
    assert numbers_of(connection) == sorted(expected)


def test_a_changed_number_replaces_its_entries_on_the_next_run(
    fake_vendor: type[FakeConnector], account
) -> None:
    a, b = fake_vendor.make_app("idx2-a"), fake_vendor.make_app("idx2-b")
    connection = make_fake_connection(account, a, b, default_phone_country="IT")
    first = a.add(email="p0@example.com", first_name="P0", phone="02 1234 5670")
    a.add(email="p1@example.com", first_name="P1", phone="02 1234 5671")
    synced(connection, initial=True)
    a.edit(first, phone="02 7654 3210")
    synced(connection)
    synced(connection)  # reads back its own write to B
    assert numbers_of(connection) == [
        ("a", "+390212345671"),
        ("a", "+390276543210"),
        ("b", "+390212345671"),
        ("b", "+390276543210"),
    ]
