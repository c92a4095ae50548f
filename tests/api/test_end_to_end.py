"""The API driving real runs: through the task queue (django-q2, synchronous under
tests), the engine and two fake apps; nothing recorded or stubbed between them."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from sync.models import Connection, ConnectionState, RunStatus
from tests.fakes.connector import FakeApp

URL = "/api/v1/connections/"


def test_run_now_copies_a_new_contact_and_journals_it(
    owner_api: APIClient, fake_connection: Connection, fake_apps: tuple[FakeApp, FakeApp]
) -> None:
    app_a, app_b = fake_apps
    app_a.add(email="ann@acme.test", first_name="Ann", last_name="Lee")
    response = owner_api.post(f"{URL}{fake_connection.pk}/sync/")
    assert response.status_code == 202
    assert response.json()["run"]["status"] == RunStatus.SUCCEEDED
    assert [app_b.get(rid)["first_name"] for rid in app_b.by_email("ann@acme.test")] == ["Ann"]
    events = owner_api.get(f"{URL}{fake_connection.pk}/events/?action=create").json()
    assert [e["label"] for e in events["results"]] == ["ann@acme.test"]


def test_preview_plans_without_writing(
    owner_api: APIClient, fake_connection: Connection, fake_apps: tuple[FakeApp, FakeApp]
) -> None:
    app_a, app_b = fake_apps
    app_a.add(email="bo@acme.test", first_name="Bo")
    Connection.objects.filter(pk=fake_connection.pk).update(state=ConnectionState.DRAFT)
    response = owner_api.post(f"{URL}{fake_connection.pk}/preview/")
    assert response.status_code == 202
    result: dict[str, Any] = owner_api.get(f"{URL}{fake_connection.pk}/preview/").json()
    assert result["dry_run"] is True
    assert result["preview"]["counts"]["a_to_b"]["create"] == 1
    assert app_b.by_email("bo@acme.test") == []


def test_undo_writes_the_old_values_back(
    owner_api: APIClient, fake_connection: Connection, fake_apps: tuple[FakeApp, FakeApp]
) -> None:
    app_a, app_b = fake_apps
    ann_a = app_a.add(email="ann@acme.test", first_name="Ann")
    owner_api.post(f"{URL}{fake_connection.pk}/sync/")
    (ann_b,) = app_b.by_email("ann@acme.test")
    app_a.edit(ann_a, first_name="Anna")
    run = owner_api.post(f"{URL}{fake_connection.pk}/sync/").json()["run"]
    assert app_b.get(ann_b)["first_name"] == "Anna"
    response = owner_api.post(f"/api/v1/runs/{run['id']}/undo/")
    assert (response.status_code, response.json()["trigger"]) == (201, "undo")
    assert app_b.get(ann_b)["first_name"] == "Ann"


def test_undo_while_a_run_holds_the_connection_fails_without_writing(
    owner_api: APIClient, fake_connection: Connection, fake_apps: tuple[FakeApp, FakeApp]
) -> None:
    fake_apps[0].add(email="ann@acme.test", first_name="Ann")
    run = owner_api.post(f"{URL}{fake_connection.pk}/sync/").json()["run"]
    assert Connection.objects.claim(fake_connection.pk, "another-worker")
    undo = owner_api.post(f"/api/v1/runs/{run['id']}/undo/").json()
    # The engine journals the refused undo as a failed run rather than raising.
    assert (undo["status"], undo["writes"]) == (RunStatus.FAILED, 0)
    assert "running" in undo["error"]
    assert len(fake_apps[1].by_email("ann@acme.test")) == 1


def test_conflict_is_listed_and_resolved_with_the_losing_value(
    owner_api: APIClient, fake_connection: Connection, fake_apps: tuple[FakeApp, FakeApp]
) -> None:
    app_a, app_b = fake_apps
    ann_a = app_a.add(email="ann@acme.test", company="Acme")
    owner_api.post(f"{URL}{fake_connection.pk}/sync/")
    (ann_b,) = app_b.by_email("ann@acme.test")
    app_a.edit(ann_a, company="Acme A")
    app_b.edit(ann_b, company="Acme B")  # the more recent edit wins
    owner_api.post(f"{URL}{fake_connection.pk}/sync/")
    (conflict,) = owner_api.get(f"{URL}{fake_connection.pk}/conflicts/").json()["results"]
    response = owner_api.post(
        f"{URL}{fake_connection.pk}/conflicts/{conflict['id']}/resolve/",
        {"use": "other"},
        format="json",
    )
    assert response.json()["status"] == "resolved"
    assert (app_a.get(ann_a)["company"], app_b.get(ann_b)["company"]) == ("Acme A", "Acme A")
