"""A Task's and an Event's polymorphic lookups (``WhoId``: a Contact or a Lead;
``WhatId``: an Account or an Opportunity) as one reference per target, over HTTP against
the strict sandbox: read by the id's key prefix (an Opportunity's task is about its
Account too), written as the most specific target given, kept where an update names only
a less specific one, and cleared when every target is."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base import Change
from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.objects import OBJECTS
from connectors.salesforce.polymorphic import Split
from connectors.salesforce.tests.test_objects import connect, written
from connectors.sandbox.control import SandboxControl

pytestmark = pytest.mark.usefixtures("strict_sandbox")
WHO, LEAD = "WhoId.Contact", "WhoId.Lead"
ACCOUNT, DEAL = "WhatId.Account", "WhatId.Opportunity"


@pytest.fixture
def org(sandbox: SandboxControl) -> dict[str, Any]:
    return sandbox.create_account("salesforce", name="Field sales")


def stored(sandbox: SandboxControl, org: dict[str, Any], sobject: str) -> dict[str, Any]:
    state = sandbox.state("salesforce", org["account_id"])["orgs"][org["account_id"]]
    return {r["Id"]: r for r in state["records"][sobject]}


@pytest.fixture
def crm(sandbox: SandboxControl, org: dict[str, Any]) -> dict[str, str]:
    """An Account with a Contact and an Opportunity, another Account, and a Lead."""
    acme, beta = written(
        connect(sandbox, org, "Account"),
        Change("create", "a", fields={"Name": "Acme"}),
        Change("create", "b", fields={"Name": "Beta"}),
    )
    [contact] = written(
        connect(sandbox, org, "Contact"),
        Change("create", "c", fields={"LastName": "Cole", "AccountId": acme}),
    )
    deal_fields = {"Name": "D", "AccountId": acme, "StageName": "Prospecting"}
    [deal] = written(
        connect(sandbox, org, "Opportunity"),
        Change("create", "d", fields={**deal_fields, "CloseDate": "2027-01-31"}),
    )
    [lead] = written(
        connect(sandbox, org, "Lead"),
        Change("create", "l", fields={"LastName": "Lee", "Company": "Lee Ltd"}),
    )
    return {"acme": acme, "beta": beta, "contact": contact, "deal": deal, "lead": lead}


def read(connector: SalesforceConnector) -> dict[str, dict[str, Any]]:
    pages = list(connector.fetch(None))
    return {r.id: r.fields for p in pages for r in p.records}


def targets(fields: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(fields[k] for k in (WHO, LEAD, DEAL, ACCOUNT))


def test_a_task_about_a_contact_and_an_opportunity_reads_both_and_the_account(
    sandbox: SandboxControl, org: Any, crm: dict[str, str]
) -> None:
    tasks = connect(sandbox, org, "Task")
    [task] = written(
        tasks,
        Change("create", "t", fields={"Subject": "Call", WHO: crm["contact"], DEAL: crm["deal"]}),
    )
    row = stored(sandbox, org, "Task")[task]
    assert (row["WhoId"], row["WhatId"]) == (crm["contact"], crm["deal"])
    assert targets(read(tasks)[task]) == (crm["contact"], None, crm["deal"], crm["acme"])


def test_the_opportunity_wins_over_the_account_and_an_account_alone_is_kept(
    sandbox: SandboxControl, org: Any, crm: dict[str, str]
) -> None:
    events = connect(sandbox, org, "Event")
    when = {"StartDateTime": "2027-01-01T10:00:00Z", "EndDateTime": "2027-01-01T11:00:00Z"}
    both = {"Subject": "Meet", **when, ACCOUNT: crm["beta"], DEAL: crm["deal"]}
    [event] = written(events, Change("create", "e", fields=both))
    assert stored(sandbox, org, "Event")[event]["WhatId"] == crm["deal"]
    # An update naming only the Account leaves the Opportunity, the more specific one.
    written(events, Change("update", "u", id=event, fields={ACCOUNT: crm["beta"]}))
    assert stored(sandbox, org, "Event")[event]["WhatId"] == crm["deal"]
    # The Opportunity cleared: the event is about the Account it still names.
    written(events, Change("update", "v", id=event, fields={DEAL: None}))
    assert stored(sandbox, org, "Event")[event]["WhatId"] == crm["acme"]
    written(events, Change("update", "w", id=event, fields={ACCOUNT: crm["beta"]}))
    assert stored(sandbox, org, "Event")[event]["WhatId"] == crm["beta"]
    assert targets(read(events)[event]) == (None, None, None, crm["beta"])


def test_clearing_every_target_clears_the_lookup(
    sandbox: SandboxControl, org: Any, crm: dict[str, str]
) -> None:
    tasks = connect(sandbox, org, "Task")
    fields = {"Subject": "Call", WHO: crm["contact"], ACCOUNT: crm["beta"]}
    [task] = written(tasks, Change("create", "t", fields=fields))
    written(tasks, Change("update", "u", id=task, fields={ACCOUNT: None}))
    row = stored(sandbox, org, "Task")[task]
    assert (row["WhoId"], row["WhatId"]) == (crm["contact"], None)
    written(tasks, Change("update", "v", id=task, fields={WHO: None, LEAD: None}))
    assert stored(sandbox, org, "Task")[task]["WhoId"] is None
    assert targets(read(tasks)[task]) == (None, None, None, None)


def test_a_lead_whoid_reads_as_the_lead_and_a_contact_replaces_it(
    sandbox: SandboxControl, org: Any, crm: dict[str, str]
) -> None:
    tasks = connect(sandbox, org, "Task")
    [task] = written(tasks, Change("create", "t", fields={"Subject": "Call", LEAD: crm["lead"]}))
    assert targets(read(tasks)[task]) == (None, crm["lead"], None, None)
    # Where leads are not synced, the contact reference of the other app reads empty and
    # clearing it leaves the Lead alone.
    written(tasks, Change("update", "u", id=task, fields={WHO: None}))
    assert stored(sandbox, org, "Task")[task]["WhoId"] == crm["lead"]
    written(tasks, Change("update", "v", id=task, fields={WHO: crm["contact"]}))
    assert stored(sandbox, org, "Task")[task]["WhoId"] == crm["contact"]


def test_salesforces_refusal_of_a_wrong_object_reaches_the_result(
    sandbox: SandboxControl, org: Any, crm: dict[str, str]
) -> None:
    tasks = connect(sandbox, org, "Task")
    [result] = tasks.push([Change("create", "t", fields={"Subject": "Call", WHO: crm["acme"]})])
    assert result.error is not None and result.error.permanent
    assert "incorrect type" in str(result.error)


def what_split(prefixes: dict[str, str] | None = None) -> Split:
    """Task's WhatId as an org describing Account and Opportunity targets and the
    derived AccountId describes it (no sandbox: the split alone)."""
    what = next(p for p in OBJECTS["Task"].polymorphic if p.field == "WhatId")
    described = {
        "WhatId": {
            "name": "WhatId",
            "type": "reference",
            "label": "Related To ID",
            "referenceTo": ["Account", "Opportunity", "Case"],
            "createable": True,
            "updateable": True,
        },
        "AccountId": {"name": "AccountId", "type": "reference", "referenceTo": ["Account"]},
    }
    split = Split.of(what, described, prefixes or {"Account": "001", "Opportunity": "006"})
    assert split is not None
    return split


def test_a_lookup_to_an_object_not_split_out_stays_unless_a_target_is_given() -> None:
    split = what_split()
    case = {"WhatId": "500000000000001", "AccountId": "001000000000001"}
    # A Case's task is about its Account too (derived), but clearing that is no reason to
    # drop the Case, nor is clearing the Opportunity a reason to put the Account instead.
    assert split.read(case)[ACCOUNT] == "001000000000001"
    assert split.value({ACCOUNT: None}, case) == (False, None)
    assert split.value({DEAL: None}, case) == (False, None)
    assert split.value({ACCOUNT: "001000000000002"}, case) == (True, "001000000000002")


def test_the_prefixes_of_the_orgs_describe_route_the_ids() -> None:
    # The describe's keyPrefix decides; an object it gives none for has the standard one.
    split = what_split({"Opportunity": "0Z6"})
    assert split.target_of("0Z6000000000001") == "Opportunity"
    assert split.target_of("006000000000001") is None
    assert split.target_of("001000000000001") == "Account"
    assert split.target_of("500000000000001") is None
    assert [spec.key for spec in split.specs()] == [DEAL, ACCOUNT]  # most specific first
    assert split.columns == ("WhatId", "AccountId")


def test_updates_whose_lookups_cannot_be_read_fail_and_the_rest_are_written(
    sandbox: SandboxControl, org: Any, crm: dict[str, str]
) -> None:
    tasks = connect(sandbox, org, "Task")
    made = {"Subject": "Call", WHO: crm["contact"], DEAL: crm["deal"]}
    first, second = written(
        tasks, Change("create", "a", fields=made), Change("create", "b", fields=made)
    )
    tasks = connect(sandbox, org, "Task")
    tasks.fields()  # the describe read before the faults
    sandbox.faults("salesforce", error_count=5, error_status=500, only="^GET .*/query")
    partly, fully = tasks.push(
        [
            Change("update", "p", id=first, fields={ACCOUNT: crm["beta"]}),
            Change("update", "f", id=second, fields={"Subject": "Renamed"}),
        ]
    )
    assert partly.error is not None and not partly.error.permanent  # retried next run
    assert fully.error is None
    rows = stored(sandbox, org, "Task")
    assert rows[first]["WhatId"] == crm["deal"] and rows[second]["Subject"] == "Renamed"
