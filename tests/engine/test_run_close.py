"""The engine ends both connectors' sessions (``Connector.close``) once at the end of
every run: a real run, a dry run, a failing run, and a run whose second connector could
not even be read."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base import AuthError, ConnectorError
from tests.engine.support import sync, synced
from tests.fakes.connector import FakeConnector


@pytest.fixture
def closed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the fake apps whose connector was closed, in order."""
    names: list[str] = []
    monkeypatch.setattr(FakeConnector, "close", lambda self: names.append(self.app.name))
    return names


def test_a_run_closes_both_connectors_once(fake_apps, fake_connection, closed) -> None:
    fake_apps[0].add(email="ada@example.com", first_name="Ada")
    synced(fake_connection)
    assert sorted(closed) == sorted(app.name for app in fake_apps)


def test_a_dry_run_closes_both_connectors(fake_apps, fake_connection, closed) -> None:
    fake_apps[0].add(email="ada@example.com", first_name="Ada")
    run = sync(fake_connection, dry_run=True)
    assert run.status == "succeeded"
    assert sorted(closed) == sorted(app.name for app in fake_apps)


def test_a_failing_run_closes_both_connectors(fake_apps, fake_connection, closed) -> None:
    fake_apps[0].add(email="ada@example.com")
    fake_apps[1].auth_failure = True
    run = sync(fake_connection)
    assert run.status == "failed"
    assert sorted(closed) == sorted(app.name for app in fake_apps)


def test_a_side_that_cannot_be_read_at_all_still_closes_the_other(
    fake_apps, fake_connection, closed, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = FakeConnector.fields

    def refuse(self: FakeConnector) -> Any:
        if self.app is fake_apps[1]:
            raise ConnectorError("fields unavailable")
        return original(self)

    monkeypatch.setattr(FakeConnector, "fields", refuse)
    run = sync(fake_connection)
    assert run.status == "failed"
    assert sorted(closed) == sorted(app.name for app in fake_apps)


def test_a_connector_failing_to_close_does_not_fail_the_run_or_skip_the_other(
    fake_apps, fake_connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    names: list[str] = []

    def close(self: FakeConnector) -> None:
        names.append(self.app.name)
        if self.app is fake_apps[0]:
            raise AuthError("token already invalid")

    monkeypatch.setattr(FakeConnector, "close", close)
    run = synced(fake_connection)
    assert run.status == "succeeded"
    assert sorted(names) == sorted(app.name for app in fake_apps)
