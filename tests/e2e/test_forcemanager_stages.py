"""Salesforce's opportunity stages ↔ ForceManager's opportunity statuses (issue 17),
end to end through both sandboxes: no stage shares a name with a status ("Closed Won" vs
"Won"), so before the tenant maps them the preview lists the deals that would fail and
the run reports each as the record's error, naming the field, the value and where to map
it; once the stages are mapped on the pair's value table (sync/setup.py, as the mapping
page posts it), Salesforce's deals land in ForceManager with the mapped status, and a
status changed in ForceManager comes back as the Salesforce stage mapped to it. And a
Salesforce contact without a first name (ForceManager requires one) fails in the preview
with the reason until the ForceManager authorization has a ``default_first_name``."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from connectors.base import Change
from connectors.forcemanager.connector import NO_FIRST_NAME
from connectors.sandbox.control import SandboxControl
from sync import setup
from sync.engine import preview, run_connection
from sync.models import FieldMapping, RunStatus, SyncRun
from tests.e2e import test_forcemanager_seed_entities as entities
from tests.e2e.test_forcemanager_seed_entities import FM, URL, Seed

# The seed of the companies-contacts-opportunities test: its connection and API client.
connected_app, api, seed = entities.connected_app, entities.api, entities.seed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("strict_sandbox")]
# Salesforce's standard stages -> ForceManager's statuses (the sandbox's "Open", "Won",
# "Lost"); "Open" comes back as "Prospecting", the first stage mapped to it.
STAGES = {
    "Prospecting": "Open",
    "Qualification": "Open",
    "Proposal/Price Quote": "Open",
    "Negotiation/Review": "Open",
    "Closed Won": "Won",
    "Closed Lost": "Lost",
}


def fm_status(seed: Seed, row: dict[str, Any]) -> str:
    """The text of a ForceManager opportunity's status."""
    value = row["statusId"]
    if isinstance(value, dict):
        value = value["id"]
    account = seed.fm["account_id"]
    statuses = seed.sandbox.state(FM, account)["instances"][account]["values"]
    return next(s["value"] for s in statuses["opportunityStatuses"] if s["id"] == int(value))


def fm_status_id(seed: Seed, text: str) -> int:
    account = seed.fm["account_id"]
    statuses = seed.sandbox.state(FM, account)["instances"][account]["values"]
    return next(int(s["id"]) for s in statuses["opportunityStatuses"] if s["value"] == text)


def stage_pair(seed: Seed) -> FieldMapping:
    return FieldMapping.objects.get(
        connection=seed.connection, entity="opportunity", a_field="StageName"
    )


def test_standard_stages_land_as_the_mapped_statuses_and_come_back(
    seed: Seed,
    sandbox: SandboxControl,
    api: APIClient,
) -> None:
    [acme] = seed.write("Account", Change("create", "1", fields={"Name": "Acme"}))
    deals = {"Acme renewal": "Qualification", "Acme upsell": "Closed Won"}
    seed.write(
        "Opportunity",
        *(
            Change(
                "create",
                name,
                fields={
                    "Name": name,
                    "AccountId": acme,
                    "StageName": stage,
                    "CloseDate": "2027-01-31",
                },
            )
            for name, stage in deals.items()
        ),
    )
    # The stage pair is a default one, and translates: both fields list their values.
    pair = stage_pair(seed)
    apps = setup.side_apps(seed.connection, "opportunity")
    values = setup.pair_value_map(pair, apps)
    assert values is not None and values.to_b("Closed Won") is None  # no name in common

    # Unmapped: the preview lists both deals as failing, with the reason.
    dry = preview(seed.connection)
    assert dry.status == RunStatus.SUCCEEDED, (dry.status, dry.error)
    failing = dry.preview["samples"]["a_to_b"]["error"]
    reasons = " ".join(s["reason"] for s in failing)
    assert len(failing) == 2, dry.preview["counts"]
    assert "Stage “Qualification” has no value in Stage (statusId)" in reasons
    assert "value table" in reasons and "opportunity element" in reasons

    # Mapped on the pair's value table: the first run replaces ForceManager's data.
    setup.save_value_map(pair, {"a_to_b": STAGES}, apps)
    started = api.post(
        f"{URL}{seed.connection.pk}/start/", {"confirm_replace": True}, format="json"
    )
    assert started.status_code == 202, started.content
    first = SyncRun.objects.get(pk=started.json()["run"]["id"])
    errors = list(first.events.exclude(status="ok").values_list("entity", "error"))
    assert first.status == RunStatus.SUCCEEDED, (first.status, errors)
    fm_deals = {str(r["reference"]): r for r in seed.fm_rows("opportunities")}
    assert {name: fm_status(seed, row) for name, row in fm_deals.items()} == {
        "Acme renewal": "Open",
        "Acme upsell": "Won",
    }

    # A status changed in ForceManager comes back as the stage mapped to it.
    renewal = fm_deals["Acme renewal"]
    sandbox.action(
        FM, "edit", account=seed.fm["account_id"], contact=str(renewal["id"]),
        resource="opportunities", statusId=fm_status_id(seed, "Lost"),
    )  # fmt: skip
    seed.run()
    stages = {r["Name"]: r["StageName"] for r in seed.sf("Opportunity")}
    assert stages == {"Acme renewal": "Closed Lost", "Acme upsell": "Closed Won"}

    # Salesforce moves a deal between two stages of one status: nothing to write.
    deal_sf = next(r["Id"] for r in seed.sf("Opportunity") if r["Name"] == "Acme renewal")
    prospecting = Change("update", "p", id=deal_sf, fields={"StageName": "Prospecting"})
    seed.write("Opportunity", prospecting)
    seed.run()
    renewal = next(r for r in seed.fm_rows("opportunities") if r["id"] == renewal["id"])
    assert fm_status(seed, renewal) == "Open"
    before = seed.writes()
    qualification = Change("update", "q", id=deal_sf, fields={"StageName": "Qualification"})
    seed.write("Opportunity", qualification)
    done = run_connection(seed.connection.pk, "manual")
    assert done.status == RunStatus.SUCCEEDED and done.writes == 0, (done.status, done.counts)
    assert seed.writes()[FM] == before[FM]


def test_a_contact_without_a_first_name_fails_in_the_preview_until_a_default_is_set(
    seed: Seed, api: APIClient
) -> None:
    seed.write(
        "Contact",
        Change("create", "n", fields={"LastName": "Nofirst", "Email": "nofirst@example.com"}),
        Change(
            "create",
            "f",
            fields={"FirstName": "Fay", "LastName": "Lee", "Email": "fay@example.com"},
        ),
    )
    dry = preview(seed.connection)
    assert dry.status == RunStatus.SUCCEEDED, (dry.status, dry.error)
    [failing] = dry.preview["samples"]["a_to_b"]["error"]
    assert failing["label"] == "nofirst@example.com"
    assert failing["reason"] == NO_FIRST_NAME
    assert dry.preview["counts"]["a_to_b"]["error"] == 1

    forcemanager = seed.connection.b_authorization
    forcemanager.settings = {**forcemanager.settings, "default_first_name": "(no first name)"}
    forcemanager.save()
    started = api.post(
        f"{URL}{seed.connection.pk}/start/", {"confirm_replace": True}, format="json"
    )
    assert started.status_code == 202, started.content
    first = SyncRun.objects.get(pk=started.json()["run"]["id"])
    assert first.status == RunStatus.SUCCEEDED, (first.status, first.counts)
    contacts = seed.fm_contacts()
    assert contacts["nofirst@example.com"]["firstName"] == "(no first name)"
    assert contacts["fay@example.com"]["firstName"] == "Fay"
