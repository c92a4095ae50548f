"""The sandbox: emulators of the vendors' HTTP APIs, all mounted in one server.

- ``emulator``: the ``Emulator`` base class a vendor's ``sandbox.py`` subclasses (read its
  module docstring to add a vendor), with ``route``, ``SandboxRequest``/``SandboxResponse``.
- ``server``: ``SandboxServer`` (one process, every vendor under ``/<vendor>/``, the
  control API under ``/_sandbox/``); ``manage.py sandbox`` runs it.
- ``faults``: injected 5xx, 429, latency, dropped connections, and vendors' real limits.
- ``oauth``: ``OAuthEmulator``, the authorization-code flow of vendors' login hosts.
- ``control``: ``SandboxControl``, a client of the control API.
- ``synthetic``: deterministic synthetic people for seeding.

Nothing here imports Django: emulators are plain Python and run anywhere.
"""

from __future__ import annotations

from connectors.sandbox.emulator import (
    Emulator,
    RateLimits,
    SandboxHTTPError,
    SandboxRequest,
    SandboxResponse,
    route,
)

__all__ = [
    "Emulator",
    "RateLimits",
    "SandboxHTTPError",
    "SandboxRequest",
    "SandboxResponse",
    "route",
]
