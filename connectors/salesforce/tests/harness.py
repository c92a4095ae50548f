"""The Salesforce connector's harnesses for the shared contract suite (tests/contract/):
a fresh sandbox org per test, faults injected through the sandbox's control API. The
connector serves one object a scope (issue 17): ``make_harness`` runs the suite on
Contacts, ``make_account_harness``, ``make_opportunity_harness`` and
``make_task_harness`` (tests/contract/harnesses.py ``EXTRA``) on Accounts, Opportunities
and Tasks."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import pytest

from connectors.base import Connector, Credentials
from connectors.http import Http
from connectors.salesforce.connector import SalesforceConnector
from connectors.sandbox.control import SandboxControl
from tests.contract.harness import FaultKind, Harness, Served, fast_http, sandbox_fault


class SalesforceHarness(Harness):
    """One sandbox org, Contacts scope, the emulator in strict mode (it refuses what
    Salesforce refuses); SOQL batches are at least 200 records, so the paging tests seed
    a few hundred."""

    vendor = "salesforce"
    page_size = 200
    expected_common = frozenset(
        {"email", "first_name", "last_name", "company", "phone", "owner", "subscribed"}
    )
    expected_custom = "Interest__c"
    sobject = "Contact"

    def __init__(self, sandbox: SandboxControl) -> None:
        self.sandbox = sandbox
        sandbox.strict(True, vendor="salesforce")
        self.org = sandbox.create_account(
            "salesforce",
            name="Contract",
            custom_fields={self.sobject: [{"name": self.expected_custom, "type": "string"}]},
        )

    @property
    def scope(self) -> str:
        return self.sobject

    def build(self, access_token: str, http: Http | None = None) -> SalesforceConnector:
        credentials = Credentials(
            secrets={"access_token": access_token, "refresh_token": ""},
            settings={
                "instance_url": self.sandbox.vendor_url("salesforce"),
                "page_size": self.page_size,
            },
        )
        return SalesforceConnector(credentials, self.scope, http or fast_http())

    def connector(self, http: Http | None = None) -> Connector:
        return self.build(self.org["access_token"], http)

    def bad_connector(self) -> Connector:
        return self.build("not-a-session")

    def seed(self, count: int) -> list[str]:
        seeded = self.sandbox.seed(
            "salesforce", self.org["account_id"], count, seed=7, sobject=self.sobject
        )
        return list(seeded["ids"])

    def new_fields(self, index: int) -> dict[str, Any]:
        return {
            "Email": f"new.person.{index}@example.com",
            "FirstName": "Néw",
            "LastName": f"Person {index}",
            "Account.Name": "Contract Ltd",
            "Interest__c": "sailing",
        }

    def changed_fields(self) -> dict[str, Any]:
        return {"LastName": "Renamed Zoë", "MailingCity": "Kraków", "subscribed": False}

    def invalid_fields(self) -> dict[str, Any]:
        return {"Email": "no-last-name@example.com", "FirstName": "Only"}

    def fault(
        self, connector: Connector, kind: FaultKind, count: int = 1, retry_after: float = 0.1
    ) -> AbstractContextManager[Served]:
        return sandbox_fault(self.sandbox, "salesforce", kind, count, retry_after)


class AccountHarness(SalesforceHarness):
    """Accounts (companies): the name is required, no email opt-out."""

    sobject = "Account"
    expected_common = frozenset({"company", "website", "phone", "city", "country", "owner"})
    expected_custom = "Segment__c"

    def new_fields(self, index: int) -> dict[str, Any]:
        return {
            "Name": f"Néw Company {index}",
            "Website": f"https://company-{index}.example.com",
            "BillingCity": "Łódź",
            "Segment__c": "retail",
        }

    def changed_fields(self) -> dict[str, Any]:
        return {"Name": "Renamed Zoë GmbH", "BillingCity": "Kraków"}

    def invalid_fields(self) -> dict[str, Any]:
        return {"Website": "https://no-name.example.com"}


class OpportunityHarness(SalesforceHarness):
    """Opportunities: name, stage and close date required, each of an Account (the
    seeds take the org's Accounts in turn, so a few are made first)."""

    sobject = "Opportunity"
    expected_common = frozenset(
        {"opportunity_name", "amount", "close_date", "stage", "probability", "company_id"}
    )
    expected_custom = "Channel__c"

    def __init__(self, sandbox: SandboxControl) -> None:
        super().__init__(sandbox)
        self.accounts = list(
            sandbox.seed("salesforce", self.org["account_id"], 3, seed=5, sobject="Account")["ids"]
        )

    def new_fields(self, index: int) -> dict[str, Any]:
        return {
            "Name": f"Néw deal {index}",
            "AccountId": self.accounts[index % len(self.accounts)],
            "StageName": "Prospecting",
            "CloseDate": "2027-03-31",
            "Amount": 1250.5,
            "Channel__c": "partner",
        }

    def changed_fields(self) -> dict[str, Any]:
        return {"StageName": "Closed Won", "Amount": 9000, "Name": "Renamed Zoë deal"}

    def invalid_fields(self) -> dict[str, Any]:
        return {"Name": "No stage, no close date"}


class TaskHarness(SalesforceHarness):
    """Tasks with their polymorphic lookups split per target: each about a Contact
    (``WhoId.Contact``) and an Opportunity (``WhatId.Opportunity``); an update moves it
    from its Opportunity to an Account; a task "about" an Account as if it were a person
    is refused (FIELD_INTEGRITY_EXCEPTION)."""

    sobject = "Task"
    expected_common = frozenset(
        {
            "subject",
            "due_date",
            "task_status",
            "owner",
            "contact_id",
            "company_id",
            "opportunity_id",
        }
    )
    expected_custom = "Outcome__c"

    def __init__(self, sandbox: SandboxControl) -> None:
        super().__init__(sandbox)
        account = self.org["account_id"]
        made = {
            sobject: list(sandbox.seed("salesforce", account, 3, seed=5, sobject=sobject)["ids"])
            for sobject in ("Account", "Contact", "Opportunity")
        }
        self.accounts, self.contacts, self.deals = (
            made["Account"],
            made["Contact"],
            made["Opportunity"],
        )

    def new_fields(self, index: int) -> dict[str, Any]:
        return {
            "Subject": f"Néw call {index}",
            "ActivityDate": "2027-03-31",
            "WhoId.Contact": self.contacts[index % len(self.contacts)],
            "WhatId.Opportunity": self.deals[index % len(self.deals)],
            "Outcome__c": "reached",
        }

    def changed_fields(self) -> dict[str, Any]:
        return {
            "Subject": "Renamed Zoë call",
            "Status": "Completed",
            "WhatId.Opportunity": None,
            "WhatId.Account": self.accounts[0],
        }

    def invalid_fields(self) -> dict[str, Any]:
        return {"Subject": "About a company", "WhoId.Contact": self.accounts[0]}


def make_task_harness(request: pytest.FixtureRequest) -> SalesforceHarness:
    return TaskHarness(request.getfixturevalue("sandbox"))


def make_harness(request: pytest.FixtureRequest) -> SalesforceHarness:
    return SalesforceHarness(request.getfixturevalue("sandbox"))


def make_account_harness(request: pytest.FixtureRequest) -> SalesforceHarness:
    return AccountHarness(request.getfixturevalue("sandbox"))


def make_opportunity_harness(request: pytest.FixtureRequest) -> SalesforceHarness:
    return OpportunityHarness(request.getfixturevalue("sandbox"))
