"""Wildix phonebook ↔ Google Contacts (issue 16), end to end: Google's CardDAV host is the
sandbox's, in front of a real Radicale, the authorization comes from the real OAuth
flow against the sandbox's Google emulator, the PBX is the sandbox's Wildix emulator. A
number Google holds in national format reaches the phonebook in E.164; a rename in the
phonebook reaches the card; the caller-ID lookup finds the caller in both apps."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.test import Client
from rest_framework.test import APIClient

from connectors.carddav.tests.test_two_way import cards
from connectors.google.tests.conftest import (  # noqa: F401
    GoogleCardDav,
    google,
    google_carddav,
    make_google_account,
)
from connectors.google.tests.test_oauth import authorize
from connectors.sandbox.control import SandboxControl
from connectors.wildix.tests.harness import point_pbx_names_at
from sync.engine import run_connection
from sync.models import Account, ApiToken, AppAuthorization, Connection, RunStatus
from tests.plugins.radicale import RadicaleServer

CARD = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:luca-1\r\nFN:Luca Verdi\r\nN:Verdi;Luca;;;\r\n"
    "EMAIL;TYPE=INTERNET:luca@verdi.example\r\nTEL;TYPE=WORK,VOICE:06 4567 8901\r\n"
    "ORG:Verdi SpA\r\nEND:VCARD\r\n"
)


@pytest.fixture
def pbx(sandbox: SandboxControl, settings: Any) -> dict[str, Any]:
    point_pbx_names_at(sandbox, settings)
    return sandbox.create_account("wildix", name="verdi", phonebooks=["Company"])


@pytest.fixture
def connection(
    google: SandboxControl,  # noqa: F811
    google_carddav: GoogleCardDav,  # noqa: F811
    owner_client: Client,
    account: Account,
    addressbook: str,
    pbx: dict[str, Any],
) -> Connection:
    make_google_account(google, "luca@gmail.com")
    authorize(owner_client)
    contacts = AppAuthorization.objects.get(account=account, vendor="google")
    wildix = AppAuthorization(account=account, vendor="wildix", label="PBX")
    wildix.secrets = {"password": pbx["password"]}
    wildix.settings = {"pbx": pbx["pbx"], "username": pbx["username"]}
    wildix.save()
    return Connection.objects.create(
        account=account,
        name="Google ↔ PBX",
        a_authorization=contacts,
        a_scope=google_carddav.scope(addressbook),
        b_authorization=wildix,
        b_scope=pbx["phonebooks"][0]["id"],
        default_phone_country="IT",
        breaker_count=1000,
    )


def run(connection: Connection) -> None:
    result = run_connection(connection.pk, "manual")
    assert result.status == RunStatus.SUCCEEDED, (result.status, result.error, result.counts)


def phonebook(sandbox: SandboxControl, pbx: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["email"]: c for c in sandbox.state("wildix", pbx["pbx"])["contacts"].values()}


def test_google_and_the_phonebook_meet_in_e164_and_the_caller_is_found(
    connection: Connection,
    radicale: RadicaleServer,
    addressbook: str,
    sandbox: SandboxControl,
    pbx: dict[str, Any],
    owner: Any,
    account: Account,
) -> None:
    phone = requests.Session()
    phone.auth = (radicale.username, radicale.password)
    phone.put(addressbook + "luca-1.vcf", data=CARD.encode(), timeout=10).raise_for_status()
    run(connection)
    contact = phonebook(sandbox, pbx)["luca@verdi.example"]
    assert contact["phone"] == "+390645678901"
    assert contact["name"] == "Luca Verdi"

    sandbox.action("wildix", "edit", account=pbx["pbx"], contact=contact["id"], name="Luca Neri")
    run(connection)
    card = cards(radicale, addressbook)["luca@verdi.example"].to_fields()
    assert card["full_name"] == "Luca Neri"
    # Cards have their own full name (FN), which the phonebook's name pairs with; the
    # first/last split (N) is the CardDAV connector's to keep in step (left as found).

    _token, raw = ApiToken.issue(owner, account, "softphone")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = client.get("/api/v1/lookup", {"phone": "+39 06-4567-8901"}).json()
    [person] = body["matches"]
    assert person["name"] == "Luca Neri"
    assert {r["vendor"] for r in person["records"]} == {"google", "wildix"}
