"""What the end-to-end tests with a Salesforce side share: an org of the sandbox
authorized in an account (as the OAuth sign-in leaves it), the connected app, and its
records by email."""

from __future__ import annotations

from typing import Any

from connectors.sandbox.control import SandboxControl
from sync.models import Account, AppAuthorization


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
