"""Companies and contacts between two Salesforce orgs (issue 17), end to end through the
sandbox over HTTP and the real engine: the connection syncs Contacts and, added through
``sync.setup.add_entity``, Accounts, with the contacts' ``AccountId`` paired by default. Accounts
are matched by name, every contact lands pointing at the other org's Account of its company
(that org's own id, never the source's), a contact moved to another Account follows on the
other side, an Opportunity (a third entity) lands with the other org's Account, and a run
with nothing new writes nothing. Every assertion reads the sandbox's own state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from connectors.base import Change
from connectors.sandbox.control import SandboxControl
from sync import setup
from sync.engine import run_connection
from sync.engine.mapping import ensure_default_mappings
from sync.models import (
    Account,
    Connection,
    ConnectionState,
    FieldMapping,
    RunStatus,
    SyncRun,
)
from sync.vendors import open_connector
from tests.e2e.salesforce import authorize_salesforce, connected_app, salesforce_records

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("strict_sandbox")]
CLIENT_ID, CLIENT_SECRET = "e2e-sf-entities-app", "e2e-sf-entities-app-secret"


@dataclass
class Orgs:
    """The two orgs and the connection between them."""

    sandbox: SandboxControl
    orgs: dict[str, dict[str, Any]]
    connection: Connection

    def accounts(self, side: str) -> dict[str, str]:
        """``side``'s Accounts: name → id; fails on a duplicate name."""
        org = self.orgs[side]
        state = self.sandbox.state("salesforce", org["account_id"])["orgs"][org["account_id"]]
        rows = state["records"]["Account"]
        names = {str(r["Name"]).lower(): str(r["Id"]) for r in rows}
        assert len(names) == len(rows), "duplicate Accounts"
        return names

    def contacts(self, side: str) -> dict[str, dict[str, Any]]:
        return salesforce_records(self.sandbox, self.orgs[side])

    def write(self, side: str, scope: str, *changes: Change) -> list[str]:
        """What a user does in ``side``'s org: ``changes`` to ``scope``; their ids."""
        with open_connector(self.connection.authorization(side), scope) as connector:
            results = connector.push(list(changes))
        assert all(r.error is None for r in results), [r.error for r in results]
        return [str(r.id) for r in results]

    def run(self) -> SyncRun:
        done = run_connection(self.connection.pk, "manual")
        assert done.status == RunStatus.SUCCEEDED, (done.status, done.error, done.counts)
        return done


@pytest.fixture(autouse=True)
def salesforce_app(sandbox: SandboxControl, settings: Any) -> None:
    """The Salesforce connected app and login host are platform settings."""
    connected_app(settings, sandbox, CLIENT_ID, CLIENT_SECRET)


@pytest.fixture
def orgs(sandbox: SandboxControl, account: Account) -> Orgs:
    made = {
        side: sandbox.create_account(
            "salesforce", name=f"Org {side}", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
        )
        for side in "ab"
    }
    authorizations = {side: authorize_salesforce(sandbox, account, made[side]) for side in "ab"}
    connection = Connection.objects.create(
        account=account,
        name="Org a ↔ Org b",
        a_authorization=authorizations["a"],
        a_scope="Contact",
        b_authorization=authorizations["b"],
        b_scope="Contact",
        conflict_policy="a_wins",
        state=ConnectionState.ACTIVE,
        breaker_count=1000,
    )
    specs = [open_connector(authorizations[s], "Contact").fields() for s in "ab"]
    ensure_default_mappings(connection, specs[0], specs[1])
    setup.ensure_default_rules(connection)
    return Orgs(sandbox, made, connection)


def pair_account_ids(connection: Connection) -> None:
    """The contacts' Account lookups are paired by default (common key ``company_id``),
    and synced once companies are."""
    assert FieldMapping.objects.filter(
        connection=connection, a_field="AccountId", b_field="AccountId"
    ).exists()


def test_contacts_land_pointing_at_the_other_orgs_accounts(orgs: Orgs) -> None:
    assert setup.entity_problems(orgs.connection) == [
        "Both apps have companies: sync them with the contacts."
    ]
    row = setup.add_entity(orgs.connection, "company")
    assert (row.a_scope, row.b_scope) == ("Account", "Account")
    assert setup.entity_problems(orgs.connection) == []
    pair_account_ids(orgs.connection)
    acme_a, beta_a = orgs.write(
        "a",
        "Account",
        Change("create", "1", fields={"Name": "Acme", "Website": "https://acme.example"}),
        Change("create", "2", fields={"Name": "Beta"}),
    )
    [acme_b] = orgs.write("b", "Account", Change("create", "3", fields={"Name": "ACME"}))
    # Contacts pointing at their Accounts by id, as a user picking the Account would.
    people = {"ann": acme_a, "bob": beta_a, "cy": None}
    orgs.write(
        "a",
        "Contact",
        *(
            Change(
                "create",
                name,
                fields={"LastName": name, "Email": f"{name}@example.com", "AccountId": company},
            )
            for name, company in people.items()
        ),
    )
    orgs.write(
        "b",
        "Contact",
        Change(
            "create",
            "d",
            fields={"LastName": "Dee", "Email": "dee@example.com", "AccountId": acme_b},
        ),
    )

    orgs.run()
    accounts_b = orgs.accounts("b")
    assert accounts_b == {"acme": acme_b, "beta": accounts_b["beta"]}  # matched, not doubled
    contacts_b = orgs.contacts("b")
    assert contacts_b["ann@example.com"]["AccountId"] == acme_b
    assert contacts_b["bob@example.com"]["AccountId"] == accounts_b["beta"]
    assert contacts_b["cy@example.com"]["AccountId"] is None
    assert orgs.accounts("a") == {"acme": acme_a, "beta": beta_a}
    assert orgs.contacts("a")["dee@example.com"]["AccountId"] == acme_a

    # Ann moves to Beta in org a; org b follows with its own Beta.
    ann_a = orgs.contacts("a")["ann@example.com"]["Id"]
    orgs.write("a", "Contact", Change("update", "m", id=ann_a, fields={"AccountId": beta_a}))
    orgs.run()
    assert orgs.contacts("b")["ann@example.com"]["AccountId"] == accounts_b["beta"]
    assert orgs.run().writes == 0


def test_opportunities_land_with_the_other_orgs_account(orgs: Orgs) -> None:
    setup.add_entity(orgs.connection, "company")
    pair_account_ids(orgs.connection)
    row = setup.add_entity(orgs.connection, "opportunity")
    assert (row.a_scope, row.b_scope) == ("Opportunity", "Opportunity")
    [acme_a] = orgs.write("a", "Account", Change("create", "1", fields={"Name": "Acme"}))
    deal = {
        "Name": "Acme renewal",
        "AccountId": acme_a,
        "StageName": "Qualification",
        "CloseDate": "2027-01-31",
        "Amount": 12500,
    }
    [deal_a] = orgs.write("a", "Opportunity", Change("create", "d", fields=deal))
    orgs.run()
    acme_b = orgs.accounts("b")["acme"]
    org = orgs.orgs["b"]
    state = orgs.sandbox.state("salesforce", org["account_id"])["orgs"][org["account_id"]]
    [deal_b] = state["records"]["Opportunity"]
    assert deal_b["AccountId"] == acme_b and deal_b["Id"] != deal_a
    assert (deal_b["Name"], deal_b["StageName"], deal_b["CloseDate"], deal_b["Amount"]) == (
        "Acme renewal",
        "Qualification",
        "2027-01-31",
        12500,
    )
    assert orgs.run().writes == 0
