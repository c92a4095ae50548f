"""Fixtures of the Google tests: the sandbox standing in for Google's OAuth endpoints
and CardDAV host, a Google account in it, and the personas, also when this folder is run
on its own (tests/conftest.py then is not loaded)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from connectors.sandbox.control import SandboxControl
from tests.plugins.fake import fake_vendor  # noqa: F401
from tests.plugins.personas import (  # noqa: F401
    account,
    member,
    other_account,
    outsider,
    owner,
    owner_client,
)
from tests.plugins.radicale import RadicaleServer, addressbook, radicale  # noqa: F401
from tests.plugins.sandbox import sandbox, sandbox_server  # noqa: F401

CLIENT_ID = "contactsync-test.apps.googleusercontent.com"
CLIENT_SECRET = "contactsync-test-secret"  # the sandbox's, not a real secret
CARDDAV_SCOPE = "https://www.googleapis.com/auth/carddav"


@pytest.fixture
def google(sandbox: SandboxControl, settings: Any) -> SandboxControl:  # noqa: F811
    """Google's authorize, token and userinfo endpoints are the sandbox's, and the
    OAuth client's id and secret are the ones the sandbox knows."""
    settings.GOOGLE_AUTH_URL = sandbox.vendor_url("google", "/o/oauth2/v2/auth")
    settings.GOOGLE_TOKEN_URL = sandbox.vendor_url("google", "/token")
    settings.GOOGLE_USERINFO_URL = sandbox.vendor_url("google", "/v1/userinfo")
    settings.SOCIAL_AUTH_GOOGLE_KEY = CLIENT_ID
    settings.SOCIAL_AUTH_GOOGLE_SECRET = CLIENT_SECRET
    return sandbox


@dataclass(frozen=True)
class GoogleCardDav:
    """The sandbox's Google CardDAV host, in front of the session's Radicale."""

    url: str

    def scope(self, book_url: str) -> str:
        """The scope (path on Google's host) of a Radicale address book's URL."""
        return urlsplit(self.url).path.rstrip("/") + urlsplit(book_url).path


def google_carddav_host(google: SandboxControl, server: RadicaleServer) -> GoogleCardDav:
    """Put ``server`` behind the sandbox's Google CardDAV host (connectors/google/
    sandbox.py): a token is good there while the emulator says it grants the contacts."""
    google.action(
        "google", "carddav", url=server.url, username=server.username, password=server.password
    )
    return GoogleCardDav(google.vendor_url("google", "/carddav/"))


@pytest.fixture
def google_carddav(
    google: SandboxControl,
    radicale: RadicaleServer,  # noqa: F811
    settings: Any,
) -> GoogleCardDav:
    """Google's CardDAV host is the sandbox's, in front of the session's Radicale."""
    host = google_carddav_host(google, radicale)
    settings.GOOGLE_CARDDAV_URL = host.url
    return host


def make_google_account(control: SandboxControl, email: str = "ann@gmail.com") -> dict[str, Any]:
    """A Google account, signed in in the browser, and the test OAuth client."""
    return control.create_account(
        "google", email=email, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
