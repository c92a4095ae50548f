"""The Google preset: its address-book URL, and OAuth bearer tokens refreshed once on 401.

Google's CardDAV takes only OAuth bearer tokens. To test that over real HTTP, a small
loopback gateway plays Google's part: it serves a token endpoint and passes CardDAV
requests that carry the current access token on to Radicale (with Radicale's password).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import requests

from connectors.base import AuthError, Change, Credentials
from connectors.carddav.connector import CardDavConnector
from connectors.http import Http
from tests.plugins.radicale import RadicaleServer

_PASSED_HEADERS = ("Depth", "If-Match", "If-None-Match", "Content-Type", "Accept")


@dataclass
class Gateway:
    """Bearer-token front of Radicale with a refresh-token endpoint at /token."""

    radicale: RadicaleServer
    access_token: str = "fresh-token"
    refresh_token: str = "refresh-1"
    token_calls: list[dict[str, list[str]]] = field(default_factory=list)
    url: str = ""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        if environ["PATH_INFO"] == "/token":
            form = parse_qs(body.decode())
            self.token_calls.append(form)
            if form.get("refresh_token") != [self.refresh_token]:
                start_response("400 Bad Request", [("Content-Type", "application/json")])
                return [b'{"error": "invalid_grant"}']
            start_response("200 OK", [("Content-Type", "application/json")])
            return [f'{{"access_token": "{self.access_token}", "expires_in": 3599}}'.encode()]
        if environ.get("HTTP_AUTHORIZATION") != f"Bearer {self.access_token}":
            start_response("401 Unauthorized", [("WWW-Authenticate", "Bearer")])
            return [b"expired"]
        headers = {
            name: environ[f"HTTP_{name.upper().replace('-', '_')}"]
            for name in _PASSED_HEADERS
            if f"HTTP_{name.upper().replace('-', '_')}" in environ
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        response = requests.request(
            environ["REQUEST_METHOD"],
            self.radicale.url + environ["PATH_INFO"],
            data=body,
            headers=headers,
            auth=(self.radicale.username, self.radicale.password),
            allow_redirects=False,
            timeout=10,
        )
        passed = [
            (k, v) for k, v in response.headers.items() if k in ("ETag", "Content-Type", "Location")
        ]
        start_response(f"{response.status_code} {response.reason}", passed)
        return [response.content]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def gateway(radicale: RadicaleServer) -> Iterator[Gateway]:
    app = Gateway(radicale)
    server: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    app.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield app
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


def google_connector(
    gateway: Gateway, addressbook: str, secrets: dict[str, str]
) -> CardDavConnector:
    settings = {"preset": "google", "email": "alice@example.com", "url": f"{gateway.url}/"}
    settings["token_url"] = f"{gateway.url}/token"
    return CardDavConnector(
        Credentials(secrets=secrets, settings=settings),
        urlsplit(addressbook).path,
        Http(retries=1, backoff=0.01),
    )


def test_google_preset_points_at_the_users_default_address_book() -> None:
    connector = CardDavConnector(
        Credentials(secrets={}, settings={"preset": "google", "email": "ann@gmail.com"}), "", Http()
    )
    assert connector.collection == (
        "https://www.googleapis.com/carddav/v1/principals/ann@gmail.com/lists/default/"
    )
    assert connector.vcard_version == "3.0"


def test_expired_access_token_is_refreshed_once_and_the_call_repeated(
    gateway: Gateway, addressbook: str
) -> None:
    secrets = {"access_token": "expired", "refresh_token": "refresh-1"}
    connector = google_connector(gateway, addressbook, secrets)
    (result,) = connector.push([Change("create", "g-1", fields={"full_name": "Gina"})])
    assert result.error is None
    assert len(gateway.token_calls) == 1
    assert gateway.token_calls[0]["grant_type"] == ["refresh_token"]
    assert secrets["access_token"] == "fresh-token"  # handed back for the caller to store
    records = [r for page in connector.fetch(None) for r in page.records]
    assert [r.fields["full_name"] for r in records] == ["Gina"]
    assert len(gateway.token_calls) == 1


def test_refused_refresh_token_raises_auth_error(gateway: Gateway, addressbook: str) -> None:
    connector = google_connector(
        gateway, addressbook, {"access_token": "expired", "refresh_token": "revoked"}
    )
    with pytest.raises(AuthError):
        connector.check()
    assert len(gateway.token_calls) == 1
