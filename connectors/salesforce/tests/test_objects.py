"""The Salesforce connector on each object it serves (issue 17), over HTTP against the
strict sandbox: the scopes and their entities, each object's fields with the shared
common keys and its references, Accounts listed, created, updated and deleted, a
Contact's and an Opportunity's ``AccountId`` read and written as the Account's id, and
deltas with the deleted-records feed per object."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base import Change, Credentials, Record
from connectors.http import Http
from connectors.salesforce.connector import SalesforceConnector
from connectors.sandbox.control import SandboxControl

pytestmark = pytest.mark.usefixtures("strict_sandbox")


@pytest.fixture
def org(sandbox: SandboxControl) -> dict[str, Any]:
    return sandbox.create_account("salesforce", name="Field sales")


def connect(sandbox: SandboxControl, org: dict[str, Any], scope: str) -> SalesforceConnector:
    credentials = Credentials(
        secrets={"access_token": org["access_token"], "refresh_token": ""},
        settings={"instance_url": sandbox.vendor_url("salesforce"), "page_size": 200},
    )
    return SalesforceConnector(credentials, scope, Http(retries=1, backoff=0.0))


def stored(sandbox: SandboxControl, org: dict[str, Any], sobject: str) -> dict[str, Any]:
    """The org's records of ``sobject`` by id, as the sandbox holds them."""
    state = sandbox.state("salesforce", org["account_id"])["orgs"][org["account_id"]]
    return {r["Id"]: r for r in state["records"][sobject]}


def listing(connector: SalesforceConnector) -> tuple[dict[str, Record], Any]:
    """Every record of the connector's object by id, and the listing's cursor."""
    pages = list(connector.fetch(None))
    assert pages[-1].complete
    return {r.id: r for p in pages for r in p.records}, pages[-1].cursor


def written(connector: SalesforceConnector, *changes: Change) -> list[str]:
    """Push ``changes``, which must all succeed; their ids."""
    results = connector.push(list(changes))
    assert all(r.error is None for r in results), [r.error for r in results]
    return [str(r.id) for r in results]


def test_scopes_offer_each_object_with_its_entity(sandbox: SandboxControl, org: Any) -> None:
    scopes = {s.id: s for s in connect(sandbox, org, "Contact").scopes()}
    assert {name: s.entity for name, s in scopes.items()} == {
        "Account": "company",
        "Contact": "contact",
        "Lead": "lead",
        "Opportunity": "opportunity",
        "Task": "task",
        "Event": "event",
    }
    assert scopes["Opportunity"].label == "Opportunities"
    assert {s.kind for s in scopes.values()} == {"object"}


def test_each_objects_fields_carry_the_shared_common_keys(
    sandbox: SandboxControl, org: Any
) -> None:
    def commons(scope: str) -> dict[str, str | None]:
        return {s.key: s.common for s in connect(sandbox, org, scope).fields()}

    assert commons("Account") == {
        "Name": "company",
        "Type": None,
        "Industry": None,
        "Phone": "phone",
        "Website": "website",
        "BillingCity": "city",
        "BillingCountry": "country",
        "Description": "notes",
        "OwnerId": "owner",
    }
    opportunity = {s.key: s for s in connect(sandbox, org, "Opportunity").fields()}
    assert {k: s.common for k, s in opportunity.items()} == {
        "Name": "opportunity_name",
        "AccountId": "company_id",
        "StageName": "stage",
        "CloseDate": "close_date",
        "Amount": "amount",
        "Probability": "probability",
        "Description": "notes",
        "OwnerId": "owner",
    }
    assert {k for k, s in opportunity.items() if s.required} == {"Name", "StageName", "CloseDate"}
    assert opportunity["AccountId"].refers_to == "company"
    assert (opportunity["Amount"].type, opportunity["CloseDate"].type) == ("number", "date")
    assert "Prospecting" in opportunity["StageName"].choices
    task = {s.key: s for s in connect(sandbox, org, "Task").fields()}
    assert task["Status"].common == "task_status" and task["Status"].type == "choice"
    assert task["ActivityDate"].common == "due_date" and task["Subject"].common == "subject"
    # Polymorphic lookups (a Contact or a Lead, an Account or an Opportunity) are split
    # into one reference per target (test_polymorphic.py); the derived AccountId is not one.
    assert "WhoId" not in task and "WhatId" not in task and "AccountId" not in task
    assert {k: (s.refers_to, s.common) for k, s in task.items() if s.refers_to} == {
        "WhoId.Contact": ("contact", "contact_id"),
        "WhoId.Lead": ("lead", "lead_id"),
        "WhatId.Opportunity": ("opportunity", "opportunity_id"),
        "WhatId.Account": ("company", "company_id"),
    }
    event = {s.key: s for s in connect(sandbox, org, "Event").fields()}
    assert (event["StartDateTime"].common, event["EndDateTime"].common) == ("start", "end")
    assert event["StartDateTime"].type == "datetime" and event["StartDateTime"].required
    # Only people opt out of email, and only Contacts have the Account-name field.
    account = connect(sandbox, org, "Account")
    assert not account.capabilities.subscription
    assert connect(sandbox, org, "Contact").capabilities.subscription
    assert "subscribed" not in commons("Account") and "Account.Name" not in commons("Lead")


def test_accounts_are_listed_created_updated_and_deleted(sandbox: SandboxControl, org: Any) -> None:
    seeded = sandbox.seed("salesforce", org["account_id"], 3, seed=3, sobject="Account")["ids"]
    accounts = connect(sandbox, org, "Account")
    listed, _ = listing(accounts)
    assert set(listed) == set(seeded)
    assert all(r.fields["Name"] and r.fields["BillingCity"] for r in listed.values())
    [made] = written(
        accounts,
        Change("create", "k1", fields={"Name": "Zoë Ltd", "Website": "https://zoe.example"}),
    )
    assert made.startswith("001")
    written(accounts, Change("update", "k2", id=seeded[0], fields={"Name": "Renamed Inc"}))
    written(accounts, Change("delete", "k3", id=seeded[1]))
    rows = stored(sandbox, org, "Account")
    assert set(rows) == {made, seeded[0], seeded[2]}
    assert rows[made]["Website"] == "https://zoe.example" and rows[made]["Name"] == "Zoë Ltd"
    assert rows[seeded[0]]["Name"] == "Renamed Inc"
    refused = accounts.push([Change("create", "k4", fields={"Website": "https://x.example"})])
    assert refused[0].error is not None and refused[0].error.permanent


def test_a_contacts_account_id_is_read_and_written_as_the_accounts_id(
    sandbox: SandboxControl, org: Any
) -> None:
    acme, beta = written(
        connect(sandbox, org, "Account"),
        Change("create", "a", fields={"Name": "Acme"}),
        Change("create", "b", fields={"Name": "Beta"}),
    )
    contacts = connect(sandbox, org, "Contact")
    [ann] = written(contacts, Change("create", "c", fields={"LastName": "Ann", "AccountId": acme}))
    listed, _ = listing(contacts)
    assert listed[ann].fields["AccountId"] == acme and listed[ann].fields["Account.Name"] == "Acme"
    # The id decides: a name in the same change never picks (or makes) another Account.
    results = contacts.push(
        [Change("update", "u", id=ann, fields={"AccountId": beta, "Account.Name": "Gamma"})]
    )
    assert results[0].error is None and results[0].record is not None
    assert results[0].record.fields["AccountId"] == beta
    assert stored(sandbox, org, "Contact")[ann]["AccountId"] == beta
    assert {r["Name"] for r in stored(sandbox, org, "Account").values()} == {"Acme", "Beta"}
    # Without the id, the name still finds the Account (connections without companies).
    written(contacts, Change("update", "n", id=ann, fields={"Account.Name": "acme"}))
    assert stored(sandbox, org, "Contact")[ann]["AccountId"] == acme
    written(contacts, Change("update", "x", id=ann, fields={"AccountId": None}))
    assert stored(sandbox, org, "Contact")[ann]["AccountId"] is None


def test_an_opportunity_is_written_with_its_account(sandbox: SandboxControl, org: Any) -> None:
    [acme] = written(connect(sandbox, org, "Account"), Change("create", "a", fields={"Name": "A"}))
    deals = connect(sandbox, org, "Opportunity")
    fields = {
        "Name": "Acme renewal",
        "AccountId": acme,
        "StageName": "Qualification",
        "CloseDate": "2027-01-31",
        "Amount": "12500.50",
        "Probability": 40,
    }
    [deal] = written(deals, Change("create", "d", fields=fields))
    listed, _ = listing(deals)
    read = listed[deal].fields
    assert (read["AccountId"], read["StageName"], read["CloseDate"]) == (
        acme,
        "Qualification",
        "2027-01-31",
    )
    assert read["Amount"] == 12500.5 and read["Probability"] == 40
    missing = deals.push([Change("create", "m", fields={"Name": "No stage"})])
    assert missing[0].error is not None and "StageName" in str(missing[0].error)


NEW = {
    "Account": {"Name": "Delta Co"},
    "Opportunity": {"Name": "Delta deal", "StageName": "Prospecting", "CloseDate": "2027-02-01"},
    "Task": {"Subject": "Call back", "ActivityDate": "2027-02-01"},
    "Event": {
        "Subject": "Demo",
        "StartDateTime": "2027-02-01T10:00:00Z",
        "EndDateTime": "2027-02-01T11:00:00Z",
    },
}
EDITED = {"Account": "Name", "Opportunity": "Name", "Task": "Subject", "Event": "Subject"}


@pytest.mark.parametrize("sobject", sorted(NEW))
def test_a_delta_brings_each_objects_changes_and_deletions(
    sandbox: SandboxControl, org: Any, sobject: str
) -> None:
    if sobject == "Opportunity":
        sandbox.seed("salesforce", org["account_id"], 2, seed=11, sobject="Account")
    sandbox.seed("salesforce", org["account_id"], 3, seed=11, sobject=sobject)
    connector = connect(sandbox, org, sobject)
    before, cursor = listing(connector)
    assert len(before) == 3
    edited, gone = sorted(before)[:2]
    [made] = written(connector, Change("create", "n", fields=NEW[sobject]))
    written(
        connector,
        Change("update", "e", id=edited, fields={EDITED[sobject]: "Changed Zoë"}),
        Change("delete", "g", id=gone),
    )
    pages = list(connect(sandbox, org, sobject).fetch(cursor))
    changed = {r.id: r for p in pages for r in p.records}
    assert set(changed) == {made, edited}
    assert changed[edited].fields[EDITED[sobject]] == "Changed Zoë"
    assert [i for p in pages for i in p.deleted] == [gone]
    assert not any(p.complete for p in pages) and pages[-1].cursor is not None


def test_an_event_without_an_end_is_refused_before_it_is_sent(
    sandbox: SandboxControl, org: Any
) -> None:
    events = connect(sandbox, org, "Event")
    start = {"Subject": "Visit", "StartDateTime": "2027-01-04T09:00:00Z"}
    reason = events.refusal(Change("create", "e", fields=start))
    assert reason == "Salesforce Events need an end (EndDateTime) and this event has none"
    ended = {**start, "EndDateTime": "2027-01-04T10:00:00Z"}
    assert events.refusal(Change("create", "e", fields=ended)) is None
    assert events.refusal(Change("create", "e", fields={**start, "IsAllDayEvent": True})) is None
    assert events.refusal(Change("update", "e", id="00U1", fields={"EndDateTime": None})) is None
    assert connect(sandbox, org, "Task").refusal(Change("create", "t", fields={})) is None
