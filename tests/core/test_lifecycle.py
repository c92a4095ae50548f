"""One lifecycle, three interfaces: every transition of sync/lifecycle.py gives the same
outcome whether the tenant pages, the REST API or the ops console asks for it, and the
same refusal in the same words when the connection's state does not allow it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sync.models import Connection, ConnectionState, RunStatus, Trigger
from tests.api.conftest import token_client

INTERFACES = ["pages", "api", "admin"]

# transition -> (web url name, API action, admin action)
ROUTES = {
    "pause": ("web:connection_pause", "pause", "pause"),
    "resume": ("web:connection_resume", "resume", "resume"),
    "start": ("web:connection_start", "start", "start"),
    "full_resync": ("web:connection_resync", "full_resync", "full_resync"),
    "confirm": ("web:connection_confirm", "confirm_mass_change", "confirm_mass_change"),
}


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Stands in at the task-queue seam: records each queued run's trigger and options."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def enqueue_run(connection: Connection, trigger: str, **options: Any) -> None:
        calls.append((trigger, options))

    monkeypatch.setattr("sync.tasks.enqueue_run", enqueue_run)
    return calls


def ask(
    interface: str, transition: str, connection: Connection, owner: Any, admin_client: Client
) -> str:
    """Ask for ``transition`` through ``interface``; the refusal it reported, or ''."""
    web_url, api_action, admin_action = ROUTES[transition]
    if interface == "pages":
        client = Client()
        client.force_login(owner)
        response = client.post(reverse(web_url, args=[connection.pk]))
        assert response.status_code == 302
        errors = [m.message for m in get_messages(response.wsgi_request) if m.level_tag == "error"]
        return " ".join(errors)
    if interface == "api":
        api = token_client(owner, connection.account)
        response = api.post(f"/api/v1/connections/{connection.pk}/{api_action}/")
        if response.status_code == 409:
            return str(response.json()["detail"])
        assert response.status_code in (200, 202), response.content
        return ""
    response = admin_client.post(
        reverse("admin:sync_connection_changelist"),
        {"action": admin_action, "_selected_action": [connection.pk]},
        follow=True,
    )
    skipped = [
        str(m.message).split(": ", 1)[1]
        for m in response.context["messages"]
        if str(m.message).startswith("Skipped")
    ]
    return " ".join(skipped)


def put(connection: Connection, state: str, *, synced: bool = True) -> None:
    Connection.objects.filter(pk=connection.pk).update(
        state=state,
        state_reason="before",
        consecutive_failures=2,
        next_run_at=timezone.now() + timedelta(hours=1),
        cursor_a={"since": "x"},
        cursor_b="page-9",
    )
    if synced:
        connection.runs.create(trigger=Trigger.INITIAL, status=RunStatus.SUCCEEDED)


def due(connection: Connection) -> bool:
    return connection.next_run_at is not None and connection.next_run_at <= timezone.now()


# (transition, state before, synced before, expected state, due, cursors kept, queued)
CASES: list[tuple[str, str, bool, str, bool, bool, list[tuple[str, dict[str, Any]]]]] = [
    ("pause", ConnectionState.ACTIVE, True, ConnectionState.PAUSED, False, True, []),
    ("resume", ConnectionState.PAUSED, True, ConnectionState.ACTIVE, True, True, []),
    ("resume", ConnectionState.ERROR, True, ConnectionState.ACTIVE, True, True, []),
    ("resume", ConnectionState.ERROR, False, ConnectionState.INITIAL_SYNC, True, True, []),
    (
        "start",
        ConnectionState.PREVIEWED,
        False,
        ConnectionState.INITIAL_SYNC,
        True,
        True,
        [(Trigger.INITIAL, {})],
    ),
    (
        "full_resync",
        ConnectionState.ACTIVE,
        True,
        ConnectionState.ACTIVE,
        True,
        False,
        [(Trigger.RESYNC, {})],
    ),
    (
        "confirm",
        ConnectionState.PAUSED,
        True,
        ConnectionState.ACTIVE,
        True,
        True,
        [(Trigger.MANUAL, {"confirm_mass_change": True})],
    ),
]


@pytest.mark.parametrize("interface", INTERFACES)
@pytest.mark.parametrize(
    ("transition", "before", "synced", "after", "is_due", "cursors_kept", "runs"),
    CASES,
    ids=[f"{c[0]}-from-{c[1]}{'' if c[2] else '-unsynced'}" for c in CASES],
)
def test_transition_has_one_outcome(
    interface: str,
    transition: str,
    before: str,
    synced: bool,
    after: str,
    is_due: bool,
    cursors_kept: bool,
    runs: list[tuple[str, dict[str, Any]]],
    fake_connection: Connection,
    owner: Any,
    admin_client: Client,
    queued: list[tuple[str, dict[str, Any]]],
) -> None:
    put(fake_connection, before, synced=synced)

    refusal = ask(interface, transition, fake_connection, owner, admin_client)

    assert refusal == ""
    fake_connection.refresh_from_db()
    assert fake_connection.state == after
    assert due(fake_connection) is is_due
    assert (fake_connection.cursor_a is not None) is cursors_kept
    assert queued == runs
    if transition == "pause":
        assert fake_connection.state_reason.startswith("Paused by ")
    else:
        assert fake_connection.state_reason in ("", "before")
    if transition in ("resume", "confirm"):
        assert fake_connection.consecutive_failures == 0
        assert fake_connection.state_reason == ""


# (transition, state where it is refused, the lifecycle's words)
REFUSALS = [
    ("pause", ConnectionState.DRAFT, "This connection has not started yet."),
    ("pause", ConnectionState.PAUSED, "This connection is paused already."),
    ("resume", ConnectionState.ACTIVE, "Only a paused connection or one in error can resume"),
    ("start", ConnectionState.ACTIVE, "This connection has already started."),
    ("full_resync", ConnectionState.PAUSED, "The connection is paused; resume it first."),
    ("confirm", ConnectionState.ACTIVE, "Only a paused connection has a change to confirm."),
]


@pytest.mark.parametrize("interface", INTERFACES)
@pytest.mark.parametrize(("transition", "before", "words"), REFUSALS)
def test_transition_is_refused_in_the_same_words(
    interface: str,
    transition: str,
    before: str,
    words: str,
    fake_connection: Connection,
    owner: Any,
    admin_client: Client,
    queued: list[tuple[str, dict[str, Any]]],
) -> None:
    put(fake_connection, before)
    refusal = ask(interface, transition, fake_connection, owner, admin_client)

    assert refusal.startswith(words)
    fake_connection.refresh_from_db()
    assert fake_connection.state == before
    assert fake_connection.cursor_b == "page-9"
    assert queued == []


def test_members_cannot_change_the_lifecycle(
    fake_connection: Connection, member: Any, member_client: Client
) -> None:
    """Owners and admins only: the pages and the API refuse a member."""
    put(fake_connection, ConnectionState.PAUSED)
    transitions: list[Callable[[], Any]] = [
        lambda: member_client.post(reverse("web:connection_confirm", args=[fake_connection.pk])),
        lambda: token_client(member, fake_connection.account).post(
            f"/api/v1/connections/{fake_connection.pk}/confirm_mass_change/"
        ),
    ]
    for call in transitions:
        assert call().status_code == 403
    fake_connection.refresh_from_db()
    assert fake_connection.state == ConnectionState.PAUSED


def test_the_apis_sync_of_a_connection_in_setup_starts_it_due(
    fake_connection: Connection, owner: Any, queued: list[tuple[str, dict[str, Any]]]
) -> None:
    """POST /sync/ on a connection in setup is ``start``: due as well as queued (it used
    to leave next_run_at empty, so a lost task meant an initial sync never run)."""
    put(fake_connection, ConnectionState.DRAFT, synced=False)
    api = token_client(owner, fake_connection.account)

    response = api.post(f"/api/v1/connections/{fake_connection.pk}/sync/")

    assert response.status_code == 202
    fake_connection.refresh_from_db()
    assert fake_connection.state == ConnectionState.INITIAL_SYNC
    assert due(fake_connection)
    assert queued == [(Trigger.INITIAL, {})]
