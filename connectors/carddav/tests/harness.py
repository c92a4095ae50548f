"""The CardDAV connector's harness for the shared contract suite (tests/contract/): a fresh
address book per test on the session's real Radicale server; faults come from the suite's
default requests adapter (Radicale cannot be told to answer 429 or 503)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from connectors.base import Connector, Credentials
from connectors.carddav.connector import CardDavConnector
from connectors.http import Http
from tests.contract.harness import Harness, fast_http
from tests.plugins.radicale import RadicaleServer


class CardDavHarness(Harness):
    """One empty address book; the connector pages at ``page_size`` cards."""

    vendor = "carddav"
    page_size = 4
    expected_common = frozenset(
        {"email", "first_name", "last_name", "full_name", "phone", "mobile", "company", "tags"}
    )
    expected_custom = None  # vCards have no user-defined field schema

    def __init__(self, radicale: RadicaleServer) -> None:
        self.radicale = radicale
        self.addressbook = radicale.create_addressbook()

    @property
    def scope(self) -> str:
        return urlsplit(self.addressbook).path

    def build(self, password: str, http: Http | None = None) -> CardDavConnector:
        credentials = Credentials(
            secrets={"password": password},
            settings={
                "url": f"{self.radicale.url}/",
                "username": self.radicale.username,
                "page_size": str(self.page_size),
            },
        )
        return CardDavConnector(credentials, self.scope, http or fast_http())

    def connector(self, http: Http | None = None) -> Connector:
        return self.build(self.radicale.password, http)

    def bad_connector(self) -> Connector:
        return self.build("not-the-password")

    def seed(self, count: int) -> list[str]:
        """PUT cards as another CardDAV client would; ids are their resource names."""
        ids: list[str] = []
        with requests.Session() as session:
            session.auth = (self.radicale.username, self.radicale.password)
            for i in range(count):
                name = f"seed-{i}.vcf"
                card = (
                    f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:seed-{i}\r\nFN:Seed Person {i}\r\n"
                    f"N:Person {i};Seed;;;\r\nEMAIL;TYPE=INTERNET:seed.{i}@example.com\r\n"
                    "END:VCARD\r\n"
                )
                response = session.put(
                    self.addressbook + name,
                    data=card.encode(),
                    headers={"Content-Type": "text/vcard; charset=utf-8"},
                    timeout=10,
                )
                response.raise_for_status()
                ids.append(name)
        return ids

    def new_fields(self, index: int) -> dict[str, Any]:
        return {
            "first_name": "Néw",
            "last_name": f"Person {index}",
            "email": f"new.person.{index}@example.com",
            "mobile": "+44 7700 900123",
            "tags": ["contract", "vip"],
        }

    def changed_fields(self) -> dict[str, Any]:
        return {"full_name": "Renamed Zoë", "tags": ["changed"], "city": "Kraków"}

    def invalid_fields(self) -> dict[str, Any]:
        # Every vCard property is optional, so the one refusal is writing the UID, which
        # is read-only (RFC 6352 forbids changing it).
        return {"uid": "someone-else", "email": "x@example.com"}


def make_harness(request: pytest.FixtureRequest) -> Harness:
    """Factory named in tests/contract/harnesses.py."""
    return CardDavHarness(request.getfixturevalue("radicale"))
