"""The Sellf connector's harness for the shared contract suite (tests/contract/): a fresh
sandbox team per test paging at 4, faults injected through the sandbox's control API."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import pytest

from connectors.base import Connector, Credentials
from connectors.http import Http
from connectors.sandbox.control import SandboxControl
from connectors.sellf.connector import SellfConnector
from tests.contract.harness import FaultKind, Harness, Served, fast_http, sandbox_fault


class SellfHarness(Harness):
    """One sandbox team with one user; the authorization stands for that user."""

    vendor = "sellf"
    page_size = 4
    expected_common = frozenset(
        {"email", "first_name", "last_name", "company", "tags", "owner", "status", "phone"}
    )
    expected_custom = "custom:cf_industry_5f2a"

    def __init__(self, sandbox: SandboxControl, settings: Any) -> None:
        self.sandbox = sandbox
        settings.SELLF_API_URL = sandbox.vendor_url("sellf", "/v2")
        self.team = sandbox.create_account("sellf", name="Contract")
        self.user_id = self.team["users"][0]["id"]
        # The real API pages at 50; the sandbox pages at 4 so listings take several pages.
        sandbox.action("sellf", "options", page_size=self.page_size)

    @property
    def scope(self) -> str:
        return "people"

    def build(self, api_key: str, http: Http | None = None) -> SellfConnector:
        credentials = Credentials(secrets={"api_key": api_key}, settings={"user_id": self.user_id})
        return SellfConnector(credentials, self.scope, http or fast_http())

    def connector(self, http: Http | None = None) -> Connector:
        return self.build(self.team["api_key"], http)

    def bad_connector(self) -> Connector:
        return self.build("not-a-key")

    def seed(self, count: int) -> list[str]:
        seeded = self.sandbox.seed("sellf", self.team["team_id"], count, seed=7)
        return list(seeded["ids"])

    def new_fields(self, index: int) -> dict[str, Any]:
        return {
            "first_name": "Néw",
            "last_name": f"Person {index}",
            "email": f"new.person.{index}@example.com",
            "tags": ["contract", "vip"],
            "company": "Contract Srl",
            "custom:cf_industry_5f2a": "Energy",
        }

    def changed_fields(self) -> dict[str, Any]:
        return {
            "first_name": "Zoë",
            "tags": ["changed"],
            "prospect_status": "customer",
            "custom:cf_renewal_9c1d": "2027-03-01",
        }

    def invalid_fields(self) -> dict[str, Any]:
        return {"first_name": "No last name", "email": "no.last@example.com"}

    def fault(
        self, connector: Connector, kind: FaultKind, count: int = 1, retry_after: float = 0.1
    ) -> AbstractContextManager[Served]:
        return sandbox_fault(self.sandbox, "sellf", kind, count, retry_after)


def make_harness(request: pytest.FixtureRequest) -> SellfHarness:
    return SellfHarness(request.getfixturevalue("sandbox"), request.getfixturevalue("settings"))
