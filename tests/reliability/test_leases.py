"""Runs longer than their lease, runs whose worker died, and the claim between them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from sync.engine.apply import Applier
from sync.engine.claim import close_stale_runs
from sync.models import Connection, RunStatus, SyncRun
from tests.engine.support import sync


def on_the_runs_thread(monkeypatch: pytest.MonkeyPatch, hook: Callable[[], None]) -> None:
    """Call ``hook`` on the run's thread while it waits for its writes (the writes go
    out in writer threads, which never touch the database: sync/engine/writers.py)."""
    serve = Applier.serve

    def serve_and_hook(applier: Applier) -> None:
        hook()
        serve(applier)

    monkeypatch.setattr(Applier, "serve", serve_and_hook)


def test_a_run_longer_than_its_lease_keeps_the_connection(
    fake_apps, fake_connection, settings, monkeypatch
):
    settings.SYNC_LEASE_SECONDS = 1
    a, b = fake_apps
    b.batch_size, b.delay = 1, 0.15
    for n in range(12):
        a.add(email=f"p{n}@example.com")
    intruders: list[bool] = []
    on_the_runs_thread(
        monkeypatch,
        lambda: intruders.append(Connection.objects.claim(fake_connection.pk, "intruder")),
    )
    run = sync(fake_connection, initial=True)  # about 1.8 s: longer than the lease
    assert run.status == "succeeded", run.error
    assert len(intruders) >= 12 and not any(intruders)  # nobody else ever got the claim
    assert len(b.records) == 12


def test_a_run_that_lost_its_claim_stops_before_its_next_write(
    fake_apps, fake_connection, settings, monkeypatch
):
    settings.SYNC_LEASE_SECONDS = 1
    a, b = fake_apps
    b.batch_size, b.delay = 1, 0.3
    for n in range(10):
        a.add(email=f"p{n}@example.com")

    taken: list[bool] = []

    def taken_over() -> None:
        if b.writes == 3 and not taken:  # the run stalls past its lease; another worker claims
            Connection.objects.filter(pk=fake_connection.pk).update(
                claimed_by="other-worker", claimed_until=timezone.now() + timedelta(hours=1)
            )
            taken.append(True)

    on_the_runs_thread(monkeypatch, taken_over)
    run = sync(fake_connection, initial=True)
    assert run.status == RunStatus.ABORTED
    assert "took the connection over" in run.error
    written = b.writes
    assert written <= 5  # at most the batch under way when the claim went, never the rest
    # What it did write is linked, so the run that took over creates nothing twice.
    Connection.objects.filter(pk=fake_connection.pk).update(claimed_by="", claimed_until=None)
    assert sync(fake_connection).status == "succeeded"
    assert len(b.records) == 10
    assert sorted(len(b.by_email(f"p{n}@example.com")) for n in range(10)) == [1] * 10


def test_a_run_whose_worker_died_is_closed_when_the_claim_goes_stale(fake_apps, fake_connection):
    a, _b = fake_apps
    a.add(email="one@example.com")
    dead = SyncRun.objects.create(
        connection=fake_connection, trigger="initial", status=RunStatus.RUNNING
    )
    Connection.objects.filter(pk=fake_connection.pk).update(
        claimed_by="dead-worker",
        claimed_until=timezone.now() - timedelta(seconds=1),
        current_run=dead,
    )
    assert close_stale_runs() == 1
    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED and "worker stopped" in dead.error
    # And a new run taking over closes any left behind as well.
    other = SyncRun.objects.create(
        connection=fake_connection, trigger="schedule", status=RunStatus.RUNNING
    )
    run = sync(fake_connection)
    other.refresh_from_db()
    assert other.status == RunStatus.FAILED and f"run {run.pk} took over" in other.error
    assert run.status == "succeeded"
