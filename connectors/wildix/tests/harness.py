"""The Wildix connector's harness for the shared contract suite (tests/contract/): a
fresh sandbox PBX per test, reached through ``WILDIX_PBX_URL_TEMPLATE`` as in
development, faults injected through the sandbox's control API."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import pytest

from connectors.base import Connector, Credentials
from connectors.http import Http
from connectors.sandbox.control import SandboxControl
from connectors.wildix.connector import WildixConnector
from tests.contract.harness import FaultKind, Harness, Served, fast_http, sandbox_fault


def point_pbx_names_at(sandbox: SandboxControl, settings: Any) -> None:
    """PBX names resolve to the test's sandbox server (the development mapping)."""
    settings.WILDIX_PBX_URL_TEMPLATE = sandbox.vendor_url("wildix", "/{name}")
    settings.ALLOW_PRIVATE_HOSTS = True


class WildixHarness(Harness):
    """One sandbox PBX with one phonebook; the connector pages at ``page_size``."""

    vendor = "wildix"
    page_size = 4
    expected_common = frozenset({"email", "full_name", "company", "phone", "mobile", "country"})
    expected_custom = None  # WMS contacts have no custom fields

    def __init__(self, sandbox: SandboxControl, settings: Any) -> None:
        self.sandbox = sandbox
        point_pbx_names_at(sandbox, settings)
        self.account = sandbox.create_account("wildix", name="contract")

    @property
    def scope(self) -> str:
        return str(self.account["phonebooks"][0]["id"])

    def build(self, username: str, password: str, http: Http | None = None) -> WildixConnector:
        credentials = Credentials(
            secrets={"password": password},
            settings={
                "pbx": self.account["pbx"],
                "username": username,
                "page_size": self.page_size,
            },
        )
        return WildixConnector(credentials, self.scope, http or fast_http())

    def connector(self, http: Http | None = None) -> Connector:
        return self.build(self.account["username"], self.account["password"], http)

    def bad_connector(self) -> Connector:
        return self.build(self.account["username"], "wrong-password")

    def seed(self, count: int) -> list[str]:
        seeded = self.sandbox.seed("wildix", self.account["pbx"], count, seed=7)
        return list(seeded["ids"])

    def new_fields(self, index: int) -> dict[str, Any]:
        return {
            "name": f"Néw Person {index}",
            "email": f"new.person.{index}@example.com",
            "organization": "Contract Ltd",
            "mobile": f"+3934712345{index:02d}",
        }

    def changed_fields(self) -> dict[str, Any]:
        return {"name": "Renamed Zoë", "office": "+390212345678", "note": "Kraków"}

    def invalid_fields(self) -> dict[str, Any]:
        return {"email": "no.name@example.com"}

    def fault(
        self, connector: Connector, kind: FaultKind, count: int = 1, retry_after: float = 0.1
    ) -> AbstractContextManager[Served]:
        return sandbox_fault(self.sandbox, "wildix", kind, count, retry_after)


def make_harness(request: pytest.FixtureRequest) -> WildixHarness:
    return WildixHarness(request.getfixturevalue("sandbox"), request.getfixturevalue("settings"))
