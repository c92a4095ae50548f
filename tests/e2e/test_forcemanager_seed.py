"""ForceManager's Salesforce integration (issue 17's seed) as a ForceManager user sets it
up, end to end through both sandboxes over HTTP, the REST API and the real engine:
owners linked automatically by name with a default user for the rest. Every assertion
reads the sandboxes' own state (the control API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from connectors.sandbox.control import SandboxControl
from sync.engine import run_connection
from sync.models import Account, AppAuthorization, Connection, RunStatus, SyncRun, UserLink
from tests.api.conftest import token_client
from tests.e2e.salesforce import authorize_salesforce, salesforce_records

pytestmark = pytest.mark.django_db(transaction=True)
FM = "forcemanager"
CLIENT_ID, CLIENT_SECRET = "e2e-fm-seed-app", "e2e-fm-seed-app-secret"
URL = "/api/v1/connections/"


@dataclass
class Seed:
    """The two sandboxes' accounts, their users and the connection between them."""

    sandbox: SandboxControl
    org: dict[str, Any]
    fm: dict[str, Any]
    connection: Connection

    def sf_user(self, name: str) -> str:
        state = self.sandbox.state("salesforce", self.org["account_id"])
        users = state["orgs"][self.org["account_id"]]["users"]
        return next(str(u["Id"]) for u in users if u["Name"] == name)

    def fm_user(self, name: str) -> int:
        return next(int(u["id"]) for u in self.fm["users"] if u["name"] == name)

    def sf(self) -> dict[str, dict[str, Any]]:
        return salesforce_records(self.sandbox, self.org)

    def fm_contacts(self) -> dict[str, dict[str, Any]]:
        account = self.fm["account_id"]
        rows = self.sandbox.state(FM, account)["instances"][account]["records"]["contacts"]
        return {str(r["email"]).lower(): r for r in rows if not r["deleted"] and r.get("email")}

    def run(self, **options: Any) -> SyncRun:
        done = run_connection(self.connection.pk, "manual", **options)
        assert done.status == RunStatus.SUCCEEDED, (done.status, done.error, done.counts)
        return done


@pytest.fixture(autouse=True)
def connected_app(sandbox: SandboxControl, settings: Any) -> None:
    settings.SOCIAL_AUTH_SALESFORCE_KEY = CLIENT_ID
    settings.SOCIAL_AUTH_SALESFORCE_SECRET = CLIENT_SECRET
    settings.SALESFORCE_LOGIN_URL = sandbox.vendor_url("salesforce")


@pytest.fixture
def api(owner: Any, account: Account) -> APIClient:
    return token_client(owner, account)


@pytest.fixture
def seed(sandbox: SandboxControl, account: Account, api: APIClient) -> Seed:
    org = sandbox.create_account(
        "salesforce",
        name="Acme CRM",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        users=[
            {"name": "jose  perez", "email": "jose.perez@acme-sf.example"},
            {"name": "Ann Smith", "email": "ann@acme-sf.example"},
        ],
    )
    fm = sandbox.create_account(
        FM,
        name="Acme Field",
        users=[
            {"name": "Laura Gómez", "email": "laura@acme.example"},
            {"name": "José Pérez", "email": "jperez@acme-field.example"},
        ],
    )
    salesforce = authorize_salesforce(sandbox, account, org)
    forcemanager = AppAuthorization(account=account, vendor=FM, label="Acme Field")
    forcemanager.secrets = {"public_key": fm["public_key"], "private_key": fm["private_key"]}
    forcemanager.save()
    answer = api.post(
        URL,
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
    connection = Connection.objects.get(pk=answer.json()["id"])
    return Seed(sandbox, org, fm, connection)


def test_owners_are_linked_by_name_and_unlinked_ones_fall_back_to_the_default_user(
    seed: Seed, sandbox: SandboxControl, api: APIClient
) -> None:
    jose_sf, ann_sf = seed.sf_user("jose  perez"), seed.sf_user("Ann Smith")
    jose_fm, laura_fm = seed.fm_user("José Pérez"), seed.fm_user("Laura Gómez")
    assert seed.connection.mappings.filter(a_field="OwnerId", b_field="salesRepId").exists()
    # "Automatic link" through the API, with Laura as ForceManager's default user.
    answer = api.post(
        f"{URL}{seed.connection.pk}/users/",
        {"automatic": True, "default_user_b": str(laura_fm)},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["suggested"] == {jose_sf: str(jose_fm)}
    links = [(link.a_user_id, link.b_user_id, link.auto) for link in UserLink.objects.all()]
    assert links == [(jose_sf, str(jose_fm), True)]  # only the same person, accents aside

    org = seed.org["account_id"]
    sandbox.action(
        "salesforce", "create", account=org, FirstName="Ada", LastName="Lovelace",
        Email="ada@example.com", OwnerId=jose_sf,
    )  # fmt: skip
    sandbox.action(
        "salesforce", "create", account=org, FirstName="Alan", LastName="Turing",
        Email="alan@example.com", OwnerId=ann_sf,
    )  # fmt: skip
    sandbox.action(
        FM, "add", account=seed.fm["account_id"], firstName="Linus", lastName="Torvalds",
        email="linus@example.com", salesRepId=jose_fm,
    )  # fmt: skip
    seed.run(initial=True)
    fm, sf = seed.fm_contacts(), seed.sf()
    assert fm["ada@example.com"]["salesRepId"]["id"] == jose_fm  # through the link
    assert fm["alan@example.com"]["salesRepId"]["id"] == laura_fm  # Ann has no link: the default
    assert sf["linus@example.com"]["OwnerId"] == jose_sf  # and back through the link
    assert sf["alan@example.com"]["OwnerId"] == ann_sf  # the fallback never travels back

    # Converged: the next run writes nothing on either side.
    before = sandbox.requests(FM)["endpoints"], sandbox.requests("salesforce")["endpoints"]
    seed.run()
    after = sandbox.requests(FM)["endpoints"], sandbox.requests("salesforce")["endpoints"]
    for old, new in zip(before, after, strict=True):
        writes = {k: n for k, n in new.items() if not k.startswith("GET") and old.get(k) != n}
        assert not writes, writes
