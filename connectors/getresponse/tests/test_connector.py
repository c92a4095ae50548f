"""The GetResponse connector against recorded API shapes (fixtures/*.json), replayed with
``responses``: what it sends, and how it reads what GetResponse answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers

from connectors.base import AuthError, Change, Credentials, RateLimited
from connectors.getresponse.connector import GetResponseConnector, tag_name
from connectors.http import Http

API = "https://api.getresponse.com/v3"
FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def pages_headers(page: int, pages: int, total: int) -> dict[str, str]:
    return {"CurrentPage": str(page), "TotalPages": str(pages), "TotalCount": str(total)}


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def connector(waits: list[float]) -> GetResponseConnector:
    credentials = Credentials(
        secrets={"api_key": "k-123"}, settings={"page_size": 2, "resolve_timeout": 0}
    )
    http = Http(retries=2, backoff=0.01, max_wait=30, sleep=waits.append)
    return GetResponseConnector(credentials, "V8r1", http)


def mock_removed(rows: list[dict[str, Any]] | None = None) -> None:
    """The removed segment (``POST /search-contacts/contacts``) every read ends with."""
    rows = rows or []
    responses.post(
        f"{API}/search-contacts/contacts", json=rows, headers=pages_headers(1, 1, len(rows))
    )


def mock_schema(removed: list[dict[str, Any]] | None = None) -> None:
    mock_removed(removed)
    responses.get(
        f"{API}/custom-fields",
        json=fixture("custom_fields.json"),
        headers=pages_headers(1, 1, 4),
    )
    responses.get(f"{API}/tags", json=fixture("tags.json"), headers=pages_headers(1, 1, 2))


def mock_details() -> None:
    for contact_id, detail in fixture("contact_details.json").items():
        responses.get(f"{API}/contacts/{contact_id}", json=detail)


@responses.activate
def test_check_sends_the_api_key_with_its_literal_prefix(connector: GetResponseConnector) -> None:
    responses.get(
        f"{API}/accounts",
        json=fixture("account.json"),
        match=[matchers.header_matcher({"X-Auth-Token": "api-key k-123"})],
    )
    connector.check()
    assert connector.http.calls == 1


@responses.activate
def test_a_rejected_key_raises_auth_error(connector: GetResponseConnector) -> None:
    responses.get(f"{API}/accounts", json=fixture("errors.json")["401"], status=401)
    with pytest.raises(AuthError, match="1014"):
        connector.check()


@responses.activate
def test_scopes_are_the_accounts_lists(connector: GetResponseConnector) -> None:
    responses.get(
        f"{API}/campaigns", json=fixture("campaigns.json"), headers=pages_headers(1, 1, 2)
    )
    scopes = connector.scopes()
    assert [(s.id, s.label, s.kind) for s in scopes] == [
        ("V8r1", "shop_customers", "list"),
        ("V8r2", "newsletter", "list"),
    ]


@responses.activate
def test_custom_fields_carry_common_keys_and_multi_values(connector: GetResponseConnector) -> None:
    mock_schema()
    specs = {spec.key: spec for spec in connector.fields()}
    assert specs["email"].required and specs["email"].common == "email"
    assert specs["name"].common == "full_name"
    assert specs["custom:company"].common == "company" and specs["custom:company"].custom
    assert specs["custom:phone"].type == "phone"
    assert specs["custom:interests"].multi
    assert specs["custom:loyalty_level"].choices == ("gold", "silver")


@responses.activate
def test_full_listing_follows_the_paging_headers_and_reads_details(
    connector: GetResponseConnector,
) -> None:
    mock_schema()
    mock_details()
    responses.get(
        f"{API}/contacts",
        json=fixture("contacts_page1.json"),
        headers=pages_headers(1, 2, 3),
        match=[matchers.query_param_matcher({"page": "1"}, strict_match=False)],
    )
    responses.get(
        f"{API}/contacts",
        json=fixture("contacts_page2.json"),
        headers=pages_headers(2, 2, 3),
        match=[matchers.query_param_matcher({"page": "2"}, strict_match=False)],
    )
    pages = list(connector.fetch(None))
    assert [[r.id for r in p.records] for p in pages] == [["c1", "c2"], ["c3"]]
    assert [p.complete for p in pages] == [False, True]
    assert [p.cursor for p in pages] == [None, "2024-02-05T09:15:00+0000"]
    zoe = pages[0].records[0].fields
    assert zoe["name"] == "Zoë Müller"
    assert zoe["tags"] == ["customer", "vip"]
    assert zoe["custom:company"] == "Acme"
    assert zoe["custom:interests"] == ["books", "travel"]
    assert zoe["custom:phone"] is None
    assert zoe["campaign"] == ["V8r1"]
    assert zoe["note"] == "Prefers email."
    listings = [c.request.url for c in responses.calls if "/v3/contacts?" in str(c.request.url)]
    assert all("query%5BcampaignId%5D=V8r1" in str(url) for url in listings)


@responses.activate
def test_delta_read_asks_for_changes_since_the_cursor_inclusive(
    connector: GetResponseConnector,
) -> None:
    mock_schema()
    mock_details()
    responses.get(
        f"{API}/contacts",
        json=fixture("contacts_page2.json"),
        headers=pages_headers(1, 1, 1),
        match=[
            matchers.query_param_matcher(
                {
                    "query[campaignId]": "V8r1",
                    "query[changedOn][from]": "2024-02-03T11:30:00+0000",
                    "sort[changedOn]": "ASC",
                    "page": "1",
                    "perPage": "2",
                }
            )
        ],
    )
    [page] = list(connector.fetch("2024-02-03T11:30:00+0000"))
    assert [r.id for r in page.records] == ["c3"]
    assert page.cursor == "2024-02-05T09:15:00+0000"
    assert not page.complete


@responses.activate
def test_a_read_reports_unsubscribes_as_such_and_removals_as_deletions(
    connector: GetResponseConnector,
) -> None:
    mock_schema(removed=fixture("removed_contacts.json"))
    mock_details()
    responses.get(f"{API}/contacts", json=[], headers=pages_headers(1, 0, 0))
    [page] = list(connector.fetch("2024-02-03T11:30:00+0000"))
    [unsubscribed] = page.records
    assert (unsubscribed.id, unsubscribed.fields, unsubscribed.partial) == (
        "c2",
        {"subscribed": False},
        True,
    )
    assert page.deleted == ["c9"]
    [search] = [c.request for c in responses.calls if "search-contacts" in str(c.request.url)]
    body = json.loads(search.body or b"{}")
    assert body["subscribersType"] == ["removed"]
    assert body["section"][0]["campaignIdsList"] == ["V8r1"]
    assert "fields=contactId%2Cemail%2Creason" in str(search.url)


@responses.activate
def test_the_cursor_never_passes_the_moment_the_read_began(
    connector: GetResponseConnector,
) -> None:
    # A contact changed while the read paged through may sit behind the offset already
    # read: the next read must start no later than when this one began.
    mock_schema()
    mock_details()
    began = {"Date": "Sun, 04 Feb 2024 12:00:00 GMT"}
    responses.get(
        f"{API}/contacts",
        json=fixture("contacts_page2.json"),
        headers={**pages_headers(1, 1, 1), **began},
    )
    [page] = list(connector.fetch("2024-02-03T11:30:00+0000"))
    assert page.cursor == "2024-02-04T11:59:59+0000"


@responses.activate
def test_create_without_email_is_refused_without_a_call(connector: GetResponseConnector) -> None:
    [result] = connector.push([Change("create", "k1", fields={"name": "Nobody"})])
    assert result.error is not None and result.error.permanent
    assert "requires an email" in str(result.error)
    assert len(responses.calls) == 0


@responses.activate
def test_create_is_resolved_to_its_new_id_by_email(connector: GetResponseConnector) -> None:
    mock_schema()
    mock_details()
    responses.post(
        f"{API}/contacts",
        status=202,
        match=[
            matchers.json_params_matcher(
                {
                    "email": "zoe.muller@example.com",
                    "campaign": {"campaignId": "V8r1"},
                    "name": "Zoë Müller",
                    "tags": [{"tagId": "tg2"}],
                }
            )
        ],
    )
    responses.get(
        f"{API}/contacts",
        json=fixture("contacts_page1.json")[:1],
        headers={**pages_headers(1, 1, 1), "Date": "Sun, 04 Feb 2024 12:00:00 GMT"},
        match=[
            matchers.query_param_matcher(
                {"query[campaignId]": "V8r1", "fields": "contactId,email"},
                strict_match=False,
            )
        ],
    )
    fields = {"email": "zoe.muller@example.com", "name": "Zoë Müller", "tags": ["vip"]}
    [result] = connector.push([Change("create", "k1", fields=fields)])
    assert result.error is None
    assert result.id == "c1"
    # One create, one listing of the new contacts' ids: no lookup or detail per contact.
    assert [c.request.method for c in responses.calls if "/v3/contacts" in c.request.url] == [
        "POST",
        "GET",
    ]


@responses.activate
def test_creates_go_in_one_batch_with_the_batch_tag_shape(
    connector: GetResponseConnector,
) -> None:
    mock_schema()
    responses.post(
        f"{API}/contacts/batch",
        status=202,
        headers={"Date": "Sun, 04 Feb 2024 12:00:00 GMT"},
        match=[
            matchers.json_params_matcher(
                {
                    "campaignId": "V8r1",
                    "contacts": [
                        {"email": "zoe.muller@example.com", "tags": {"ids": ["tg2"]}},
                        {"email": "jose.garcia@example.com", "name": "José García"},
                    ],
                }
            )
        ],
    )
    responses.get(
        f"{API}/contacts",
        json=fixture("contacts_page1.json"),
        headers=pages_headers(1, 1, 2),
        match=[matchers.query_param_matcher({"fields": "contactId,email"}, strict_match=False)],
    )
    changes = [
        Change("create", "k1", fields={"email": "zoe.muller@example.com", "tags": ["vip"]}),
        Change("create", "k2", fields={"email": "jose.garcia@example.com", "name": "José García"}),
    ]
    results = connector.push(changes)
    assert [(r.id, r.error) for r in results] == [("c1", None), ("c2", None)]
    calls = [c.request for c in responses.calls if "/v3/contacts" in c.request.url]
    assert len(calls) == 2
    # The new contacts are those created since the batch was sent, less 2 s of slack.
    assert "query%5BcreatedOn%5D%5Bfrom%5D=2024-02-04T11%3A59%3A5" in str(calls[1].url)


@responses.activate
def test_create_of_an_existing_contact_links_it(connector: GetResponseConnector) -> None:
    mock_schema()
    mock_details()
    responses.post(f"{API}/contacts", status=409, json=fixture("errors.json")["409"])
    responses.get(f"{API}/contacts", json=fixture("contacts_page1.json")[1:])
    [result] = connector.push([Change("create", "k1", fields={"email": "jose.garcia@example.com"})])
    assert (result.id, result.error) == ("c2", None)


@responses.activate
def test_create_not_listed_in_time_is_a_transient_error(connector: GetResponseConnector) -> None:
    mock_schema()
    responses.post(f"{API}/contacts", status=202)
    responses.get(f"{API}/contacts", json=[])
    [result] = connector.push([Change("create", "k1", fields={"email": "slow@example.com"})])
    assert result.id is None
    assert result.error is not None and not result.error.permanent


@responses.activate
def test_update_sends_the_whole_tag_set_and_merges_custom_values(
    connector: GetResponseConnector,
) -> None:
    mock_schema()
    mock_details()
    detail = fixture("contact_details.json")["c1"]
    update = responses.post(f"{API}/contacts/c1", json=detail)
    fields = {"tags": ["customer"], "custom:loyalty_level": None}
    [result] = connector.push([Change("update", "k1", id="c1", fields=fields)])
    assert result.error is None
    sent = json.loads(update.calls[0].request.body)
    assert sent["tags"] == [{"tagId": "tg1"}]
    # A value cleared: the others, already stored, are sent along (a partial list would
    # have erased them), the cleared one is not.
    assert sorted(v["customFieldId"] for v in sent["customFieldValues"]) == ["pas1", "pas3"]


@responses.activate
def test_setting_custom_values_upserts_them_without_reading_the_contact(
    connector: GetResponseConnector,
) -> None:
    mock_schema()
    update = responses.post(f"{API}/contacts/c1", json=fixture("contact_details.json")["c1"])
    upsert = responses.post(
        f"{API}/contacts/c1/custom-fields",
        json=[{"customFieldId": "pas4", "value": ["gold"], "values": ["gold"]}],
    )
    fields = {"tags": ["customer"], "custom:loyalty_level": "gold"}
    [result] = connector.push([Change("update", "k1", id="c1", fields=fields)])
    assert result.error is None
    assert json.loads(update.calls[0].request.body) == {"tags": [{"tagId": "tg1"}]}
    assert json.loads(upsert.calls[0].request.body) == {
        "customFieldValues": [{"customFieldId": "pas4", "value": ["gold"]}]
    }
    assert not [
        c for c in responses.calls if c.request.method == "GET" and "/contacts/" in c.request.url
    ]


@responses.activate
def test_a_tag_the_account_lacks_is_created_first(connector: GetResponseConnector) -> None:
    mock_schema()
    mock_details()
    created = responses.post(f"{API}/tags", json={"tagId": "tg9", "name": "VIP_Kunde"}, status=201)
    update = responses.post(f"{API}/contacts/c3", json=fixture("contact_details.json")["c3"])
    connector.push([Change("update", "k1", id="c3", fields={"tags": ["VIP Kunde"]})])
    assert json.loads(created.calls[0].request.body) == {"name": "VIP_Kunde"}
    assert json.loads(update.calls[0].request.body) == {"tags": [{"tagId": "tg9"}]}


def test_tag_names_become_names_getresponse_accepts() -> None:
    assert tag_name("VIP Kunde") == "VIP_Kunde"
    assert tag_name("Größe") == "Groe"
    assert tag_name("x") == "x_"


@responses.activate
def test_unsubscribing_removes_the_contact_from_the_list(connector: GetResponseConnector) -> None:
    removal = responses.delete(f"{API}/contacts/c2", status=204)
    [result] = connector.push([Change("update", "k1", id="c2", fields={"subscribed": False})])
    assert result.error is None
    assert removal.call_count == 1


@responses.activate
def test_writing_the_list_without_the_scope_removes_the_contact(
    connector: GetResponseConnector,
) -> None:
    removal = responses.delete(f"{API}/contacts/c2", status=204)
    [result] = connector.push([Change("update", "k1", id="c2", fields={"campaign": []})])
    assert (result.id, result.error) == ("c2", None)
    assert removal.call_count == 1


@responses.activate
def test_deleting_a_contact_already_gone_succeeds(connector: GetResponseConnector) -> None:
    responses.delete(f"{API}/contacts/c7", status=404, json=fixture("errors.json")["404"])
    [result] = connector.push([Change("delete", "k1", id="c7")])
    assert (result.id, result.error) == ("c7", None)


@responses.activate
def test_validation_error_is_a_permanent_record_error_naming_the_field(
    connector: GetResponseConnector,
) -> None:
    mock_schema()
    mock_details()
    responses.post(
        f"{API}/contacts/c2/custom-fields", status=400, json=fixture("errors.json")["400"]
    )
    fields = {"custom:phone": "555-1234"}
    [result] = connector.push([Change("update", "k1", id="c2", fields=fields)])
    assert result.error is not None and result.error.permanent
    assert "customFieldValues" in str(result.error)


@responses.activate
def test_throttling_waits_the_time_to_reset_getresponse_names(
    connector: GetResponseConnector, waits: list[float]
) -> None:
    responses.get(f"{API}/accounts", status=429, json=fixture("errors.json")["429"])
    with pytest.raises(RateLimited) as caught:
        connector.check()
    # 432 s is beyond what one call waits: the engine reschedules instead of blocking.
    assert caught.value.retry_after == 432
    assert waits == []
