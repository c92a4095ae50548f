"""Fixtures: a real Radicale CardDAV server (see tests/conftest.py).

Radicale (pinned in requirements.txt) runs once per test session as a subprocess on a
free loopback port, with htpasswd authentication and its storage in a temporary folder;
it is stopped when the session ends. Each test that asks for ``addressbook`` gets a fresh,
empty address book in it, so tests never see each other's cards.

``running_radicale`` is a plain context manager, so the benchmark (bench/carddav.py) can
start the same server without pytest.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

USERNAME = "alice"
PASSWORD = "app-password-1"  # test-only credential of a throwaway server
_START_TIMEOUT = 20.0  # seconds Radicale may take to accept connections


@dataclass(frozen=True)
class RadicaleServer:
    """A running Radicale: its base URL, one user's credentials, and its storage folder
    (where the benchmark may seed .vcf files directly)."""

    url: str
    username: str
    password: str
    storage: Path
    pid: int = 0  # the server process (the benchmark reads its CPU time from /proc)

    @property
    def principal_url(self) -> str:
        return f"{self.url}/{self.username}/"

    def create_addressbook(self, name: str | None = None) -> str:
        """Create an empty address book with an extended MKCOL; return its URL."""
        name = name or uuid.uuid4().hex[:12]
        url = f"{self.principal_url}{name}/"
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">'
            "<D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>"
            f"<D:displayname>Contacts {name}</D:displayname></D:prop></D:set></D:mkcol>"
        )
        response = requests.request(
            "MKCOL", url, data=body, auth=(self.username, self.password), timeout=10
        )
        response.raise_for_status()
        return url


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_config(folder: Path, port: int) -> Path:
    users = folder / "users"
    # Plain-text htpasswd is enough for a throwaway test server; Radicale supports it.
    users.write_text(f"{USERNAME}:{PASSWORD}\n")
    config = folder / "config"
    config.write_text(
        f"""[server]
hosts = 127.0.0.1:{port}
delay_on_error = 0
max_connections = 16

[auth]
type = htpasswd
htpasswd_filename = {users}
htpasswd_encryption = plain
delay = 0

[rights]
type = owner_only

[storage]
filesystem_folder = {folder / "collections"}

[web]
type = none

[logging]
level = warning
"""
    )
    return config


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"Radicale exited with code {process.returncode}:\n{tail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"Radicale did not listen on port {port} within {_START_TIMEOUT}s")


@contextmanager
def running_radicale() -> Iterator[RadicaleServer]:
    """Start Radicale in a temporary folder on a free loopback port; stop it on exit."""
    with tempfile.TemporaryDirectory(prefix="radicale-") as tmp:
        folder = Path(tmp)
        port = _free_port()
        config = _write_config(folder, port)
        log_path = folder / "radicale.log"
        log = log_path.open("wb")
        process = subprocess.Popen(  # noqa: S603 (our own interpreter, fixed arguments)
            [sys.executable, "-m", "radicale", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_listening(process, port, log_path)
            yield RadicaleServer(
                url=f"http://127.0.0.1:{port}",
                username=USERNAME,
                password=PASSWORD,
                storage=folder / "collections" / "collection-root",
                pid=process.pid,
            )
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            log.close()


# The session's server, shared by every registration of the ``radicale`` fixture (the
# vendor tests' conftest imports it too), and how many of them are using it.
_shared: dict[str, Any] = {"server": None, "stack": None, "users": 0}


@pytest.fixture(scope="session")
def radicale() -> Iterator[RadicaleServer]:
    """One Radicale server for the whole test session."""
    if _shared["server"] is None:
        stack = ExitStack()
        _shared["server"] = stack.enter_context(running_radicale())
        _shared["stack"] = stack
    _shared["users"] += 1
    try:
        yield _shared["server"]
    finally:
        _shared["users"] -= 1
        if _shared["users"] == 0:
            _shared["stack"].close()
            _shared["server"] = _shared["stack"] = None


@pytest.fixture
def addressbook(radicale: RadicaleServer) -> str:
    """The URL of a fresh, empty address book of the session's Radicale user."""
    return radicale.create_addressbook()
