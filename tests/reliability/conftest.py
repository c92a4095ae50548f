"""Fixtures of the reliability suite: a loopback listener that must hear nothing, and
bearer-token API clients of the personas."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from rest_framework.test import APIClient

from sync.models import Account
from tests.api.conftest import (  # noqa: F401  (the API tests' fixtures, reused here)
    apitest_vendor,
    authorization,
    connection,
    fresh_cache,
    outsider_api,
    queued,
    second_authorization,
    token_client,
)


@dataclass
class Listener:
    """A TCP server on 127.0.0.1 standing in for an attacker's host: it records every
    connection and the first bytes sent, and answers nothing."""

    sock: socket.socket
    received: list[bytes] = field(default_factory=list)

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()
        return f"http://{host}:{port}"

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(1.0)
                try:
                    self.received.append(conn.recv(65536))
                except OSError:
                    self.received.append(b"")


@pytest.fixture
def listener() -> Iterator[Listener]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    found = Listener(sock)
    thread = threading.Thread(target=found.serve, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        sock.close()
        thread.join(timeout=2)


@pytest.fixture
def owner_api(owner: object, account: Account) -> APIClient:
    return token_client(owner, account)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/reliability/" in str(item.fspath):
            item.add_marker(pytest.mark.reliability)


@pytest.fixture
def gr_token(account: Account) -> str:
    """The webhook token of a GetResponse authorization of Acme."""
    from sync.models import AppAuthorization

    auth = AppAuthorization(account=account, vendor="getresponse", label="news")
    auth.secrets = {"api_key": "k-1"}
    auth.save()
    return auth.webhook_token
