"""Runs (preview, run now, progress, undo) and the journal (events, stats, conflicts,
deletions awaiting review) of a connection."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

import sync.engine
from sync.models import (
    Connection,
    ConnectionState,
    EventAction,
    EventStatus,
    SyncEvent,
    SyncRun,
    Trigger,
)

URL = "/api/v1/connections/"
RUNS = "/api/v1/runs/"


def event(connection: Connection, **fields: Any) -> SyncEvent:
    defaults: dict[str, Any] = {"action": EventAction.UPDATE, "direction": "a_to_b"}
    return SyncEvent.objects.create(connection=connection, **{**defaults, **fields})


@pytest.fixture
def finished_run(connection: Connection) -> SyncRun:
    return SyncRun.objects.create(
        connection=connection,
        trigger=Trigger.SCHEDULE,
        status="succeeded",
        phase="done",
        progress={"write": {"done": 3, "total": 3}},
        counts={"a_to_b": {"create": 2, "update": 1}},
        started_at=timezone.now() - timedelta(seconds=5),
        finished_at=timezone.now(),
    )


@pytest.fixture
def engine_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Records calls into the engine's entry points (the engine has its own tests)."""
    calls: list[tuple[str, Any]] = []

    def undo_run(run: SyncRun) -> SyncRun:
        calls.append(("undo_run", run.pk))
        return SyncRun.objects.create(connection=run.connection, trigger=Trigger.UNDO, undo_of=run)

    def resolve_conflict(conflict: SyncEvent, use: str = "other") -> None:
        calls.append(("resolve_conflict", (conflict.pk, use)))
        SyncEvent.objects.filter(pk=conflict.pk).update(status=EventStatus.RESOLVED)

    def review_deletions(events: list[SyncEvent], approve: bool) -> None:
        calls.append(("review_deletions", (sorted(e.pk for e in events), approve)))

    for function in (undo_run, resolve_conflict, review_deletions):
        monkeypatch.setattr(sync.engine, function.__name__, function, raising=False)
    return calls


# --- preview and run now


def test_owner_starts_a_preview(
    owner_api: APIClient, connection: Connection, queued: list[tuple[int, str]]
) -> None:
    response = owner_api.post(f"{URL}{connection.pk}/preview/")
    assert response.status_code == 202
    assert queued == [(connection.pk, Trigger.PREVIEW)]
    assert response.json()["run"]["dry_run"] is True


def test_preview_result_is_the_latest_dry_run(owner_api: APIClient, connection: Connection) -> None:
    SyncRun.objects.create(
        connection=connection,
        trigger=Trigger.PREVIEW,
        dry_run=True,
        preview={"a_to_b": {"create": {"count": 4, "samples": []}}},
    )
    response = owner_api.get(f"{URL}{connection.pk}/preview/")
    assert response.json()["preview"]["a_to_b"]["create"]["count"] == 4


def test_preview_result_before_any_preview_is_not_found(
    owner_api: APIClient, connection: Connection
) -> None:
    assert owner_api.get(f"{URL}{connection.pk}/preview/").status_code == 404


def test_member_cannot_start_a_preview(
    member_api: APIClient, connection: Connection, queued: list[tuple[int, str]]
) -> None:
    assert member_api.post(f"{URL}{connection.pk}/preview/").status_code == 403
    assert queued == []


def test_owner_runs_a_connection_now(
    owner_api: APIClient, connection: Connection, queued: list[tuple[int, str]]
) -> None:
    response = owner_api.post(f"{URL}{connection.pk}/sync/")
    assert response.status_code == 202
    assert queued == [(connection.pk, Trigger.MANUAL)]
    assert response.json()["run"]["status"] == "queued"


def test_first_run_of_a_new_connection_starts_the_initial_sync(
    owner_api: APIClient, connection: Connection, queued: list[tuple[int, str]]
) -> None:
    Connection.objects.filter(pk=connection.pk).update(state=ConnectionState.PREVIEWED)
    response = owner_api.post(f"{URL}{connection.pk}/sync/")
    assert response.json()["trigger"] == Trigger.INITIAL
    assert queued == [(connection.pk, Trigger.INITIAL)]
    connection.refresh_from_db()
    assert connection.state == ConnectionState.INITIAL_SYNC


def test_paused_connection_cannot_run_now(
    owner_api: APIClient, connection: Connection, queued: list[tuple[int, str]]
) -> None:
    Connection.objects.filter(pk=connection.pk).update(state=ConnectionState.PAUSED)
    assert owner_api.post(f"{URL}{connection.pk}/sync/").status_code == 409
    assert queued == []


def test_member_cannot_run_a_connection(
    member_api: APIClient, connection: Connection, queued: list[tuple[int, str]]
) -> None:
    assert member_api.post(f"{URL}{connection.pk}/sync/").status_code == 403
    assert queued == []


def test_outsider_cannot_run_acmes_connection(
    outsider_api: APIClient, connection: Connection, queued: list[tuple[int, str]]
) -> None:
    assert outsider_api.post(f"{URL}{connection.pk}/sync/").status_code == 404
    assert queued == []


# --- runs


def test_member_follows_a_runs_progress_and_counts(
    member_api: APIClient, connection: Connection, finished_run: SyncRun
) -> None:
    data = member_api.get(f"{RUNS}{finished_run.pk}/").json()
    assert data["progress"] == {"write": {"done": 3, "total": 3}}
    assert data["counts"]["a_to_b"]["create"] == 2
    assert data["duration_seconds"] == pytest.approx(5, abs=1)


def test_connection_lists_its_runs_newest_first(
    owner_api: APIClient, connection: Connection, finished_run: SyncRun
) -> None:
    newer = SyncRun.objects.create(connection=connection, trigger=Trigger.MANUAL)
    data = owner_api.get(f"{URL}{connection.pk}/runs/").json()
    assert [r["id"] for r in data["results"]] == [newer.pk, finished_run.pk]


def test_outsider_cannot_see_acmes_run(outsider_api: APIClient, finished_run: SyncRun) -> None:
    assert outsider_api.get(f"{RUNS}{finished_run.pk}/").status_code == 404
    assert outsider_api.get(RUNS).json()["count"] == 0


def test_owner_undoes_a_run(
    owner_api: APIClient, finished_run: SyncRun, engine_calls: list[tuple[str, Any]]
) -> None:
    response = owner_api.post(f"{RUNS}{finished_run.pk}/undo/")
    assert response.status_code == 201
    assert response.json()["undo_of"] == finished_run.pk
    assert engine_calls == [("undo_run", finished_run.pk)]


def test_member_cannot_undo_a_run(
    member_api: APIClient, finished_run: SyncRun, engine_calls: list[tuple[str, Any]]
) -> None:
    assert member_api.post(f"{RUNS}{finished_run.pk}/undo/").status_code == 403
    assert engine_calls == []


def test_outsider_cannot_undo_acmes_run(
    outsider_api: APIClient, finished_run: SyncRun, engine_calls: list[tuple[str, Any]]
) -> None:
    assert outsider_api.post(f"{RUNS}{finished_run.pk}/undo/").status_code == 404
    assert engine_calls == []


def test_dry_run_cannot_be_undone(
    owner_api: APIClient, connection: Connection, engine_calls: list[tuple[str, Any]]
) -> None:
    dry = SyncRun.objects.create(connection=connection, trigger=Trigger.PREVIEW, dry_run=True)
    assert owner_api.post(f"{RUNS}{dry.pk}/undo/").status_code == 409
    assert engine_calls == []


# --- events and statistics


def test_events_show_the_last_100_newest_first(
    member_api: APIClient, connection: Connection
) -> None:
    SyncEvent.objects.bulk_create(
        SyncEvent(connection=connection, action=EventAction.CREATE, label=f"c{i}@acme.test")
        for i in range(120)
    )
    data = member_api.get(f"{URL}{connection.pk}/events/").json()
    assert (data["count"], len(data["results"])) == (120, 100)
    assert data["results"][0]["label"] == "c119@acme.test"


def test_events_filter_by_status_direction_and_action(
    owner_api: APIClient, connection: Connection
) -> None:
    wanted = event(connection, action=EventAction.ERROR, status=EventStatus.ERROR)
    event(connection, action=EventAction.ERROR, status=EventStatus.ERROR, direction="b_to_a")
    event(connection, action=EventAction.UPDATE)
    query = "status=error&direction=a_to_b&action=error"
    data = owner_api.get(f"{URL}{connection.pk}/events/?{query}").json()
    assert [e["id"] for e in data["results"]] == [wanted.pk]


def test_unknown_event_filter_value_is_a_clear_error(
    owner_api: APIClient, connection: Connection
) -> None:
    response = owner_api.get(f"{URL}{connection.pk}/events/?action=explode")
    assert response.status_code == 400
    assert "'explode' is not one of" in response.json()["action"][0]


def test_events_show_changed_fields_with_old_and_new_values(
    owner_api: APIClient, connection: Connection
) -> None:
    event(connection, changes={"first_name": {"old": "Ann", "new": "Anna"}})
    data = owner_api.get(f"{URL}{connection.pk}/events/").json()
    assert data["results"][0]["changes"] == {"first_name": {"old": "Ann", "new": "Anna"}}


def test_outsider_cannot_read_acmes_events(outsider_api: APIClient, connection: Connection) -> None:
    event(connection)
    assert outsider_api.get(f"{URL}{connection.pk}/events/").status_code == 404


def test_stats_count_actions_per_direction_per_day(
    member_api: APIClient, connection: Connection
) -> None:
    yesterday = timezone.now() - timedelta(days=1)
    event(connection, action=EventAction.CREATE, created_at=yesterday)
    event(connection, action=EventAction.CREATE, created_at=yesterday)
    event(connection, action=EventAction.UPDATE, direction="b_to_a")
    event(connection, action=EventAction.CREATE, status=EventStatus.PREVIEW)  # dry run
    rows = member_api.get(f"{URL}{connection.pk}/stats/?days=7").json()
    assert [(r["day"], r["direction"], r["action"], r["count"]) for r in rows] == [
        (yesterday.date().isoformat(), "a_to_b", "create", 2),
        (timezone.now().date().isoformat(), "b_to_a", "update", 1),
    ]


def test_stats_refuse_an_unreasonable_period(owner_api: APIClient, connection: Connection) -> None:
    response = owner_api.get(f"{URL}{connection.pk}/stats/?days=5000")
    assert response.status_code == 400
    assert "days" in response.json()


# --- conflicts and deletions


def test_conflicts_list_only_conflicts_with_the_losing_value(
    member_api: APIClient, connection: Connection
) -> None:
    event(connection, action=EventAction.CONFLICT, changes={"phone": {"new": "1", "lost": "2"}})
    event(connection, action=EventAction.UPDATE)
    data = member_api.get(f"{URL}{connection.pk}/conflicts/").json()
    assert [e["changes"]["phone"]["lost"] for e in data["results"]] == ["2"]


def test_owner_resolves_a_conflict_with_the_losing_value(
    owner_api: APIClient, connection: Connection, engine_calls: list[tuple[str, Any]]
) -> None:
    conflict = event(connection, action=EventAction.CONFLICT)
    response = owner_api.post(f"{URL}{connection.pk}/conflicts/{conflict.pk}/resolve/")
    assert response.status_code == 200
    assert response.json()["status"] == EventStatus.RESOLVED
    assert engine_calls == [("resolve_conflict", (conflict.pk, "other"))]


def test_member_cannot_resolve_a_conflict(
    member_api: APIClient, connection: Connection, engine_calls: list[tuple[str, Any]]
) -> None:
    conflict = event(connection, action=EventAction.CONFLICT)
    response = member_api.post(f"{URL}{connection.pk}/conflicts/{conflict.pk}/resolve/")
    assert response.status_code == 403
    assert engine_calls == []


def test_deletions_awaiting_review_are_listed(
    member_api: APIClient, connection: Connection
) -> None:
    pending = event(connection, action=EventAction.DELETE, status=EventStatus.PENDING_REVIEW)
    event(connection, action=EventAction.DELETE, status=EventStatus.OK)
    data = member_api.get(f"{URL}{connection.pk}/deletions/").json()
    assert [e["id"] for e in data["results"]] == [pending.pk]


def test_owner_approves_deletions(
    owner_api: APIClient, connection: Connection, engine_calls: list[tuple[str, Any]]
) -> None:
    pending = event(connection, action=EventAction.TRASH, status=EventStatus.PENDING_REVIEW)
    response = owner_api.post(
        f"{URL}{connection.pk}/deletions/approve/", {"ids": [pending.pk]}, format="json"
    )
    assert response.json() == {"count": 1}
    assert engine_calls == [("review_deletions", ([pending.pk], True))]


def test_owner_dismisses_deletions(
    owner_api: APIClient, connection: Connection, engine_calls: list[tuple[str, Any]]
) -> None:
    pending = event(connection, action=EventAction.DELETE, status=EventStatus.PENDING_REVIEW)
    owner_api.post(f"{URL}{connection.pk}/deletions/dismiss/", {"ids": [pending.pk]}, format="json")
    assert engine_calls == [("review_deletions", ([pending.pk], False))]


def test_deletion_ids_of_another_connection_are_refused(
    owner_api: APIClient, connection: Connection, engine_calls: list[tuple[str, Any]]
) -> None:
    other = Connection.objects.create(
        account=connection.account,
        name="Other",
        a_authorization=connection.a_authorization,
        b_authorization=connection.b_authorization,
    )
    foreign = event(other, action=EventAction.DELETE, status=EventStatus.PENDING_REVIEW)
    response = owner_api.post(
        f"{URL}{connection.pk}/deletions/approve/", {"ids": [foreign.pk]}, format="json"
    )
    assert response.status_code == 400
    assert str(foreign.pk) in response.json()["ids"][0]
    assert engine_calls == []


def test_member_cannot_approve_deletions(
    member_api: APIClient, connection: Connection, engine_calls: list[tuple[str, Any]]
) -> None:
    pending = event(connection, action=EventAction.DELETE, status=EventStatus.PENDING_REVIEW)
    response = member_api.post(
        f"{URL}{connection.pk}/deletions/approve/", {"ids": [pending.pk]}, format="json"
    )
    assert response.status_code == 403
    assert engine_calls == []


def test_outsider_cannot_approve_acmes_deletions(
    outsider_api: APIClient, connection: Connection, engine_calls: list[tuple[str, Any]]
) -> None:
    pending = event(connection, action=EventAction.DELETE, status=EventStatus.PENDING_REVIEW)
    response = outsider_api.post(
        f"{URL}{connection.pk}/deletions/approve/", {"ids": [pending.pk]}, format="json"
    )
    assert response.status_code == 404
    assert engine_calls == []
