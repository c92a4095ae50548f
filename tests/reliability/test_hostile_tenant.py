"""A hostile tenant cannot make the platform send its secrets, or any request, to a host
of the tenant's choosing: a listener on 127.0.0.1 stands in for that host and must hear
nothing (issue: "a tenant can send the platform's Salesforce client secret to any host")."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from rest_framework.test import APIClient

from connectors.base import AuthError, ConnectorError
from connectors.http import default_classify
from connectors.sandbox.control import SandboxControl
from sync.models import Account, AppAuthorization
from sync.vendors import open_connector
from tests.reliability.conftest import Listener

URL = "/api/v1/authorizations/"


@pytest.fixture(autouse=True)
def connected_app(settings: Any) -> None:
    settings.SOCIAL_AUTH_SALESFORCE_KEY = "platform-client-id"
    settings.SOCIAL_AUTH_SALESFORCE_SECRET = "platform-client-secret"


def salesforce_row(account: Account, **settings: Any) -> AppAuthorization:
    """An authorization as the OAuth sign-in leaves it (not through the API)."""
    auth = AppAuthorization(account=account, vendor="salesforce", label="CRM", settings=settings)
    auth.secrets = {"access_token": "AT", "refresh_token": "RT"}
    auth.save()
    return auth


def test_salesforce_cannot_be_created_through_the_api_with_tenant_hosts(
    owner_api: APIClient, listener: Listener
) -> None:
    body = {
        "vendor": "salesforce",
        "label": "evil",
        "settings": {"instance_url": listener.url, "login_url": listener.url},
        "credentials": {"access_token": "x", "refresh_token": "y"},
    }
    response = owner_api.post(URL, body, format="json")
    assert response.status_code == 400
    assert "sign-in" in str(response.json())
    assert not AppAuthorization.objects.exists()
    assert listener.received == []


def test_salesforce_hosts_and_tokens_cannot_be_patched_in(
    owner_api: APIClient, account: Account, listener: Listener
) -> None:
    auth = salesforce_row(account, instance_url="https://acme.my.salesforce.com")
    for body in (
        {"settings": {"instance_url": listener.url}},
        {"settings": {"login_url": listener.url}},
        {"settings": {"grant_id": "shared"}},
        {"credentials": {"access_token": "x", "refresh_token": "y"}},
    ):
        response = owner_api.patch(f"{URL}{auth.pk}/", body, format="json")
        assert response.status_code == 400, body
    auth.refresh_from_db()
    assert auth.settings == {"instance_url": "https://acme.my.salesforce.com"}
    response = owner_api.patch(
        f"{URL}{auth.pk}/", {"settings": {"lead_default_company": "Web"}}, format="json"
    )
    assert response.status_code == 200
    auth.refresh_from_db()
    # The tenant's setting is taken; the platform-written instance address stays.
    assert auth.settings == {
        "instance_url": "https://acme.my.salesforce.com",
        "lead_default_company": "Web",
    }
    assert listener.received == []


def test_a_stored_instance_address_outside_salesforce_is_never_called(
    owner_api: APIClient, account: Account, listener: Listener
) -> None:
    # A row written before hosts were checked, or by any other route: the connector
    # refuses the address instead of sending the access token (or a refresh) there.
    auth = salesforce_row(account, instance_url=listener.url, login_url=listener.url)
    with pytest.raises(AuthError, match="not a Salesforce host"):
        open_connector(auth, "Contact")
    response = owner_api.post(f"{URL}{auth.pk}/test/")
    assert response.status_code in (200, 400)
    auth.refresh_from_db()
    assert auth.health == "auth_failed"
    assert listener.received == []


def test_getresponse_takes_no_api_host_from_the_tenant(
    owner_api: APIClient, account: Account, listener: Listener, sandbox: SandboxControl
) -> None:
    body = {
        "vendor": "getresponse",
        "label": "news",
        "settings": {"base_url": listener.url},
        "credentials": {"api_key": "k"},
    }
    response = owner_api.post(URL, body, format="json")
    assert response.status_code == 400
    assert "base_url" in str(response.json())
    # A stored base_url of an older row is ignored: the call goes to the vendor's host
    # (here the sandbox), never to the listener.
    created = sandbox.create_account("getresponse", name="Shop")
    auth = AppAuthorization(
        account=account, vendor="getresponse", label="old", settings={"base_url": listener.url}
    )
    auth.secrets = {"api_key": created["api_key"]}
    auth.save()
    response = owner_api.post(f"{URL}{auth.pk}/test/")
    assert response.status_code == 200
    auth.refresh_from_db()
    assert auth.health == "ok"
    assert listener.received == []


def test_a_refreshed_token_is_stored_on_its_own_authorization_only(
    account: Account, other_account: Account, sandbox: SandboxControl, settings: Any
) -> None:
    org = sandbox.create_account(
        "salesforce",
        name="Acme",
        client_id="platform-client-id",
        client_secret="platform-client-secret",
    )
    settings.SALESFORCE_LOGIN_URL = sandbox.vendor_url("salesforce")
    mine = AppAuthorization(
        account=account,
        vendor="salesforce",
        label="mine",
        settings={"instance_url": sandbox.vendor_url("salesforce"), "grant_id": "same"},
    )
    mine.secrets = {"access_token": org["access_token"], "refresh_token": org["refresh_token"]}
    mine.save()
    theirs = AppAuthorization(
        account=other_account, vendor="salesforce", label="theirs", settings={"grant_id": "same"}
    )
    theirs.secrets = {"access_token": "THEIRS", "refresh_token": "THEIR-RT"}
    theirs.save()
    sandbox.action("salesforce", "expire_sessions", account=org["account_id"])
    open_connector(mine, "Contact").check()  # 401 → refresh → stored
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.secrets["access_token"] != org["access_token"]
    assert theirs.secrets == {"access_token": "THEIRS", "refresh_token": "THEIR-RT"}


def test_a_vendor_answer_is_never_echoed_beyond_a_short_line() -> None:
    response = requests.Response()
    response.status_code = 400
    response._content = ("<html>\x00<script>alert(1)</script>" + "secret " * 2000).encode()
    error = default_classify(response)
    assert isinstance(error, ConnectorError)
    assert len(str(error)) <= 140
    assert "\x00" not in str(error) and "\n" not in str(error)
    long = ConnectorError("x" * 10_000 + "\n\x1b[31m")
    assert len(str(long)) <= ConnectorError.MAX_MESSAGE


@pytest.mark.parametrize("vendor", ["carddav", "wildix"])
def test_a_tenant_typed_server_on_a_private_address_is_refused(
    owner_api: APIClient, account: Account, listener: Listener, settings: Any, vendor: str
) -> None:
    settings.ALLOW_PRIVATE_HOSTS = False
    typed = {
        "carddav": {"url": f"{listener.url}/dav/", "username": "u"},
        "wildix": {"pbx": listener.url.removeprefix("http://"), "username": "u"},
    }[vendor]
    auth = AppAuthorization(account=account, vendor=vendor, label="evil", settings=typed)
    auth.secrets = {"password": "p"}
    auth.save()
    response = owner_api.post(f"{URL}{auth.pk}/test/")
    assert response.status_code < 500
    auth.refresh_from_db()
    assert auth.health != "ok"
    assert "private" in auth.health_message or "not allowed" in auth.health_message
    for address in ("http://169.254.169.254/latest/", "http://10.0.0.1/", "http://[::1]:8080/"):
        metadata = AppAuthorization(
            account=account, vendor="carddav", label="m", settings={"url": address}
        )
        metadata.secrets = {"password": "p"}
        with pytest.raises(ConnectorError, match="not allowed"):
            open_connector(metadata)
    assert listener.received == []
