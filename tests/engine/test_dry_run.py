"""The dry run is the planner without the applier (sync/engine/scratch.py): it stages and
plans in a scratch copy of the links, holds no transaction on the product's database
while it reads the apps, and leaves no trace there but its run."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from sync.engine import preview
from sync.engine.scratch import links_db
from sync.models import RecordLink, SyncEvent, SyncRun
from tests.engine.support import synced
from tests.plugins.fake import make_fake_connection


def _link_rows(connection: Any) -> list[tuple[Any, ...]]:
    return list(
        RecordLink.objects.filter(connection=connection)
        .order_by("pk")
        .values_list("pk", "a_id", "b_id", "a_hash", "b_hash", "a_pending", "b_pending", "dirty")
    )


@pytest.mark.django_db(transaction=True)
def test_a_dry_run_reads_the_apps_outside_any_transaction_of_the_product_database(
    fake_apps, account
):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b, state="draft")
    a.add(email="ann@example.com")
    b.add(email="bob@example.com")
    seen: list[tuple[bool, str, str]] = []

    def watch() -> None:
        # What holds while a side is being read: where the links go, whether the
        # product's database is inside a transaction, the phase the run shows.
        run = SyncRun.objects.get(connection=connection)
        seen.append((connections[DEFAULT_DB_ALIAS].in_atomic_block, links_db(), run.phase))

    a.on_fetch = b.on_fetch = watch
    run = preview(connection, initial=True)

    assert run.status == "succeeded"
    assert [in_transaction for in_transaction, _db, _phase in seen] == [False, False]
    assert all(db.startswith("scratch_") for _in, db, _phase in seen)
    assert [phase for _in, _db, phase in seen] == ["list_a", "list_b"]  # shown as it goes
    assert links_db() == DEFAULT_DB_ALIAS  # the scratch database is gone with the run
    assert not RecordLink.objects.filter(connection=connection).exists()


def test_a_dry_run_of_a_synced_connection_plans_from_its_links_and_changes_none(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b)
    ann = a.add(email="ann@example.com", first_name="Ann")
    b.add(email="bob@example.com", first_name="Bob")
    synced(connection, trigger="initial", initial=True)
    links, journal = _link_rows(connection), SyncEvent.objects.count()
    cursors = (connection.cursor_a, connection.cursor_b)
    a.edit(ann, first_name="Anna")
    writes = a.writes + b.writes

    run = preview(connection)
    connection.refresh_from_db()

    assert run.status == "succeeded", run.error
    # The links were copied into the scratch database: Ann is known, only her edit counts.
    assert run.preview["counts"] == {"a_to_b": {"update": 1}}
    sample = run.preview["samples"]["a_to_b"]["update"][0]
    assert sample["label"] == "ann@example.com"
    assert _link_rows(connection) == links  # nothing staged on the product's links
    assert SyncEvent.objects.count() == journal
    assert (connection.cursor_a, connection.cursor_b) == cursors
    assert a.writes + b.writes == writes
    assert b.get(b.by_email("ann@example.com")[0])["first_name"] == "Ann"
    # The real run that follows still sees the edit, and does what the preview said.
    assert synced(connection).counts == run.preview["counts"]


def test_a_failing_dry_run_leaves_nothing_behind_either(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b, state="draft")
    a.add(email="ann@example.com")
    b.add(email="bob@example.com")
    b.rate_limited_calls = 100  # side B fails after side A was staged

    run = preview(connection, initial=True)

    assert run.status == "failed" and "slow down" in run.error
    assert run.progress["list_a"] == {"done": 1}
    assert not RecordLink.objects.filter(connection=connection).exists()
    assert not SyncEvent.objects.filter(connection=connection).exists()
