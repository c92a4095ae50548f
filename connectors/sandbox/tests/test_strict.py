"""Strict mode, the sandbox-wide switch: off by default, on for every emulator or one,
back to the server's default on reset; an emulator's strict-only checks refuse only then."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from connectors.sandbox import Emulator, SandboxRequest, SandboxResponse, route
from connectors.sandbox.control import SandboxControl
from connectors.sandbox.server import SandboxServer


class TitlesEmulator(Emulator):
    """Its vendor refuses titles over 10 characters; leniently, the emulator keeps them."""

    vendor = "titles"

    def reset(self) -> None:
        self.state = {"titles": []}

    @route("POST", "/titles")
    def add(self, request: SandboxRequest) -> SandboxResponse:
        title = str(request.json()["title"])
        self.refuse_when_strict(len(title) > 10, 422, "title too long", code="TOO_LONG")
        self.state["titles"].append(title)
        return SandboxResponse.empty(201)

    def create_account(self, **options: Any) -> dict[str, Any]:
        return {}


class OtherEmulator(TitlesEmulator):
    vendor = "other"


def serve(strict: bool = False) -> SandboxServer:
    emulators = {"titles": TitlesEmulator(), "other": OtherEmulator()}
    return SandboxServer(emulators, strict=strict).start()


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    running = serve()
    try:
        yield running
    finally:
        running.stop()


def post(server: SandboxServer, vendor: str, title: str) -> int:
    answer = requests.post(f"{server.url}/{vendor}/titles", json={"title": title}, timeout=5)
    return answer.status_code


def test_a_lenient_sandbox_lets_through_what_a_strict_one_refuses(server: SandboxServer) -> None:
    control = SandboxControl(server.url)
    assert post(server, "titles", "a very long title") == 201
    assert control.strict(True) == {"titles": True, "other": True}
    assert post(server, "titles", "a very long title") == 422
    assert post(server, "titles", "short") == 201


def test_strict_mode_can_be_turned_on_for_one_vendor(server: SandboxServer) -> None:
    control = SandboxControl(server.url)
    assert control.strict(True, vendor="other") == {"titles": False, "other": True}
    assert post(server, "titles", "a very long title") == 201
    assert post(server, "other", "a very long title") == 422


def test_a_reset_returns_to_the_servers_default(server: SandboxServer) -> None:
    control = SandboxControl(server.url)
    control.strict(True)
    control.reset()
    assert post(server, "titles", "a very long title") == 201
    strict_server = serve(strict=True)
    try:
        strict_control = SandboxControl(strict_server.url)
        strict_control.strict(False)
        strict_control.reset()
        assert post(strict_server, "titles", "a very long title") == 422
    finally:
        strict_server.stop()
