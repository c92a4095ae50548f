"""ForceManager ↔ Salesforce contacts, two-way, end to end through both sandboxes over
HTTP and the real engine (the contacts part of issue 17's seed): the initial sync joins
both sides without duplicates, edits travel both ways (an extra field included), soft
deletes in ForceManager reach Salesforce through the deletion feed and Salesforce's
deletions reach ForceManager, and an expired ForceManager session is renewed on the
way. Every assertion reads the sandboxes' own state (the control API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from connectors.sandbox.control import SandboxControl
from sync.engine import run_connection
from sync.models import Account, AppAuthorization, Connection, FieldMapping, RunStatus, SyncRun
from tests.e2e.salesforce import (
    FM,
    authorize_forcemanager,
    authorize_salesforce,
    connected_app,
    salesforce_records,
)

pytestmark = pytest.mark.django_db(transaction=True)
CLIENT_ID, CLIENT_SECRET = "e2e-fm-connected-app", "e2e-fm-connected-app-secret"


@dataclass
class Seeds:
    """The two sandboxes' accounts and the connection between them."""

    sandbox: SandboxControl
    org: dict[str, Any]
    fm: dict[str, Any]
    fm_authorization: AppAuthorization
    connection: Connection

    def sf(self) -> dict[str, dict[str, Any]]:
        """Salesforce contacts by email."""
        return salesforce_records(self.sandbox, self.org)

    def fm_contacts(self, deleted: bool = False) -> dict[str, dict[str, Any]]:
        """ForceManager contacts by email (live ones, or the soft-deleted ones); fails
        on a duplicate email."""
        account = self.fm["account_id"]
        rows = self.sandbox.state(FM, account)["instances"][account]["records"]["contacts"]
        chosen = [r for r in rows if r["deleted"] is deleted and r.get("email")]
        by_email = {str(r["email"]).lower(): r for r in chosen}
        assert len(by_email) == len(chosen), "duplicate contacts in ForceManager"
        return by_email

    def fm_edit(self, email: str, **changes: Any) -> None:
        self.sandbox.action(FM, "edit", account=self.fm["account_id"], contact=email, **changes)

    def run(self, **options: Any) -> SyncRun:
        done = run_connection(self.connection.pk, "manual", **options)
        assert done.status == RunStatus.SUCCEEDED, (done.status, done.error, done.counts)
        return done


@pytest.fixture(autouse=True)
def salesforce_app(sandbox: SandboxControl, settings: Any) -> None:
    """The Salesforce connected app and login host are platform settings."""
    connected_app(settings, sandbox, CLIENT_ID, CLIENT_SECRET)


@pytest.fixture
def seeds(sandbox: SandboxControl, account: Account) -> Seeds:
    org = sandbox.create_account(
        "salesforce",
        name="Acme CRM",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        custom_fields={"Contact": [{"name": "Industry__c", "type": "string"}]},
    )
    fm = sandbox.create_account(
        FM, name="Acme Field", users=[{"name": "Laura Gómez", "email": "laura@acme.example"}]
    )
    sandbox.action(FM, "options", page_size=3)  # several pages even for a few contacts
    salesforce = authorize_salesforce(sandbox, account, org)
    forcemanager = authorize_forcemanager(account, fm)
    connection = Connection.objects.create(
        account=account,
        name="Salesforce ↔ ForceManager",
        a_authorization=salesforce,
        a_scope="Contact",
        b_authorization=forcemanager,
        b_scope="contacts",
        conflict_policy="a_wins",  # Salesforce always prevails
        deletions_a_to_b="delete",
        deletions_b_to_a="delete",
        breaker_count=1000,
    )
    from sync.engine.mapping import ensure_default_mappings
    from sync.vendors import open_connector

    specs = [
        open_connector(connection.authorization(s), connection.scope(s)).fields() for s in "ab"
    ]
    ensure_default_mappings(connection, specs[0], specs[1])
    # A Salesforce custom field to a ForceManager extra field.
    FieldMapping.objects.create(
        connection=connection, a_field="Industry__c", b_field="Z_Industry", transform="text"
    )
    for fields in (
        {"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com",
         "Phone": "+49 30 1234567", "MailingCountry": "Germany", "Industry__c": "Computing"},
        {"FirstName": "Alan", "LastName": "Turing", "Email": "alan@example.com"},
        {"FirstName": "Grace", "LastName": "Hopper", "Email": "grace@example.com",
         "Description": "From Salesforce"},
    ):  # fmt: skip
        sandbox.action("salesforce", "create", account=org["account_id"], **fields)
    for fields in (
        {"firstName": "Linus", "lastName": "Torvalds", "email": "linus@example.com",
         "company": "Kernel Ltd", "Z_Industry": "Software"},
        {"firstName": "Grace", "lastName": "H.", "email": "GRACE@example.com",
         "phone1": "+1 202 555 0100"},
        {"firstName": "Margaret", "lastName": "Hamilton", "email": "margaret@example.com"},
    ):  # fmt: skip
        sandbox.action(FM, "add", account=fm["account_id"], **fields)
    return Seeds(sandbox, org, fm, forcemanager, connection)


def fm_writes(sandbox: SandboxControl) -> int:
    counts = sandbox.requests(FM)["endpoints"]
    return sum(n for endpoint, n in counts.items() if not endpoint.startswith("GET"))


def test_contacts_converge_both_ways_with_edits_deletions_and_a_new_session(
    seeds: Seeds, sandbox: SandboxControl
) -> None:
    everyone = {
        "ada@example.com",
        "alan@example.com",
        "grace@example.com",
        "linus@example.com",
        "margaret@example.com",
    }
    # Initial sync: the union on both sides; Grace, in both, is matched, not duplicated.
    seeds.run(initial=True)
    sf, fm = seeds.sf(), seeds.fm_contacts()
    assert set(sf) == set(fm) == everyone
    assert fm["ada@example.com"]["Z_Industry"] == "Computing"  # SF custom -> FM extra field
    assert fm["ada@example.com"]["countryId"]["value"] == "Germany"  # a lookup, by its text
    assert fm["ada@example.com"]["company"] == "(No company)"  # SF contacts name no company
    assert sf["linus@example.com"]["Industry__c"] == "Software"
    assert sf["grace@example.com"]["Phone"] == "+12025550100"  # phones travel as E.164
    assert fm["grace@example.com"]["comment"] == "From Salesforce"
    assert fm["grace@example.com"]["lastName"] == "Hopper"  # Salesforce prevails
    owner = seeds.fm["users"][0]["id"]
    assert {row["salesRepId"]["id"] for row in fm.values()} == {owner}  # the default rep

    # A second run with no edits writes nothing to ForceManager.
    before = fm_writes(sandbox)
    seeds.run()
    assert fm_writes(sandbox) == before

    # Edits on both sides travel, through an expired ForceManager session.
    sandbox.action(FM, "expire_sessions")
    session_before = AppAuthorization.objects.get(pk=seeds.fm_authorization.pk).secrets
    seeds.fm_edit("margaret@example.com", firstName="Maggie", Z_Industry="Space")
    sandbox.action(
        "salesforce",
        "edit",
        account=seeds.org["account_id"],
        record="alan@example.com",
        Phone="+44 20 7946 0000",
    )
    seeds.run()
    sf, fm = seeds.sf(), seeds.fm_contacts()
    assert sf["margaret@example.com"]["FirstName"] == "Maggie"
    assert sf["margaret@example.com"]["Industry__c"] == "Space"
    assert fm["alan@example.com"]["phone1"] == "+442079460000"
    session_after = AppAuthorization.objects.get(pk=seeds.fm_authorization.pk).secrets
    assert session_after["session_key"] != session_before["session_key"], "a new session kept"

    # A soft delete in ForceManager deletes the Salesforce contact (deletion feed); a
    # deletion in Salesforce soft-deletes the ForceManager one.
    sandbox.action(FM, "delete", account=seeds.fm["account_id"], contact="linus@example.com")
    sandbox.action(
        "salesforce", "delete", account=seeds.org["account_id"], record="ada@example.com"
    )
    seeds.run()
    sf, fm = seeds.sf(), seeds.fm_contacts()
    assert set(sf) == set(fm) == everyone - {"linus@example.com", "ada@example.com"}
    assert "ada@example.com" in seeds.fm_contacts(deleted=True)
    # And the next run is quiet again.
    before = fm_writes(sandbox)
    seeds.run()
    assert fm_writes(sandbox) == before
