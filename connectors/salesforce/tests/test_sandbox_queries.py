"""The Salesforce sandbox answers ``IN`` lists as SOQL does (ids on their first 15
characters, strings without case), by set look-ups: a read-back of 200 ids no longer
compares every row with every id, which made an initial sync quadratic in the org's size
(bench/mailchimp.py: 3,000 + 3,000 went from 88 s to about 20 s)."""

from __future__ import annotations

from typing import Any

import requests

from connectors.salesforce.client import API_VERSION
from connectors.sandbox.control import SandboxControl


def query(sandbox: SandboxControl, org: dict[str, Any], soql: str) -> list[dict[str, Any]]:
    response = requests.get(
        sandbox.vendor_url("salesforce", f"/services/data/v{API_VERSION}/query"),
        params={"q": soql},
        headers={"Authorization": f"Bearer {org['access_token']}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return list(response.json()["records"])


def test_in_lists_match_ids_on_15_characters_and_strings_without_case(
    sandbox: SandboxControl,
) -> None:
    org = sandbox.create_account("salesforce", name="In lists")
    ids = [
        sandbox.action("salesforce", "create", account=org["account_id"], LastName=name)["id"]
        for name in ("Lovelace", "Turing", "Hopper")
    ]
    short = ids[0][:15]
    soql = f"SELECT Id FROM Contact WHERE Id IN ('{short}', '{ids[1]}')"  # noqa: S608
    found = query(sandbox, org, soql)
    assert {r["Id"] for r in found} == {ids[0], ids[1]}
    found = query(sandbox, org, "SELECT Id FROM Contact WHERE LastName IN ('turing', 'HOPPER')")
    assert {r["Id"] for r in found} == {ids[1], ids[2]}
    found = query(sandbox, org, "SELECT Id FROM Contact WHERE LastName NOT IN ('lovelace')")
    assert {r["Id"] for r in found} == {ids[1], ids[2]}
