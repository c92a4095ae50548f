"""The delta cursor on Salesforce's whole-second ``SystemModstamp``: with 500 records
changed in one second, and changes still arriving in that second between polls, every
change is delivered exactly once (never skipped, never repeated), also when a poll stops
after a page and the next one resumes from that page's cursor. Real HTTP, strict sandbox."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from connectors.base import Credentials
from connectors.http import Http
from connectors.salesforce.connector import SalesforceConnector
from connectors.sandbox.control import SandboxControl

pytestmark = pytest.mark.usefixtures("strict_sandbox")


def connect(sandbox: SandboxControl, org: dict[str, Any]) -> SalesforceConnector:
    credentials = Credentials(
        secrets={"access_token": org["access_token"], "refresh_token": ""},
        settings={"instance_url": sandbox.vendor_url("salesforce"), "page_size": 200},
    )
    return SalesforceConnector(credentials, "Contact", Http(retries=1, backoff=0.0))


def poll(connector: SalesforceConnector, cursor: Any) -> tuple[Counter[str], Any]:
    """One delta: how often each record was delivered, and the cursor after it."""
    delivered: Counter[str] = Counter()
    for page in connector.fetch(cursor):
        delivered.update(record.id for record in page.records)
        cursor = page.cursor or cursor
    return delivered, cursor


def change(connector: SalesforceConnector, ids: list[str], title: str) -> None:
    """Another integration edits ``ids`` through the API (Collections, 200 a call)."""
    for start in range(0, len(ids), 200):
        chunk = [{"id": i, "Title": title} for i in ids[start : start + 200]]
        assert all(r.success for r in connector.client.update("Contact", chunk))


def test_500_changes_in_one_second_are_each_delivered_once_over_several_polls(
    sandbox: SandboxControl,
) -> None:
    org = sandbox.create_account("salesforce", name="Burst")
    ids = sandbox.seed("salesforce", org["account_id"], 520, seed=5)["ids"]
    connector = connect(sandbox, org)
    listed, cursor = poll(connector, None)
    assert len(listed) == 520 and max(listed.values()) == 1

    sandbox.action("salesforce", "clock", at="now")  # every change below: one second
    change(connector, ids[:300], "Burst 1")
    first, cursor = poll(connector, cursor)
    assert set(first) == set(ids[:300]) and max(first.values()) == 1

    # Still the same second: 150 records change for the first time, 50 again.
    change(connector, ids[300:450] + ids[:50], "Burst 2")
    second, cursor = poll(connector, cursor)
    assert set(second) == set(ids[300:450] + ids[:50]) and max(second.values()) == 1

    quiet, cursor = poll(connector, cursor)
    assert not quiet  # everything re-read in the overlap was delivered already

    change(connector, ids[450:500] + ids[100:150], "Burst 3")
    third, cursor = poll(connector, cursor)
    assert set(third) == set(ids[450:500] + ids[100:150]) and max(third.values()) == 1

    stamps = {
        r["SystemModstamp"]
        for r in sandbox.state("salesforce", org["account_id"])["orgs"][org["account_id"]][
            "records"
        ]["Contact"]
        if r["Id"] in set(ids[:500])
    }
    assert len(stamps) == 1  # 500 records, one SystemModstamp

    sandbox.action("salesforce", "clock", advance=1)
    change(connector, ids[:10], "Next second")
    fourth, cursor = poll(connector, cursor)
    assert set(fourth) == set(ids[:10]) and max(fourth.values()) == 1
    assert not poll(connector, cursor)[0]


def test_a_poll_resumed_from_a_pages_cursor_delivers_only_the_rest(
    sandbox: SandboxControl,
) -> None:
    org = sandbox.create_account("salesforce", name="Resume")
    ids = sandbox.seed("salesforce", org["account_id"], 450, seed=6)["ids"]
    connector = connect(sandbox, org)
    _listed, cursor = poll(connector, None)
    sandbox.action("salesforce", "clock", at="now")
    change(connector, ids, "All at once")

    pages = connector.fetch(cursor)
    page = next(pages)  # the run stops after its first page; that page's cursor is saved
    pages.close()
    before = Counter(record.id for record in page.records)
    after, _cursor = poll(connector, page.cursor)
    assert before and not set(before) & set(after)
    assert sorted((before + after).elements()) == sorted(ids)


def test_a_cursor_from_before_the_seen_digests_still_resumes(sandbox: SandboxControl) -> None:
    org = sandbox.create_account("salesforce", name="Old cursor")
    ids = sandbox.seed("salesforce", org["account_id"], 5, seed=7)["ids"]
    connector = connect(sandbox, org)
    _listed, cursor = poll(connector, None)
    old = {"since": cursor["since"], "deleted_since": cursor["deleted_since"]}
    change(connector, ids[:2], "Changed")
    delivered, new_cursor = poll(connector, old)
    assert set(ids[:2]) <= set(delivered) and "seen" in new_cursor
