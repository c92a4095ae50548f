"""Conflicts, deletions awaiting review, and undo."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from sync.models import Connection, SyncEvent, SyncRun
from tests.web.conftest import EngineCalls


def conflict(connection: Connection) -> SyncEvent:
    return SyncEvent.objects.create(
        connection=connection,
        action="conflict",
        direction="a_to_b",
        label="ann@x.test",
        changes={"phone": {"old": "+3211", "new": "+3222", "lost": "+3233"}},
    )


def test_conflicts_show_the_kept_and_the_lost_value(
    member_client: Client, connection: Connection
) -> None:
    conflict(connection)
    page = member_client.get(reverse("web:conflicts", args=[connection.pk])).content.decode()
    assert "+3222" in page and "+3233" in page
    assert "Use the other value" not in page  # members watch


def test_owner_applies_the_other_value(
    owner_client: Client, connection: Connection, engine_calls: EngineCalls
) -> None:
    event = conflict(connection)
    owner_client.post(reverse("web:conflict_resolve", args=[connection.pk, event.pk]))
    assert engine_calls.calls == [("resolve_conflict", (event,), {"use": "other"})]


def test_member_cannot_resolve_a_conflict(
    member_client: Client, connection: Connection, engine_calls: EngineCalls
) -> None:
    event = conflict(connection)
    url = reverse("web:conflict_resolve", args=[connection.pk, event.pk])
    assert member_client.post(url).status_code == 403
    assert engine_calls.calls == []


def pending(connection: Connection, label: str) -> SyncEvent:
    return SyncEvent.objects.create(
        connection=connection,
        action="delete",
        direction="a_to_b",
        status="pending_review",
        label=label,
    )


def test_deletions_are_approved_in_bulk(
    owner_client: Client, connection: Connection, engine_calls: EngineCalls
) -> None:
    first, second, _third = (pending(connection, f"p{n}@x") for n in range(3))
    owner_client.post(
        reverse("web:deletions", args=[connection.pk]),
        {"event": [first.pk, second.pk], "decision": "approve", "confirm": "1"},
    )
    ((name, (events,), kwargs),) = engine_calls.calls
    assert name == "review_deletions"
    assert {e.pk for e in events} == {first.pk, second.pk}
    assert kwargs == {"approve": True}


def test_deletions_are_dismissed(
    owner_client: Client, connection: Connection, engine_calls: EngineCalls
) -> None:
    event = pending(connection, "p@x")
    owner_client.post(
        reverse("web:deletions", args=[connection.pk]), {"event": [event.pk], "decision": "dismiss"}
    )
    assert engine_calls.calls[0][2] == {"approve": False}


def test_review_ignores_another_tenants_events(
    owner_client: Client,
    connection: Connection,
    foreign_connection: Connection,
    engine_calls: EngineCalls,
) -> None:
    foreign = pending(foreign_connection, "theirs@x")
    response = owner_client.post(
        reverse("web:deletions", args=[connection.pk]),
        {"event": [foreign.pk], "decision": "approve"},
        follow=True,
    )
    assert engine_calls.calls == []
    assert "Tick at least one deletion" in response.content.decode()


def test_member_cannot_review_deletions(
    member_client: Client, connection: Connection, engine_calls: EngineCalls
) -> None:
    event = pending(connection, "p@x")
    response = member_client.post(
        reverse("web:deletions", args=[connection.pk]), {"event": [event.pk], "decision": "approve"}
    )
    assert response.status_code == 403
    assert engine_calls.calls == []


def test_undo_asks_for_confirmation_then_undoes(
    owner_client: Client, connection: Connection, engine_calls: EngineCalls
) -> None:
    run = SyncRun.objects.create(
        connection=connection, trigger="manual", status="succeeded", writes=1
    )
    SyncEvent.objects.create(
        connection=connection,
        run=run,
        action="update",
        label="a@x",
        changes={"city": {"old": "Gent", "new": "Brugge"}},
    )
    url = reverse("web:run_undo", args=[connection.pk, run.pk])
    page = owner_client.get(url).content.decode()
    assert "Undo this run" in page and "Gent" in page
    assert engine_calls.calls == []
    owner_client.post(url)
    assert engine_calls.calls == [("undo_run", (run,), {})]


def test_a_preview_cannot_be_undone(
    owner_client: Client, connection: Connection, engine_calls: EngineCalls
) -> None:
    run = SyncRun.objects.create(connection=connection, trigger="preview", dry_run=True)
    response = owner_client.post(reverse("web:run_undo", args=[connection.pk, run.pk]))
    assert response.status_code == 400
    assert engine_calls.calls == []
