"""The Google Contacts connector's harness for the shared contract suite (tests/contract/).

Google's CardDAV host is the sandbox's, in front of the session's Radicale
(connectors/google/sandbox.py): it passes on the requests whose token the sandbox's
Google emulator issued with the contacts scope. The tokens come from a real authorization-code
exchange with that emulator, and a refresh goes to its token endpoint. Cards, seeding and
faults are CardDAV's, so this is the CardDAV harness with Google's sign-in.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from connectors.base import Connector, Credentials
from connectors.carddav.tests.harness import CardDavHarness
from connectors.google.connector import GoogleContactsConnector
from connectors.google.oauth import GoogleContactsOAuth
from connectors.http import Http
from connectors.sandbox.control import SandboxControl
from tests.contract.harness import Harness, fast_http
from tests.plugins.radicale import RadicaleServer

from .conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    GoogleCardDav,
    google_carddav_host,
    make_google_account,
)

EMAIL = "contract@gmail.com"
REDIRECT_URI = "http://127.0.0.1/complete/google/"


class GoogleHarness(CardDavHarness):
    """One empty address book behind the sandbox's Google CardDAV host, signed in as a
    sandbox Google account; the connector pages at ``page_size`` cards."""

    vendor = "google"

    def __init__(
        self, radicale: RadicaleServer, google: SandboxControl, host: GoogleCardDav
    ) -> None:
        super().__init__(radicale)
        self.google = google
        self.host = host
        make_google_account(google, EMAIL)
        self.tokens = self.authorize()

    @property
    def scope(self) -> str:
        return self.host.scope(self.addressbook)

    def authorize(self) -> dict[str, str]:
        """The web-server flow without a browser: consent, then trade the code for tokens."""
        consent = requests.get(
            self.google.vendor_url("google", "/o/oauth2/v2/auth"),
            params={
                "client_id": CLIENT_ID,
                "redirect_uri": REDIRECT_URI,
                "response_type": "code",
                "scope": " ".join(GoogleContactsOAuth.DEFAULT_SCOPE),
                "access_type": "offline",
                "prompt": "consent",
            },
            allow_redirects=False,
            timeout=10,
        )
        [code] = parse_qs(urlsplit(consent.headers["Location"]).query)["code"]
        response = requests.post(
            self.google.vendor_url("google", "/token"),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
            timeout=10,
        )
        response.raise_for_status()
        body = response.json()
        return {"access_token": body["access_token"], "refresh_token": body["refresh_token"]}

    def signed_in(self, tokens: dict[str, str], http: Http | None = None) -> Connector:
        """A Google connector holding ``tokens`` (a copy: a refresh writes into it)."""
        credentials = Credentials(secrets=dict(tokens), settings={"email": EMAIL})
        connector = GoogleContactsConnector(credentials, self.scope, http or fast_http())
        # Google's settings come from the OAuth flow and carry no page size.
        connector.page_size = self.page_size
        return connector

    def connector(self, http: Http | None = None) -> Connector:
        return self.signed_in(self.tokens, http)

    def bad_connector(self) -> Connector:
        # Neither token was issued: the CardDAV host rejects the access token, the emulator
        # the refresh token (invalid_grant), so check() ends in AuthError.
        return self.signed_in({"access_token": "ya29.forged", "refresh_token": "1//forged"})


def make_harness(request: pytest.FixtureRequest) -> Harness:
    """Factory named in tests/contract/harnesses.py. Google's CardDAV host is the
    sandbox's, in front of the session's Radicale; the Django settings point the preset's
    URLs and OAuth client at the emulator until the test ends."""
    radicale: RadicaleServer = request.getfixturevalue("radicale")
    google: SandboxControl = request.getfixturevalue("sandbox")
    settings: Any = request.getfixturevalue("settings")
    host = google_carddav_host(google, radicale)
    settings.GOOGLE_CARDDAV_URL = host.url
    settings.GOOGLE_TOKEN_URL = google.vendor_url("google", "/token")
    settings.SOCIAL_AUTH_GOOGLE_KEY = CLIENT_ID
    settings.SOCIAL_AUTH_GOOGLE_SECRET = CLIENT_SECRET
    return GoogleHarness(radicale, google, host)
