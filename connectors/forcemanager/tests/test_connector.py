"""The ForceManager connector against recorded API shapes (fixtures/*.json, built from
the vendor's documented examples), replayed with ``responses``: what it sends, and how
it reads what ForceManager answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from connectors.base import AuthError, Change, ConnectorError, Credentials, RecordGone
from connectors.forcemanager.connector import NO_COMPANY, NO_FIRST_NAME, ForceManagerConnector
from connectors.http import Http

API = "https://api.forcemanager.com/api/v4"
FIXTURES = Path(__file__).parent / "fixtures"
DATE = "Wed, 01 May 2024 12:00:00 GMT"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(autouse=True)
def real_host(settings: Any) -> None:
    settings.VENDOR_SANDBOXES = False
    settings.FORCEMANAGER_API_URL = ""


class Kept(list[dict[str, Any]]):
    """What the connector asked the platform to store on the authorization."""


@pytest.fixture
def kept() -> Kept:
    return Kept()


def build(kept: Kept, session_key: str = "", **settings: Any) -> ForceManagerConnector:
    credentials = Credentials(
        secrets={"public_key": "pub", "private_key": "priv", "session_key": session_key},
        settings=settings,
        store=kept.append,
    )
    http = Http(retries=1, backoff=0.0, max_wait=1, sleep=lambda _: None)
    return ForceManagerConnector(credentials, "contacts", http)


def paged(path: str, body: Any, page: int, following: int, status: int = 200) -> None:
    responses.get(
        f"{API}/{path}",
        json=body,
        status=status,
        headers={"X-FM-Page": str(page), "X-FM-Next-Page": str(following), "Date": DATE},
        match=[responses.matchers.header_matcher({"X-FM-Page": str(page)})],
    )


def mock_schema() -> None:
    responses.post(f"{API}/login", json=fixture("login.json"))
    responses.get(f"{API}/extrafields/contacts", json=fixture("extrafields_contacts.json"))
    for name in ("segments", "interests", "countries", "contactTypes"):
        responses.get(
            f"{API}/values",
            json=fixture(f"values_{name}.json"),
            match=[responses.matchers.query_param_matcher({"resourcename": name})],
        )
    paged("accounts", fixture("accounts.json"), 0, 0)
    paged("users", fixture("users.json"), 0, 0)


def calls(method: str, path: str) -> list[Any]:
    return [
        c
        for c in responses.calls
        if c.request.method == method and c.request.url.split("?")[0] == f"{API}/{path}"
    ]


def where_of(call: Any) -> str:
    return dict(parse_qsl(urlsplit(call.request.url).query)).get("where", "")


@responses.activate
def test_a_full_listing_reads_bare_arrays_page_by_page_and_skips_soft_deleted_rows(
    kept: Kept,
) -> None:
    mock_schema()
    paged("contacts", fixture("contacts_page0.json"), 0, 1)
    paged("contacts", fixture("contacts_page1.json"), 1, 1)
    pages = list(build(kept, page_size=2).fetch(None))

    assert [[r.id for r in p.records] for p in pages] == [["287", "288"], ["301"]]
    assert not any(p.deleted for p in pages), "a complete listing tells deletions by absence"
    assert [p.complete for p in pages] == [False, True]
    assert pages[0].cursor is None and pages[1].cursor == "2022-02-01T12:00:00.000Z"
    listed = calls("GET", "contacts")
    assert [c.request.headers["X-FM-Page"] for c in listed] == ["0", "1"]
    assert {c.request.headers["Count"] for c in listed} == {"2"}
    assert {where_of(c) for c in listed} == {""}  # everything: the pages hold still
    assert all(c.request.headers["X-Session-Key"] == "c2Vzc2lvbi1rZXktMQ" for c in listed)


@responses.activate
def test_without_paging_headers_a_full_page_is_followed_until_a_short_one(kept: Kept) -> None:
    mock_schema()
    page0, page1 = fixture("contacts_page0.json"), fixture("contacts_page1.json")
    for number, rows in enumerate((page0, page1[:1])):
        responses.get(
            f"{API}/contacts",
            json=rows,
            match=[responses.matchers.header_matcher({"X-FM-Page": str(number)})],
        )
    pages = list(build(kept, page_size=2).fetch(None))
    assert [[r.id for r in p.records] for p in pages] == [["287", "288"], ["301"]]
    assert pages[-1].complete


@responses.activate
def test_records_carry_lookups_as_text_the_company_by_name_and_typed_extra_fields(
    kept: Kept,
) -> None:
    mock_schema()
    paged("contacts", fixture("contacts_page0.json"), 0, 0)
    john, ana = next(iter(build(kept).fetch(None))).records

    assert john.fields["company"] == "Globex"  # accountId's value is blank: resolved by id
    assert john.fields["salesRepId"] == "310"
    assert john.fields["countryId"] == "United States"
    assert john.fields["gender"] == "Male"
    assert john.fields["birthday"] == "1980-04-02"
    assert john.fields["Z_Segment"] == "SMB"
    assert john.fields["Z_Interests"] == ["Fleet", "Software"]
    assert (john.fields["Z_Employees"], john.fields["Z_Vip"]) == (120.0, True)
    assert ana.fields["company"] is None, "the placeholder account is no company"
    assert ana.fields["countryId"] == "Spain"  # a blank lookup value, from /values
    assert ana.key == "sync-key-1"
    assert ana.updated_at is not None and ana.updated_at.isoformat().startswith("2022-01-05")
    # The accounts of a page are read in one call by their ids.
    [accounts] = calls("GET", "accounts")
    assert where_of(accounts) == "id=1 OR id=2"


@responses.activate
def test_a_delta_asks_for_changes_since_the_cursor_and_reports_soft_deletes(kept: Kept) -> None:
    mock_schema()
    paged("contacts", fixture("contacts_delta.json"), 0, 0)
    [page] = list(build(kept).fetch("2024-05-01T09:00:00.000Z"))

    [call] = calls("GET", "contacts")
    since = "'2024-05-01T08:59:59.000Z'"  # one second before the cursor: inclusive
    assert where_of(call) == f"dateUpdated>{since} OR dateCreated>{since} OR dateDeleted>{since}"
    assert [r.id for r in page.records] == ["288"]
    assert page.deleted == ["301"]
    assert not page.complete
    assert page.cursor == "2024-05-01T10:05:00.000Z"  # the newest change, a deletion


@responses.activate
def test_the_cursor_never_passes_the_moment_the_read_began(kept: Kept) -> None:
    mock_schema()
    rows = fixture("contacts_delta.json")
    rows[0]["dateUpdated"] = "2024-05-01T12:30:00.000Z"  # after the Date header
    paged("contacts", rows, 0, 0)
    [page] = list(build(kept).fetch("2024-05-01T09:00:00.000Z"))
    assert page.cursor == "2024-05-01T11:59:59.000Z"


@responses.activate
def test_an_expired_session_logs_in_again_once_and_keeps_the_new_key(kept: Kept) -> None:
    mock_schema()
    responses.get(f"{API}/contacts", json=fixture("errors.json")["session"], status=401)
    paged("contacts", fixture("contacts_page1.json"), 0, 0)
    connector = build(kept, session_key="stale-key")
    [page] = list(connector.fetch(None))

    assert [r.id for r in page.records] == ["301"]
    first, second = calls("GET", "contacts")
    assert first.request.headers["X-Session-Key"] == "stale-key"
    assert second.request.headers["X-Session-Key"] == "c2Vzc2lvbi1rZXktMQ"
    [login] = calls("POST", "login")
    assert json.loads(login.request.body) == {"username": "pub", "password": "priv"}
    assert kept == [{"session_key": "c2Vzc2lvbi1rZXktMQ"}]


@responses.activate
def test_a_401_right_after_a_new_login_is_an_auth_error(kept: Kept) -> None:
    responses.post(f"{API}/login", json=fixture("login.json"))
    responses.get(f"{API}/contacts", json=fixture("errors.json")["session"], status=401)
    with pytest.raises(AuthError):
        list(build(kept, session_key="stale-key").fetch(None))
    assert len(calls("POST", "login")) == 1
    assert len(calls("GET", "contacts")) == 2


@responses.activate
def test_check_rejects_keys_the_login_refuses(kept: Kept) -> None:
    responses.post(f"{API}/login", json={"code": 401, "message": "Invalid keys"}, status=401)
    with pytest.raises(AuthError, match="Invalid keys"):
        build(kept).check()


@responses.activate
def test_a_missing_required_field_is_a_permanent_error_of_that_record_only(kept: Kept) -> None:
    mock_schema()
    responses.post(f"{API}/contacts", json=fixture("errors.json")["required"], status=400)
    responses.post(f"{API}/contacts", json={"Message": "entity created", "id": 900})
    bad, good = build(kept).push(
        [
            Change("create", "bad", fields={"firstName": "No", "company": "Globex"}),
            Change("create", "good", fields={"firstName": "A", "lastName": "B"}),
        ]
    )
    assert bad.error is not None and bad.error.permanent
    assert "lastName is required" in str(bad.error)
    assert good.error is None and good.id == "900"


@responses.activate
def test_a_create_links_the_company_by_name_and_uses_the_default_sales_rep(kept: Kept) -> None:
    mock_schema()
    responses.get(f"{API}/accounts", json=[], headers={"X-FM-Page": "0", "X-FM-Next-Page": "0"})
    responses.post(f"{API}/accounts", json={"Message": "entity created", "id": 77})
    responses.post(f"{API}/contacts", json={"Message": "entity created", "id": 901})
    [result] = build(kept, sales_rep_id="311").push(
        [
            Change(
                "create",
                "key-9",
                fields={
                    "firstName": "Zoë",
                    "lastName": "Núñez",
                    "company": "Initech",
                    "countryId": "spain",
                    "gender": "Female",
                    "Z_Segment": "Enterprise",
                    "Z_Interests": ["Software"],
                    "Z_Employees": "12",
                },
            )
        ]
    )
    assert result.error is None and result.id == "901"
    [lookup] = [c for c in calls("GET", "accounts") if "name=" in where_of(c)]
    assert where_of(lookup) == "name='Initech' AND deleted=false"
    [account] = calls("POST", "accounts")
    # A new account takes its branch from its sales rep (Pau is in branch 17).
    assert json.loads(account.request.body) == {
        "name": "Initech",
        "branchId": 17,
        "salesRepId1": 311,
    }
    [contact] = calls("POST", "contacts")
    body = json.loads(contact.request.body)
    assert body["accountId"] == 77 and body["salesRepId"] == 311
    assert (body["countryId"], body["gender"]) == (76, 1)  # lookups written as plain ids
    assert (body["Z_Segment"], body["Z_Interests"], body["Z_Employees"]) == (40, [51], 12.0)
    assert body["extId"] == "key-9"


@responses.activate
def test_a_contact_without_company_goes_to_the_placeholder_account(kept: Kept) -> None:
    mock_schema()
    paged("accounts", [fixture("accounts.json")[1]], 0, 0)
    responses.post(f"{API}/contacts", json={"Message": "entity created", "id": 902})
    [result] = build(kept).push(
        [Change("create", "k", fields={"firstName": "A", "lastName": "B", "company": None})]
    )
    assert result.error is None
    lookups = [where_of(c) for c in calls("GET", "accounts") if "name=" in where_of(c)]
    assert lookups == [f"name='{NO_COMPANY}' AND deleted=false"]
    assert json.loads(calls("POST", "contacts")[0].request.body)["accountId"] == 2


@responses.activate
def test_a_value_not_in_its_value_list_is_refused_before_sending(kept: Kept) -> None:
    mock_schema()
    [result] = build(kept).push([Change("update", "k", id="287", fields={"countryId": "Mars"})])
    assert result.error is not None and result.error.permanent
    assert "Mars" in str(result.error)
    assert not calls("PUT", "contacts/287")


@responses.activate
def test_a_country_is_found_by_its_code_or_another_name_too(kept: Kept) -> None:
    mock_schema()
    responses.put(f"{API}/contacts/287", json={"Message": "entity updated"})
    responses.put(f"{API}/contacts/288", json={"Message": "entity updated"})
    results = build(kept).push(
        [
            Change("update", "a", id="287", fields={"countryId": "ES"}),
            Change("update", "b", id="288", fields={"countryId": "United States of America"}),
        ]
    )
    assert [r.error for r in results] == [None, None]
    sent = [json.loads(c.request.body) for c in responses.calls if c.request.method == "PUT"]
    assert sent == [{"countryId": 76}, {"countryId": 75}]


@responses.activate
def test_an_unknown_id_is_a_gone_record_and_deleting_it_is_no_error(kept: Kept) -> None:
    mock_schema()
    missing = fixture("errors.json")["not_found"]
    responses.put(f"{API}/contacts/999", json=missing, status=400)
    responses.delete(f"{API}/contacts/999", json=missing, status=400)
    update, delete = build(kept).push(
        [
            Change("update", "u", id="999", fields={"firstName": "X"}),
            Change("delete", "d", id="999"),
        ]
    )
    assert isinstance(update.error, RecordGone)
    assert delete.error is None


@responses.activate
def test_a_listing_that_is_not_json_or_not_an_array_is_a_connector_error(kept: Kept) -> None:
    mock_schema()
    responses.get(f"{API}/contacts", body="<html>maintenance</html>", status=200)
    with pytest.raises(ConnectorError, match="not JSON"):
        list(build(kept).fetch(None))
    responses.replace(responses.GET, f"{API}/contacts", json={"data": []})
    with pytest.raises(ConnectorError, match="not a list"):
        list(build(kept).fetch(None))


@responses.activate
def test_a_record_of_the_wrong_shape_is_a_connector_error(kept: Kept) -> None:
    mock_schema()
    paged("contacts", [{"id": 1, "firstName": {"nested": True}, "dateCreated": None}], 0, 0)
    with pytest.raises(ConnectorError):
        list(build(kept).fetch(None))


@responses.activate
def test_fields_list_standard_fields_and_typed_extra_fields(kept: Kept) -> None:
    mock_schema()
    specs = {s.key: s for s in build(kept).fields()}
    assert specs["company"].common == "company"
    # The account as a reference too, for connections that sync companies.
    assert (specs["accountId"].common, specs["accountId"].refers_to) == ("company_id", "company")
    assert not specs["accountId"].required and not specs["salesRepId"].required
    assert specs["typeId"].choices == ("Customer", "Prospect")
    assert specs["Z_Segment"].type == "choice" and specs["Z_Segment"].choices == (
        "Enterprise",
        "SMB",
    )
    assert specs["Z_Interests"].multi
    assert (specs["Z_Employees"].type, specs["Z_Vip"].type) == ("number", "bool")
    assert all(specs[k].custom for k in specs if k.startswith("Z_"))


# --- A contact's first name (ForceManager requires one)


@responses.activate
def test_a_contact_without_a_first_name_gets_the_default_one(kept: Kept) -> None:
    mock_schema()
    paged("accounts", [fixture("accounts.json")[1]], 0, 0)
    responses.post(f"{API}/contacts", json={"Message": "entity created", "id": 903})
    [result] = build(kept, default_first_name="(unknown)").push(
        [Change("create", "k", fields={"firstName": None, "lastName": "Lee", "company": None})]
    )
    assert result.error is None
    [contact] = calls("POST", "contacts")
    assert json.loads(contact.request.body)["firstName"] == "(unknown)"


@responses.activate
def test_a_contact_without_a_first_name_and_no_default_is_refused_unsent(kept: Kept) -> None:
    mock_schema()
    connector = build(kept)
    change = Change("create", "k", fields={"firstName": " ", "lastName": "Lee"})
    assert connector.refusal(change) == NO_FIRST_NAME
    [result] = connector.push([change])
    assert isinstance(result.error, ConnectorError) and result.error.permanent
    assert "default first name (default_first_name)" in str(result.error)
    assert calls("POST", "contacts") == []


def test_an_update_without_a_first_name_is_not_refused(kept: Kept) -> None:
    change = Change("update", "k", id="5", fields={"lastName": "Lee"})
    assert build(kept).refusal(change) is None
