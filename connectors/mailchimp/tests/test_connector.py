"""The Mailchimp connector against recorded API shapes (fixtures/), replayed with
``responses``: what it sends, and how it reads what Mailchimp answers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import responses
from django.test import RequestFactory
from responses import matchers

from connectors.base import AuthError, Change, ConnectorError, Credentials, RateLimited
from connectors.http import Http
from connectors.mailchimp.client import api_url, dc_from_key, subscriber_hash
from connectors.mailchimp.connector import MailchimpConnector

API = "https://us14.api.mailchimp.com/3.0"
LIST = "a1b2c3d4e5"
FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(autouse=True)
def real_host(settings: Any) -> None:
    settings.MAILCHIMP_API_URL_TEMPLATE = "https://{dc}.api.mailchimp.com/3.0"


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def connector(waits: list[float]) -> MailchimpConnector:
    credentials = Credentials(secrets={"api_key": "0f1e2d3c4b5a-us14"}, settings={"page_size": 4})
    http = Http(retries=2, backoff=0.01, max_wait=30, sleep=waits.append)
    return MailchimpConnector(credentials, LIST, http)


def mock_merge_fields() -> None:
    responses.get(f"{API}/lists/{LIST}/merge-fields", json=fixture("merge_fields.json"))


def test_the_data_centre_comes_from_the_key_and_makes_only_mailchimp_hosts() -> None:
    assert dc_from_key("abc123-us7") == "us7"
    assert api_url("us7") == "https://us7.api.mailchimp.com/3.0"
    for bad in ("abc123", "abc-evil.example.com", "abc-us7/../x"):
        with pytest.raises(AuthError):
            dc_from_key(bad)
    with pytest.raises(AuthError):
        api_url("evil.example.com#")


def test_the_data_centre_of_an_oauth_grant_is_validated(settings: Any) -> None:
    credentials = Credentials(secrets={"access_token": "t"}, settings={"dc": "x.evil.com/"})
    with pytest.raises(AuthError):
        MailchimpConnector(credentials, LIST, Http())


@responses.activate
def test_check_sends_the_key_as_basic_auth_to_the_keys_data_centre(
    connector: MailchimpConnector,
) -> None:
    responses.get(
        f"{API}/ping",
        json={"health_status": "Everything's Chimpy!"},
        match=[
            matchers.header_matcher({"Authorization": "Basic YW55c3RyaW5nOjBmMWUyZDNjNGI1YS11czE0"})
        ],
    )
    connector.check()


@responses.activate
def test_a_rejected_key_is_an_auth_error(connector: MailchimpConnector) -> None:
    problem = {
        "type": "x",
        "title": "API Key Invalid",
        "status": 401,
        "detail": "bad",
        "instance": "",
    }
    responses.get(f"{API}/ping", json=problem, status=401, content_type="application/problem+json")
    with pytest.raises(AuthError):
        connector.check()


@responses.activate
def test_merge_fields_become_typed_fields_with_the_address_as_its_parts(
    connector: MailchimpConnector,
) -> None:
    mock_merge_fields()
    specs = {spec.key: spec for spec in connector.fields()}
    assert specs["FNAME"].common == "first_name" and specs["LNAME"].common == "last_name"
    # The parts, without default pairs: Mailchimp takes only complete addresses.
    assert specs["ADDRESS.addr1"].common is None and specs["ADDRESS.zip"].type == "text"
    assert specs["ADDRESS.country"].type == "country" and "ADDRESS" not in specs
    assert specs["PHONE"].type == "phone" and specs["BIRTHDAY"].type == "text"
    assert specs["PLAN"].type == "choice" and specs["PLAN"].choices == ("Free", "Pro", "Enterprise")
    assert specs["PLAN"].custom and not specs["FNAME"].custom
    assert specs["subscribed"].type == "subscription" and specs["status"].read_only


@responses.activate
def test_a_listing_reads_only_the_fields_it_needs_and_maps_each_status(
    connector: MailchimpConnector,
) -> None:
    mock_merge_fields()
    listing = responses.get(f"{API}/lists/{LIST}/members", json=fixture("members_page.json"))
    [page] = list(connector.fetch(None))
    sent = listing.calls[0].request.params
    assert sent["sort_field"] == "timestamp_signup" and sent["count"] == "4"
    assert "members.merge_fields" in sent["fields"] and "members.stats" not in sent["fields"]
    by_email = {r.fields["email"]: r for r in page.records}
    ada = by_email["ada@example.com"]
    assert ada.id == "c0ffee0000000000000000000000aaaa"
    assert ada.fields["ADDRESS.city"] == "London" and ada.fields["ADDRESS.addr2"] is None
    assert ada.fields["tags"] == ["vip"] and ada.fields["subscribed"] is True
    assert by_email["bob@example.com"].fields["subscribed"] is False  # the unsubscribe handling
    cleo = by_email["cleo@example.com"].fields
    assert cleo["subscribed"] is None and cleo["status"] == "cleaned"  # reported, no opt-out
    assert page.deleted == ["c0ffee0000000000000000000000dddd"]  # archived: a deletion
    assert page.complete and page.cursor == "2026-11-30T13:00:00+00:00"


@responses.activate
def test_a_delta_asks_since_one_second_before_the_cursor_sorted_by_last_changed(
    connector: MailchimpConnector,
) -> None:
    mock_merge_fields()
    listing = responses.get(f"{API}/lists/{LIST}/members", json={"members": [], "total_items": 0})
    [page] = list(connector.fetch("2026-11-30T10:00:00+00:00"))
    sent = listing.calls[0].request.params
    assert sent["since_last_changed"] == "2026-11-30T09:59:59+00:00"
    assert sent["sort_field"] == "last_changed" and sent["sort_dir"] == "ASC"
    assert page.cursor == "2026-11-30T10:00:00+00:00" and not page.complete


@responses.activate
def test_an_update_of_an_unsubscribed_member_never_resubscribes_it(
    connector: MailchimpConnector,
) -> None:
    mock_merge_fields()
    bob = fixture("members_page.json")["members"][1]
    responses.get(f"{API}/lists/{LIST}/members/{bob['contact_id']}", json=bob)
    put = responses.put(f"{API}/lists/{LIST}/members/{bob['contact_id']}", json=bob)
    change = Change(
        "update", "k", id=bob["contact_id"], fields={"FNAME": "Robert", "subscribed": True}
    )
    [result] = connector.push([change])
    assert result.error is None
    body = json.loads(put.calls[0].request.body)
    assert "status" not in body and body["status_if_new"] == "subscribed"
    assert body["merge_fields"] == {"FNAME": "Robert"}


@responses.activate
def test_tags_are_sent_as_the_changes_the_merge_decided(connector: MailchimpConnector) -> None:
    mock_merge_fields()
    ada = fixture("members_page.json")["members"][0]
    responses.get(f"{API}/lists/{LIST}/members/{ada['contact_id']}", json=ada)
    responses.put(f"{API}/lists/{LIST}/members/{ada['contact_id']}", json=ada)
    tags = responses.post(f"{API}/lists/{LIST}/members/{ada['contact_id']}/tags", status=204)
    change = Change("update", "k", id=ada["contact_id"], fields={"tags": ["qualified"]})
    [result] = connector.push([change])
    assert result.error is None and result.record and result.record.fields["tags"] == ["qualified"]
    assert json.loads(tags.calls[0].request.body)["tags"] == [
        {"name": "qualified", "status": "active"},
        {"name": "vip", "status": "inactive"},
    ]


@responses.activate
def test_creates_go_in_one_batch_subscribe_and_existing_members_are_upserted(
    connector: MailchimpConnector,
) -> None:
    mock_merge_fields()
    ada = fixture("members_page.json")["members"][0]
    new = {
        **ada,
        "contact_id": "c0ffee00000000000000000000000new",
        "email_address": "new@example.com",
    }
    batch = responses.post(
        f"{API}/lists/{LIST}",
        json={
            "new_members": [new],
            "updated_members": [],
            "errors": [
                {
                    "email_address": "ada@example.com",
                    "error": "exists",
                    "error_code": "ERROR_CONTACT_EXISTS",
                },
                {
                    "email_address": "bad@example",
                    "error": "looks fake",
                    "error_code": "ERROR_GENERIC",
                },
            ],
        },
    )
    responses.get(f"{API}/lists/{LIST}/members/ada@example.com", json=ada)
    put = responses.put(f"{API}/lists/{LIST}/members/{ada['contact_id']}", json=ada)
    changes = [
        Change("create", "n", fields={"email": "new@example.com", "FNAME": "N", "tags": ["t"]}),
        Change("create", "a", fields={"email": "ada@example.com", "FNAME": "Ada"}),
        Change("create", "b", fields={"email": "bad@example"}),
        Change("create", "e", fields={"FNAME": "No email"}),
    ]
    results = connector.push(changes)
    assert [r.key for r in results] == ["n", "a", "b", "e"]
    assert results[0].id == new["contact_id"] and results[1].id == ada["contact_id"]
    assert results[2].error and results[2].error.permanent
    assert results[3].error and results[3].error.permanent
    sent = json.loads(batch.calls[0].request.body)
    assert sent["update_existing"] is False and len(sent["members"]) == 3
    assert sent["members"][0] == {
        "email_address": "new@example.com",
        "status": "subscribed",
        "merge_fields": {"FNAME": "N"},
        "tags": ["t"],
    }
    assert "status" not in json.loads(put.calls[0].request.body)  # an existing member keeps it


@responses.activate
def test_a_429_without_retry_after_is_waited_out(
    connector: MailchimpConnector, waits: list[float]
) -> None:
    problem = {"title": "Too Many Requests", "status": 429, "detail": "10 connections"}
    responses.get(f"{API}/ping", json=problem, status=429)
    responses.get(f"{API}/ping", json={"health_status": "ok"})
    connector.check()
    assert waits == [10.0]


@responses.activate
def test_a_long_429_surfaces_as_rate_limited(connector: MailchimpConnector) -> None:
    responses.get(f"{API}/ping", json={}, status=429, headers={"Retry-After": "600"})
    with pytest.raises(RateLimited):
        connector.check()


def test_a_webhook_post_names_its_audience_and_the_validating_get_none(
    connector: MailchimpConnector,
) -> None:
    factory = RequestFactory()
    assert connector.parse_webhook(factory.get("/hooks/mailchimp/t/")) == []
    body = (FIXTURES / "webhook_upemail.txt").read_text().strip()
    request = factory.post(
        "/hooks/mailchimp/t/", body, content_type="application/x-www-form-urlencoded"
    )
    assert connector.parse_webhook(request) == [LIST]


def test_a_webhook_with_an_iso_or_missing_fired_at_is_refused(
    connector: MailchimpConnector,
) -> None:
    request = RequestFactory().post(
        "/hooks/mailchimp/t/",
        {"type": "profile", "fired_at": "2026-11-30T14:05:12Z", "data[list_id]": LIST},
    )
    with pytest.raises(ConnectorError):
        connector.parse_webhook(request)


def test_the_subscriber_hash_is_the_md5_of_the_lowercased_email() -> None:
    expected = hashlib.md5(b"ada@example.com").hexdigest()  # noqa: S324
    assert subscriber_hash(" Ada@Example.com ") == expected


@responses.activate
@pytest.mark.parametrize(
    "answer",
    [{"body": "<html>oops</html>"}, {"json": {"members": "x", "total_items": 1}}, {"json": [1]}],
)
def test_a_listing_of_the_wrong_shape_is_a_clear_error(
    connector: MailchimpConnector, answer: dict[str, Any]
) -> None:
    mock_merge_fields()
    responses.get(f"{API}/lists/{LIST}/members", **answer)
    with pytest.raises(ConnectorError, match=r"wrong shape|without email"):
        list(connector.fetch(None))


def test_reads_wait_up_to_mailchimps_120_second_timeout(connector: MailchimpConnector) -> None:
    assert connector.http.timeout[1] == 120.0
