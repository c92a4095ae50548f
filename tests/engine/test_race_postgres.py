"""Two workers racing on one connection: exactly one runs (PostgreSQL, real threads)."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connection as db_connection

from sync.engine import run_connection
from sync.models import Connection
from tests.plugins.fake import make_fake_connection

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL (set DATABASE_URL); CI runs it there",
    ),
]


def in_threads(count: int, work) -> list:
    """Run ``work(i)`` in ``count`` threads released together; return their results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = work(i)
        finally:
            db_connection.close()  # each thread has its own database connection

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_only_one_of_many_claimants_gets_the_connection(fake_apps, account):
    connection = make_fake_connection(account, *fake_apps)
    won = in_threads(8, lambda i: Connection.objects.claim(connection.pk, f"worker-{i}"))
    assert won.count(True) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_on_one_connection_run_it_once(fake_apps, account):
    a, b = fake_apps
    a.delay = b.delay = 0.2  # every vendor call is slow, so the runs would overlap
    connection = make_fake_connection(account, a, b)
    for n in range(3):
        a.add(email=f"p{n}@example.com")
    runs = in_threads(2, lambda i: run_connection(connection.pk, "schedule", worker=f"w{i}"))
    assert sorted(run.status for run in runs) == ["aborted", "succeeded"]
    assert len(b.records) == 3
    connection.refresh_from_db()
    assert connection.claimed_by == ""
