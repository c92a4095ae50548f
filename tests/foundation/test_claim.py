"""Claiming a connection: one run per connection at a time, even when several workers
race for it (DESIGN.md section 4, step 1)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.db import connections
from django.utils import timezone

from sync.models import Account, Connection
from tests.foundation.conftest import make_connection

RACERS = 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_claims_let_exactly_one_worker_win(account: Account) -> None:
    if db_connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://…")
    connection = make_connection(account)
    start = threading.Barrier(RACERS, timeout=30)
    wins: dict[str, bool] = {}

    def claim(worker: str) -> None:
        try:
            Connection.objects.filter(pk=connection.pk).exists()  # open this thread's DB session
            start.wait()  # then all claim at once
            wins[worker] = Connection.objects.claim(connection.pk, worker)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(f"worker-{i}",)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    winners = [worker for worker, won in wins.items() if won]
    assert len(wins) == RACERS
    assert len(winners) == 1
    connection.refresh_from_db()
    assert connection.claimed_by == winners[0]


@pytest.mark.django_db
def test_a_held_claim_blocks_a_second_worker(connection: Connection) -> None:
    assert Connection.objects.claim(connection.pk, "worker-1")

    assert not Connection.objects.claim(connection.pk, "worker-2")


@pytest.mark.django_db
def test_a_stale_claim_can_be_taken_over(connection: Connection) -> None:
    Connection.objects.filter(pk=connection.pk).update(
        claimed_by="crashed-worker", claimed_until=timezone.now() - timedelta(seconds=1)
    )

    assert Connection.objects.claim(connection.pk, "worker-2")
    connection.refresh_from_db()
    assert connection.claimed_by == "worker-2"


@pytest.mark.django_db
def test_only_the_holder_releases_a_claim(connection: Connection) -> None:
    Connection.objects.claim(connection.pk, "worker-1")

    assert not Connection.objects.release(connection.pk, "worker-2")
    assert Connection.objects.release(connection.pk, "worker-1")
    assert Connection.objects.claim(connection.pk, "worker-2")
