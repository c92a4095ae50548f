"""The Mailchimp sandbox behaves as Mailchimp does: the official ``mailchimp-marketing``
client works against it unchanged (only its host set), errors are problem+json with
Mailchimp's titles, archive differs from delete-permanent, batch subscribe is bounded,
and webhooks are really called: a validating GET, then form-encoded POSTs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import mailchimp_marketing
import pytest
import requests
from mailchimp_marketing.api_client import ApiClientError

from connectors.base import Change, Credentials
from connectors.http import Http
from connectors.mailchimp.client import subscriber_hash
from connectors.mailchimp.connector import MailchimpConnector
from connectors.sandbox.control import SandboxControl


@pytest.fixture
def account(mailchimp: SandboxControl) -> dict[str, Any]:
    return mailchimp.create_account("mailchimp", name="Shop", dc="us7")


def official_client(sandbox: SandboxControl, api_key: str) -> Any:
    """The official client as integrators point it at a test server: its host only."""
    client = mailchimp_marketing.Client()
    client.set_config({"api_key": api_key, "server": "us7"})
    client.api_client.host = sandbox.vendor_url("mailchimp", "/3.0")
    return client


def problem(error: ApiClientError) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(error.text)
    return data


def test_the_official_client_works_against_the_sandbox(
    mailchimp: SandboxControl, account: dict[str, Any]
) -> None:
    client = official_client(mailchimp, account["api_key"])
    assert client.ping.get() == {"health_status": "Everything's Chimpy!"}
    list_id = client.lists.get_all_lists()["lists"][0]["id"]
    email = "Ann.Smith@example.com"
    created = client.lists.set_list_member(
        list_id,
        subscriber_hash(email),
        {"email_address": email, "status_if_new": "subscribed", "merge_fields": {"FNAME": "Ann"}},
    )
    assert created["status"] == "subscribed" and created["merge_fields"]["FNAME"] == "Ann"
    client.lists.update_list_member_tags(
        list_id, created["id"], {"tags": [{"name": "vip", "status": "active"}]}
    )
    member = client.lists.get_list_member(list_id, subscriber_hash(email))
    assert [t["name"] for t in member["tags"]] == ["vip"]
    page = client.lists.get_list_members_info(
        list_id, count=1000, since_last_changed="2000-01-01T00:00:00+00:00"
    )
    assert page["total_items"] == 1
    fields = client.lists.get_list_merge_fields(list_id)
    assert {"FNAME", "LNAME", "ADDRESS", "PHONE", "BIRTHDAY"} <= {
        f["tag"] for f in fields["merge_fields"]
    }
    with pytest.raises(ApiClientError) as caught:
        client.lists.add_list_member(list_id, {"email_address": email, "status": "subscribed"})
    assert caught.value.status_code == 400 and problem(caught.value)["title"] == "Member Exists"
    client.lists.update_list_member(list_id, subscriber_hash(email), {"status": "unsubscribed"})
    assert client.lists.get_list_member(list_id, subscriber_hash(email))["status"] == "unsubscribed"


def test_the_official_client_reports_missing_members_and_bad_merge_fields(
    mailchimp: SandboxControl, account: dict[str, Any]
) -> None:
    client = official_client(mailchimp, account["api_key"])
    list_id = account["lists"][0]["id"]
    with pytest.raises(ApiClientError) as missing:
        client.lists.get_list_member(list_id, subscriber_hash("nobody@example.com"))
    assert missing.value.status_code == 404
    assert problem(missing.value)["title"] == "Resource Not Found"
    with pytest.raises(ApiClientError) as invalid:
        client.lists.add_list_member(
            list_id,
            {
                "email_address": "p@example.com",
                "status": "subscribed",
                "merge_fields": {"PLAN": "Gold"},
            },
        )
    body = problem(invalid.value)
    assert body["title"] == "Invalid Resource" and body["errors"][0]["field"] == "PLAN"


def test_errors_are_problem_json(mailchimp: SandboxControl, account: dict[str, Any]) -> None:
    url = mailchimp.vendor_url("mailchimp", f"/3.0/lists/{account['lists'][0]['id']}/members/x")
    answer = requests.get(url, auth=("any", account["api_key"]), timeout=5)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert set(answer.json()) >= {"type", "title", "status", "detail", "instance"}
    wrong = requests.get(url, auth=("any", "nope-us7"), timeout=5)
    assert wrong.status_code == 401 and wrong.json()["title"] == "API Key Invalid"


def connector_of(account: dict[str, Any], page_size: int = 1000) -> MailchimpConnector:
    credentials = Credentials(
        secrets={"api_key": account["api_key"]}, settings={"page_size": page_size}
    )
    return MailchimpConnector(credentials, account["lists"][0]["id"], Http(retries=1, backoff=0.01))


def test_archive_is_a_deletion_and_the_member_can_come_back(
    mailchimp: SandboxControl, account: dict[str, Any]
) -> None:
    [member_id] = mailchimp.seed("mailchimp", account["account_id"], 1)["ids"]
    connector = connector_of(account)
    email = next(iter(connector.fetch(None))).records[0].fields["email"]
    [deleted] = connector.push([Change("delete", "d", id=member_id)])
    assert deleted.error is None
    [page] = list(connector.fetch(None))
    assert page.deleted == [member_id] and page.records == []
    [back] = connector.push([Change("create", "c", fields={"email": email, "FNAME": "Back"})])
    assert back.error is None and back.id == member_id  # the same person, the same id


def test_after_delete_permanent_the_email_can_never_be_added_again(
    mailchimp: SandboxControl, account: dict[str, Any]
) -> None:
    client = official_client(mailchimp, account["api_key"])
    list_id = account["lists"][0]["id"]
    email = "gone@example.com"
    client.lists.add_list_member(list_id, {"email_address": email, "status": "subscribed"})
    client.lists.delete_list_member_permanent(list_id, subscriber_hash(email))
    with pytest.raises(ApiClientError) as caught:
        client.lists.add_list_member(list_id, {"email_address": email, "status": "subscribed"})
    assert problem(caught.value)["title"] == "Forgotten Email Not Subscribed"
    [result] = connector_of(account).push([Change("create", "c", fields={"email": email})])
    assert result.error is not None and result.error.permanent


def test_a_cleaned_member_is_never_resubscribed(
    mailchimp: SandboxControl, account: dict[str, Any]
) -> None:
    [member_id] = mailchimp.seed("mailchimp", account["account_id"], 1)["ids"]
    mailchimp.action("mailchimp", "clean", account=account["account_id"], member=member_id)
    connector = connector_of(account)
    [result] = connector.push(
        [Change("update", "u", id=member_id, fields={"FNAME": "Edited", "subscribed": True})]
    )
    assert result.error is None
    state = mailchimp.state("mailchimp", account["account_id"])
    stored = state["accounts"][account["account_id"]]["lists"][account["lists"][0]["id"]][
        "members"
    ][member_id]
    assert stored["status"] == "cleaned" and stored["merge_fields"]["FNAME"] == "Edited"


def test_creates_of_more_than_500_take_two_batch_calls(
    mailchimp: SandboxControl, account: dict[str, Any]
) -> None:
    connector = connector_of(account)
    changes = [
        Change("create", f"c{i}", fields={"email": f"p{i}@example.com", "FNAME": f"P{i}"})
        for i in range(501)
    ]
    connector.fields()  # the merge fields, read once
    before = connector.http.calls
    results = connector.push(changes[:500]) + connector.push(changes[500:])
    assert all(r.error is None and r.id for r in results)
    assert connector.http.calls - before == 2
    assert len({r.id for r in results}) == 501
    over = requests.post(
        mailchimp.vendor_url("mailchimp", f"/3.0/lists/{account['lists'][0]['id']}"),
        json={
            "members": [
                {"email_address": f"x{i}@example.com", "status": "subscribed"} for i in range(501)
            ]
        },
        auth=("any", account["api_key"]),
        timeout=10,
    )
    assert over.status_code == 400


def test_an_address_is_validated_and_written_as_its_parts(
    mailchimp: SandboxControl, account: dict[str, Any]
) -> None:
    [member_id] = mailchimp.seed("mailchimp", account["account_id"], 1)["ids"]
    connector = connector_of(account)
    [partial] = connector.push(
        [Change("update", "u", id=member_id, fields={"ADDRESS.city": "Kraków"})]
    )
    assert partial.error is not None and partial.error.permanent  # Mailchimp wants it whole
    whole = {
        "ADDRESS.addr1": "Rynek 1",
        "ADDRESS.city": "Kraków",
        "ADDRESS.state": "MA",
        "ADDRESS.zip": "31-042",
        "ADDRESS.country": "PL",
    }
    [done] = connector.push([Change("update", "u", id=member_id, fields=whole)])
    assert done.error is None and done.record is not None
    assert {k: done.record.fields[k] for k in whole} == whole


class Receiver:
    """A loopback HTTP endpoint that records what the sandbox's webhooks send."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, list[str]]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                receiver.calls.append(("GET", {}))
                self.send_response(200)
                self.end_headers()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                assert self.headers.get("Content-Type") == "application/x-www-form-urlencoded"
                receiver.calls.append(("POST", parse_qs(self.rfile.read(length).decode())))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?secret=s"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.server.shutdown()


def test_webhooks_are_validated_then_called_for_users_changes_not_the_apis(
    mailchimp: SandboxControl, account: dict[str, Any], receiver: Receiver
) -> None:
    connector = connector_of(account)
    hook = connector.register_webhook(receiver.url)
    assert hook["sources"] == {"user": True, "admin": True, "api": False}
    assert connector.register_webhook(receiver.url)["id"] == hook["id"]  # registered once
    assert [method for method, _ in receiver.calls] == ["GET"]
    [member_id] = mailchimp.seed("mailchimp", account["account_id"], 1)["ids"]
    connector.push([Change("update", "u", id=member_id, fields={"FNAME": "Via API"})])
    assert len(receiver.calls) == 1  # our own writes do not echo
    mailchimp.action("mailchimp", "unsubscribe", account=account["account_id"], member=member_id)
    mailchimp.action(
        "mailchimp",
        "edit",
        account=account["account_id"],
        member=member_id,
        email="new.address@example.com",
    )
    assert mailchimp.action("mailchimp", "deliveries") == {"pending": 0}
    kinds = [form["type"][0] for method, form in receiver.calls if method == "POST"]
    assert kinds == ["unsubscribe", "upemail", "profile"]
    unsub = receiver.calls[1][1]
    assert unsub["data[list_id]"] == [account["lists"][0]["id"]] and unsub["data[action]"] == [
        "unsub"
    ]
    assert len(unsub["fired_at"][0]) == 19 and "T" not in unsub["fired_at"][0]
    upemail = receiver.calls[2][1]
    assert upemail["data[new_email]"] == ["new.address@example.com"]
    [page] = list(connector.fetch(None))
    assert [(r.id, r.fields["email"]) for r in page.records] == [
        (member_id, "new.address@example.com")
    ]


def test_a_webhook_url_that_does_not_answer_is_refused(
    mailchimp: SandboxControl, account: dict[str, Any]
) -> None:
    connector = connector_of(account)
    with pytest.raises(Exception, match="Invalid Resource"):
        connector.register_webhook("http://127.0.0.1:9/nothing-here")


def test_two_creates_of_one_email_in_a_batch_make_one_member(
    mailchimp: SandboxControl, account: dict[str, Any]
) -> None:
    connector = connector_of(account)
    changes = [
        Change("create", "x", fields={"email": "twin@example.com", "FNAME": "One"}),
        Change("create", "y", fields={"email": "TWIN@example.com", "FNAME": "Two"}),
    ]
    first, second = connector.push(changes)
    assert first.error is None and first.id and second.id == first.id
    [page] = list(connector.fetch(None))
    assert [r.fields["email"] for r in page.records] == ["twin@example.com"]
