"""The ContactSend connector's harness for the shared contract suite (tests/contract/):
a fresh sandbox account (one userdb) per test, zeep pointed at the sandbox's WSDL through
Django's ``CONTACTSEND_WSDL_URL``, faults injected through the sandbox's control API."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import pytest

from connectors.base import Connector, Credentials
from connectors.contactsend.connector import ContactSendConnector
from connectors.http import Http
from connectors.sandbox.control import SandboxControl
from tests.contract.harness import FaultKind, Harness, Served, fast_http, sandbox_fault


def point_at_sandbox(settings: Any, sandbox: SandboxControl) -> None:
    """Django settings of a test: the WSDL is the sandbox's."""
    settings.CONTACTSEND_WSDL_URL = sandbox.vendor_url("contactsend", "/soap/services?wsdl")


class ContactSendHarness(Harness):
    """One sandbox userdb; findSubscribers pages at 15, as the real service does."""

    vendor = "contactsend"
    page_size = 15
    expected_common = frozenset({"email", "first_name", "last_name", "company", "phone"})
    expected_custom = "loyaltyPoints"

    def __init__(self, sandbox: SandboxControl, settings: Any) -> None:
        self.sandbox = sandbox
        point_at_sandbox(settings, sandbox)
        self.account = sandbox.create_account("contactsend", name="Contract")

    @property
    def scope(self) -> str:
        return str(self.account["userdb_id"])

    def build(self, api_key: str, http: Http | None = None) -> ContactSendConnector:
        credentials = Credentials(
            secrets={"api_key": api_key, "user_key": self.account["user_key"]}, settings={}
        )
        return ContactSendConnector(credentials, self.scope, http or fast_http())

    def connector(self, http: Http | None = None) -> Connector:
        return self.build(self.account["api_key"], http)

    def bad_connector(self) -> Connector:
        return self.build("not-a-key")

    def seed(self, count: int) -> list[str]:
        seeded = self.sandbox.seed("contactsend", self.account["account_id"], count, seed=7)
        return list(seeded["ids"])

    def new_fields(self, index: int) -> dict[str, Any]:
        return {
            "EMAIL": f"new.person.{index}@example.com",
            "firstName": f"Néw {index}",
            "lastName": "Person",
            "company": "Contract Srl",
            "loyaltyPoints": 10 + index,
            "subscription:newsletter": True,
        }

    def changed_fields(self) -> dict[str, Any]:
        return {"firstName": "Renamed Zoë", "city": "Kraków", "birthDate": "1980-01-31"}

    def invalid_fields(self) -> dict[str, Any]:
        return {"firstName": "No Email"}

    def fault(
        self, connector: Connector, kind: FaultKind, count: int = 1, retry_after: float = 0.1
    ) -> AbstractContextManager[Served]:
        return sandbox_fault(self.sandbox, "contactsend", kind, count, retry_after)


def make_harness(request: pytest.FixtureRequest) -> ContactSendHarness:
    return ContactSendHarness(
        request.getfixturevalue("sandbox"), request.getfixturevalue("settings")
    )
