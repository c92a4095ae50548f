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
from sync.models import Account, Connection, RunStatus, SyncRun, UserLink
from tests.api.conftest import token_client
from tests.e2e.salesforce import (
    FM,
    authorize_forcemanager,
    authorize_salesforce,
    connect_through_the_api,
    connected_app,
    salesforce_records,
)

pytestmark = pytest.mark.django_db(transaction=True)
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
def salesforce_app(sandbox: SandboxControl, settings: Any) -> None:
    """The Salesforce connected app and login host are platform settings."""
    connected_app(settings, sandbox, CLIENT_ID, CLIENT_SECRET)


@pytest.fixture
def api(owner: Any, account: Account) -> APIClient:
    return token_client(owner, account)


@pytest.fixture
def seed(sandbox: SandboxControl, account: Account, api: APIClient) -> Seed:
    account.tier = "business"  # the integration's plan (sync/tiers.py)
    account.save(update_fields=["tier"])
    org = sandbox.create_account(
        "salesforce",
        name="Acme CRM",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        custom_fields={
            "Contact": [
                {"name": "Industry__c", "type": "string"},  # ForceManager has Z_Industry
                {"name": "Region_Code__c", "type": "string", "label": "Region code"},
                {"name": "Seats__c", "type": "double", "label": "Seats"},
                {"name": "Partner__c", "type": "boolean", "label": "Partner"},
            ]
        },
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
    forcemanager = authorize_forcemanager(account, fm)
    connection = connect_through_the_api(api, salesforce, forcemanager)
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


def fm_rows(seed: Seed) -> list[dict[str, Any]]:
    account = seed.fm["account_id"]
    return seed.sandbox.state(FM, account)["instances"][account]["records"]["contacts"]


def test_activation_replaces_forcemanager_with_salesforce_only_with_consent_and_undoes(
    seed: Seed, sandbox: SandboxControl, api: APIClient
) -> None:
    org, fm_account = seed.org["account_id"], seed.fm["account_id"]
    for first, last, email in (("Ada", "Lovelace", "ada@example.com"),
                               ("Grace", "Hopper", "grace@example.com")):  # fmt: skip
        sandbox.action(
            "salesforce", "create", account=org, FirstName=first, LastName=last, Email=email
        )
    for first, last, email in (("Linus", "Torvalds", "linus@example.com"),
                               ("Margaret", "Hamilton", "margaret@example.com"),
                               ("Grace", "H.", "grace@example.com")):  # fmt: skip
        sandbox.action(FM, "add", account=fm_account, firstName=first, lastName=last, email=email)
    # The preview runs in replace mode and counts what would go.
    preview = api.post(f"{URL}{seed.connection.pk}/preview/")
    assert preview.status_code == 202, preview.content
    # Without consent the activation says so, with the number, and nothing starts.
    refused = api.post(f"{URL}{seed.connection.pk}/start/", {}, format="json")
    assert refused.status_code == 409
    words = refused.json()["detail"]
    assert "The initial integration deletes the data already in ForceManager" in words
    assert "replaces it with Salesforce's" in words
    # Linus, Margaret and the account they are filed under (companies sync with contacts)
    assert "3 ForceManager records would be deleted" in words
    assert len([r for r in fm_rows(seed) if not r["deleted"]]) == 3
    seed.connection.refresh_from_db()
    assert seed.connection.state == "previewed"  # not started

    # With consent: ForceManager holds Salesforce's data, the rest journaled as deleted.
    started = api.post(
        f"{URL}{seed.connection.pk}/start/", {"confirm_replace": True}, format="json"
    )
    assert started.status_code == 202, started.content
    run = SyncRun.objects.get(pk=started.json()["run"]["id"])
    assert run.status == RunStatus.SUCCEEDED, (run.status, run.error)
    fm = seed.fm_contacts()
    assert set(fm) == {"ada@example.com", "grace@example.com"}
    assert fm["grace@example.com"]["lastName"] == "Hopper"  # Salesforce's, not "H."
    assert set(seed.sf()) == {"ada@example.com", "grace@example.com"}  # nothing flowed back
    deleted = run.events.filter(action="delete", status="ok")
    assert sorted((e.entity, e.label) for e in deleted) == [
        ("company", "walk in"),  # the account the ForceManager contacts were filed under
        ("contact", "linus@example.com"),
        ("contact", "margaret@example.com"),
    ]

    # Undo brings the deleted ForceManager contacts back, as new records.
    from sync.engine import undo_run

    gone = ("linus@example.com", "margaret@example.com")
    old_ids = {r["id"] for r in fm_rows(seed) if r["email"] in gone}
    undone = undo_run(run)
    assert undone.status == RunStatus.SUCCEEDED, (undone.status, undone.error)
    fm = seed.fm_contacts()
    assert {"linus@example.com", "margaret@example.com"} <= set(fm)
    assert fm["linus@example.com"]["lastName"] == "Torvalds"
    assert fm["linus@example.com"]["id"] not in old_ids  # recreated as a new record


def test_the_start_page_asks_for_consent_with_the_count_and_starts_only_with_it(
    seed: Seed, sandbox: SandboxControl, owner_client: Any
) -> None:
    sandbox.action(
        FM, "add", account=seed.fm["account_id"], firstName="Linus", lastName="Torvalds",
        email="linus@example.com",
    )  # fmt: skip
    page_url = f"/connections/{seed.connection.pk}/setup/preview/"
    owner_client.post(page_url)  # the preview (inline in tests)
    page = owner_client.get(page_url).content.decode()
    assert "The initial integration deletes the data already in ForceManager" in page
    assert "2 ForceManager records would be deleted" in page  # Linus and his account
    assert 'name="confirm_replace"' in page
    start_url = f"/connections/{seed.connection.pk}/start/"
    owner_client.post(start_url)  # the box not ticked
    seed.connection.refresh_from_db()
    assert seed.connection.state == "previewed"
    assert len(seed.fm_contacts()) == 1
    owner_client.post(start_url, {"confirm_replace": "1"})
    seed.connection.refresh_from_db()
    assert seed.connection.state in ("initial_sync", "active")
    assert seed.fm_contacts() == {}  # Salesforce holds no contacts: Linus went


def test_salesforce_prevails_and_updates_run_every_15_minutes_by_default(
    seed: Seed, sandbox: SandboxControl, api: APIClient, account: Account
) -> None:
    seed.connection.refresh_from_db()
    assert seed.connection.conflict_policy == "a_wins"  # side A is Salesforce
    assert seed.connection.interval_minutes == 15
    # With ForceManager as side A, Salesforce (B) still prevails; a choice is kept.
    sides = {
        "a_authorization": seed.connection.b_authorization_id,
        "a_scope": "contacts",
        "b_authorization": seed.connection.a_authorization_id,
        "b_scope": "Contact",
    }
    flipped = api.post(URL, {"name": "FM ↔ SF", **sides}, format="json").json()
    assert flipped["conflict_policy"] == "b_wins"
    chosen = api.post(
        URL, {"name": "FM ↔ SF 2", **sides, "conflict_policy": "most_recent"}, format="json"
    ).json()
    assert chosen["conflict_policy"] == "most_recent"

    # Both sides change the same field: Salesforce's value wins on both.
    org = seed.org["account_id"]
    sandbox.action(
        "salesforce", "create", account=org, FirstName="Ada", LastName="Lovelace",
        Email="ada@example.com",
    )  # fmt: skip
    seed.run(initial=True)
    seed.sandbox.action(FM, "edit", account=seed.fm["account_id"], contact="ada@example.com",
                        lastName="Byron")  # fmt: skip
    sandbox.action("salesforce", "edit", account=org, record="ada@example.com", LastName="King")
    seed.run()
    assert seed.sf()["ada@example.com"]["LastName"] == "King"
    assert seed.fm_contacts()["ada@example.com"]["lastName"] == "King"


def test_salesforce_custom_fields_are_created_in_forcemanager_at_start_and_paired(
    seed: Seed, sandbox: SandboxControl, api: APIClient
) -> None:
    from sync.setup import create_missing_fields

    sandbox.action(
        "salesforce", "create", account=seed.org["account_id"], FirstName="Ada",
        LastName="Lovelace", Email="ada@example.com", Industry__c="Computing",
        Region_Code__c="LDN", Seats__c=12, Partner__c=True,
    )  # fmt: skip
    started = api.post(
        f"{URL}{seed.connection.pk}/start/", {"confirm_replace": True}, format="json"
    )
    assert started.status_code == 202, started.content
    account = seed.fm["account_id"]
    defined = sandbox.state(FM, account)["instances"][account]["extrafields"]["contacts"]
    types = {f["fieldName"]: f["type"] for f in defined}
    assert types["Z_RegionCode"] == "text"
    assert types["Z_Seats"] == "decimal"
    assert types["Z_Partner"] == "bit"
    assert [f["fieldName"] for f in defined].count("Z_Industry") == 1  # it existed: paired
    pairs = set(seed.connection.mappings.values_list("a_field", "b_field"))
    assert {("Industry__c", "Z_Industry"), ("Region_Code__c", "Z_RegionCode"),
            ("Seats__c", "Z_Seats"), ("Partner__c", "Z_Partner")} <= pairs  # fmt: skip
    # The first run synced them.
    ada = seed.fm_contacts()["ada@example.com"]
    assert (ada["Z_Industry"], ada["Z_RegionCode"]) == ("Computing", "LDN")
    assert float(ada["Z_Seats"]) == 12 and ada["Z_Partner"] is True
    # Idempotent: nothing more is made or paired the second time.
    assert create_missing_fields(seed.connection) == []
    after = sandbox.state(FM, account)["instances"][account]["extrafields"]["contacts"]
    assert len(after) == len(defined)
    assert set(seed.connection.mappings.values_list("a_field", "b_field")) == pairs
