"""Fixtures of the API tests: the ``apitest`` vendor, bearer-token clients for the three
personas, Acme's and Globex's objects, and a recorder at the task-queue seam."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from connectors import registry
from sync.models import (
    Account,
    ApiToken,
    AppAuthorization,
    Connection,
    ConnectionState,
    Direction,
    Rule,
    SyncRun,
)
from tests.api.vendor import GOOD_KEY, VENDOR, WEBHOOK_SECRET


@pytest.fixture(autouse=True)
def apitest_vendor(monkeypatch: pytest.MonkeyPatch) -> str:
    """Register the test vendor for the duration of each test."""
    monkeypatch.setitem(registry.VENDORS, VENDOR, "tests.api.vendor.ApiTestConnector")
    return VENDOR


@pytest.fixture(autouse=True)
def fresh_cache(settings: Any) -> None:
    """Throttle buckets and webhook debounce keys live in the cache: give each test an
    empty one of its own (never flush a shared Redis that other processes use)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"api-test-{uuid.uuid4()}",
        }
    }


def token_client(user: Any, account: Account) -> APIClient:
    """An API client authenticated with a new bearer token of ``user`` in ``account``."""
    _token, raw = ApiToken.issue(user, account, "tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def owner_api(owner: Any, account: Account) -> APIClient:
    return token_client(owner, account)


@pytest.fixture
def member_api(member: Any, account: Account) -> APIClient:
    return token_client(member, account)


@pytest.fixture
def outsider_api(outsider: Any, other_account: Account) -> APIClient:
    return token_client(outsider, other_account)


def make_authorization(account: Account, label: str, **secrets: str) -> AppAuthorization:
    authorization = AppAuthorization(account=account, vendor=VENDOR, label=label)
    authorization.secrets = secrets or {"api_key": GOOD_KEY, "webhook_secret": WEBHOOK_SECRET}
    authorization.save()
    return authorization


@pytest.fixture
def authorization(account: Account) -> AppAuthorization:
    """Acme's first authorization of the test vendor."""
    return make_authorization(account, "Acme newsletter")


@pytest.fixture
def second_authorization(account: Account) -> AppAuthorization:
    """Acme's second authorization, for the other side of connections."""
    return make_authorization(account, "Acme CRM")


@pytest.fixture
def connection(
    account: Account, authorization: AppAuthorization, second_authorization: AppAuthorization
) -> Connection:
    """Acme's active two-way connection: list-1 of the first app ↔ list-2 of the second."""
    connection = Connection.objects.create(
        account=account,
        name="Newsletter ↔ CRM",
        a_authorization=authorization,
        a_scope="list-1",
        b_authorization=second_authorization,
        b_scope="list-2",
        state=ConnectionState.ACTIVE,
    )
    Rule.objects.create(connection=connection, direction=Direction.A_TO_B)
    Rule.objects.create(connection=connection, direction=Direction.B_TO_A)
    return connection


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """Records what is put on the task queue (connection id, trigger) instead of running
    it; each enqueue creates the queued SyncRun the API answers with."""
    import sync.tasks

    calls: list[tuple[int, str]] = []

    def record(connection: Connection, trigger: str, **options: Any) -> str:
        calls.append((connection.pk, trigger))
        # What the worker would create first; django-q2 itself answers with a task id.
        SyncRun.objects.create(
            connection=connection, trigger=trigger, dry_run=options.get("dry_run", False)
        )
        return "task-id"

    monkeypatch.setattr(sync.tasks, "enqueue_run", record)
    return calls
