"""The GetResponse connector's harness for the shared contract suite (tests/contract/):
a fresh sandbox account per test, faults injected through the sandbox's control API."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import pytest

from connectors.base import Connector, Credentials
from connectors.getresponse.connector import GetResponseConnector
from connectors.http import Http
from connectors.sandbox.control import SandboxControl
from tests.contract.harness import FaultKind, Harness, Served, fast_http, sandbox_fault


class GetResponseHarness(Harness):
    """One sandbox account with one list; the connector pages at ``page_size``."""

    vendor = "getresponse"
    page_size = 4
    expected_common = frozenset({"email", "full_name", "tags", "company", "phone"})
    expected_custom = "custom:company"

    def __init__(self, sandbox: SandboxControl) -> None:
        self.sandbox = sandbox
        self.account = sandbox.create_account("getresponse", name="Contract")

    @property
    def scope(self) -> str:
        return str(self.account["lists"][0]["id"])

    def build(self, api_key: str, http: Http | None = None) -> GetResponseConnector:
        credentials = Credentials(
            secrets={"api_key": api_key},
            settings={"page_size": self.page_size, "resolve_timeout": 3},
        )
        return GetResponseConnector(credentials, self.scope, http or fast_http())

    def connector(self, http: Http | None = None) -> Connector:
        return self.build(self.account["api_key"], http)

    def bad_connector(self) -> Connector:
        return self.build("not-a-key")

    def seed(self, count: int) -> list[str]:
        seeded = self.sandbox.seed("getresponse", self.account["account_id"], count, seed=7)
        return list(seeded["ids"])

    def new_fields(self, index: int) -> dict[str, Any]:
        return {
            "email": f"new.person.{index}@example.com",
            "name": f"Néw Person {index}",
            "tags": ["contract", "vip"],
            "custom:company": "Contract Ltd",
        }

    def changed_fields(self) -> dict[str, Any]:
        return {"name": "Renamed Zoë", "tags": ["changed"], "custom:city": "Kraków"}

    def invalid_fields(self) -> dict[str, Any]:
        return {"name": "No Email"}

    def fault(
        self, connector: Connector, kind: FaultKind, count: int = 1, retry_after: float = 0.1
    ) -> AbstractContextManager[Served]:
        return sandbox_fault(self.sandbox, "getresponse", kind, count, retry_after)


def make_harness(request: pytest.FixtureRequest) -> GetResponseHarness:
    return GetResponseHarness(request.getfixturevalue("sandbox"))
