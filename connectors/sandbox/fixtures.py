"""pytest fixtures of the sandbox server, shared by tests/plugins/sandbox.py (the whole
suite) and the conftest of vendor test folders run on their own.

``sandbox_server`` starts one server in-process on a free loopback port per session;
``sandbox`` resets it before each test (state, request counts, faults, strict mode) and
hands out a ``SandboxControl`` for its control API; ``strict_sandbox`` is the same with
strict mode on (a suite opts in with ``pytestmark = pytest.mark.usefixtures(...)``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.sandbox.control import SandboxControl
from connectors.sandbox.server import SandboxServer


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    """The sandbox server, every registered vendor's emulator mounted."""
    server = SandboxServer(port=0).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxServer, settings: Any) -> SandboxControl:
    """A client of the freshly reset sandbox; for the test's length every vendor API host
    points at it (``VENDOR_SANDBOXES``, connectors/endpoints.py)."""
    settings.SANDBOX_URL = sandbox_server.url
    settings.VENDOR_SANDBOXES = True
    control = SandboxControl(sandbox_server.url)
    control.reset()
    return control


@pytest.fixture
def strict_sandbox(sandbox: SandboxControl) -> SandboxControl:
    """``sandbox`` with strict mode on: every emulator refuses what its vendor would."""
    sandbox.strict(True)
    return sandbox
