"""The GetResponse connector against its emulator over real HTTP: the vendor behaviours
the contract suite does not cover (asynchronous creates, real rate limits, dropped
connections, writes failing mid-batch) and the emulator's own fidelity."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from connectors.base import Change, Credentials, RateLimited
from connectors.getresponse.connector import GetResponseConnector
from connectors.getresponse.sandbox import DEMO_ACCOUNTS
from connectors.http import Http
from connectors.sandbox.control import SandboxControl
from connectors.sandbox.server import SandboxServer

VENDOR = "getresponse"


@pytest.fixture
def account(sandbox: SandboxControl) -> dict[str, str]:
    created = sandbox.create_account(VENDOR, name="Shop")
    return {
        "key": created["api_key"],
        "id": created["account_id"],
        "list": created["lists"][0]["id"],
        "url": sandbox.vendor_url(VENDOR, "/v3"),
    }


def connect(account: dict[str, str], **settings: object) -> GetResponseConnector:
    credentials = Credentials(
        secrets={"api_key": account["key"]},
        settings={"page_size": 10, **settings},
    )
    http = Http(retries=3, backoff=0.01, max_wait=5.0, timeout=(3.0, 10.0))
    return GetResponseConnector(credentials, account["list"], http)


def emails_in(sandbox: SandboxControl, account: dict[str, str]) -> list[str]:
    state = sandbox.state(VENDOR, account["id"])["accounts"][account["id"]]
    return sorted(c["email"] for c in [*state["contacts"], *state["pending"]])


def test_a_create_listed_late_is_linked_on_retry_not_duplicated(
    sandbox: SandboxControl, account: dict[str, str]
) -> None:
    sandbox.action(VENDOR, "options", create_delay=0.6)
    change = Change("create", "k1", fields={"email": "late@example.com", "name": "Late Person"})
    [first] = connect(account, resolve_timeout=0).push([change])
    assert first.id is None and first.error is not None and not first.error.permanent
    time.sleep(0.7)
    [retry] = connect(account, resolve_timeout=2).push([change])
    assert retry.error is None and retry.id
    assert emails_in(sandbox, account) == ["late@example.com"]


def test_the_real_per_second_limit_is_waited_out(
    sandbox: SandboxControl, account: dict[str, str]
) -> None:
    sandbox.seed(VENDOR, account["id"], 6, seed=3)
    sandbox.faults(VENDOR, rate_limits={"per_second": 4})
    records = [r for page in connect(account).fetch(None) for r in page.records]
    assert len(records) == 6
    assert sandbox.requests(VENDOR)["faults"]["limited"] >= 1


def test_the_ten_minute_budget_surfaces_as_rate_limited(
    sandbox: SandboxControl, account: dict[str, str]
) -> None:
    sandbox.faults(VENDOR, rate_limits={"window": 2})
    connector = connect(account)
    connector.check()
    connector.check()
    with pytest.raises(RateLimited) as caught:
        connector.check()
    assert caught.value.retry_after > 500


def test_the_parallel_limit_refuses_a_request_beyond_it(
    sandbox: SandboxControl, account: dict[str, str]
) -> None:
    sandbox.faults(VENDOR, rate_limits={"parallel": 1}, latency_ms=300)
    url = f"{account['url']}/accounts"
    headers = {"X-Auth-Token": f"api-key {account['key']}"}
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: requests.get(url, headers=headers, timeout=5), [1, 2]))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 429]
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["code"] == 1015
    assert "Retry-After" not in refused.headers  # UNCONFIRMED for GetResponse; not sent


def test_a_dropped_connection_on_a_read_is_retried(
    sandbox: SandboxControl, account: dict[str, str]
) -> None:
    sandbox.seed(VENDOR, account["id"], 3, seed=4)
    sandbox.faults(VENDOR, drop_count=1)
    records = [r for page in connect(account).fetch(None) for r in page.records]
    assert len(records) == 3
    assert sandbox.requests(VENDOR)["faults"]["drop"] == 1


def test_writes_failing_mid_batch_fail_only_their_records(
    sandbox: SandboxControl, account: dict[str, str]
) -> None:
    seeded = sandbox.seed(VENDOR, account["id"], 3, seed=5)["ids"]
    sandbox.faults(VENDOR, fail_after_writes=2, error_status=503)
    changes = [
        Change("update", f"k{i}", id=i_d, fields={"note": "hi"}) for i, i_d in enumerate(seeded)
    ]
    results = connect(account).push(changes)
    # The writes go out in parallel: the third to arrive fails, whichever it is.
    assert [r.key for r in results] == ["k0", "k1", "k2"]
    failed = [r.error for r in results if r.error is not None]
    assert len(failed) == 1 and not failed[0].permanent


def test_tags_are_replaced_as_a_whole_set(sandbox: SandboxControl, account: dict[str, str]) -> None:
    [contact_id] = sandbox.seed(VENDOR, account["id"], 1, seed=6)["ids"]
    connector = connect(account)
    connector.push([Change("update", "k", id=contact_id, fields={"tags": ["alpha", "beta"]})])
    connector.push([Change("update", "k", id=contact_id, fields={"tags": ["beta"]})])
    state = sandbox.state(VENDOR, account["id"])["accounts"][account["id"]]
    assert state["contacts"][0]["tags"] == ["beta"]


def test_an_unsubscribed_contact_leaves_the_listing_and_is_read_as_unsubscribed(
    sandbox: SandboxControl, account: dict[str, str]
) -> None:
    seeded = sandbox.seed(VENDOR, account["id"], 3, seed=8)["ids"]
    sandbox.action(VENDOR, "unsubscribe", account=account["id"], contact=seeded[0])
    sandbox.action(VENDOR, "delete", account=account["id"], contact=seeded[1])
    pages = list(connect(account).fetch(None))
    whole = [r for p in pages for r in p.records if not r.partial]
    assert [r.id for r in whole] == [seeded[2]]
    [unsubscribed] = [r for p in pages for r in p.records if r.partial]
    assert (unsubscribed.id, unsubscribed.fields) == (seeded[0], {"subscribed": False})
    assert pages[-1].deleted == [seeded[1]]
    assert pages[-1].complete


def search(account: dict[str, str], body: dict[str, Any], **params: str) -> requests.Response:
    return requests.post(
        f"{account['url']}/search-contacts/contacts",
        params=params,
        json=body,
        headers={"X-Auth-Token": f"api-key {account['key']}"},
        timeout=5,
    )


def removed_segment(campaign_id: str) -> dict[str, Any]:
    section = {
        "campaignIdsList": [campaign_id],
        "logicOperator": "or",
        "subscriberCycle": ["receiving_autoresponder", "not_receiving_autoresponder"],
        "subscriptionDate": "all_time",
    }
    return {"subscribersType": ["removed"], "sectionLogicOperator": "or", "section": [section]}


def test_the_removed_segment_lists_removals_with_their_reason(
    sandbox: SandboxControl, account: dict[str, str]
) -> None:
    seeded = sandbox.seed(VENDOR, account["id"], 3, seed=9)["ids"]
    sandbox.action(VENDOR, "unsubscribe", account=account["id"], contact=seeded[0])
    sandbox.action(VENDOR, "delete", account=account["id"], contact=seeded[1])
    response = search(account, removed_segment(account["list"]), fields="contactId,reason")
    assert response.status_code == 200
    assert sorted(response.json(), key=lambda r: r["reason"]) == [
        {"contactId": seeded[0], "reason": "unsubscribe"},
        {"contactId": seeded[1], "reason": "user"},
    ]
    assert response.headers["TotalCount"] == "2"


def test_a_search_without_its_required_parts_is_refused(
    sandbox: SandboxControl, account: dict[str, str]
) -> None:
    body = removed_segment(account["list"])
    assert search(account, {**body, "subscribersType": []}).status_code == 400
    assert search(account, {**body, "subscribersType": ["gone"]}).status_code == 400
    del body["section"][0]["subscriberCycle"]
    assert search(account, body).status_code == 400


def api(account: dict[str, str], method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"X-Auth-Token": f"api-key {account['key']}"}
    return requests.request(
        method, f"{account['url']}/{path}", headers=headers, timeout=5, **kwargs
    )


def test_upserting_tags_answers_the_tags_and_custom_fields_the_values(
    sandbox: SandboxControl, account: dict[str, str]
) -> None:
    [contact_id] = sandbox.seed(VENDOR, account["id"], 1, seed=10)["ids"]
    tag = api(account, "POST", "tags", json={"name": "vip_client"}).json()
    tags = api(account, "POST", f"contacts/{contact_id}/tags", json={"tags": [tag]})
    assert isinstance(tags.json(), list)
    assert "vip_client" in [t["name"] for t in tags.json()]
    fields = api(account, "GET", "custom-fields").json()
    city = next(f["customFieldId"] for f in fields if f["name"] == "city")
    values = api(
        account,
        "POST",
        f"contacts/{contact_id}/custom-fields",
        json={"customFieldValues": [{"customFieldId": city, "value": ["Kraków"]}]},
    ).json()
    assert isinstance(values, list)
    assert next(v["value"] for v in values if v["customFieldId"] == city) == ["Kraków"]


def test_fields_limits_the_detail_the_lists_and_the_tags(
    sandbox: SandboxControl, account: dict[str, str]
) -> None:
    [contact_id] = sandbox.seed(VENDOR, account["id"], 1, seed=11)["ids"]
    api(account, "POST", "tags", json={"name": "reader"})
    detail = api(account, "GET", f"contacts/{contact_id}", params={"fields": "email,tags"})
    assert set(detail.json()) == {"contactId", "email", "tags"}
    campaigns = api(account, "GET", "campaigns", params={"fields": "name"}).json()
    assert all(set(c) == {"campaignId", "name"} for c in campaigns)
    tags = api(account, "GET", "tags", params={"fields": "name"}).json()
    assert tags and all(set(t) == {"tagId", "name"} for t in tags)
    refused = api(account, "GET", f"contacts/{contact_id}", params={"fields": "colour"})
    assert refused.status_code == 400
    # List rows have no tags or custom fields, and fields= cannot ask for them.
    listing = api(account, "GET", "contacts", params={"fields": "email,tags"})
    assert listing.status_code == 400


def test_several_sort_keys_apply_in_order(sandbox: SandboxControl, account: dict[str, str]) -> None:
    for index, (email, name) in enumerate(
        [("b@x.example", "Same"), ("a@x.example", "Same"), ("c@x.example", "Other")]
    ):
        [contact_id] = sandbox.seed(VENDOR, account["id"], 1, seed=20 + index)["ids"]
        sandbox.action(
            VENDOR, "edit", account=account["id"], contact=contact_id, email=email, name=name
        )
    rows = api(
        account,
        "GET",
        "contacts",
        params=[("sort[name]", "DESC"), ("sort[email]", "ASC"), ("fields", "email,name")],
    ).json()
    assert [r["email"] for r in rows] == ["a@x.example", "b@x.example", "c@x.example"]
    rows = api(
        account,
        "GET",
        "contacts",
        params=[("sort[name]", "ASC"), ("sort[email]", "DESC"), ("fields", "email,name")],
    ).json()
    assert [r["email"] for r in rows] == ["c@x.example", "b@x.example", "a@x.example"]


def test_an_unknown_query_filter_is_refused_like_getresponse_does(
    sandbox: SandboxControl, account: dict[str, str]
) -> None:
    response = requests.get(
        f"{account['url']}/contacts",
        params={"query[colour]": "red"},
        headers={"X-Auth-Token": f"api-key {account['key']}"},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["code"] == 1000


def test_seeding_is_deterministic(sandbox: SandboxControl) -> None:
    def seeded_names() -> list[str]:
        sandbox.reset()
        created = sandbox.create_account(VENDOR, name="Seeded")
        sandbox.seed(VENDOR, created["account_id"], 5, seed=11)
        state = sandbox.state(VENDOR, created["account_id"])["accounts"][created["account_id"]]
        return [(c["name"], c["email"]) for c in state["contacts"]]

    assert seeded_names() == seeded_names()


def test_demo_accounts_answer_to_their_fixed_keys(settings: Any) -> None:
    server = SandboxServer(port=0, demo=True).start()
    settings.SANDBOX_URL, settings.VENDOR_SANDBOXES = server.url, True
    try:
        for spec in DEMO_ACCOUNTS:
            connector = connect(
                {
                    "key": spec["key"],
                    "list": spec["campaign"],
                    "url": f"{server.url}/getresponse/v3",
                }
            )
            records = [r for page in connector.fetch(None) for r in page.records]
            assert len(records) >= 20
    finally:
        server.stop()


def test_a_batch_is_refused_when_malformed_and_drops_only_bad_contacts(
    sandbox: SandboxControl, account: dict[str, str]
) -> None:
    too_many = [{"email": f"p{i}@example.com"} for i in range(1001)]
    refused = api(
        account,
        "POST",
        "contacts/batch",
        json={"campaignId": account["list"], "contacts": too_many},
    )
    assert refused.status_code == 400
    single_shape = [{"email": "a@example.com", "tags": [{"tagId": "x"}]}]
    body = {"campaignId": account["list"], "contacts": single_shape}
    assert api(account, "POST", "contacts/batch", json=body).status_code == 400
    mixed = [{"email": "ok@example.com", "name": "Ok"}, {"email": "not an email"}]
    body = {"campaignId": account["list"], "contacts": mixed}
    assert api(account, "POST", "contacts/batch", json=body).status_code == 202
    assert emails_in(sandbox, account) == ["ok@example.com"]


def test_callbacks_are_off_until_enabled_and_need_a_url(
    sandbox: SandboxControl, account: dict[str, str]
) -> None:
    assert api(account, "GET", "accounts/callbacks").status_code == 404
    bad = api(account, "POST", "accounts/callbacks", json={"url": "not a url"})
    assert bad.status_code == 400
    body = {"url": "https://example.com/hook", "actions": {"unsubscribe": True}}
    assert api(account, "POST", "accounts/callbacks", json=body).status_code == 200
    enabled = api(account, "GET", "accounts/callbacks").json()
    assert enabled["url"] == "https://example.com/hook"
    assert enabled["actions"]["unsubscribe"] is True and enabled["actions"]["open"] is False
