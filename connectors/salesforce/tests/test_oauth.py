"""The OAuth web-server flow end to end: the apps page → social-auth → the sandbox's
authorize and token endpoints → an encrypted AppAuthorization; then a refresh on an
expired session, and a revoked grant as an AuthError."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from django.db import connection as db
from django.test import Client
from django.urls import reverse
from social_django.models import UserSocialAuth

from connectors.base import AuthError
from connectors.sandbox.control import SandboxControl
from sync.models import Account, AppAuthorization
from sync.vendors import open_connector

from .conftest import make_org


def authorize(client: Client, instance: str = "") -> Any:
    """Press "Connect Salesforce", let the sandbox's login page approve, come back.

    social-auth's begin view takes POST only (CSRF-protected), so the browser posts to
    it; the apps page's pending connect is in the session by then."""
    start = client.post(
        reverse("web:app_connect", args=["salesforce"]), {"instance": instance} if instance else {}
    )
    assert start.status_code == 200
    begin_url = reverse("social:begin", args=["salesforce"])
    page = start.content.decode()
    assert f'action="{begin_url}"' in page and 'method="post"' in page
    begin = client.post(begin_url, {"instance": instance} if instance else {})
    assert begin.status_code == 302
    approved = requests.get(begin["Location"], allow_redirects=False, timeout=10)
    assert approved.status_code == 302, approved.text
    back = urlsplit(approved.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


def stored_secrets_text(auth: AppAuthorization) -> str:
    with db.cursor() as cursor:
        cursor.execute("SELECT secrets_json FROM sync_appauthorization WHERE id = %s", [auth.pk])
        return str(cursor.fetchone()[0])


def test_connect_stores_the_tokens_encrypted_on_the_account(
    salesforce_login: SandboxControl, owner_client: Client, account: Account
) -> None:
    org = make_org(salesforce_login, name="Acme CRM")
    done = authorize(owner_client)
    assert done.status_code == 302 and done["Location"] == reverse("web:apps")
    auth = AppAuthorization.objects.get(account=account, vendor="salesforce")
    assert auth.settings["instance"] == "production"
    assert auth.settings["org_id"] == org["account_id"]
    assert auth.settings["instance_url"] == salesforce_login.vendor_url("salesforce")
    assert auth.secrets["access_token"] and auth.secrets["refresh_token"]
    raw = stored_secrets_text(auth)
    assert auth.secrets["access_token"] not in raw and auth.secrets["refresh_token"] not in raw
    assert not UserSocialAuth.objects.exists(), "tokens must not land in extra_data"


def test_the_stored_authorization_reads_the_org(
    salesforce_login: SandboxControl, owner_client: Client, account: Account
) -> None:
    org = make_org(salesforce_login)
    salesforce_login.seed("salesforce", org["account_id"], 3)
    authorize(owner_client)
    auth = AppAuthorization.objects.get(account=account, vendor="salesforce")
    pages = list(open_connector(auth, "Contact").fetch(None))
    assert sum(len(p.records) for p in pages) == 3


def test_a_sandbox_org_authorizes_at_the_test_login_host(
    salesforce_login: SandboxControl, owner_client: Client, account: Account
) -> None:
    make_org(salesforce_login, name="Acme Sandbox", instance="sandbox")
    authorize(owner_client, "sandbox")
    auth = AppAuthorization.objects.get(account=account, vendor="salesforce")
    assert auth.settings["instance"] == "sandbox"
    # The login host is never stored on the authorization: it comes from settings.
    assert "login_url" not in auth.settings
    assert open_connector(auth, "Contact").client.session.login_url.endswith("/salesforce/test")
    assert auth.label.endswith("(sandbox)")


def test_authorizing_again_updates_the_same_authorization(
    salesforce_login: SandboxControl, owner_client: Client, account: Account
) -> None:
    make_org(salesforce_login)
    authorize(owner_client)
    first = AppAuthorization.objects.get(account=account, vendor="salesforce").secrets
    authorize(owner_client)
    [auth] = AppAuthorization.objects.filter(account=account, vendor="salesforce")
    assert auth.secrets["refresh_token"] != first["refresh_token"]


def test_an_expired_session_is_refreshed_once_and_the_new_token_kept(
    salesforce_login: SandboxControl, owner_client: Client, account: Account
) -> None:
    org = make_org(salesforce_login)
    authorize(owner_client)
    auth = AppAuthorization.objects.get(account=account, vendor="salesforce")
    old_token = auth.secrets["access_token"]
    salesforce_login.action("salesforce", "expire_sessions", account=org["account_id"])
    connector = open_connector(auth, "Contact")
    connector.check()  # 401 INVALID_SESSION_ID → refresh → the call again
    auth.refresh_from_db()
    assert auth.secrets["access_token"] != old_token
    counts = salesforce_login.requests("salesforce")["endpoints"]
    assert counts["POST /services/oauth2/token"] == 2  # the code exchange and one refresh
    open_connector(auth, "Contact").check()  # the stored token works without a refresh
    assert salesforce_login.requests("salesforce")["endpoints"]["POST /services/oauth2/token"] == 2


def test_a_revoked_grant_is_an_auth_error(
    salesforce_login: SandboxControl, owner_client: Client, account: Account
) -> None:
    org = make_org(salesforce_login)
    authorize(owner_client)
    auth = AppAuthorization.objects.get(account=account, vendor="salesforce")
    salesforce_login.action("salesforce", "revoke", account=org["account_id"])
    with pytest.raises(AuthError, match="authorize the app again"):
        open_connector(auth, "Contact").check()


def test_a_member_cannot_start_the_connect(
    salesforce_login: SandboxControl, member: Any, account: Account
) -> None:
    client = Client()
    client.force_login(member)
    response = client.post(reverse("web:app_connect", args=["salesforce"]))
    assert response.status_code == 403
    assert not AppAuthorization.objects.exists()


def test_a_refusal_at_salesforce_is_a_message_and_stores_nothing(
    salesforce_login: SandboxControl, owner_client: Client, account: Account
) -> None:
    # The only org is a sandbox one: the production login host answers access_denied.
    make_org(salesforce_login, instance="sandbox")
    done = authorize(owner_client)
    assert done.status_code == 302 and done["Location"] == reverse("web:apps")
    page = owner_client.get(done["Location"]).content.decode()
    assert "Salesforce" in page and "message error" in page
    assert not AppAuthorization.objects.filter(account=account).exists()


def test_an_org_without_api_access_is_refused_at_connect_in_those_words(
    salesforce_login: SandboxControl, owner_client: Client, account: Account
) -> None:
    # Issue 21: an org of an edition without the API (Salesforce answers
    # API_DISABLED_FOR_ORG) is told so when it connects, not with a raw error later.
    make_org(salesforce_login, name="Small shop", api_enabled=False)
    done = authorize(owner_client)
    assert not AppAuthorization.objects.filter(account=account, vendor="salesforce").exists()
    page = owner_client.get(done["Location"]).content.decode()
    assert "Salesforce was not connected: This Salesforce org has no API access" in page
    assert "Enterprise, Unlimited, Developer and Performance editions" in page
