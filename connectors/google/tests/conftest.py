"""Fixtures of the Google tests: the sandbox standing in for Google's OAuth endpoints,
a Google account in it, and the personas, also when this folder is run on its own
(tests/conftest.py then is not loaded)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from connectors.carddav.tests.gateway import Gateway, gateway  # noqa: F401
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
from tests.plugins.radicale import addressbook, radicale  # noqa: F401
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


@pytest.fixture
def google_carddav(
    google: SandboxControl,
    gateway: Gateway,  # noqa: F811
    settings: Any,
) -> Gateway:
    """Google's CardDAV host is the gateway; a token is good while the emulator's
    tokeninfo grants it the contacts scope."""

    def may_read_contacts(token: str) -> bool:
        info = requests.get(
            google.vendor_url("google", "/tokeninfo"), params={"access_token": token}, timeout=10
        )
        return info.status_code == 200 and CARDDAV_SCOPE in info.json()["scope"].split()

    gateway.accepts = may_read_contacts
    settings.GOOGLE_CARDDAV_URL = f"{gateway.url}/"
    return gateway


def make_google_account(control: SandboxControl, email: str = "ann@gmail.com") -> dict[str, Any]:
    """A Google account, signed in in the browser, and the test OAuth client."""
    return control.create_account(
        "google", email=email, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
