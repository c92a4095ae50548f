"""The Salesforce connector against recorded API shapes (fixtures/*.json), replayed with
``responses``: what it sends, and how it reads what Salesforce answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from connectors.base import AuthError, Change, Credentials, RateLimited, RecordGone
from connectors.http import Http
from connectors.salesforce import soql
from connectors.salesforce.connector import SalesforceConnector

INSTANCE = "https://acme.my.salesforce.com"
API = f"{INSTANCE}/services/data/v62.0"
LOGIN = "https://login.salesforce.com"
FIXTURES = Path(__file__).parent / "fixtures"
LIMIT = {"Sforce-Limit-Info": "api-usage=10/1000"}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(autouse=True)
def connected_app(settings: Any) -> None:
    """The connected app and login host come from Django settings only."""
    settings.SOCIAL_AUTH_SALESFORCE_KEY = "cid"
    settings.SOCIAL_AUTH_SALESFORCE_SECRET = "s3"
    settings.SALESFORCE_LOGIN_URL = LOGIN


def make(scope: str = "Contact", **settings: Any) -> SalesforceConnector:
    credentials = Credentials(
        secrets={"access_token": "OLD", "refresh_token": "R1"},
        settings={"instance_url": INSTANCE, **settings},
    )
    return SalesforceConnector(
        credentials, scope, Http(retries=1, backoff=0.0, sleep=lambda s: None)
    )


def mock_describe(sobject: str = "Contact") -> None:
    responses.get(
        f"{API}/sobjects/{sobject}/describe/", json=fixture("describe_contact.json"), headers=LIMIT
    )


def soql_of(call: Any) -> str:
    return parse_qs(urlsplit(call.request.url).query)["q"][0]


@responses.activate
def test_fields_carry_common_keys_custom_fields_and_derived_ones() -> None:
    mock_describe()
    specs = {s.key: s for s in make().fields()}
    assert specs["Email"].common == "email" and specs["LastName"].required
    assert specs["MailingCountry"].common == "country"
    assert specs["OwnerId"].type == "owner"
    assert specs["Interest__c"].custom and specs["GRdeleted__c"].type == "bool"
    assert specs["LeadSource"].choices == ("Web",)  # inactive values are not offered
    assert specs["subscribed"].type == "subscription" and specs["subscribed"].common == "subscribed"
    assert specs["Account.Name"].common == "company"
    assert "HasOptedOutOfEmail" not in specs
    # The Account lookup is a reference to a company, its id read and written as is.
    account = specs["AccountId"]
    assert (account.type, account.refers_to, account.common) == ("text", "company", "company_id")


@responses.activate
def test_a_listing_follows_next_records_url_and_completes_on_the_last_page() -> None:
    mock_describe()
    responses.get(f"{API}/query/", json=fixture("query_page1.json"), headers=LIMIT)
    responses.get(
        f"{INSTANCE}/services/data/v62.0/query/01g5g00000Loc01-2", json=fixture("query_page2.json")
    )
    pages = list(make(page_size=200).fetch(None))
    assert [len(p.records) for p in pages] == [2, 1]
    assert [p.complete for p in pages] == [False, True]
    assert pages[0].cursor is None and pages[1].cursor is not None
    query = responses.calls[1]
    assert soql_of(query).endswith("FROM Contact ORDER BY SystemModstamp, Id")
    assert query.request.headers["Sforce-Query-Options"] == "batchSize=200"


@responses.activate
def test_records_read_the_account_name_and_invert_the_opt_out() -> None:
    mock_describe()
    responses.get(f"{API}/query/", json=fixture("query_page1.json"))
    responses.get(f"{API}/query/01g5g00000Loc01-2", json=fixture("query_page2.json"))
    records = [r for p in make().fetch(None) for r in p.records]
    first, second, third = records
    assert first.fields["Account.Name"] == "Acme" and third.fields["Account.Name"] is None
    assert first.fields["subscribed"] is True and second.fields["subscribed"] is False
    assert first.fields["FirstName"] == "Zoë"


@responses.activate
def test_a_delta_is_inclusive_and_reports_the_deleted_feed_first() -> None:
    mock_describe()
    responses.get(f"{API}/sobjects/Contact/deleted/", json=fixture("deleted.json"))
    responses.get(f"{API}/query/", json={**fixture("query_page2.json")})
    recent = "2099-01-01T00:00:00.000+0000"
    cursor = {"since": "2024-05-02T09:59:00.000+0000", "deleted_since": recent}
    connector = make()
    connector.cursor_expired = lambda c: False  # type: ignore[method-assign]
    [page] = list(connector.fetch(cursor))
    assert page.deleted == ["0035g00000Del01AAA"]
    assert (
        "WHERE SystemModstamp >= 2024-05-02T09:59:00.000Z ORDER BY SystemModstamp, Id"
        in soql_of(responses.calls[-1])
    )
    assert page.cursor["deleted_since"] == "2024-05-03T11:00:00.000+0000"  # latestDateCovered
    assert not page.complete


def test_a_cursor_older_than_the_delete_log_has_expired() -> None:
    connector = make()
    assert connector.cursor_expired({"since": "x", "deleted_since": "2020-01-01T00:00:00.000+0000"})
    assert connector.cursor_expired("not a cursor")


@responses.activate
def test_per_record_errors_become_results_with_the_right_permanence() -> None:
    mock_describe()
    responses.post(
        f"{API}/composite/sobjects", json=fixture("collections_create.json"), headers=LIMIT
    )
    responses.get(f"{API}/query/", json={"totalSize": 0, "done": True, "records": []})
    changes = [
        Change("create", f"k{i}", fields={"LastName": f"N{i}", "Email": f"{i}@x.org"})
        for i in range(3)
    ]
    ok, missing, locked = make().push(changes)
    assert ok.id == "0035g00000New01AAA" and ok.error is None
    assert (
        missing.error is not None and missing.error.permanent and "LastName" in str(missing.error)
    )
    assert locked.error is not None and not locked.error.permanent
    body = json.loads(responses.calls[1].request.body)
    assert body["allOrNone"] is False
    assert body["records"][0]["attributes"] == {"type": "Contact"}


@responses.activate
def test_writing_subscribed_false_sets_the_opt_out() -> None:
    mock_describe()
    responses.patch(
        f"{API}/composite/sobjects",
        json=[{"id": "0035g00000Abc1AAA", "success": True, "errors": []}],
    )
    responses.get(f"{API}/query/", json=fixture("query_page2.json"))
    [result] = make().push(
        [Change("update", "u", id="0035g00000Abc1AAA", fields={"subscribed": False})]
    )
    assert result.error is None
    sent = json.loads(responses.calls[1].request.body)["records"][0]
    assert sent == {
        "attributes": {"type": "Contact"},
        "id": "0035g00000Abc1AAA",
        "HasOptedOutOfEmail": True,
    }


@responses.activate
def test_a_company_finds_its_account_or_creates_it() -> None:
    mock_describe()
    responses.get(
        f"{API}/query/",
        json={
            "totalSize": 1,
            "done": True,
            "records": [{"Id": "0015g00000Acc01AAA", "Name": "Acme"}],
        },
    )
    responses.post(
        f"{API}/composite/sobjects",
        json=[{"id": "0015g00000Acc02AAA", "success": True, "errors": []}],
    )
    responses.post(
        f"{API}/composite/sobjects",
        json=[{"id": f"0035g00000New0{i}AAA", "success": True, "errors": []} for i in range(2)],
    )
    responses.get(f"{API}/query/", json={"totalSize": 0, "done": True, "records": []})
    changes = [
        Change("create", "a", fields={"LastName": "A", "Account.Name": "acme"}),
        Change("create", "b", fields={"LastName": "B", "Account.Name": "Ne'w Co"}),
    ]
    make().push(changes)
    assert "WHERE Name IN ('Ne\\'w Co', 'acme')" in soql_of(responses.calls[1])
    accounts = json.loads(responses.calls[2].request.body)["records"]
    assert accounts == [{"attributes": {"type": "Account"}, "Name": "Ne'w Co"}]
    contacts = json.loads(responses.calls[3].request.body)["records"]
    assert [c["AccountId"] for c in contacts] == ["0015g00000Acc01AAA", "0015g00000Acc02AAA"]


@responses.activate
def test_a_lead_without_company_takes_the_default_or_is_refused() -> None:
    mock_describe("Lead")
    with_default = make("Lead", lead_default_company="Web signup").body(
        {"LastName": "X"}, creating=True
    )
    assert with_default["Company"] == "Web signup"
    [refused] = make("Lead").push(
        [Change("create", "k", fields={"LastName": "X", "Email": "x@y.org"})]
    )
    assert refused.error is not None and refused.error.permanent
    assert "need a company" in str(refused.error)


@responses.activate
def test_an_expired_session_is_refreshed_once_and_the_call_repeated() -> None:
    errors = fixture("errors.json")
    responses.get(f"{API}/sobjects/", json=errors["invalid_session"], status=401)
    responses.post(f"{LOGIN}/services/oauth2/token", json=fixture("token_refresh.json"))
    responses.get(f"{API}/sobjects/", json=fixture("sobjects.json"), headers=LIMIT)
    connector = make()
    connector.check()
    token_call = responses.calls[1].request
    assert parse_qs(token_call.body) == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["R1"],
        "client_id": ["cid"],
        "client_secret": ["s3"],
    }
    assert "Authorization" not in token_call.headers
    assert responses.calls[2].request.headers["Authorization"] == "Bearer 00D5g000004Abc!NEWTOKEN"
    assert connector.credentials.secrets["access_token"] == "00D5g000004Abc!NEWTOKEN"


@responses.activate
def test_a_revoked_refresh_token_is_an_auth_error() -> None:
    errors = fixture("errors.json")
    responses.get(f"{API}/sobjects/", json=errors["invalid_session"], status=401)
    responses.post(f"{LOGIN}/services/oauth2/token", json=errors["invalid_grant"], status=400)
    with pytest.raises(AuthError, match="invalid_grant"):
        make().check()


@responses.activate
def test_the_daily_limit_is_a_long_rate_limit() -> None:
    responses.get(f"{API}/sobjects/", json=fixture("errors.json")["request_limit"], status=403)
    with pytest.raises(RateLimited) as caught:
        make().check()
    assert caught.value.retry_after >= 3600


@responses.activate
def test_usage_is_tracked_and_the_budget_stops_calls_before_they_are_made() -> None:
    responses.get(
        f"{API}/sobjects/",
        json=fixture("sobjects.json"),
        headers={"Sforce-Limit-Info": "api-usage=600/1000"},
    )
    connector = make(api_budget_share=0.5)
    connector.check()
    assert connector.usage()["api_usage"] == {"used": 600, "max": 1000}
    with pytest.raises(RateLimited, match="budget"):
        connector.check()
    assert len(responses.calls) == 1


@responses.activate
def test_deleting_a_record_already_gone_counts_as_done() -> None:
    mock_describe()
    responses.delete(
        f"{API}/composite/sobjects",
        json=[
            {
                "success": False,
                "errors": [{"statusCode": "ENTITY_IS_DELETED", "message": "gone", "fields": []}],
            },
            {
                "success": False,
                "errors": [{"statusCode": "MALFORMED_ID", "message": "bad id", "fields": []}],
            },
        ],
    )
    gone, bad = make().push(
        [Change("delete", "a", id="0035g00000Abc1AAA"), Change("delete", "b", id="x")]
    )
    assert gone.error is None
    assert bad.error is not None and bad.error.permanent and not isinstance(bad.error, RecordGone)
    assert "allOrNone=false" in responses.calls[-1].request.url


def test_soql_quoting_survives_the_parser() -> None:
    name = "O'Brien \\ Sons"
    parsed = soql.parse(
        f"SELECT Id FROM Account WHERE Name IN ({soql.quote(name)}, 'x') ORDER BY Name DESC"  # noqa: S608
    )
    assert parsed.where[0].value == [name, "x"]
    assert parsed.order == [("Name", True)]
