"""Salesforce ↔ GetResponse as its users describe it (issue 5), end to end through the two
sandboxes over HTTP and the real engine: Salesforce contacts go to a chosen GetResponse
list, list contacts come back as Contacts or Leads, Salesforce is the preferred side,
custom fields are mapped, deletions and unsubscribes cross over. Every assertion reads
the sandboxes' own state (the control API), not the engine's view."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from connectors.sandbox.control import SandboxControl
from sync.engine import run_connection
from sync.models import (
    Account,
    AppAuthorization,
    Connection,
    ConnectionState,
    FieldMapping,
    Health,
    RunStatus,
    SyncRun,
    Trigger,
)
from tests.e2e.salesforce import authorize_salesforce, salesforce_records

# The emulators refuse what their vendors would refuse (connectors/sandbox/emulator.py).
pytestmark = pytest.mark.usefixtures("strict_sandbox")

SF_CUSTOM = {
    "Contact": [
        {"name": "GRdeleted__c", "type": "boolean", "label": "Removed from GetResponse"},
        {"name": "Interest__c", "type": "string"},
    ],
    "Lead": [{"name": "GRdeleted__c", "type": "boolean", "label": "Removed from GetResponse"}],
}


@dataclass
class Seeds:
    """The two sandboxes' accounts and the connection between them."""

    sandbox: SandboxControl
    org: dict[str, Any]
    gr: dict[str, Any]
    connection: Connection

    @property
    def list_id(self) -> str:
        return str(self.gr["lists"][0]["id"])

    def sf(self, sobject: str = "Contact") -> dict[str, dict[str, Any]]:
        """Salesforce records of ``sobject`` by email."""
        return salesforce_records(self.sandbox, self.org, sobject)

    def list(self) -> dict[str, dict[str, Any]]:
        """Contacts of the chosen GetResponse list by email."""
        state = self.sandbox.state("getresponse", self.gr["account_id"])
        contacts = state["accounts"][self.gr["account_id"]]["contacts"]
        return {c["email"].lower(): c for c in contacts if c["campaignId"] == self.list_id}

    def run(self, **options: Any) -> SyncRun:
        run = run_connection(self.connection.pk, "manual", **options)
        self.connection.refresh_from_db()
        return run


def run_ok(seeds: Seeds, **options: Any) -> SyncRun:
    run = seeds.run(**options)
    assert run.status == RunStatus.SUCCEEDED, (run.status, run.error, run.counts)
    return run


def connect(
    sandbox: SandboxControl, account: Account, scope: str = "Contact", **sf_settings: Any
) -> Seeds:
    """A Salesforce org and a GetResponse account, authorized in ``account``, and a
    two-way connection between them with the seed scenario's options."""
    org = sandbox.create_account(
        "salesforce",
        name="Acme CRM",
        custom_fields=SF_CUSTOM,
        # The connected app the platform's settings name (connected_app fixture below).
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    gr = sandbox.create_account("getresponse", name="Acme news", lists=["acme_newsletter"])
    salesforce = authorize_salesforce(sandbox, account, org, **sf_settings)
    getresponse = AppAuthorization(account=account, vendor="getresponse", label="Acme news")
    getresponse.secrets = {"api_key": gr["api_key"]}
    getresponse.settings = {
        "resolve_timeout": 5,
    }
    getresponse.save()
    connection = Connection.objects.create(
        account=account,
        name="CRM ↔ newsletter",
        a_authorization=salesforce,
        a_scope=scope,
        b_authorization=getresponse,
        b_scope=str(gr["lists"][0]["id"]),
        conflict_policy="a_wins",  # Salesforce is the preferred account
        deletions_a_to_b="remove_from_list",
        deletions_b_to_a="marker_field",
        marker_field_a="GRdeleted__c",
        unsubscribes="opt_out",
        default_phone_country="DE",
        breaker_count=1000,
    )
    # Custom pairs: the free-text Salesforce country as text (no ISO-code conversion),
    # and a Salesforce text field to GetResponse's multi-select interests.
    FieldMapping.objects.create(
        connection=connection,
        a_field=f"{'Mailing' if scope == 'Contact' else ''}Country",
        b_field="custom:country",
        transform="text",
    )
    if scope == "Contact":
        FieldMapping.objects.create(
            connection=connection,
            a_field="Interest__c",
            b_field="custom:interests",
            transform="set",
            order=1,
        )
    from sync.engine.mapping import ensure_default_mappings
    from sync.vendors import open_connector

    specs = [
        open_connector(connection.authorization(s), connection.scope(s)).fields() for s in "ab"
    ]
    ensure_default_mappings(connection, specs[0], specs[1])
    return Seeds(sandbox, org, gr, connection)


def add_sf(seeds: Seeds, sobject: str = "Contact", **fields: Any) -> str:
    answer = seeds.sandbox.action(
        "salesforce", "create", account=seeds.org["account_id"], sobject=sobject, **fields
    )
    return str(answer["id"])


def add_gr(seeds: Seeds, email: str, name: str, **custom: list[str]) -> None:
    """A contact added to the list in GetResponse (seeded, then edited to our values)."""
    [contact_id] = seeds.sandbox.seed("getresponse", seeds.gr["account_id"], 1, seed=len(email))[
        "ids"
    ]
    blank: dict[str, list[str]] = {"company": [], "phone": [], "city": [], "country": []}
    seeds.sandbox.action(
        "getresponse",
        "edit",
        account=seeds.gr["account_id"],
        contact=contact_id,
        email=email,
        name=name,
        custom={**blank, **custom},
    )


CLIENT_ID, CLIENT_SECRET = "e2e-connected-app", "e2e-connected-app-secret"


@pytest.fixture(autouse=True)
def connected_app(sandbox: SandboxControl, settings: Any) -> None:
    """The connected app and its login host are the platform's settings, never the
    tenant's."""
    settings.SOCIAL_AUTH_SALESFORCE_KEY = CLIENT_ID
    settings.SOCIAL_AUTH_SALESFORCE_SECRET = CLIENT_SECRET
    settings.SALESFORCE_LOGIN_URL = sandbox.vendor_url("salesforce")


@pytest.fixture
def seeds(sandbox: SandboxControl, account: Account) -> Seeds:
    seeds = connect(sandbox, account)
    add_sf(
        seeds,
        FirstName="Ada",
        LastName="Lovelace",
        Email="ada@example.com",
        Phone="030 1234567",
        MailingCountry="Germany",
        Interest__c="music",
    )
    add_sf(seeds, FirstName="Alan", LastName="Turing", Email="alan@example.com")
    add_sf(
        seeds,
        FirstName="Grace",
        LastName="Hopper",
        Email="grace@example.com",
        Description="SF note",
    )
    add_gr(
        seeds, "linus@example.com", "Linus Torvalds", company=["Kernel Ltd"], phone=["+4930555123"]
    )
    add_gr(seeds, "GRACE@example.com", "Grace H.", country=["United States"])
    return seeds


def test_initial_sync_brings_both_sides_together(seeds: Seeds) -> None:
    run_ok(seeds, initial=True)
    in_list = seeds.list()
    assert {"ada@example.com", "alan@example.com", "grace@example.com", "linus@example.com"} <= set(
        in_list
    )
    ada = in_list["ada@example.com"]
    assert ada["name"] == "Ada Lovelace"
    assert ada["custom"]["phone"] == ["+49301234567"]
    assert ada["custom"]["interests"] == ["music"]
    linus = seeds.sf()["linus@example.com"]
    assert (linus["FirstName"], linus["LastName"]) == ("Linus", "Torvalds")
    assert seeds.sandbox.state("salesforce")["orgs"][seeds.org["account_id"]]["records"]["Account"]
    contacts = seeds.sandbox.state("salesforce", seeds.org["account_id"])["orgs"][
        seeds.org["account_id"]
    ]["records"]["Contact"]
    assert (
        next(c for c in contacts if c["Email"] == "linus@example.com")["Account.Name"]
        == "Kernel Ltd"
    )


def test_a_country_mapped_as_text_crosses_verbatim(seeds: Seeds) -> None:
    run_ok(seeds, initial=True)
    assert seeds.list()["ada@example.com"]["custom"]["country"] == ["Germany"]


def test_the_preferred_account_wins_the_initial_match(seeds: Seeds) -> None:
    run_ok(seeds, initial=True)
    grace = seeds.list()["grace@example.com"]
    assert grace["name"] == "Grace Hopper"  # Salesforce's name, not GetResponse's "Grace H."
    assert grace["note"] == "SF note"
    assert seeds.sf()["grace@example.com"]["MailingCountry"] == "United States"  # filled from GR


def test_a_second_run_writes_nothing(seeds: Seeds) -> None:
    run_ok(seeds, initial=True)
    again = run_ok(seeds)
    assert again.writes == 0, again.counts


def test_a_later_conflict_is_settled_for_salesforce(seeds: Seeds) -> None:
    run_ok(seeds, initial=True)
    gr_id = seeds.list()["alan@example.com"]["contactId"]
    seeds.sandbox.action(
        "getresponse", "edit", account=seeds.gr["account_id"], contact=gr_id, name="Alan GR"
    )
    seeds.sandbox.action(
        "salesforce",
        "edit",
        account=seeds.org["account_id"],
        record="alan@example.com",
        LastName="Turing-SF",
    )
    run_ok(seeds)
    assert seeds.list()["alan@example.com"]["name"] == "Alan Turing-SF"
    assert seeds.sf()["alan@example.com"]["LastName"] == "Turing-SF"


def test_an_edit_in_getresponse_reaches_salesforce(seeds: Seeds) -> None:
    run_ok(seeds, initial=True)
    gr_id = seeds.list()["linus@example.com"]["contactId"]
    seeds.sandbox.action(
        "getresponse",
        "edit",
        account=seeds.gr["account_id"],
        contact=gr_id,
        custom={"city": ["Helsinki"]},
    )
    run_ok(seeds)
    assert seeds.sf()["linus@example.com"]["MailingCity"] == "Helsinki"


def test_a_contact_deleted_in_salesforce_leaves_the_list(seeds: Seeds) -> None:
    run_ok(seeds, initial=True)
    seeds.sandbox.action(
        "salesforce", "delete", account=seeds.org["account_id"], record="alan@example.com"
    )
    run_ok(seeds)
    assert "alan@example.com" not in seeds.list()
    assert "ada@example.com" in seeds.list()


def scheduled_run(seeds: Seeds) -> SyncRun:
    """One run as the scheduler starts it; it must not have listed GetResponse whole."""
    listed_at = seeds.connection.b_listed_at
    run = run_connection(seeds.connection.pk, Trigger.SCHEDULE)
    seeds.connection.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, (run.status, run.error, run.counts)
    assert seeds.connection.b_listed_at == listed_at  # no complete listing in between
    return run


def test_a_contact_removed_from_the_list_is_marked_in_salesforce_within_one_poll(
    seeds: Seeds,
) -> None:
    run_ok(seeds, initial=True)
    gr_id = seeds.list()["ada@example.com"]["contactId"]
    seeds.sandbox.action("getresponse", "delete", account=seeds.gr["account_id"], contact=gr_id)
    scheduled_run(seeds)
    ada = seeds.sf()["ada@example.com"]
    assert ada["GRdeleted__c"] is True
    assert ada["HasOptedOutOfEmail"] is False  # a removal, not an unsubscribe
    assert seeds.sf()["alan@example.com"]["GRdeleted__c"] is False
    assert scheduled_run(seeds).writes == 0  # handled once, though listed on every poll


def test_an_unsubscribe_in_getresponse_sets_the_salesforce_opt_out_within_one_scheduled_run(
    seeds: Seeds,
) -> None:
    run_ok(seeds, initial=True)
    gr_id = seeds.list()["alan@example.com"]["contactId"]
    seeds.sandbox.action(
        "getresponse", "unsubscribe", account=seeds.gr["account_id"], contact=gr_id
    )
    run = scheduled_run(seeds)
    alan = seeds.sf()["alan@example.com"]
    assert alan["HasOptedOutOfEmail"] is True
    assert alan["GRdeleted__c"] is False  # an unsubscribe, not a removal
    assert (alan["FirstName"], alan["LastName"]) == ("Alan", "Turing")  # nothing else lost
    assert seeds.sf()["ada@example.com"]["HasOptedOutOfEmail"] is False
    [event] = run.events.filter(action="unsubscribe")
    assert event.direction == "b_to_a"
    # The removed segment lists Alan on every poll; the next runs write nothing, and
    # neither does the next complete listing (he is not taken for a deletion).
    assert scheduled_run(seeds).writes == 0
    assert run_ok(seeds, initial=True).writes == 0
    assert seeds.sf()["alan@example.com"]["GRdeleted__c"] is False


def test_an_opt_out_in_salesforce_unsubscribes_from_the_list(seeds: Seeds) -> None:
    run_ok(seeds, initial=True)
    seeds.sandbox.action(
        "salesforce",
        "edit",
        account=seeds.org["account_id"],
        record="grace@example.com",
        HasOptedOutOfEmail=True,
    )
    run_ok(seeds)
    assert "grace@example.com" not in seeds.list()
    assert seeds.sf()["grace@example.com"]["HasOptedOutOfEmail"] is True


@pytest.mark.django_db(transaction=True)
def test_an_unsubscribe_reaches_salesforce_within_seconds_through_the_callback(
    seeds: Seeds, live_server: Any, settings: Any
) -> None:
    settings.WEBHOOK_DEBOUNCE_SECONDS = 1
    run_ok(seeds, initial=True)
    Connection.objects.filter(pk=seeds.connection.pk).update(state=ConnectionState.ACTIVE)
    # The tenant enables GetResponse's callbacks with the authorization's webhook URL.
    authorization = seeds.connection.b_authorization
    enabled = requests.post(
        seeds.sandbox.vendor_url("getresponse", "/v3/accounts/callbacks"),
        json={
            "url": f"{live_server.url}/hooks/getresponse/{authorization.webhook_token}/",
            "actions": {"subscribe": True, "unsubscribe": True},
        },
        headers={"X-Auth-Token": f"api-key {seeds.gr['api_key']}"},
        timeout=5,
    )
    assert enabled.status_code == 200, enabled.text
    gr_id = seeds.list()["grace@example.com"]["contactId"]
    started = time.monotonic()
    answer = seeds.sandbox.action(
        "getresponse", "unsubscribe", account=seeds.gr["account_id"], contact=gr_id
    )
    assert answer["callback"] is True
    assert seeds.sandbox.action("getresponse", "deliveries", timeout=30) == {"pending": 0}
    elapsed = time.monotonic() - started
    assert seeds.sf()["grace@example.com"]["HasOptedOutOfEmail"] is True
    assert elapsed < 10, elapsed
    [run] = SyncRun.objects.filter(connection=seeds.connection, trigger=Trigger.WEBHOOK)
    assert run.events.filter(action="unsubscribe").count() == 1


def test_list_contacts_become_leads_when_leads_are_chosen(
    sandbox: SandboxControl, account: Account
) -> None:
    seeds = connect(sandbox, account, scope="Lead", lead_default_company="Newsletter signup")
    add_gr(seeds, "mia@example.com", "Mia Wong")
    add_gr(seeds, "leo@example.com", "Leo Park", company=["Park GmbH"])
    add_sf(
        seeds,
        "Lead",
        FirstName="Lea",
        LastName="Lead",
        Company="Leads Inc",
        Email="lea@example.com",
    )
    run_ok(seeds, initial=True)
    leads = seeds.sf("Lead")
    assert leads["mia@example.com"]["Company"] == "Newsletter signup"  # the configured default
    assert leads["leo@example.com"]["Company"] == "Park GmbH"
    assert seeds.sf("Contact") == {}
    assert seeds.list()["lea@example.com"]["custom"]["company"] == ["Leads Inc"]


def test_a_lead_without_a_company_is_a_clear_record_error(
    sandbox: SandboxControl, account: Account
) -> None:
    seeds = connect(sandbox, account, scope="Lead")
    add_gr(seeds, "mia@example.com", "Mia Wong")
    add_gr(seeds, "leo@example.com", "Leo Park", company=["Park GmbH"])
    run = seeds.run(initial=True)
    assert run.status == RunStatus.PARTIAL
    assert set(seeds.sf("Lead")) == {"leo@example.com"}
    error = run.events.get(action="error")
    assert "need a company" in error.error


def test_a_revoked_salesforce_grant_pauses_the_connection(seeds: Seeds) -> None:
    run_ok(seeds, initial=True)
    seeds.sandbox.action("salesforce", "revoke", account=seeds.org["account_id"])
    run = seeds.run()
    assert run.status == RunStatus.FAILED
    assert seeds.connection.state == ConnectionState.PAUSED
    assert "authorize the app again" in seeds.connection.state_reason


def test_a_revoked_salesforce_grant_flags_the_authorization(seeds: Seeds) -> None:
    run_ok(seeds, initial=True)
    seeds.sandbox.action("salesforce", "revoke", account=seeds.org["account_id"])
    seeds.run()
    assert AppAuthorization.objects.get(vendor="salesforce").health == Health.AUTH_FAILED
