"""A loopback stand-in for Google's CardDAV host: it takes OAuth bearer tokens and passes
the CardDAV requests that carry a valid one on to Radicale (with Radicale's password).

Valid is the gateway's own ``access_token``, renewed at its ``/token`` endpoint with its
``refresh_token``; or, with ``accepts`` set, whatever that callable accepts (the Google
tests ask the sandbox's Google emulator, so the tokens of a real OAuth flow work).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import requests

from tests.plugins.radicale import RadicaleServer

_PASSED_HEADERS = ("Depth", "If-Match", "If-None-Match", "Content-Type", "Accept")


@dataclass
class Gateway:
    """Bearer-token front of Radicale with a refresh-token endpoint at /token."""

    radicale: RadicaleServer
    access_token: str = "fresh-token"
    refresh_token: str = "refresh-1"
    accepts: Callable[[str], bool] | None = None
    token_calls: list[dict[str, list[str]]] = field(default_factory=list)
    url: str = ""

    def authorized(self, header: str) -> bool:
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
        if self.accepts is not None:
            return bool(token) and self.accepts(token)
        return token == self.access_token

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
        if not self.authorized(environ.get("HTTP_AUTHORIZATION", "")):
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


@contextmanager
def running_gateway(radicale: RadicaleServer) -> Iterator[Gateway]:
    """A gateway in front of ``radicale`` on a free loopback port, stopped on exit (a
    context manager, so the contract harness can start one without this fixture)."""
    app = Gateway(radicale)
    server: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    app.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture
def gateway(radicale: RadicaleServer) -> Iterator[Gateway]:
    """A gateway in front of the session's Radicale, on a free loopback port."""
    with running_gateway(radicale) as app:
        yield app
