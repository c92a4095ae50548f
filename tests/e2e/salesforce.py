"""What the end-to-end tests with a Salesforce side share: an org of the sandbox
authorized in an account (as the OAuth sign-in leaves it), the connected app, its
records by email, and the Salesforce → ForceManager connection of the seed's tests."""

from __future__ import annotations

from typing import Any

from connectors.sandbox.control import SandboxControl
from sync.models import Account, AppAuthorization, Connection

FM = "forcemanager"


def connected_app(settings: Any, sandbox: SandboxControl, client_id: str, secret: str) -> None:
    """The Salesforce connected app (its client id and secret) and the login host: platform
    settings, the sandbox's here."""
    settings.SOCIAL_AUTH_SALESFORCE_KEY = client_id
    settings.SOCIAL_AUTH_SALESFORCE_SECRET = secret
    settings.SALESFORCE_LOGIN_URL = sandbox.vendor_url("salesforce")


def authorize_salesforce(
    sandbox: SandboxControl, account: Account, org: dict[str, Any], **settings: Any
) -> AppAuthorization:
    """``org``'s authorization in ``account``: its tokens, and the instance address the
    token answer names. The connected app and login host are Django settings."""
    authorization = AppAuthorization(
        account=account,
        vendor="salesforce",
        label="Acme CRM",
        settings={
            "instance_url": sandbox.vendor_url("salesforce"),
            "instance": "production",
            **settings,
        },
    )
    authorization.secrets = {
        "access_token": org["access_token"],
        "refresh_token": org["refresh_token"],
    }
    authorization.save()
    return authorization


def salesforce_records(
    sandbox: SandboxControl, org: dict[str, Any], sobject: str = "Contact"
) -> dict[str, dict[str, Any]]:
    """The org's records of ``sobject`` by lower-cased email."""
    state = sandbox.state("salesforce", org["account_id"])
    records = state["orgs"][org["account_id"]]["records"][sobject]
    return {str(r["Email"]).lower(): r for r in records if r.get("Email")}


def authorize_forcemanager(account: Account, fm: dict[str, Any]) -> AppAuthorization:
    """The sandbox ForceManager account ``fm``'s keys, authorized in ``account``."""
    authorization = AppAuthorization(account=account, vendor=FM, label="Acme Field")
    authorization.secrets = {"public_key": fm["public_key"], "private_key": fm["private_key"]}
    authorization.save()
    return authorization


def connect_through_the_api(
    api: Any, salesforce: AppAuthorization, forcemanager: AppAuthorization
) -> Connection:
    """Salesforce's Contacts → ForceManager's contacts, made with ``POST /api/v1/connections/``
    (which adds the mandatory companies)."""
    answer = api.post(
        "/api/v1/connections/",
        {
            "name": "Salesforce ↔ ForceManager",
            "a_authorization": salesforce.pk,
            "a_scope": "Contact",
            "b_authorization": forcemanager.pk,
            "b_scope": "contacts",
            "breaker_count": 1000,
        },
        format="json",
    )
    assert answer.status_code == 201, answer.content
    return Connection.objects.get(pk=answer.json()["id"])
