"""The ForceManager connector against its sandbox over HTTP, for what the shared contract
suite does not cover: the deletion feed of soft deletes, companies linked by name, the
session kept between runs, lookups and extra fields written and read back, and extra
fields created from another app's custom field."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from connectors.base import Change, Credentials, FieldSpec
from connectors.forcemanager.client import parse_time
from connectors.forcemanager.connector import ForceManagerConnector
from connectors.http import Http
from connectors.sandbox.control import SandboxControl

FM = "forcemanager"


@pytest.fixture
def account(sandbox: SandboxControl) -> dict[str, Any]:
    return sandbox.create_account(FM, name="Reads")


def build(account: dict[str, Any], secrets: dict[str, Any] | None = None) -> ForceManagerConnector:
    held = secrets if secrets is not None else {}
    held.update(public_key=account["public_key"], private_key=account["private_key"])
    credentials = Credentials(secrets=held, settings={"page_size": 3})
    return ForceManagerConnector(credentials, "contacts", Http(retries=1, backoff=0.01))


def contacts(sandbox: SandboxControl, account: dict[str, Any]) -> list[dict[str, Any]]:
    state = sandbox.state(FM, account["account_id"])["instances"][account["account_id"]]
    rows: list[dict[str, Any]] = state["records"]["contacts"]
    return rows


def logins(sandbox: SandboxControl) -> int:
    return int(sandbox.requests(FM)["endpoints"].get("POST /api/v4/login", 0))


def test_a_soft_delete_is_reported_by_the_next_delta(
    sandbox: SandboxControl, account: dict[str, Any]
) -> None:
    seeded = sandbox.seed(FM, account["account_id"], 5, seed=1)["ids"]
    cursor = list(build(account).fetch(None))[-1].cursor
    sandbox.action(FM, "delete", account=account["account_id"], contact=seeded[2])
    delta = list(build(account).fetch(cursor))
    assert [d for p in delta for d in p.deleted] == [seeded[2]]
    # Besides it, only what sits on the cursor's boundary is read again (inclusive).
    boundary = parse_time(cursor) - timedelta(seconds=1)
    assert all(r.updated_at and r.updated_at >= boundary for p in delta for r in p.records)
    assert seeded[2] not in [r.id for p in delta for r in p.records]
    listed = [r.id for p in build(account).fetch(None) for r in p.records]
    assert seeded[2] not in listed and len(listed) == 4


def test_companies_are_linked_by_name_and_created_once(
    sandbox: SandboxControl, account: dict[str, Any]
) -> None:
    connector = build(account)
    results = connector.push(
        [
            Change("create", f"k{i}", fields={"firstName": "A", "lastName": f"B{i}", "company": c})
            for i, c in enumerate(["Initech", "INITECH ", "Hooli", None])
        ]
    )
    assert all(r.error is None for r in results), results
    state = sandbox.state(FM, account["account_id"])["instances"][account["account_id"]]
    names = sorted(a["name"] for a in state["records"]["accounts"])
    assert names == ["(No company)", "Hooli", "Initech"]
    by_id = {str(c["id"]): c["company"] for c in contacts(sandbox, account)}
    assert [by_id[str(r.id)] for r in results] == ["Initech", "Initech", "Hooli", "(No company)"]
    # Moving a contact to another company re-points it; reading gives the name back.
    [moved] = build(account).push(
        [Change("update", "m", id=results[0].id, fields={"company": "Hooli"})]
    )
    assert moved.error is None
    read = {r.id: r for p in build(account).fetch(None) for r in p.records}
    assert read[str(results[0].id)].fields["company"] == "Hooli"
    assert read[str(results[3].id)].fields["company"] is None


def test_the_session_key_is_kept_and_reused_by_the_next_run(
    sandbox: SandboxControl, account: dict[str, Any]
) -> None:
    secrets: dict[str, Any] = {}
    list(build(account, secrets).fetch(None))
    assert secrets.get("session_key") and logins(sandbox) == 1
    list(build(account, dict(secrets)).fetch(None))
    assert logins(sandbox) == 1, "the kept session was reused"
    sandbox.action(FM, "expire_sessions")
    list(build(account, secrets).fetch(None))
    assert logins(sandbox) == 2, "an expired session logs in once more"


def test_lookups_and_extra_fields_are_written_by_text_and_read_back(
    sandbox: SandboxControl, account: dict[str, Any]
) -> None:
    fields = {
        "firstName": "Zoë",
        "lastName": "Núñez",
        "email": "zoe@example.com",
        "countryId": "Italy",
        "gender": "Female",
        "birthday": "1990-05-01",
        "Z_Segment": "Public sector",
        "Z_Interests": ["Services", "Fleet"],
        "Z_Employees": 40,
        "Z_Vip": True,
        "Z_Renewal": "2027-01-31T00:00:00.000Z",
    }
    [created] = build(account).push([Change("create", "k", fields=fields)])
    assert created.error is None
    [stored] = [r for p in build(account).fetch(None) for r in p.records]
    for key, value in fields.items():
        expected = sorted(value) if isinstance(value, list) else value
        assert stored.fields[key] == expected, key
    [row] = contacts(sandbox, account)
    assert row["countryId"]["value"] == "Italy" and isinstance(row["countryId"]["id"], int)


def test_another_apps_custom_field_becomes_a_typed_extra_field(
    sandbox: SandboxControl, account: dict[str, Any]
) -> None:
    connector = build(account)
    created = connector.create_extra_field(FieldSpec("Budget__c", "Budget", "number"))
    assert (created.key, created.type, created.label, created.custom) == (
        "Z_Budget",
        "number",
        "Budget",
        True,
    )
    flag = connector.create_extra_field(FieldSpec("Active__c", "Active", "bool"))
    assert flag.type == "bool"
    [result] = build(account).push(
        [Change("create", "k", fields={"firstName": "A", "lastName": "B", "Z_Budget": "12.5"})]
    )
    assert result.error is None
    [row] = contacts(sandbox, account)
    assert row["Z_Budget"] == 12.5 and row["Z_Active"] is None
