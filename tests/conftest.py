"""Shared pytest fixtures live in tests/plugins/, one module per area, each owned by the
code it serves: personas (owner, member, outsider), the in-memory fake connector, the
sandbox server of the vendor emulators, and a real Radicale CardDAV server. Here: what
every test needs, an empty cache."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest_plugins = [
    "tests.plugins.personas",
    "tests.plugins.fake",
    "tests.plugins.sandbox",
    "tests.plugins.radicale",
]


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    """The pages remember vendor answers a few minutes by connection or authorization id;
    ids come again in the next test's database (SQLite), and a Redis cache outlives the
    test run, so each test starts and ends with an empty cache."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
