"""The Sellf emulator answers as the API notes describe: envelopes, paging, filters,
tags/atags/rtags, required fields, and the vendor's error statuses."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from connectors.sandbox.control import SandboxControl


@pytest.fixture
def team(sandbox: SandboxControl) -> dict[str, Any]:
    return sandbox.create_account("sellf", name="Emu", users=[{"name": "A"}, {"name": "B"}])


@pytest.fixture
def api(sandbox: SandboxControl, team: dict[str, Any]) -> Any:
    base = sandbox.vendor_url("sellf", "/v2")
    session = requests.Session()
    session.headers["Api-Key"] = team["api_key"]

    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        return session.request(method, f"{base}/{path}", timeout=10, **kwargs)

    return call


def test_the_account_answer_names_the_credentials_as_the_connector_does(
    team: dict[str, Any],
) -> None:
    from connectors.sellf.connector import SellfConnector

    assert {name for name, _, _ in SellfConnector.auth_fields} <= set(team)
    assert team["path"] == "/sellf/v2" and len(team["users"]) == 2


def test_lists_page_by_fifty_while_has_more(
    sandbox: SandboxControl, team: dict[str, Any], api: Any
) -> None:
    sandbox.seed("sellf", team["team_id"], 51)
    first = api("GET", "people", params={"page": 1}).json()
    second = api("GET", "people", params={"page": 2}).json()
    assert len(first["data"]) == 50 and first["meta"] == {"has_more": True, "object": "list"}
    assert len(second["data"]) == 1 and second["meta"]["has_more"] is False


def test_filters_take_attribute_operator_value(
    sandbox: SandboxControl, team: dict[str, Any], api: Any
) -> None:
    a, b = (u["id"] for u in team["users"])
    sandbox.seed("sellf", team["team_id"], 3, user_id=a, tags=["vip"])
    sandbox.seed("sellf", team["team_id"], 2, user_id=b, tags=[])

    def count(**params: Any) -> int:
        return len(api("GET", "people", params=params).json()["data"])

    assert count(user_id=a) == 3 and count(**{"user_id:neq": a}) == 2
    assert count(**{"user_id:in": f"{a},{b}"}) == 5
    assert count(tags="vip") == 3 and count(**{"tags:in": "vip,x"}) == 3
    assert count(**{"custom_fields.cf_industry_5f2a:eq": "Retail"}) == 5
    newest = api("GET", "people", params={"sort_by": "-updated_at"}).json()["data"][0]
    assert count(**{"updated_at:gte": newest["updated_at"]}) == 1  # inclusive
    assert count(**{"updated_at:gt": newest["updated_at"]}) == 0
    assert api("GET", "people", params={"email:like": "x"}).status_code == 400


def test_tags_replace_and_atags_append(team: dict[str, Any], api: Any) -> None:
    owner = team["users"][0]["id"]
    body = {"first_name": "T", "last_name": "Ag", "user_id": owner, "tags": ["a"]}
    created = api("POST", "people", json=body)
    assert created.status_code == 201
    pid = created.json()["id"]
    assert api("PUT", f"people/{pid}", json={"atags": ["b"]}).json()["tags"] == ["a", "b"]
    assert api("PUT", f"people/{pid}", json={"tags": ["c"]}).json()["tags"] == ["c"]
    assert api("PUT", f"people/{pid}", json={"rtags": ["d"]}).json()["tags"] == ["d"]
    assert api("DELETE", f"people/{pid}").status_code == 200
    assert api("GET", f"people/{pid}").status_code == 404


def test_required_fields_and_bad_keys_are_refused(team: dict[str, Any], api: Any) -> None:
    missing = api("POST", "people", json={"first_name": "No", "last_name": "Owner"})
    assert missing.status_code == 422 and "user_id" in missing.json()["errors"]
    no_name = api("POST", "people", json={"first_name": "X", "user_id": team["users"][0]["id"]})
    assert no_name.status_code == 422 and "last_name" in no_name.json()["errors"]
    bad = requests.get(api("GET", "users").url, headers={"Api-Key": "wrong"}, timeout=10)
    assert bad.status_code == 401


def test_the_real_limit_answers_429_beyond_twenty_a_second(
    sandbox: SandboxControl, api: Any
) -> None:
    sandbox.faults("sellf", rate_limits=True)
    statuses = [api("GET", "users").status_code for _ in range(25)]
    assert 429 in statuses and statuses[:20] == [200] * 20
