"""Reads against the Sellf sandbox while people change: paging by updated_at instead of
by offset, so an edit or a deletion during a listing never hides an unread person."""

from __future__ import annotations

from typing import Any

from connectors.base import Credentials
from connectors.sandbox.control import SandboxControl
from connectors.sellf.connector import SellfConnector
from tests.contract.harness import fast_http


def build(sandbox: SandboxControl, settings: Any, team: dict[str, Any]) -> SellfConnector:
    settings.SELLF_API_URL = sandbox.vendor_url("sellf", "/v2")
    credentials = Credentials(
        secrets={"api_key": team["api_key"]}, settings={"user_id": team["users"][0]["id"]}
    )
    return SellfConnector(credentials, "people", fast_http())


def test_edits_and_deletions_during_a_listing_hide_no_one(
    sandbox: SandboxControl, settings: Any
) -> None:
    team = sandbox.create_account("sellf", name="Busy")
    sandbox.action("sellf", "options", page_size=4)
    ids = sandbox.seed("sellf", team["team_id"], 12, seed=5)["ids"]
    pages = build(sandbox, settings, team).fetch(None)
    first = next(pages)
    read = [r.id for r in first.records]
    assert len(read) == 4
    # While we page: someone edits a person already read (it moves to the end of the
    # updated_at order) and deletes another already read (offsets would shift by two).
    sandbox.action("sellf", "edit", account=team["team_id"], person=read[0], title="Edited")
    sandbox.action("sellf", "delete", account=team["team_id"], person=read[1])
    rest = list(pages)
    later = [r.id for page in rest for r in page.records]
    assert set(ids) - set(read) <= set(later), "no unread person skipped"
    # The person edited after we read it is read again by the next delta.
    delta = [
        r.id for page in build(sandbox, settings, team).fetch(rest[-1].cursor) for r in page.records
    ]
    assert read[0] in delta and read[1] not in delta
    assert len(later) == len(set(later))
    assert rest[-1].complete


def test_a_delta_from_the_last_cursor_rereads_only_the_boundary(
    sandbox: SandboxControl, settings: Any
) -> None:
    team = sandbox.create_account("sellf", name="Quiet")
    ids = sandbox.seed("sellf", team["team_id"], 6, seed=6)["ids"]
    connector = build(sandbox, settings, team)
    listing = list(connector.fetch(None))
    newest = listing[-1].records[-1].id
    cursor = listing[-1].cursor
    again = [r.id for page in connector.fetch(cursor) for r in page.records]
    assert again == [newest]  # inclusive boundary: the newest one, nothing else
    other = next(i for i in ids if i != newest)
    sandbox.action("sellf", "edit", account=team["team_id"], person=other, title="New")
    changed = [r.id for page in build(sandbox, settings, team).fetch(cursor) for r in page.records]
    assert set(changed) == {newest, other}
