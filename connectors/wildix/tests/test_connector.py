"""The Wildix connector: recorded JSON at the edge, and the sandbox over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.base import AuthError, Change, ConnectorError, Credentials
from connectors.http import Http
from connectors.sandbox.control import SandboxControl
from connectors.wildix.client import Contact, pbx_base_url, records_of
from connectors.wildix.connector import WildixConnector
from connectors.wildix.tests.harness import point_pbx_names_at

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def pbx(sandbox: SandboxControl, settings: Any) -> dict[str, Any]:
    point_pbx_names_at(sandbox, settings)
    return sandbox.create_account("wildix", name="acme", phonebooks=["Company", "Suppliers"])


def connect(pbx: dict[str, Any], username: str, password: str) -> WildixConnector:
    credentials = Credentials(
        secrets={"password": password}, settings={"pbx": pbx["pbx"], "username": username}
    )
    return WildixConnector(credentials, pbx["phonebooks"][0]["id"], Http(retries=1, backoff=0))


def test_a_recorded_listing_becomes_contacts_with_our_key() -> None:
    records, total = records_of(fixture("contacts_page.json"))
    contacts = [Contact.from_json(r) for r in records]
    assert total == 2
    record = WildixConnector.record(WildixConnector.__new__(WildixConnector), contacts[0])
    assert record.fields["name"] == "Mario Rossi" and record.fields["home"] is None
    assert record.key == "k-42"
    assert "picture" not in record.fields and "document_id" not in record.fields


def test_a_wrong_envelope_is_a_transient_error() -> None:
    with pytest.raises(ConnectorError):
        records_of({"type": "error", "reason": "nope"})
    with pytest.raises(ConnectorError):
        records_of({"type": "result", "result": {"total": 3}})
    with pytest.raises(ConnectorError):
        Contact.from_json({"name": "no id"})


def test_a_pbx_name_goes_through_the_operator_template(settings: Any) -> None:
    settings.WILDIX_PBX_URL_TEMPLATE = "https://{name}.wildixin.com"
    assert pbx_base_url("Acme") == "https://acme.wildixin.com/api/v1"
    assert pbx_base_url("acme.wildixin.com") == "https://acme.wildixin.com/api/v1"
    assert pbx_base_url("pbx.acme.it") == "https://pbx.acme.it/api/v1"


def test_a_private_pbx_host_is_refused_when_the_operator_does_not_allow_it(
    settings: Any,
) -> None:
    settings.ALLOW_PRIVATE_HOSTS = False
    credentials = Credentials(secrets={"password": "x"}, settings={"pbx": "https://10.0.0.7"})
    connector = WildixConnector(credentials, "1", Http(retries=0))
    with pytest.raises(ConnectorError) as caught:
        connector.check()
    assert caught.value.permanent and "private" in str(caught.value)


def test_basic_auth_api_key_and_simple_token_all_sign_in(pbx: dict[str, Any]) -> None:
    connect(pbx, pbx["username"], pbx["password"]).check()
    connect(pbx, "apikey", pbx["api_key"]).check()
    connect(pbx, "apikey", pbx["simple_token"]).check()
    with pytest.raises(AuthError):
        connect(pbx, "apikey", "wsk-v1-wrong").check()


def test_scopes_are_the_phonebooks(pbx: dict[str, Any]) -> None:
    scopes = connect(pbx, pbx["username"], pbx["password"]).scopes()
    assert [(s.label, s.kind) for s in scopes] == [
        ("Company", "phonebook"),
        ("Suppliers", "phonebook"),
    ]


def test_paths_are_case_insensitive_with_optional_slash_and_json_bodies(
    sandbox: SandboxControl, pbx: dict[str, Any]
) -> None:
    base = sandbox.vendor_url("wildix", f"/{pbx['pbx']}")
    auth = {"Authorization": f"Bearer {pbx['api_key']}"}
    book = pbx["phonebooks"][0]["id"]
    created = requests.post(
        f"{base}/api/v1/phonebooks/{book}/contacts",
        json={"data": {"name": "Json Person", "mobile": "+393470000000"}},
        headers=auth,
        timeout=5,
    ).json()
    assert created["type"] == "result"
    for path in (f"/api/v1/Phonebooks/{book}/Contacts/", f"/API/V1/phonebooks/{book}/contacts"):
        body = requests.get(base + path, headers=auth, timeout=5).json()
        assert body["result"]["total"] == 1
    found = requests.get(
        f"{base}/api/v1/Contacts/", params={"search": "json"}, headers=auth, timeout=5
    ).json()
    assert [r["name"] for r in found["result"]["records"]] == ["Json Person"]
    refused = requests.get(f"{base}/api/v1/Contacts/", timeout=5)
    assert refused.status_code == 401 and refused.json()["type"] == "error"


def test_a_poll_without_changes_yields_nothing_and_a_deletion_is_reported(
    sandbox: SandboxControl, pbx: dict[str, Any]
) -> None:
    ids = sandbox.seed("wildix", pbx["pbx"], 7)["ids"]
    connector = connect(pbx, pbx["username"], pbx["password"])
    connector.page_size = 3
    cursor = list(connector.fetch(None))[-1].cursor
    again = connect(pbx, pbx["username"], pbx["password"])
    again.page_size = 3
    pages = list(again.fetch(cursor))
    assert [r for p in pages for r in p.records] == [] and again.http.calls == 3
    sandbox.action("wildix", "delete", account=pbx["pbx"], contact=ids[2])
    sandbox.action("wildix", "edit", account=pbx["pbx"], contact=ids[4], name="Edited In WMS")
    pages = list(connect(pbx, pbx["username"], pbx["password"]).fetch(pages[-1].cursor))
    assert [r.id for p in pages for r in p.records] == [ids[4]]
    assert pages[-1].deleted == [ids[2]]


def test_a_create_stores_our_key_and_a_nameless_contact_is_refused(
    sandbox: SandboxControl, pbx: dict[str, Any]
) -> None:
    connector = connect(pbx, pbx["username"], pbx["password"])
    ok, refused = connector.push(
        [Change("create", "key-1", fields={"name": "Ada Lovelace", "phone": "+442071234567"})]
    ) + connector.push([Change("create", "key-2", fields={"email": "x@example.com"})])
    assert ok.error is None and ok.record and ok.record.key == "key-1"
    assert refused.error is not None and refused.error.permanent
    stored = sandbox.state("wildix", pbx["pbx"])["contacts"][ok.id]
    assert stored["document_id"] == "key-1" and stored["phone"] == "+442071234567"


def test_an_unparseable_phone_is_written_as_typed_and_reported(
    sandbox: SandboxControl, pbx: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    connector = connect(pbx, pbx["username"], pbx["password"])
    [result] = connector.push(
        [Change("create", "k", fields={"name": "Odd", "mobile": "call reception"})]
    )
    assert result.error is None
    assert sandbox.state("wildix", pbx["pbx"])["contacts"][result.id]["mobile"] == "call reception"
    assert "not in E.164" in caplog.text
