"""The ForceManager connector's harness for the shared contract suite (tests/contract/):
a fresh sandbox account per test paging at 4, faults injected through the sandbox's
control API."""

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
    """One sandbox account with one user; the connector asks for pages of 4."""

    vendor = "forcemanager"
    page_size = 4
    expected_common = frozenset(
        {"email", "first_name", "last_name", "company", "owner", "phone", "country"}
    )
    expected_custom = "Z_Industry"

    def __init__(self, sandbox: SandboxControl) -> None:
        self.sandbox = sandbox
        self.account = sandbox.create_account("forcemanager", name="Contract")

    @property
    def scope(self) -> str:
        return "contacts"

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
        seeded = self.sandbox.seed("forcemanager", self.account["account_id"], count, seed=7)
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


def make_harness(request: pytest.FixtureRequest) -> ForceManagerHarness:
    return ForceManagerHarness(request.getfixturevalue("sandbox"))
