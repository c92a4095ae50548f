"""Fixtures of the page tests: two in-memory fake apps of Acme (the fake connector of
tests/fakes registered as vendor "fake"), a connection between them, and one in Globex
for the outsider."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils.translation import gettext_lazy

from connectors.registry import VENDORS
from sync.models import (
    Account,
    AppAuthorization,
    Connection,
    ConnectionState,
    FieldMapping,
    Rule,
)
from tests.fakes.connector import FakeApp, FakeConnector


@pytest.fixture(autouse=True)
def web_apps(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, FakeApp]]:
    """Vendor "fake" in the registry, with two fresh apps: "crm" and "news". Its connect
    form asks for the app's name (a non-secret setting) besides the API key."""
    monkeypatch.setitem(VENDORS, "fake", "tests.fakes.connector.FakeConnector")
    # Marked for translation as a real connector's are (the pseudo-locale test reads them).
    fields = (("api_key", gettext_lazy("API key"), True), ("store", gettext_lazy("App"), False))
    monkeypatch.setattr(FakeConnector, "auth_fields", fields)
    monkeypatch.setattr(FakeConnector, "apps", {})
    apps = {name: FakeConnector.make_app(name) for name in ("crm", "news")}
    yield apps


def make_authorization(account: Account, store: str, label: str, owner: Any = None) -> Any:
    auth = AppAuthorization(account=account, vendor="fake", label=label, owner=owner)
    auth.secrets = {"api_key": f"secret-key-of-{store}"}
    auth.settings = {"store": store}
    auth.save()
    return auth


@pytest.fixture
def auth_a(account: Account, owner: Any) -> AppAuthorization:
    return make_authorization(account, "crm", "Acme CRM", owner)


@pytest.fixture
def auth_b(account: Account, owner: Any) -> AppAuthorization:
    return make_authorization(account, "news", "Acme newsletter", owner)


@pytest.fixture
def connection(account: Account, auth_a: AppAuthorization, auth_b: AppAuthorization) -> Connection:
    """An active two-way connection CRM ⇄ newsletter with the two default rules and an
    email pair."""
    connection = Connection.objects.create(
        account=account,
        name="CRM ⇄ newsletter",
        a_authorization=auth_a,
        b_authorization=auth_b,
        state=ConnectionState.ACTIVE,
    )
    Rule.objects.create(connection=connection, direction="a_to_b", name="All A → B")
    Rule.objects.create(connection=connection, direction="b_to_a", name="All B → A")
    FieldMapping.objects.create(
        connection=connection, a_field="email", b_field="email", transform="email", is_default=True
    )
    return connection


@pytest.fixture
def draft(account: Account, auth_a: AppAuthorization, auth_b: AppAuthorization) -> Connection:
    """A connection being set up (nothing chosen after the two apps)."""
    return Connection.objects.create(
        account=account, name="Draft", a_authorization=auth_a, b_authorization=auth_b
    )


@pytest.fixture
def foreign_connection(other_account: Account, outsider: Any) -> Connection:
    """Globex's connection, which nobody of Acme may see."""
    a = make_authorization(other_account, "crm", "Globex CRM", outsider)
    b = make_authorization(other_account, "news", "Globex newsletter", outsider)
    return Connection.objects.create(
        account=other_account,
        name="Globex sync",
        a_authorization=a,
        b_authorization=b,
        state=ConnectionState.ACTIVE,
    )


class EngineCalls:
    """Records the engine entry points the pages call (the engine has its own tests)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((name, args, kwargs))
        return None

    def names(self) -> list[str]:
        return [name for name, _, _ in self.calls]


@pytest.fixture
def engine_calls(monkeypatch: pytest.MonkeyPatch) -> EngineCalls:
    recorder = EngineCalls()
    monkeypatch.setattr("sync.web.services.engine_call", recorder)
    # The pages queue runs through sync/lifecycle.py, which calls sync.tasks.enqueue_run.
    monkeypatch.setattr(
        "sync.tasks.enqueue_run",
        lambda connection, trigger="manual": recorder("enqueue_run", connection, trigger),
    )
    return recorder
