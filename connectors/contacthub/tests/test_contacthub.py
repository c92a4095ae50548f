"""Contacthub: the sandbox's vendor behaviour and the connector's handling of it, over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from connectors.base import Change
from connectors.contacthub.connector import ContacthubConnector
from connectors.contacthub.tests.harness import credentials, point_at_sandbox
from connectors.http import Http
from connectors.sandbox.control import SandboxControl


@pytest.fixture
def account(sandbox: SandboxControl, settings: Any) -> dict[str, Any]:
    point_at_sandbox(settings, sandbox)
    return sandbox.create_account("contacthub", name="Shop")


def connector(account: dict[str, Any]) -> ContacthubConnector:
    return ContacthubConnector(
        credentials(account), account["node_id"], Http(retries=2, backoff=0.01)
    )


def records(app: ContacthubConnector, cursor: Any = None) -> list[Any]:
    return [r for page in app.fetch(cursor) for r in page.records]


def test_listing_without_node_id_is_refused_in_contacthubs_error_shape(
    sandbox: SandboxControl, account: dict[str, Any]
) -> None:
    url = sandbox.vendor_url(
        "contacthub", f"/hub/v1/workspaces/{account['workspace_id']}/customers"
    )
    answer = requests.get(url, headers={"Authorization": f"Bearer {account['token']}"}, timeout=5)
    assert answer.status_code == 400
    assert set(answer.json()) == {"message", "logref", "data", "errors"}


def test_a_create_of_an_existing_email_links_and_patches_it(
    sandbox: SandboxControl, account: dict[str, Any]
) -> None:
    [seeded] = sandbox.seed("contacthub", account["account_id"], 1)["ids"]
    email = sandbox.state("contacthub")[account["workspace_id"]]["customers"][seeded]["base"][
        "contacts"
    ]["email"]
    [result] = connector(account).push(
        [Change("create", "k1", fields={"base.contacts.email": email, "base.locale": "it_IT"})]
    )
    assert result.error is None and result.id == seeded
    customers = sandbox.state("contacthub")[account["workspace_id"]]["customers"]
    assert len(customers) == 1 and customers[seeded]["base"]["locale"] == "it_IT"


def test_a_create_answered_409_on_its_external_id_is_not_duplicated(
    sandbox: SandboxControl, account: dict[str, Any]
) -> None:
    app = connector(account)
    [first] = app.push([Change("create", "same-key", fields={"base.firstName": "Ada"})])
    [again] = app.push([Change("create", "same-key", fields={"base.firstName": "Ada"})])
    assert again.id == first.id
    assert len(sandbox.state("contacthub")[account["workspace_id"]]["customers"]) == 1
    assert records(app)[0].key == "same-key"


def test_reindexing_423_is_a_transient_error_on_create_and_retried_on_update(
    sandbox: SandboxControl, account: dict[str, Any]
) -> None:
    app = connector(account)
    sandbox.action("contacthub", "reindex", account=account["account_id"], writes=1)
    [refused] = app.push([Change("create", "r", fields={"base.firstName": "Ugo"})])
    assert refused.error is not None and not refused.error.permanent
    [created] = app.push([Change("create", "r", fields={"base.firstName": "Ugo"})])
    sandbox.action("contacthub", "reindex", account=account["account_id"], writes=1)
    [updated] = app.push(
        [Change("update", "u", id=created.id, fields={"base.lastName": "Foscolo"})]
    )
    assert updated.error is None and updated.record is not None
    assert updated.record.fields["base.lastName"] == "Foscolo"


def test_an_update_patches_only_the_changed_sections(
    sandbox: SandboxControl, account: dict[str, Any]
) -> None:
    [seeded] = sandbox.seed("contacthub", account["account_id"], 1)["ids"]
    sandbox.action("contacthub", "tag", account=account["account_id"], customer=seeded, tag="buyer")
    connector(account).push(
        [Change("update", "u", id=seeded, fields={"base.jobs.jobTitle": "CFO"})]
    )
    stored = sandbox.state("contacthub")[account["workspace_id"]]["customers"][seeded]
    assert stored["base"]["jobs"][0]["jobTitle"] == "CFO"
    assert stored["base"]["jobs"][0]["companyName"]  # kept
    assert stored["base"]["contacts"]["email"] and stored["tags"]["auto"] == ["buyer"]


def test_the_updates_stream_reports_changes_and_deletes_after_the_listing(
    sandbox: SandboxControl, account: dict[str, Any]
) -> None:
    seeded = sandbox.seed("contacthub", account["account_id"], 3)["ids"]
    app = connector(account)
    pages = list(app.fetch(None))
    assert pages[-1].complete and len(records(app)) == 3
    cursor = pages[-1].cursor
    assert records(app, cursor) == [], "the listing's own creates are not replayed"
    sandbox.action(
        "contacthub", "subscribe", account=account["account_id"], customer=seeded[0],
        subscription="newsletter", subscribed=True,
    )  # fmt: skip
    app.push([Change("delete", "d", id=seeded[1])])
    delta = list(connector(account).fetch(cursor))
    changed = [r for page in delta for r in page.records]
    assert [r.id for r in changed] == [seeded[0]]
    assert changed[0].fields["subscription:newsletter"] is True
    assert [d for page in delta for d in page.deleted] == [seeded[1]]
    assert delta[-1].cursor["offset"] > cursor["offset"]


def test_auto_tags_are_read_only_and_manual_tags_are_ours(
    sandbox: SandboxControl, account: dict[str, Any]
) -> None:
    [seeded] = sandbox.seed("contacthub", account["account_id"], 1)["ids"]
    sandbox.action("contacthub", "tag", account=account["account_id"], customer=seeded, tag="auto1")
    app = connector(account)
    spec = {s.key: s for s in app.fields()}
    assert spec["tags.auto"].read_only and not spec["tags"].read_only
    [result] = app.push([Change("update", "t", id=seeded, fields={"tags": ["mine"]})])
    assert result.record is not None
    assert (result.record.fields["tags"], result.record.fields["tags.auto"]) == (
        ["mine"],
        ["auto1"],
    )


def test_a_good_token_on_an_unknown_node_is_an_auth_error(account: dict[str, Any]) -> None:
    from connectors.base import AuthError

    app = ContacthubConnector(credentials(account), "no-such-node", Http(retries=0))
    with pytest.raises(AuthError, match="node not found"):
        app.check()
