"""Connecting ForceManager on the apps page with the keys a user copies from its web app
(the sandbox answers them under the connector's auth field names)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from connectors.forcemanager.connector import ForceManagerConnector
from connectors.sandbox.control import SandboxControl
from sync.models import Account, AppAuthorization, Health

URL = reverse("web:app_connect", args=["forcemanager"])


@pytest.fixture(autouse=True)
def business(account: Account) -> None:
    """ForceManager is offered on the Business plan (sync/tiers.py)."""
    account.tier = "business"
    account.save(update_fields=["tier"])


@pytest.fixture
def keys(sandbox: SandboxControl) -> dict[str, str]:
    made = sandbox.create_account("forcemanager", name="Field team")
    names = [name for name, _, _ in ForceManagerConnector.auth_fields]
    return {name: made[name] for name in names}  # KeyError if the sandbox named them otherwise


def test_the_connect_form_says_where_the_keys_are(owner_client: Client) -> None:
    page = owner_client.get(URL).content.decode()
    assert "Settings → Integrations → API key management" in page
    assert 'name="public_key"' in page and 'name="private_key"' in page


def test_connecting_logs_in_with_the_keys_and_stores_them(
    owner_client: Client, keys: dict[str, str], account: Account, sandbox: SandboxControl
) -> None:
    answer = owner_client.post(URL, {"label": "Field team", **keys})
    assert answer.status_code == 302
    auth = AppAuthorization.objects.get(account=account, vendor="forcemanager")
    assert auth.secrets["public_key"] == keys["public_key"]
    assert auth.secrets["private_key"] == keys["private_key"]
    assert auth.health == Health.OK
    assert sandbox.requests("forcemanager")["endpoints"]["POST /api/v4/login"] == 1


def test_keys_the_login_refuses_store_nothing(
    owner_client: Client, keys: dict[str, str], account: Account
) -> None:
    answer = owner_client.post(URL, {"label": "Field team", **keys, "private_key": "wrong"})
    assert answer.status_code == 400
    assert "ForceManager refused the connection" in answer.content.decode()
    assert not AppAuthorization.objects.filter(account=account, vendor="forcemanager").exists()
