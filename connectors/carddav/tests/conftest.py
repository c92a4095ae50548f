"""Fixtures of the CardDAV connector tests: connectors on a fresh Radicale address book,
and a second CardDAV client standing for the user's phone editing the same cards."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
import requests

from connectors.base import Credentials
from connectors.carddav.connector import CardDavConnector
from connectors.carddav.tests.gateway import gateway  # noqa: F401 (Google's stand-in)
from connectors.http import Http

# Shared fixtures (tests/plugins/): the session's Radicale, the tenant, the fake app.
# Imported so these tests also run alone (`pytest connectors/carddav`), where
# tests/conftest.py is not loaded.
from tests.plugins.fake import fake_vendor  # noqa: F401
from tests.plugins.personas import account  # noqa: F401
from tests.plugins.radicale import RadicaleServer, addressbook, radicale  # noqa: F401

MakeConnector = Callable[..., CardDavConnector]


@pytest.fixture
def make_connector(radicale: RadicaleServer, addressbook: str) -> MakeConnector:  # noqa: F811
    """A factory of connectors on the test's address book (or another scope/password)."""

    def make(
        scope: str | None = None, password: str | None = None, **settings: str
    ) -> CardDavConnector:
        credentials = Credentials(
            secrets={"password": radicale.password if password is None else password},
            settings={"url": f"{radicale.url}/", "username": radicale.username, **settings},
        )
        scope = urlsplit(addressbook).path if scope is None else scope
        return CardDavConnector(credentials, scope, Http(retries=1, backoff=0.01))

    return make


@pytest.fixture
def connector(make_connector: MakeConnector) -> CardDavConnector:
    return make_connector()


@pytest.fixture
def phone(radicale: RadicaleServer) -> requests.Session:  # noqa: F811
    """Another CardDAV client of the same user, editing cards behind the connector's back."""
    session = requests.Session()
    session.auth = (radicale.username, radicale.password)
    return session
