"""Every page with the three personas: the owner uses it, a member of the same tenant
watches (403 on what only owners and admins may do), an outsider finds nothing (404),
and a visitor is sent to sign in."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from sync.models import Connection, EventAction, RecordLink, SyncEvent, SyncRun

# Pages everyone of the tenant may see: (url name, needs the connection id).
VIEW_PAGES = [
    ("web:connections", False),
    ("web:apps", False),
    ("web:team", False),
    ("web:tokens", False),
    ("web:connection", True),
    ("web:connection_live", True),
    ("web:stats", True),
    ("web:conflicts", True),
    ("web:deletions", True),
]
# Pages of the set-up and configuration: owners and admins only.
MANAGE_PAGES = [
    "web:setup_scopes",
    "web:setup_rules",
    "web:setup_options",
    "web:setup_mapping",
    "web:setup_users",
    "web:setup_preview",
    "web:setup_preview_status",
    "web:connection_delete",
]
# Changes (POST) of a connection that only owners and admins may make.
MANAGE_POSTS = [
    "web:connection_pause",
    "web:connection_resume",
    "web:connection_run",
    "web:connection_start",
]


def url(name: str, connection: Connection | None) -> str:
    return reverse(name, args=[connection.pk]) if connection else reverse(name)


@pytest.mark.parametrize(("name", "with_connection"), VIEW_PAGES)
def test_owner_and_member_see_every_page(
    owner_client: Client,
    member_client: Client,
    connection: Connection,
    name: str,
    with_connection: bool,
) -> None:
    target = url(name, connection if with_connection else None)
    assert owner_client.get(target).status_code == 200
    assert member_client.get(target).status_code == 200


@pytest.mark.parametrize(("name", "with_connection"), [p for p in VIEW_PAGES if p[1]])
def test_outsider_cannot_see_the_connection(
    outsider_client: Client,
    connection: Connection,
    foreign_connection: Connection,
    name: str,
    with_connection: bool,
) -> None:
    assert outsider_client.get(url(name, connection)).status_code == 404
    assert outsider_client.get(url(name, foreign_connection)).status_code == 200


@pytest.mark.parametrize("name", MANAGE_PAGES)
def test_setup_pages_are_for_owners_and_admins(
    owner_client: Client,
    member_client: Client,
    outsider_client: Client,
    connection: Connection,
    name: str,
) -> None:
    target = url(name, connection)
    assert owner_client.get(target).status_code == 200
    assert member_client.get(target).status_code == 403
    assert outsider_client.get(target).status_code == 404


@pytest.mark.parametrize("name", MANAGE_POSTS)
def test_member_cannot_change_a_connection(
    member_client: Client, outsider_client: Client, connection: Connection, name: str
) -> None:
    assert member_client.post(url(name, connection)).status_code == 403
    assert outsider_client.post(url(name, connection)).status_code == 404
    connection.refresh_from_db()
    assert connection.state == "active"


def test_changes_refuse_get(owner_client: Client, connection: Connection) -> None:
    response = owner_client.get(reverse("web:connection_pause", args=[connection.pk]))
    assert response.status_code == 405


def test_visitor_is_sent_to_sign_in(client: Client, connection: Connection) -> None:
    response = client.get(reverse("web:connection", args=[connection.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_explain_and_undo_are_scoped_to_the_tenant(
    owner_client: Client,
    member_client: Client,
    outsider_client: Client,
    connection: Connection,
) -> None:
    link = RecordLink.objects.create(connection=connection, a_id="1", b_id="2", match_key="a@x")
    run = SyncRun.objects.create(connection=connection, trigger="manual", status="succeeded")
    event = SyncEvent.objects.create(connection=connection, run=run, action=EventAction.CREATE)
    explain = reverse("web:record_explain", args=[connection.pk, link.pk])
    event_url = reverse("web:event", args=[connection.pk, event.pk])
    undo = reverse("web:run_undo", args=[connection.pk, run.pk])
    assert owner_client.get(explain).status_code == 200
    assert member_client.get(explain).status_code == 200
    assert outsider_client.get(explain).status_code == 404
    assert member_client.get(event_url).status_code == 200
    assert outsider_client.get(event_url).status_code == 404
    assert owner_client.get(undo).status_code == 200
    assert member_client.get(undo).status_code == 403
    assert outsider_client.get(undo).status_code == 404


def test_user_without_an_account_is_told_so(client: Client, django_user_model: type) -> None:
    loner = django_user_model.objects.create_user(username="dora", password="x-long-password")
    client.force_login(loner)
    response = client.get(reverse("web:connections"))
    assert response.status_code == 403
    assert b"not in any account" in response.content
