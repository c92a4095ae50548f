"""Wildix phonebook ↔ Salesforce Contacts, end to end through the two sandboxes over
HTTP and the real engine (issue 16): phones the CRM holds in national format arrive in
the phonebook in E.164; a contact renamed in the phonebook changes only the changed part
of the first/last name; the caller-ID lookup finds the caller by a number in any format,
for its own tenant only. Assertions read the sandboxes' own state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from connectors.sandbox.control import SandboxControl
from connectors.wildix.tests.harness import point_pbx_names_at
from sync.engine import run_connection
from sync.models import Account, ApiToken, AppAuthorization, Connection, RunStatus
from tests.e2e.salesforce import authorize_salesforce, salesforce_records


@dataclass
class Scenario:
    sandbox: SandboxControl
    org: dict[str, Any]
    pbx: dict[str, Any]
    connection: Connection

    def run(self) -> None:
        run = run_connection(self.connection.pk, "manual")
        assert run.status == RunStatus.SUCCEEDED, (run.status, run.error, run.counts)

    def phonebook(self) -> dict[str, dict[str, Any]]:
        contacts = self.sandbox.state("wildix", self.pbx["pbx"])["contacts"]
        return {c["email"]: c for c in contacts.values()}

    def crm(self) -> dict[str, dict[str, Any]]:
        return salesforce_records(self.sandbox, self.org)


@pytest.fixture
def scenario(sandbox: SandboxControl, settings: Any, account: Account) -> Scenario:
    point_pbx_names_at(sandbox, settings)
    org = sandbox.create_account("salesforce", name="Acme CRM")
    pbx = sandbox.create_account("wildix", name="acme", phonebooks=["Company"])
    wildix = AppAuthorization(account=account, vendor="wildix", label="Acme PBX")
    wildix.secrets = {"password": pbx["api_key"]}
    wildix.settings = {"pbx": pbx["pbx"], "username": "apikey"}
    wildix.save()
    connection = Connection.objects.create(
        account=account,
        name="CRM ↔ PBX",
        a_authorization=authorize_salesforce(sandbox, account, org),
        a_scope="Contact",
        b_authorization=wildix,
        b_scope=pbx["phonebooks"][0]["id"],
        default_phone_country="IT",
        breaker_count=1000,
    )
    sandbox.action(
        "salesforce",
        "create",
        account=org["account_id"],
        FirstName="Anna Maria",
        LastName="De Luca",
        Email="anna.deluca@example.it",
        Phone="02 1234 5678",
        MobilePhone="347 765 4321",
    )
    return Scenario(sandbox, org, pbx, connection)


def test_national_crm_phones_arrive_in_the_phonebook_in_e164(scenario: Scenario) -> None:
    scenario.run()
    contact = scenario.phonebook()["anna.deluca@example.it"]
    assert contact["name"] == "Anna Maria De Luca"
    assert contact["phone"] == "+390212345678"
    assert contact["mobile"] == "+393477654321"


def test_a_rename_in_the_phonebook_changes_only_the_changed_part(scenario: Scenario) -> None:
    scenario.run()
    contact = scenario.phonebook()["anna.deluca@example.it"]
    scenario.sandbox.action(
        "wildix",
        "edit",
        account=scenario.pbx["pbx"],
        contact=contact["id"],
        name="Anna Maria Rossi",
    )
    scenario.run()
    person = scenario.crm()["anna.deluca@example.it"]
    assert (person["FirstName"], person["LastName"]) == ("Anna Maria", "Rossi")
    scenario.run()  # converged: the next poll writes nothing back to the phonebook
    assert scenario.phonebook()["anna.deluca@example.it"]["name"] == "Anna Maria Rossi"


def api(user: Any, account: Account) -> APIClient:
    _token, raw = ApiToken.issue(user, account, "softphone")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.mark.parametrize(
    "typed",
    ["02 1234 5678", "+390212345678", "+39 02 1234 5678", "0039-02-1234-5678", "02-12345678"],
)
def test_the_lookup_finds_the_caller_by_a_number_in_any_format(
    scenario: Scenario, owner: Any, account: Account, typed: str
) -> None:
    scenario.run()
    answer = api(owner, account).get("/api/v1/lookup", {"phone": typed})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["numbers"] == ["+390212345678"]
    [person] = body["matches"]
    assert person["name"] == "Anna Maria De Luca"
    by_app = {r["vendor"]: r for r in person["records"]}
    assert set(by_app) == {"salesforce", "wildix"}
    sf_id = scenario.crm()["anna.deluca@example.it"]["Id"]
    assert by_app["salesforce"]["url"] == f"{scenario.sandbox.vendor_url('salesforce')}/{sf_id}"
    assert by_app["wildix"]["record_id"] == scenario.phonebook()["anna.deluca@example.it"]["id"]


def test_the_mobile_number_finds_the_caller_too(
    scenario: Scenario, owner: Any, account: Account
) -> None:
    scenario.run()
    body = api(owner, account).get("/api/v1/lookup", {"phone": "347 765 4321"}).json()
    assert [p["name"] for p in body["matches"]] == ["Anna Maria De Luca"]


def test_an_outsider_finds_nothing_of_another_tenant(
    scenario: Scenario, outsider: Any, other_account: Account, owner_client: Client
) -> None:
    scenario.run()
    body = api(outsider, other_account).get("/api/v1/lookup", {"phone": "+390212345678"}).json()
    assert body["matches"] == []
    assert APIClient().get("/api/v1/lookup", {"phone": "+390212345678"}).status_code in (401, 403)


def test_the_caller_id_page_shows_the_person_and_nothing_to_outsiders(
    scenario: Scenario, owner_client: Client, outsider: Any
) -> None:
    scenario.run()
    page = owner_client.get("/lookup/", {"phone": "02 1234 5678"})
    assert page.status_code == 200
    assert "Anna Maria De Luca" in page.content.decode()
    stranger = Client()
    stranger.force_login(outsider)
    assert (
        "Anna Maria De Luca"
        not in stranger.get("/lookup/", {"phone": "02 1234 5678"}).content.decode()
    )
    assert Client().get("/lookup/", {"phone": "02 1234 5678"}).status_code == 302  # sign in first


def test_a_deleted_record_leaves_the_index(
    scenario: Scenario, owner: Any, account: Account, settings: Any
) -> None:
    # Created by the engine after the cursor's snapshot: the complete listing finds it gone.
    settings.SYNC_FULL_LISTING_MINUTES = 0
    scenario.sandbox.action(  # a phonebook that lists nobody would stop the run instead
        "salesforce", "create", account=scenario.org["account_id"], LastName="Stays", Email="s@x.it"
    )
    scenario.run()
    contact = scenario.phonebook()["anna.deluca@example.it"]
    Connection.objects.filter(pk=scenario.connection.pk).update(deletions_b_to_a="delete")
    scenario.sandbox.action("wildix", "delete", account=scenario.pbx["pbx"], contact=contact["id"])
    scenario.run()
    assert "anna.deluca@example.it" not in scenario.crm()
    body = api(owner, account).get("/api/v1/lookup", {"phone": "+390212345678"}).json()
    assert body["matches"] == []
