"""A Google Contacts authorization made by the real OAuth flow, syncing with the fake app
through the real engine: Google's CardDAV host is the sandbox's, in front of Radicale,
which accepts exactly the tokens the sandbox's Google emulator issued for the contacts, and
the connector refreshes at the emulator's token endpoint."""

from __future__ import annotations

import pytest
import requests
from django.test import Client

from connectors.carddav.connector import FIELDS
from connectors.carddav.tests.test_two_way import ANN, cards
from connectors.sandbox.control import SandboxControl
from sync.engine import run_connection
from sync.models import (
    Account,
    AppAuthorization,
    Connection,
    Health,
    RunStatus,
)
from tests.fakes.connections import connection_with_fake
from tests.fakes.connector import FakeApp, FakeConnector
from tests.plugins.radicale import RadicaleServer

from .conftest import GoogleCardDav, make_google_account
from .test_oauth import authorize


@pytest.fixture
def fake_b(fake_vendor: type[FakeConnector]) -> FakeApp:
    return fake_vendor.make_app("b")


@pytest.fixture
def connection(
    google: SandboxControl,
    google_carddav: GoogleCardDav,
    owner_client: Client,
    account: Account,
    addressbook: str,
    fake_b: FakeApp,
) -> Connection:
    """Ann's Google Contacts (connected on the apps page) ↔ the fake app."""
    make_google_account(google, "ann@gmail.com")
    authorize(owner_client)
    a = AppAuthorization.objects.get(account=account, vendor="google")
    return connection_with_fake(
        account, a, FIELDS, fake_b, a_scope=google_carddav.scope(addressbook), name="Google ↔ fake"
    )


def token_posts(google: SandboxControl) -> int:
    return int(google.requests("google")["endpoints"].get("POST /token", 0))


def test_a_connection_syncs_both_ways_through_google(
    connection: Connection, radicale: RadicaleServer, addressbook: str, fake_b: FakeApp
) -> None:
    phone = requests.Session()
    phone.auth = (radicale.username, radicale.password)
    phone.put(addressbook + "ann-1.vcf", data=ANN.encode(), timeout=10).raise_for_status()
    fake_b.add(email="bob@beta.example", first_name="Bob", last_name="Stone")

    first = run_connection(connection.pk, "initial", initial=True)
    assert first.status == RunStatus.SUCCEEDED, first.error
    assert "bob@beta.example" in cards(radicale, addressbook)
    assert fake_b.by_email("ann@acme.example")
    second = run_connection(connection.pk, "manual")
    assert second.status == RunStatus.SUCCEEDED, second.error
    assert second.writes == 0


def test_an_expired_access_token_is_refreshed_at_google_and_kept(
    connection: Connection, google: SandboxControl, fake_b: FakeApp
) -> None:
    auth = connection.a_authorization
    old_token = auth.secrets["access_token"]
    google.action("google", "expire_tokens", account="ann@gmail.com")
    assert token_posts(google) == 1  # the code exchange

    run = run_connection(connection.pk, "initial", initial=True)
    assert run.status == RunStatus.SUCCEEDED, run.error
    auth.refresh_from_db()
    assert auth.secrets["access_token"] != old_token
    assert auth.secrets["refresh_token"]  # kept: a refresh answer carries none
    assert token_posts(google) == 2  # one refresh, with the server's client id and secret
    again = run_connection(connection.pk, "manual")
    assert again.status == RunStatus.SUCCEEDED, again.error
    assert token_posts(google) == 2  # the stored token works without a refresh


def test_a_revoked_grant_fails_the_run_as_an_auth_failure(
    connection: Connection, google: SandboxControl
) -> None:
    google.action("google", "revoke", account="ann@gmail.com")
    run = run_connection(connection.pk, "initial", initial=True)
    assert run.status == RunStatus.FAILED
    assert "refresh token was refused" in run.error
    connection.a_authorization.refresh_from_db()
    assert connection.a_authorization.health == Health.AUTH_FAILED
