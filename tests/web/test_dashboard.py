"""Connection dashboard / activity monitor: state, live progress, pause and resume,
run now, activity counts."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sync.models import Connection, SyncEvent, SyncRun
from tests.web.conftest import EngineCalls


def live(client: Client, connection: Connection) -> str:
    return client.get(reverse("web:connection_live", args=[connection.pk])).content.decode()


def test_progress_bar_polls_while_the_initial_sync_runs(
    member_client: Client, connection: Connection
) -> None:
    run = SyncRun.objects.create(
        connection=connection,
        trigger="initial",
        status="running",
        phase="list_b",
        progress={"list_a": {"done": 40, "total": 40}, "list_b": {"done": 5, "total": 20}},
    )
    connection.current_run = run
    connection.state = "initial_sync"
    connection.save()
    page = live(member_client, connection)
    assert 'hx-trigger="every 1s"' in page
    assert "5 / 20" in page
    # list_a done (25%) + a quarter of list_b (6.25%) of four phases.
    assert 'aria-valuenow="31"' in page


def test_progress_bar_stops_polling_when_the_run_is_over(
    member_client: Client, connection: Connection
) -> None:
    run = SyncRun.objects.create(
        connection=connection,
        trigger="initial",
        status="succeeded",
        phase="write",
        finished_at=timezone.now(),
    )
    connection.current_run = run
    connection.save()
    page = live(member_client, connection)
    assert "hx-trigger" not in page
    assert 'aria-valuenow="100"' in page
    assert "Succeeded" in page


def test_dashboard_counts_new_contacts_updates_and_errors_by_period(
    member_client: Client, connection: Connection
) -> None:
    now = timezone.now()
    for _ in range(3):
        SyncEvent.objects.create(connection=connection, action="create", direction="a_to_b")
    SyncEvent.objects.create(
        connection=connection,
        action="create",
        direction="b_to_a",
        created_at=now - timedelta(days=3),
    )
    SyncEvent.objects.create(connection=connection, action="update", direction="b_to_a")
    SyncEvent.objects.create(
        connection=connection,
        action="update",
        direction="a_to_b",
        status="error",
        error="422 invalid email",
    )
    SyncEvent.objects.create(
        connection=connection, action="create", direction="a_to_b", status="preview"
    )  # a dry run's: not counted
    response = member_client.get(reverse("web:connection", args=[connection.pk]))
    day, week = response.context["day"], response.context["week"]
    assert day == {"created_a_to_b": 3, "created_b_to_a": 0, "updated": 2, "errors": 1}
    assert week["created_b_to_a"] == 1


def test_pause_and_resume(owner_client: Client, connection: Connection) -> None:
    owner_client.post(reverse("web:connection_pause", args=[connection.pk]))
    connection.refresh_from_db()
    assert connection.state == "paused"
    page = owner_client.get(reverse("web:connection", args=[connection.pk])).content.decode()
    assert ">Resume<" in page
    SyncRun.objects.create(connection=connection, trigger="initial", status="succeeded")
    owner_client.post(reverse("web:connection_resume", args=[connection.pk]))
    connection.refresh_from_db()
    assert connection.state == "active"
    assert connection.next_run_at is not None and connection.next_run_at <= timezone.now()


def test_resume_before_the_initial_sync_finished_goes_back_to_it(
    owner_client: Client, connection: Connection
) -> None:
    connection.state = "paused"
    connection.save()
    owner_client.post(reverse("web:connection_resume", args=[connection.pk]))
    connection.refresh_from_db()
    assert connection.state == "initial_sync"


def test_run_now_queues_a_manual_run(
    owner_client: Client, connection: Connection, engine_calls: EngineCalls
) -> None:
    owner_client.post(reverse("web:connection_run", args=[connection.pk]))
    assert engine_calls.calls == [("enqueue_run", (connection, "manual"), {})]


def test_paused_connection_does_not_run_now(
    owner_client: Client, connection: Connection, engine_calls: EngineCalls
) -> None:
    connection.state = "paused"
    connection.save()
    owner_client.post(reverse("web:connection_run", args=[connection.pk]))
    assert engine_calls.calls == []


def test_member_sees_the_dashboard_without_buttons(
    member_client: Client, connection: Connection
) -> None:
    page = member_client.get(reverse("web:connection", args=[connection.pk])).content.decode()
    assert "CRM ⇄ newsletter" in page
    assert ">Pause<" not in page


def test_connection_list_has_an_empty_state(owner_client: Client) -> None:
    page = owner_client.get(reverse("web:connections")).content.decode()
    assert "No connection yet" in page


def test_deleting_a_connection_asks_first(owner_client: Client, connection: Connection) -> None:
    url = reverse("web:connection_delete", args=[connection.pk])
    assert "No contact is changed" in owner_client.get(url).content.decode()
    owner_client.post(url)
    assert not Connection.objects.filter(pk=connection.pk).exists()
