"""Salesforce Tasks as ForceManager tasks with what they are about (issue 17), end to end
through both sandboxes over HTTP, the REST API and the real engine: a connection syncing
contacts, companies, opportunities, tasks and events, their polymorphic ``WhoId`` /
``WhatId`` paired by default with ForceManager's ``contactId`` / ``opportunityId`` /
``accountId`` through the common keys. A Salesforce Task about a Contact and an
Opportunity lands pointing at the ForceManager contact, opportunity and account of those
records, an Event about a Contact and an Account at those, a Task about a Lead (leads not
synced) at nothing; a ForceManager edit of the task (its subject and its opportunity)
comes back to the Task; a run with nothing new writes nothing. Every assertion reads the
sandboxes' state."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from connectors.base import Change
from connectors.sandbox.control import SandboxControl
from sync import setup
from sync.models import Account, FieldMapping, RunStatus, SyncRun
from tests.api.conftest import token_client
from tests.e2e import salesforce
from tests.e2e.salesforce import (
    FM,
    SalesforceForceManager,
    salesforce_records,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("strict_sandbox")]
CLIENT_ID, CLIENT_SECRET = "e2e-fm-activities-app", "e2e-fm-activities-app-secret"
URL = "/api/v1/connections/"


class Both(SalesforceForceManager):
    """The two sandboxes' accounts and the connection between them."""

    def sf(self, sobject: str) -> dict[str, dict[str, Any]]:
        state = self.sandbox.state("salesforce", self.org["account_id"])
        return {r["Id"]: r for r in state["orgs"][self.org["account_id"]]["records"][sobject]}

    def fm_by(self, resource: str, name: str) -> dict[str, dict[str, Any]]:
        return {str(r[name]): r for r in self.fm_rows(resource)}


@pytest.fixture(autouse=True)
def connected_app(sandbox: SandboxControl, settings: Any) -> None:
    salesforce.connected_app(settings, sandbox, CLIENT_ID, CLIENT_SECRET)


@pytest.fixture
def api(owner: Any, account: Account) -> APIClient:
    return token_client(owner, account)


@pytest.fixture
def both(sandbox: SandboxControl, account: Account, api: APIClient) -> Both:
    """A Business account's Salesforce → ForceManager connection made through the API,
    syncing companies, opportunities, tasks and events besides its contacts."""
    return Both.made(
        sandbox,
        account,
        api,
        (CLIENT_ID, CLIENT_SECRET),
        ("company", "opportunity", "task", "event"),
    )


def test_a_salesforce_task_lands_with_its_contact_opportunity_and_account(
    both: Both, api: APIClient
) -> None:
    # The Task's references are paired by default through the common keys.
    pairs = set(
        FieldMapping.objects.filter(connection=both.connection, entity="task").values_list(
            "a_field", "b_field"
        )
    )
    assert {
        ("WhoId.Contact", "contactId"),
        ("WhatId.Opportunity", "opportunityId"),
        ("WhatId.Account", "accountId"),
        ("ActivityDate", "dateStart"),
        ("Subject", "subject"),
    } <= pairs
    assert setup.entity_problems(both.connection) == []
    [acme] = both.write("Account", Change("create", "1", fields={"Name": "Acme"}))
    [ann] = both.write(
        "Contact",
        Change(
            "create",
            "c",
            fields={
                "FirstName": "Ann",
                "LastName": "Lee",
                "Email": "ann@example.com",
                "AccountId": acme,
            },
        ),
    )
    deal = {"AccountId": acme, "StageName": "Open", "CloseDate": "2027-01-31"}
    renewal, upsell = both.write(
        "Opportunity",
        Change("create", "r", fields={"Name": "Acme renewal", **deal}),
        Change("create", "u", fields={"Name": "Acme upsell", **deal}),
    )
    [lead] = both.write(
        "Lead", Change("create", "l", fields={"LastName": "Lu", "Company": "Lu Ltd"})
    )
    task, about_lead = both.write(
        "Task",
        Change(
            "create",
            "t",
            fields={
                "Subject": "Call Ann",
                "ActivityDate": "2027-02-01",
                "WhoId.Contact": ann,
                "WhatId.Opportunity": renewal,
            },
        ),
        # About a Lead: leads are not synced, so it lands about no one.
        Change(
            "create",
            "q",
            fields={"Subject": "Qualify Lu", "ActivityDate": "2027-02-02", "WhoId.Lead": lead},
        ),
    )
    when = {"StartDateTime": "2027-02-03T09:00:00Z", "EndDateTime": "2027-02-03T10:00:00Z"}
    both.write(
        "Event",
        Change(
            "create",
            "e",
            fields={"Subject": "Visit Acme", **when, "WhoId.Contact": ann, "WhatId.Account": acme},
        ),
    )

    started = api.post(
        f"{URL}{both.connection.pk}/start/", {"confirm_replace": True}, format="json"
    )
    assert started.status_code == 202, started.content
    first = SyncRun.objects.get(pk=started.json()["run"]["id"])
    errors = list(first.events.exclude(status="ok").values_list("entity", "error"))
    assert first.status == RunStatus.SUCCEEDED, (first.status, first.error, first.counts, errors)

    fm_companies = {int(r["id"]): str(r["name"]) for r in both.fm_rows("accounts")}
    fm_contact = both.fm_by("contacts", "email")["ann@example.com"]
    fm_deals = both.fm_by("opportunities", "reference")
    fm_tasks = {str(r["subject"]): r for r in both.fm_rows("calendars") if r["isTask"]}
    assert set(fm_tasks) == {"Call Ann", "Qualify Lu"}
    fm_task = fm_tasks["Call Ann"]
    assert fm_task["dateStart"].startswith("2027-02-01")
    assert fm_task["contactId"]["id"] == fm_contact["id"]
    assert fm_task["opportunityId"]["id"] == fm_deals["Acme renewal"]["id"]
    # The Task's Account comes from its Opportunity (Salesforce's derived AccountId).
    assert fm_companies[int(fm_task["accountId"]["id"])] == "Acme"
    [fm_event] = [r for r in both.fm_rows("calendars") if not r["isTask"]]
    assert fm_event["subject"] == "Visit Acme"
    assert fm_event["contactId"]["id"] == fm_contact["id"]
    assert fm_companies[int(fm_event["accountId"]["id"])] == "Acme"
    assert fm_event["opportunityId"] is None
    lead_task = fm_tasks["Qualify Lu"]
    assert (lead_task["contactId"], lead_task["accountId"], lead_task["opportunityId"]) == (
        None,
        None,
        None,
    )

    # In ForceManager, the task moves to the other opportunity and is renamed.
    both.sandbox.action(
        FM,
        "edit",
        account=both.fm["account_id"],
        contact=str(fm_task["id"]),
        resource="calendars",
        subject="Call Ann back",
        opportunityId=fm_deals["Acme upsell"]["id"],
    )
    both.run()
    sf_task = both.sf("Task")[task]
    assert sf_task["Subject"] == "Call Ann back"
    assert (sf_task["WhatId"], sf_task["WhoId"]) == (upsell, ann)
    assert salesforce_records(both.sandbox, both.org)["ann@example.com"]["Id"] == ann
    assert both.sf("Task")[about_lead]["WhoId"] == lead  # untouched

    # A quiet run writes nothing.
    assert both.run().writes == 0
