"""The ForceManager connector's harnesses for the shared contract suite (tests/contract/):
a fresh sandbox account per test paging at 4, faults injected through the sandbox's
control API; one harness per entity scope (contacts, the vendor's own entry; companies,
opportunities, activities and tasks, listed in tests/contract/harnesses.py ``EXTRA``)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import pytest

from connectors.base import Connector, Credentials
from connectors.forcemanager.connector import ForceManagerConnector
from connectors.http import Http
from connectors.sandbox.control import SandboxControl
from tests.contract.harness import FaultKind, Harness, Served, fast_http, sandbox_fault


class ForceManagerHarness(Harness):
    """One sandbox account with one user; the connector asks for pages of 4. This class
    is the contacts' harness; the others change the scope, what is seeded and the
    fields."""

    vendor = "forcemanager"
    page_size = 4
    resource = "contacts"
    expected_common = frozenset(
        {"email", "first_name", "last_name", "company", "owner", "phone", "country"}
    )
    expected_custom = "Z_Industry"

    def __init__(self, sandbox: SandboxControl) -> None:
        self.sandbox = sandbox
        self.account = sandbox.create_account("forcemanager", name="Contract")

    @property
    def scope(self) -> str:
        return self.resource

    def build(self, private_key: str, http: Http | None = None) -> ForceManagerConnector:
        credentials = Credentials(
            secrets={"public_key": self.account["public_key"], "private_key": private_key},
            settings={"page_size": self.page_size},
        )
        return ForceManagerConnector(credentials, self.scope, http or fast_http())

    def connector(self, http: Http | None = None) -> Connector:
        return self.build(self.account["private_key"], http)

    def bad_connector(self) -> Connector:
        return self.build("not-the-private-key")

    def seed(self, count: int) -> list[str]:
        seeded = self.sandbox.seed(
            "forcemanager", self.account["account_id"], count, seed=7, resource=self.resource
        )
        return list(seeded["ids"])

    def new_fields(self, index: int) -> dict[str, Any]:
        return {
            "firstName": "Néw",
            "lastName": f"Person {index}",
            "email": f"new.person.{index}@example.com",
            "company": "Contract S.L.",
            "countryId": "Spain",
            "Z_Industry": "Energy",
            "Z_Segment": "SMB",
        }

    def changed_fields(self) -> dict[str, Any]:
        return {
            "firstName": "Zoë",
            "company": "Changed Corp",
            "gender": "Female",
            "Z_Interests": ["Fleet", "Software"],
            "Z_Vip": True,
        }

    def invalid_fields(self) -> dict[str, Any]:
        return {"firstName": "No last name", "email": "no.last@example.com"}

    def fault(
        self, connector: Connector, kind: FaultKind, count: int = 1, retry_after: float = 0.1
    ) -> AbstractContextManager[Served]:
        return sandbox_fault(self.sandbox, "forcemanager", kind, count, retry_after)


class CompanyHarness(ForceManagerHarness):
    """Companies (``accounts``): the branch and the sales rep left to their defaults."""

    resource = "accounts"
    expected_common = frozenset({"company", "owner", "phone", "city", "country", "notes"})
    expected_custom = "Z_Sector"

    def new_fields(self, index: int) -> dict[str, Any]:
        return {
            "name": f"Néw Company {index}",
            "phone": f"+34 600 000 0{index:02d}",
            "city": "Madrid",
            "countryId": "Spain",
            "typeId": "Prospect",
            "Z_Sector": "Energy",
        }

    def changed_fields(self) -> dict[str, Any]:
        return {
            "name": "Renamed S.A.",
            "statusId": "Inactive",
            "comment": "Moved to the south",
            "Z_Sector": "Retail",
        }

    def invalid_fields(self) -> dict[str, Any]:
        return {"city": "No name"}


class OpportunityHarness(ForceManagerHarness):
    """Opportunities, each referring to a company made in the sandbox beforehand."""

    resource = "opportunities"
    expected_common = frozenset(
        {
            "opportunity_name",
            "amount",
            "close_date",
            "stage",
            "probability",
            "company_id",
            "contact_id",
            "owner",
            "notes",
        }
    )
    expected_custom = "Z_Source"

    def __init__(self, sandbox: SandboxControl) -> None:
        super().__init__(sandbox)
        made = sandbox.seed("forcemanager", self.account["account_id"], 1, resource="accounts")
        self.company = str(made["ids"][0])

    def new_fields(self, index: int) -> dict[str, Any]:
        return {
            "reference": f"Deal {index}",
            "accountId1": self.company,
            "total": 1200.0 + index,
            "probability": 40.0,
            "statusId": "Open",
            "salesForecastDate": "2027-06-30",
            "Z_Source": "Web",
        }

    def changed_fields(self) -> dict[str, Any]:
        return {
            "reference": "Changed deal",
            "accountId1": self.company,
            "total": 9900.5,
            "statusId": "Won",
            "salesForecastDate": "2027-12-31",
        }

    def invalid_fields(self) -> dict[str, Any]:
        return {"reference": "No company"}


class ActivityHarness(ForceManagerHarness):
    """Activities about a company; a create without a type gets the first type."""

    resource = "activities"
    expected_common = frozenset(
        {"owner", "company_id", "contact_id", "opportunity_id", "start", "notes"}
    )
    expected_custom = None

    def __init__(self, sandbox: SandboxControl) -> None:
        super().__init__(sandbox)
        made = sandbox.seed("forcemanager", self.account["account_id"], 1, resource="accounts")
        self.company = str(made["ids"][0])

    def new_fields(self, index: int) -> dict[str, Any]:
        return {"accountId": self.company, "comment": f"Néw visit {index}"}

    def changed_fields(self) -> dict[str, Any]:
        return {"activityTypeId": "Call", "comment": "Called Zoë instead"}

    def invalid_fields(self) -> dict[str, Any]:
        return {"activityTypeId": "Dance", "comment": "No such type"}


class TaskHarness(ActivityHarness):
    """Tasks (the calendar's half with ``isTask``): a subject and a due date."""

    resource = "tasks"
    expected_common = frozenset(
        {"subject", "due_date", "end", "owner", "company_id", "contact_id", "opportunity_id"}
    )

    def new_fields(self, index: int) -> dict[str, Any]:
        return {
            "subject": f"Néw call {index}",
            "dateStart": "2027-03-31",
            "accountId": self.company,
        }

    def changed_fields(self) -> dict[str, Any]:
        return {"subject": "Renamed Zoë call", "dateStart": "2027-04-01", "finalized": True}

    def invalid_fields(self) -> dict[str, Any]:
        return {"subject": "No due date"}


def make_activity_harness(request: pytest.FixtureRequest) -> ForceManagerHarness:
    return ActivityHarness(request.getfixturevalue("sandbox"))


def make_task_harness(request: pytest.FixtureRequest) -> ForceManagerHarness:
    return TaskHarness(request.getfixturevalue("sandbox"))


def make_harness(request: pytest.FixtureRequest) -> ForceManagerHarness:
    return ForceManagerHarness(request.getfixturevalue("sandbox"))


def make_company_harness(request: pytest.FixtureRequest) -> ForceManagerHarness:
    return CompanyHarness(request.getfixturevalue("sandbox"))


def make_opportunity_harness(request: pytest.FixtureRequest) -> ForceManagerHarness:
    return OpportunityHarness(request.getfixturevalue("sandbox"))
