"""The ops console: every registered model's pages load with data present, and the
connection actions (pause, resume, run now, full resync) do what they say."""

from __future__ import annotations

import re
import sys
import types
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.db import connection as db_connection
from django.db import models
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ, Schedule, Task
from django_q.signing import SignedPackage
from social_django.models import Association, Nonce, UserSocialAuth

from sync.models import Connection, ConnectionState, RunStatus, SyncEvent, Trigger
from sync.paginators import EstimatedCountPaginator
from tests.foundation.conftest import SECRET, populate

pytestmark = pytest.mark.django_db

REGISTERED = sorted(admin.site._registry, key=lambda m: m._meta.label)


def admin_url(model: type[models.Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def everything(connection: Connection, owner: Any, admin_user: Any) -> Connection:
    """At least one row of every model the ops console shows."""
    populate(connection, owner)
    Schedule.objects.create(func="math.floor", args="1", schedule_type=Schedule.MINUTES, minutes=1)
    now = timezone.now()
    for success in (True, False):  # Success and Failure are proxies of Task
        Task.objects.create(
            id=uuid.uuid4().hex, name=f"run-{success}", func="math.floor", started=now,
            stopped=now, success=success,
        )  # fmt: skip
    OrmQ.objects.create(
        key="contactsync",
        payload=SignedPackage.dumps({"id": uuid.uuid4().hex, "name": "q", "func": "math.floor"}),
    )
    Nonce.objects.create(server_url="https://id.example.com", timestamp=0, salt="s")
    Association.objects.create(
        server_url="https://id.example.com", handle="h", secret="c2VjcmV0", issued=0,
        lifetime=60, assoc_type="HMAC-SHA1",
    )  # fmt: skip
    UserSocialAuth.objects.create(
        user=owner, provider="google-oauth2", uid="alice", extra_data={"access_token": SECRET}
    )
    from django.contrib.auth.models import Group

    Group.objects.create(name="ops")
    return connection


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_admin_pages_load_for_every_model(
    model: type[models.Model], everything: Connection, admin_client: Client
) -> None:
    model_admin = admin.site._registry[model]
    row = model._default_manager.first()
    assert row is not None, f"the fixture should have made a {model._meta.label}"

    changelist = admin_client.get(admin_url(model, "changelist"))
    change = admin_client.get(admin_url(model, "change", row.pk))
    add = admin_client.get(admin_url(model, "add"))

    assert changelist.status_code == 200
    assert change.status_code == 200
    request = changelist.wsgi_request
    assert add.status_code == (200 if model_admin.has_add_permission(request) else 403)


def test_admin_index_lists_the_task_queue(admin_client: Client) -> None:
    page = admin_client.get(reverse("admin:index")).content.decode()

    assert "Task queue" in page
    assert admin_url(Schedule, "changelist") in page
    assert admin_url(Connection, "changelist") in page


def test_tenant_users_cannot_open_the_ops_console(owner_client: Client) -> None:
    response = owner_client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_events_are_read_only(everything: Connection, admin_client: Client) -> None:
    event = SyncEvent.objects.first()
    page = admin_client.get(admin_url(SyncEvent, "change", event.pk)).content.decode()

    assert 'type="submit"' not in page.split('id="content-main"')[1]
    assert admin_client.post(admin_url(SyncEvent, "delete", event.pk)).status_code == 403


def test_event_list_never_counts_the_whole_table(
    everything: Connection, admin_client: Client
) -> None:
    with CaptureQueriesContext(db_connection) as queries:
        response = admin_client.get(admin_url(SyncEvent, "changelist"))

    counts = [q["sql"] for q in queries if re.search(r"COUNT\(", q["sql"])]
    assert response.status_code == 200
    assert counts, "the paginator should count (boundedly)"
    assert all("LIMIT" in sql for sql in counts if "sync_syncevent" in sql)


def test_paginator_caps_its_count(connection: Connection) -> None:
    SyncEvent.objects.bulk_create(
        SyncEvent(connection=connection, action="update") for _ in range(8)
    )

    class SmallCap(EstimatedCountPaginator):
        cap = 5

    # SQLite has no estimate, so the count stops at the cap; PostgreSQL's planner may say more.
    assert SmallCap(SyncEvent.objects.all(), 2).count >= 5
    assert EstimatedCountPaginator(SyncEvent.objects.all(), 2).count == 8


# --- Connection actions


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """Stands in for the engine's sync.tasks: records what the admin enqueues."""
    calls: list[tuple[int, str]] = []
    tasks = types.ModuleType("sync.tasks")
    tasks.enqueue_run = lambda connection, trigger: calls.append((connection.pk, trigger))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sync.tasks", tasks)
    return calls


def act(client: Client, action: str, *connections: Connection) -> Any:
    return client.post(
        admin_url(Connection, "changelist"),
        {"action": action, "_selected_action": [c.pk for c in connections]},
        follow=True,
    )


def test_pause_stops_a_connection(connection: Connection, admin_client: Client) -> None:
    Connection.objects.filter(pk=connection.pk).update(state=ConnectionState.ACTIVE)

    act(admin_client, "pause", connection)

    connection.refresh_from_db()
    assert connection.state == ConnectionState.PAUSED
    assert "ops console" in connection.state_reason


def test_resume_makes_a_paused_connection_due_now(
    connection: Connection, admin_client: Client
) -> None:
    Connection.objects.filter(pk=connection.pk).update(
        state=ConnectionState.PAUSED, last_run_at=timezone.now(), consecutive_failures=3
    )
    connection.runs.create(trigger=Trigger.INITIAL, status=RunStatus.SUCCEEDED)

    act(admin_client, "resume", connection)

    connection.refresh_from_db()
    assert connection.state == ConnectionState.ACTIVE
    assert connection.consecutive_failures == 0
    assert list(Connection.objects.due()) == [connection]


def test_resume_of_a_never_run_connection_restarts_its_initial_sync(
    connection: Connection, admin_client: Client
) -> None:
    Connection.objects.filter(pk=connection.pk).update(state=ConnectionState.ERROR)

    act(admin_client, "resume", connection)

    connection.refresh_from_db()
    assert connection.state == ConnectionState.INITIAL_SYNC


def test_run_now_enqueues_a_manual_run(
    connection: Connection, admin_client: Client, queued: list[tuple[int, str]]
) -> None:
    Connection.objects.filter(pk=connection.pk).update(state=ConnectionState.ACTIVE)

    response = act(admin_client, "run_now", connection)

    assert queued == [(connection.pk, Trigger.MANUAL)]
    assert "Queued 1 connection." in response.content.decode()
    connection.refresh_from_db()
    assert connection.next_run_at is None  # not due as well: the scheduler must not run it twice


def test_full_resync_forgets_cursors_and_enqueues_a_resync(
    connection: Connection, admin_client: Client, queued: list[tuple[int, str]]
) -> None:
    Connection.objects.filter(pk=connection.pk).update(
        state=ConnectionState.ACTIVE,
        cursor_a={"since": "2024-01-01"},
        cursor_b="page-9",
        next_run_at=timezone.now() + timedelta(hours=1),
    )

    act(admin_client, "full_resync", connection)

    connection.refresh_from_db()
    assert (connection.cursor_a, connection.cursor_b) == (None, None)
    assert connection.next_run_at <= timezone.now()
    assert queued == [(connection.pk, Trigger.RESYNC)]


def test_run_now_skips_paused_connections(
    connection: Connection, admin_client: Client, queued: list[tuple[int, str]]
) -> None:
    Connection.objects.filter(pk=connection.pk).update(state=ConnectionState.PAUSED)

    response = act(admin_client, "run_now", connection)

    assert queued == []
    assert "Skipped 1 connection: The connection is paused" in response.content.decode()


def test_run_now_without_the_task_module_only_schedules(
    connection: Connection, admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sync.tasks", None)  # import raises ImportError
    Connection.objects.filter(pk=connection.pk).update(state=ConnectionState.ACTIVE)

    response = act(admin_client, "run_now", connection)

    connection.refresh_from_db()
    assert connection.next_run_at <= timezone.now()
    assert "run at the next dispatch" in response.content.decode()
