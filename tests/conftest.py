"""Shared pytest fixtures live in tests/plugins/, one module per area, each owned by the
code it serves: personas (owner, member, outsider), the in-memory fake connector, the
sandbox server of the vendor emulators, and a real Radicale CardDAV server."""

pytest_plugins = [
    "tests.plugins.personas",
    "tests.plugins.fake",
    "tests.plugins.sandbox",
    "tests.plugins.radicale",
]
