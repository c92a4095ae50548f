"""ForceManager's Salesforce integration (issue 17's seed) with several elements, end to
end through both sandboxes over HTTP, the REST API and the real engine: companies,
contacts and opportunities on one connection (companies and opportunities added through
``sync.setup.add_entity``), the initial run replacing ForceManager's data with consent.
After it, every ForceManager contact and opportunity points at the ForceManager account of
its Salesforce Account; an edit on both sides ends as Salesforce's; the journal counts
each element on its own; a run with nothing new writes nothing; and undoing the replace
run puts ForceManager's own records back. Every assertion reads the sandboxes' state."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from rest_framework.test import APIClient

from connectors.base import Change
from connectors.forcemanager.connector import NO_COMPANY
from connectors.sandbox.control import SandboxControl
from sync import setup
from sync.engine import undo_run
from sync.models import Account, RunStatus, SyncRun
from tests.api.conftest import token_client
from tests.e2e import salesforce
from tests.e2e.salesforce import (
    FM,
    SalesforceForceManager,
    salesforce_records,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("strict_sandbox")]
CLIENT_ID, CLIENT_SECRET = "e2e-fm-entities-app", "e2e-fm-entities-app-secret"
URL = "/api/v1/connections/"


class Seed(SalesforceForceManager):
    """The two sandboxes' accounts and the connection between them."""

    def sf(self, sobject: str) -> list[dict[str, Any]]:
        state = self.sandbox.state("salesforce", self.org["account_id"])
        return list(state["orgs"][self.org["account_id"]]["records"][sobject])

    def fm_accounts(self) -> dict[int, str]:
        """ForceManager's live companies: id → name."""
        return {int(r["id"]): str(r["name"]) for r in self.fm_rows("accounts")}

    def fm_contacts(self) -> dict[str, dict[str, Any]]:
        return {str(r["email"]).lower(): r for r in self.fm_rows("contacts") if r.get("email")}

    def writes(self) -> dict[str, dict[str, int]]:
        """Every call so far on each side that is not a read (nor a login), by endpoint."""
        return {
            vendor: {
                k: n
                for k, n in self.sandbox.requests(vendor)["endpoints"].items()
                if not k.startswith("GET") and "login" not in k and "token" not in k
            }
            for vendor in ("salesforce", FM)
        }


@pytest.fixture(autouse=True)
def connected_app(sandbox: SandboxControl, settings: Any) -> None:
    salesforce.connected_app(settings, sandbox, CLIENT_ID, CLIENT_SECRET)


@pytest.fixture
def api(owner: Any, account: Account) -> APIClient:
    return token_client(owner, account)


@pytest.fixture
def seed(sandbox: SandboxControl, account: Account, api: APIClient) -> Seed:
    """A Business account's Salesforce → ForceManager connection made through the API,
    syncing companies and opportunities besides its contacts."""
    return Seed.made(sandbox, account, api, (CLIENT_ID, CLIENT_SECRET), ("company", "opportunity"))


def test_companies_contacts_and_opportunities_replace_forcemanager_and_salesforce_prevails(
    seed: Seed, sandbox: SandboxControl, api: APIClient
) -> None:
    assert setup.entity_problems(seed.connection) == []
    acme, beta = seed.write(
        "Account",
        Change("create", "1", fields={"Name": "Acme"}),
        Change("create", "2", fields={"Name": "Beta"}),
    )
    companies = {acme: "Acme", beta: "Beta"}
    people = {"ann": acme, "bob": beta, "cy": acme}
    seed.write(
        "Contact",
        *(
            Change(
                "create",
                name,
                fields={
                    "FirstName": name.title(),
                    "LastName": "Lee",
                    "Email": f"{name}@example.com",
                    "AccountId": company,
                },
            )
            for name, company in people.items()
        ),
    )
    # A stage both apps know by the same name: stage values are not translated (a
    # Salesforce "Qualification" is refused by ForceManager's statusId).
    deals = {"Acme renewal": acme, "Beta pilot": beta}
    seed.write(
        "Opportunity",
        *(
            Change(
                "create",
                name,
                fields={
                    "Name": name,
                    "AccountId": company,
                    "StageName": "Open",
                    "CloseDate": "2027-01-31",
                    "Amount": 1000,
                },
            )
            for name, company in deals.items()
        ),
    )
    # ForceManager's own data, which the initial integration replaces.
    fm_account = seed.fm["account_id"]
    sandbox.action(
        FM, "add", account=fm_account, company="Old Co", firstName="Linus",
        lastName="Torvalds", email="linus@example.com",
    )  # fmt: skip
    sandbox.action(
        FM, "add", account=fm_account, company="Acme", firstName="Ann", lastName="Old",
        email="ann@example.com",
    )  # fmt: skip
    before_fm = {r["email"] for r in seed.fm_rows("contacts")}

    refused = api.post(f"{URL}{seed.connection.pk}/start/", {}, format="json")
    assert refused.status_code == 409, refused.content
    assert {r["email"] for r in seed.fm_rows("contacts")} == before_fm  # nothing started
    started = api.post(
        f"{URL}{seed.connection.pk}/start/", {"confirm_replace": True}, format="json"
    )
    assert started.status_code == 202, started.content
    replaced = SyncRun.objects.get(pk=started.json()["run"]["id"])
    errors = list(replaced.events.exclude(status="ok").values_list("entity", "error"))
    assert replaced.status == RunStatus.SUCCEEDED, (replaced.status, replaced.counts, errors)

    # ForceManager holds Salesforce's companies, contacts and deals, each pointing at the
    # ForceManager account of its Salesforce Account.
    fm_companies = seed.fm_accounts()
    assert set(fm_companies.values()) - {NO_COMPANY} == {"Acme", "Beta"}  # Old Co went
    contacts = seed.fm_contacts()
    assert set(contacts) == {f"{name}@example.com" for name in people}
    for name, company in people.items():
        row = contacts[f"{name}@example.com"]
        assert fm_companies[int(row["accountId"]["id"])] == companies[company], name
    assert contacts["ann@example.com"]["lastName"] == "Lee"  # Salesforce's, not "Old"
    fm_deals = {str(r["reference"]): r for r in seed.fm_rows("opportunities")}
    assert set(fm_deals) == set(deals)
    for name, company in deals.items():
        assert fm_companies[int(fm_deals[name]["accountId1"]["id"])] == companies[company], name
    assert len(seed.sf("Account")) == 2 and len(salesforce_records(seed.sandbox, seed.org)) == 3

    # The journal counts every element on its own.
    made = Counter(replaced.events.filter(action="create", status="ok").values_list(
        "entity", flat=True))  # fmt: skip
    assert made["contact"] == 2  # Bob and Cy; Ann was matched by her email
    assert made["opportunity"] == 2
    assert made["company"] == 1  # Beta; ForceManager's Acme was matched by its name
    gone = replaced.events.filter(action="delete", status="ok", entity="company")
    assert [e.label for e in gone] == ["old co"]  # its match key
    deleted = replaced.events.filter(action="delete", status="ok", entity="contact")
    assert [e.label for e in deleted] == ["linus@example.com"]

    # Both sides edit the same contact and the same deal: Salesforce's values win.
    ann_sf = salesforce_records(seed.sandbox, seed.org)["ann@example.com"]["Id"]
    deal_sf = next(r["Id"] for r in seed.sf("Opportunity") if r["Name"] == "Acme renewal")
    sandbox.action(FM, "edit", account=fm_account, contact="ann@example.com", lastName="Byron")
    sandbox.action(
        FM, "edit", account=fm_account, contact=str(fm_deals["Acme renewal"]["id"]),
        resource="opportunities", total=5,
    )  # fmt: skip
    seed.write("Contact", Change("update", "a", id=ann_sf, fields={"LastName": "King"}))
    seed.write("Opportunity", Change("update", "d", id=deal_sf, fields={"Amount": 2000}))
    seed.run()
    assert salesforce_records(seed.sandbox, seed.org)["ann@example.com"]["LastName"] == "King"
    assert seed.fm_contacts()["ann@example.com"]["lastName"] == "King"
    [deal_row] = [r for r in seed.sf("Opportunity") if r["Id"] == deal_sf]
    assert deal_row["Amount"] == 2000
    deal_id = fm_deals["Acme renewal"]["id"]
    fm_deal = next(r for r in seed.fm_rows("opportunities") if r["id"] == deal_id)
    assert float(fm_deal["total"]) == 2000

    # A quiet run writes nothing on either side.
    before = seed.writes()
    assert seed.run().writes == 0
    assert seed.writes() == before

    # Undoing the replace run brings ForceManager's deleted contact back.
    undone = undo_run(replaced)
    assert undone.status == RunStatus.SUCCEEDED, (undone.status, undone.error)
    back = seed.fm_contacts()
    assert "linus@example.com" in back and back["linus@example.com"]["lastName"] == "Torvalds"
    assert seed.fm_accounts()[int(back["linus@example.com"]["accountId"]["id"])] == "Old Co"
    assert list(seed.fm_accounts().values()).count("Old Co") == 1  # put back once
    assert "Beta" not in seed.fm_accounts().values()  # the run's own company went again
    assert seed.fm_rows("opportunities") == []
