"""A value no database can store (a NUL character, a lone surrogate) is cleaned at the
edge: it used to fail every run of its connection on PostgreSQL, so no contact synced."""

from __future__ import annotations

from connectors.base import Page, Record
from sync.engine.edge import clean_page
from tests.engine.support import synced


def test_a_nul_in_a_name_or_id_does_not_stop_the_run(fake_apps, fake_connection):
    a, b = fake_apps
    a.add(email="plain@example.com", first_name="Plain")
    a.add("id\x00with-nul", email="nul@example.com", first_name="Ma\x00rio", company="\ud800Acme")
    a.add(email="third@example.com", first_name="Third")
    run = synced(fake_connection, initial=True)
    assert run.status == "succeeded"
    names = sorted(b.get(rid)["first_name"] for rid in b.records)
    assert names == ["Mario", "Plain", "Third"]
    (mario,) = b.by_email("nul@example.com")
    assert b.get(mario)["company"] == "Acme"
    assert synced(fake_connection).writes == 0


def test_cleaning_leaves_clean_records_as_they_are():
    record = Record("1", None, {"first_name": "Zoë", "tags": ["a", "b"]})
    page = clean_page(Page(records=[record], deleted=["x", "\x00"]))
    assert page.records[0] is record
    assert page.deleted == ["x"]
    dirty = clean_page(Page(records=[Record("2", None, {"tags": ["a\x00", "b"], "k\x00": 1})]))
    assert dirty.records[0].fields == {"tags": ["a", "b"], "k": 1}
    assert clean_page(Page(records=[Record("\x00", None, {})])).records == []
