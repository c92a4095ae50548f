"""The Salesforce emulator's Accounts, Opportunities, Tasks and Events (issue 17's
objects) with their references over HTTP: describe, seeds, relationship queries,
polymorphic ``WhoId``/``WhatId``, required fields, and an Account's cascading delete.
Strict sandbox."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from connectors.salesforce import soql
from connectors.sandbox.control import SandboxControl

pytestmark = pytest.mark.usefixtures("strict_sandbox")


@pytest.fixture
def org(sandbox: SandboxControl) -> dict[str, Any]:
    return sandbox.create_account("salesforce", name="Field sales")


@pytest.fixture
def api(sandbox: SandboxControl, org: dict[str, Any]) -> Any:
    base = sandbox.vendor_url("salesforce", "/services/data/v62.0")
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {org['access_token']}"

    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        return http.request(method, f"{base}{path}", timeout=10, **kwargs)

    return call


def query(api: Any, soql: str) -> list[dict[str, Any]]:
    answer = api("GET", "/query", params={"q": soql})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["records"])


def create(api: Any, sobject: str, **fields: Any) -> dict[str, Any]:
    body = {"allOrNone": False, "records": [{"attributes": {"type": sobject}, **fields}]}
    return dict(api("POST", "/composite/sobjects", json=body).json()[0])


def seed(sandbox: SandboxControl, org: dict[str, Any], sobject: str, count: int) -> list[str]:
    return list(
        sandbox.seed("salesforce", org["account_id"], count, seed=17, sobject=sobject)["ids"]
    )


def test_describe_lists_the_new_objects_and_their_references(api: Any) -> None:
    sobjects = {s["name"]: s for s in api("GET", "/sobjects").json()["sobjects"]}
    assert sobjects["Opportunity"]["keyPrefix"] == "006"
    assert sobjects["Opportunity"]["labelPlural"] == "Opportunities"
    assert {sobjects[n]["keyPrefix"] for n in ("Task", "Event")} == {"00T", "00U"}
    task = {f["name"]: f for f in api("GET", "/sobjects/Task/describe").json()["fields"]}
    assert task["WhoId"]["referenceTo"] == ["Contact", "Lead"]
    assert task["WhoId"]["relationshipName"] == "Who"
    assert task["WhatId"]["referenceTo"] == ["Account", "Opportunity"]
    assert task["OwnerId"]["referenceTo"] == ["User"]
    opportunity = api("GET", "/sobjects/Opportunity/describe").json()["fields"]
    required = {f["name"] for f in opportunity if not f["nillable"] and not f["defaultedOnCreate"]}
    assert {"Name", "StageName", "CloseDate"} <= required


def test_seeded_objects_reference_each_other_in_relationship_queries(
    sandbox: SandboxControl, org: dict[str, Any], api: Any
) -> None:
    accounts = seed(sandbox, org, "Account", 4)
    seed(sandbox, org, "Opportunity", 8)
    seed(sandbox, org, "Contact", 6)
    seed(sandbox, org, "Task", 5)
    seed(sandbox, org, "Event", 3)
    deals = query(api, "SELECT Id, Name, AccountId, Account.Name FROM Opportunity ORDER BY Id")
    assert len(deals) == 8 and {d["AccountId"] for d in deals} == set(accounts)
    assert all(d["Account"]["Name"] and d["Name"].startswith(d["Account"]["Name"]) for d in deals)
    tasks = query(api, "SELECT Id, Status, Who.LastName, What.Name, WhatId FROM Task")
    assert len(tasks) == 5 and all(t["Status"] == "Not Started" for t in tasks)
    assert all(t["Who"]["attributes"]["type"] == "Contact" and t["Who"]["LastName"] for t in tasks)
    assert all(t["What"]["attributes"]["type"] == "Opportunity" for t in tasks)
    owner = soql.quote(org["user_id"])
    events = query(api, f"SELECT Id, StartDateTime FROM Event WHERE OwnerId = {owner}")  # noqa: S608
    assert len(events) == 3 and all(e["StartDateTime"].endswith(".000+0000") for e in events)
    recent = query(api, "SELECT Id FROM Opportunity WHERE CloseDate >= 2000-01-01")
    assert len(recent) == 8


def test_who_and_what_take_only_their_target_objects(api: Any) -> None:
    account = create(api, "Account", Name="Acme")
    lead = create(api, "Lead", LastName="Lee", Company="Lee Ltd")
    deal = create(
        api,
        "Opportunity",
        Name="Acme renewal",
        AccountId=account["id"],
        StageName="Prospecting",
        CloseDate="2027-01-31",
    )
    assert account["success"] and lead["success"] and deal["success"]
    contact = create(api, "Contact", LastName="Cole", AccountId=account["id"])
    task = create(api, "Task", Subject="Call", WhoId=contact["id"], WhatId=deal["id"])
    assert task["success"]
    assert create(api, "Task", Subject="Call", WhoId=lead["id"])["success"]
    incomplete = create(api, "Opportunity", Name="No stage")
    assert incomplete["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert set(incomplete["errors"][0]["fields"]) == {"StageName", "CloseDate"}


def test_a_lookup_to_an_object_it_does_not_take_is_of_incorrect_type(api: Any) -> None:
    account = create(api, "Account", Name="Acme")["id"]
    contact = create(api, "Contact", LastName="Cole", AccountId=account)["id"]
    wrong = create(api, "Task", Subject="Call", WhoId=account)
    assert wrong["errors"] == [
        {
            "statusCode": "FIELD_INTEGRITY_EXCEPTION",
            "message": f"Name ID: id value of incorrect type: {account}",
            "fields": ["WhoId"],
        }
    ]
    event = {"StartDateTime": "2027-01-01T10:00:00Z", "EndDateTime": "2027-01-01T11:00:00Z"}
    also = create(api, "Event", Subject="Meet", WhatId=contact, **event)
    assert also["errors"][0]["statusCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert also["errors"][0]["fields"] == ["WhatId"]
    # The right object's prefix but no such record: a cross reference to nothing.
    missing = create(api, "Task", Subject="Call", WhoId="003" + contact[3:14] + "9")
    assert missing["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"


def test_an_activity_about_a_lead_is_related_to_nothing_else(api: Any) -> None:
    account = create(api, "Account", Name="Acme")["id"]
    lead = create(api, "Lead", LastName="Lee", Company="Lee Ltd")["id"]
    refused = create(api, "Task", Subject="Call", WhoId=lead, WhatId=account)
    assert refused["errors"][0]["statusCode"] == "FIELD_INTEGRITY_EXCEPTION"
    task = create(api, "Task", Subject="Call", WhoId=lead)["id"]
    body = {"records": [{"attributes": {"type": "Task"}, "id": task, "WhatId": account}]}
    [answer] = api("PATCH", "/composite/sobjects", json=body).json()
    assert answer["errors"][0]["statusCode"] == "FIELD_INTEGRITY_EXCEPTION"


def test_an_activitys_account_is_derived_from_what_it_is_about(api: Any) -> None:
    acme = create(api, "Account", Name="Acme")["id"]
    beta = create(api, "Account", Name="Beta")["id"]
    contact = create(api, "Contact", LastName="Cole", AccountId=beta)["id"]
    deal = create(
        api,
        "Opportunity",
        Name="D",
        AccountId=acme,
        StageName="Prospecting",
        CloseDate="2027-01-01",
    )["id"]
    about_deal = create(api, "Task", Subject="A", WhatId=deal, WhoId=contact)["id"]
    about_contact = create(api, "Task", Subject="B", WhoId=contact)["id"]
    nothing = create(api, "Task", Subject="C")["id"]
    rows = {t["Id"]: t["AccountId"] for t in query(api, "SELECT Id, AccountId FROM Task")}
    assert rows == {about_deal: acme, about_contact: beta, nothing: None}
    task = {f["name"]: f for f in api("GET", "/sobjects/Task/describe").json()["fields"]}
    assert not task["AccountId"]["createable"] and not task["AccountId"]["updateable"]
    refused = create(api, "Task", Subject="D", AccountId=acme)
    assert refused["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_event_datetimes_are_stored_in_utc_whole_seconds(api: Any) -> None:
    event = create(
        api,
        "Event",
        Subject="Demo",
        StartDateTime="2026-12-24T10:30:15.250+01:00",
        EndDateTime="2026-12-24T11:30:00Z",
    )
    stored = api("GET", f"/sobjects/Event/{event['id']}").json()
    assert stored["StartDateTime"] == "2026-12-24T09:30:15.000+0000"
    assert stored["EndDateTime"] == "2026-12-24T11:30:00.000+0000"
    assert stored["IsAllDayEvent"] is False


def test_deleting_an_account_deletes_its_contacts_deals_and_their_activities(
    sandbox: SandboxControl, org: dict[str, Any], api: Any
) -> None:
    account = create(api, "Account", Name="Gone Inc")["id"]
    kept = create(api, "Account", Name="Stays Inc")["id"]
    contact = create(api, "Contact", LastName="Child", AccountId=account)["id"]
    other = create(api, "Contact", LastName="Other", AccountId=kept)["id"]
    deal = create(
        api,
        "Opportunity",
        Name="D",
        AccountId=account,
        StageName="Prospecting",
        CloseDate="2027-01-01",
    )["id"]
    task = create(api, "Task", Subject="T", WhatId=deal)["id"]
    call = create(api, "Task", Subject="C", WhoId=contact)["id"]
    assert api("DELETE", f"/sobjects/Account/{account}").status_code == 204
    state = sandbox.state("salesforce", org["account_id"])["orgs"][org["account_id"]]
    assert state["deleted"]["Contact"] == [contact]
    assert state["deleted"]["Opportunity"] == [deal]
    assert sorted(state["deleted"]["Task"]) == sorted([task, call])
    assert [r["Id"] for r in state["records"]["Contact"]] == [other]
