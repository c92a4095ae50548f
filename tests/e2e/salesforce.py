"""What the end-to-end tests with a Salesforce side share: an org of the sandbox
authorized in an account (as the OAuth sign-in leaves it), the connected app, its
records by email, and the Salesforce → ForceManager connection of the seed's tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from connectors.base import Change
from connectors.sandbox.control import SandboxControl
from sync import setup
from sync.engine import run_connection
from sync.models import Account, AppAuthorization, Connection, RunStatus, SyncRun
from sync.vendors import open_connector

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


@dataclass
class SalesforceForceManager:
    """The two sandboxes' accounts and the Salesforce → ForceManager connection."""

    sandbox: SandboxControl
    org: dict[str, Any]
    fm: dict[str, Any]
    connection: Connection

    @classmethod
    def made(
        cls,
        sandbox: SandboxControl,
        account: Account,
        api: Any,
        app: tuple[str, str],
        entities: tuple[str, ...],
    ) -> Self:
        """A Business account's connection made through the API (``app``: the
        connected app's client id and secret), syncing ``entities`` besides contacts."""
        account.tier = "business"
        account.save(update_fields=["tier"])
        org = sandbox.create_account(
            "salesforce", name="Acme CRM", client_id=app[0], client_secret=app[1]
        )
        fm = sandbox.create_account(FM, name="Acme Field")
        salesforce = authorize_salesforce(sandbox, account, org)
        connection = connect_through_the_api(api, salesforce, authorize_forcemanager(account, fm))
        for entity in entities:
            setup.add_entity(connection, entity)
        return cls(sandbox, org, fm, connection)

    def write(self, scope: str, *changes: Change) -> list[str]:
        """What a Salesforce user does: ``changes`` to ``scope``; their ids."""
        with open_connector(self.connection.a_authorization, scope) as connector:
            results = connector.push(list(changes))
        assert all(r.error is None for r in results), [r.error for r in results]
        return [str(r.id) for r in results]

    def fm_rows(self, resource: str) -> list[dict[str, Any]]:
        """ForceManager's live records of ``resource``, as its API renders them."""
        account = self.fm["account_id"]
        rows = self.sandbox.state(FM, account)["instances"][account]["records"][resource]
        return [r for r in rows if not r["deleted"]]

    def run(self) -> SyncRun:
        done = run_connection(self.connection.pk, "manual")
        assert done.status == RunStatus.SUCCEEDED, (done.status, done.error, done.counts)
        return done
