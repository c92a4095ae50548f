"""The Mailchimp connector's harness for the shared contract suite (tests/contract/):
a fresh sandbox account per test, the API host pointed at the sandbox through the
``MAILCHIMP_API_URL_TEMPLATE`` setting, faults injected through the control API."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import pytest

from connectors.base import Connector, Credentials
from connectors.http import Http
from connectors.mailchimp.connector import MailchimpConnector
from connectors.sandbox.control import SandboxControl
from tests.contract.harness import FaultKind, Harness, Served, fast_http, sandbox_fault


def point_at_sandbox(request: pytest.FixtureRequest, sandbox: SandboxControl) -> None:
    """Every data centre's API host is the sandbox's for this test."""
    settings = request.getfixturevalue("settings")
    settings.MAILCHIMP_API_URL_TEMPLATE = sandbox.vendor_url("mailchimp", "/3.0")


class MailchimpHarness(Harness):
    """One sandbox account with one audience; the connector pages at ``page_size``."""

    vendor = "mailchimp"
    page_size = 4
    expected_common = frozenset(
        {"email", "first_name", "last_name", "tags", "phone", "company", "subscribed"}
    )
    expected_custom = "COMPANY"

    def __init__(self, sandbox: SandboxControl) -> None:
        self.sandbox = sandbox
        self.account = sandbox.create_account("mailchimp", name="Contract", dc="us14")

    @property
    def scope(self) -> str:
        return str(self.account["lists"][0]["id"])

    def build(self, api_key: str, http: Http | None = None) -> MailchimpConnector:
        credentials = Credentials(
            secrets={"api_key": api_key}, settings={"page_size": self.page_size}
        )
        return MailchimpConnector(credentials, self.scope, http or fast_http())

    def connector(self, http: Http | None = None) -> Connector:
        return self.build(self.account["api_key"], http)

    def bad_connector(self) -> Connector:
        return self.build("0123456789abcdef0123456789abcdef-us14")

    def seed(self, count: int) -> list[str]:
        seeded = self.sandbox.seed("mailchimp", self.account["account_id"], count, seed=7)
        return list(seeded["ids"])

    def new_fields(self, index: int) -> dict[str, Any]:
        return {
            "email": f"new.person.{index}@example.com",
            "FNAME": "Néw",
            "LNAME": f"Person {index}",
            "tags": ["contract", "vip"],
            "COMPANY": "Contract Ltd",
        }

    def changed_fields(self) -> dict[str, Any]:
        return {"FNAME": "Zoë", "tags": ["changed"], "COMPANY": "Kraków Sp.", "PLAN": "Pro"}

    def invalid_fields(self) -> dict[str, Any]:
        return {"FNAME": "No Email"}

    def fault(
        self, connector: Connector, kind: FaultKind, count: int = 1, retry_after: float = 0.1
    ) -> AbstractContextManager[Served]:
        return sandbox_fault(self.sandbox, "mailchimp", kind, count, retry_after)


def make_harness(request: pytest.FixtureRequest) -> MailchimpHarness:
    sandbox = request.getfixturevalue("sandbox")
    point_at_sandbox(request, sandbox)
    return MailchimpHarness(sandbox)
