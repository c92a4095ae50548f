"""Fixtures: the sandbox server of every vendor emulator (see tests/conftest.py).

``sandbox_server`` (session) runs it in-process on a free loopback port; ``sandbox``
resets it before each test and is a ``SandboxControl`` of its control API. They live in
connectors/sandbox/fixtures.py so vendor test folders run alone can use them too.
"""

from __future__ import annotations

from connectors.sandbox.fixtures import sandbox, sandbox_server, strict_sandbox

__all__ = ["sandbox", "sandbox_server", "strict_sandbox"]
