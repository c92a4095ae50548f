"""Fixtures: the in-memory fake connector (see tests/conftest.py and tests/fakes/).

``fake_vendor`` registers the fake as vendor ``"fake"`` for one test (the real registry
stays untouched) and empties the fake apps afterwards. ``fake_apps`` gives two fake apps,
``a`` and ``b``; ``fake_connection`` a connection between them with the default mappings
and the two default rules (A→B and B→A, no filters). ``make_fake_connection`` builds one
with other apps or options.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors import registry
from sync.engine import mapping
from sync.models import Account, AppAuthorization, Connection, ConnectionState, Rule
from tests.fakes.connector import FakeApp, FakeConnector

FAKE_PATH = "tests.fakes.connector.FakeConnector"


@pytest.fixture
def fake_vendor(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeConnector]]:
    """The fake connector, registered as vendor "fake" for this test only."""
    monkeypatch.setitem(registry.VENDORS, "fake", FAKE_PATH)
    FakeConnector.apps.clear()
    yield FakeConnector
    FakeConnector.apps.clear()


@pytest.fixture
def fake_apps(fake_vendor: type[FakeConnector]) -> tuple[FakeApp, FakeApp]:
    """Two empty fake apps with every capability, named "a" and "b"."""
    return fake_vendor.make_app("a"), fake_vendor.make_app("b")


def make_fake_connection(
    account: Account,
    app_a: FakeApp,
    app_b: FakeApp,
    *,
    default_rules: bool = True,
    **options: Any,
) -> Connection:
    """An active connection between two fake apps, with the default field mappings and
    (unless ``default_rules=False``) the two default rules without filters."""
    authorizations = [
        AppAuthorization.objects.create(
            account=account, vendor="fake", label=f"Fake {app.name}", settings={"store": app.name}
        )
        for app in (app_a, app_b)
    ]
    options.setdefault("state", ConnectionState.ACTIVE)
    connection = Connection.objects.create(
        account=account,
        name=f"{app_a.name} ↔ {app_b.name}",
        a_authorization=authorizations[0],
        b_authorization=authorizations[1],
        **options,
    )
    mapping.ensure_default_mappings(connection, app_a.field_specs(), app_b.field_specs())
    if default_rules:
        for direction in ("a_to_b", "b_to_a"):
            Rule.objects.create(connection=connection, direction=direction, name="Everyone")
    return connection


@pytest.fixture
def fake_connection(account: Account, fake_apps: tuple[FakeApp, FakeApp]) -> Connection:
    """A two-way connection between fake apps a and b (default mappings and rules)."""
    return make_fake_connection(account, *fake_apps)
