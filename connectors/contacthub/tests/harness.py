"""The Contacthub connector's harness for the shared contract suite (tests/contract/):
a fresh sandbox workspace with one node per test, the API's address in Django's
``CONTACTHUB_API_URL``, faults injected through the sandbox's control API."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import pytest

from connectors.base import Connector, Credentials
from connectors.contacthub.connector import ContacthubConnector
from connectors.http import Http
from connectors.sandbox.control import SandboxControl
from tests.contract.harness import FaultKind, Harness, Served, fast_http, sandbox_fault


def point_at_sandbox(settings: Any, sandbox: SandboxControl) -> None:
    """Django settings of a test: the API is the sandbox's."""
    settings.CONTACTHUB_API_URL = sandbox.vendor_url("contacthub", "/hub/v1")


def credentials(account: dict[str, Any], page_size: int | None = None) -> Credentials:
    """What the authorization holds for a sandbox workspace."""
    settings: dict[str, Any] = {
        "workspace_id": account["workspace_id"],
        "node_id": account["node_id"],
    }
    if page_size:
        settings["page_size"] = page_size
    return Credentials(secrets={"token": account["token"]}, settings=settings)


class ContacthubHarness(Harness):
    """One sandbox workspace and node; the connector lists 4 customers a page."""

    vendor = "contacthub"
    page_size = 4
    expected_common = frozenset({"email", "first_name", "last_name", "company", "phone", "tags"})
    expected_custom = "extended.loyaltyCard"

    def __init__(self, sandbox: SandboxControl, settings: Any) -> None:
        self.sandbox = sandbox
        point_at_sandbox(settings, sandbox)
        self.account = sandbox.create_account("contacthub", name="Contract")

    @property
    def scope(self) -> str:
        return str(self.account["node_id"])

    def build(self, account: dict[str, Any], http: Http | None = None) -> ContacthubConnector:
        return ContacthubConnector(
            credentials(account, self.page_size), self.scope, http or fast_http()
        )

    def connector(self, http: Http | None = None) -> Connector:
        return self.build(self.account, http)

    def bad_connector(self) -> Connector:
        return self.build({**self.account, "token": "not-a-token"})

    def seed(self, count: int) -> list[str]:
        seeded = self.sandbox.seed("contacthub", self.account["account_id"], count, seed=7)
        return list(seeded["ids"])

    def new_fields(self, index: int) -> dict[str, Any]:
        return {
            "base.contacts.email": f"new.person.{index}@example.com",
            "base.firstName": f"Néw {index}",
            "base.jobs.companyName": "Contract Srl",
            "tags": ["contract", "vip"],
            "extended.loyaltyCard": f"LC-{index}",
            "subscription:newsletter": True,
        }

    def changed_fields(self) -> dict[str, Any]:
        return {
            "base.firstName": "Renamed Zoë",
            "base.address.city": "Kraków",
            "base.jobs.jobTitle": "Buyer",
            "tags": ["changed"],
        }

    def invalid_fields(self) -> dict[str, Any]:
        return {"base.firstName": "Bad date", "base.dob": "31/01/1980"}

    def fault(
        self, connector: Connector, kind: FaultKind, count: int = 1, retry_after: float = 0.1
    ) -> AbstractContextManager[Served]:
        return sandbox_fault(self.sandbox, "contacthub", kind, count, retry_after)


def make_harness(request: pytest.FixtureRequest) -> ContacthubHarness:
    return ContacthubHarness(
        request.getfixturevalue("sandbox"), request.getfixturevalue("settings")
    )
