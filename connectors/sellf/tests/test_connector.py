"""The Sellf connector against recorded API shapes (fixtures/*.json), replayed with
``responses``: what it sends, and how it reads what Sellf answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers

from connectors.base import AuthError, Change, ConnectorError, Credentials, RateLimited
from connectors.http import Http
from connectors.sellf.client import parse_time
from connectors.sellf.connector import SellfConnector

API = "https://api.sellf.io/v2"
FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def waits() -> list[float]:
    return []


def build(waits: list[float], scope: str = "people", user_id: Any = 4) -> SellfConnector:
    credentials = Credentials(secrets={"api_key": "k-123"}, settings={"user_id": user_id})
    http = Http(retries=2, backoff=0.01, max_wait=30, sleep=waits.append)
    return SellfConnector(credentials, scope, http)


@pytest.fixture
def connector(waits: list[float]) -> SellfConnector:
    return build(waits)


def mock_schema() -> None:
    responses.get(f"{API}/custom_fields", json=fixture("custom_fields.json"))
    responses.get(f"{API}/companies", json=fixture("companies.json"))
    responses.get(f"{API}/users", json=fixture("users.json"))


def sent(method: str, path: str) -> list[Any]:
    """Bodies of the requests sent to ``path``, in order."""
    return [
        json.loads(c.request.body)
        for c in responses.calls
        if c.request.method == method and c.request.url.split("?")[0] == f"{API}/{path}"
    ]


def query(call: Any) -> dict[str, str]:
    from urllib.parse import parse_qsl, urlsplit

    return dict(parse_qsl(urlsplit(call.request.url).query))


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("2016-09-08T16:36:52", datetime(2016, 9, 8, 16, 36, 52, tzinfo=UTC)),
        ("2015-11-27T14:57:54.707662", datetime(2015, 11, 27, 14, 57, 54, 707662, tzinfo=UTC)),
        ("2016-09-08T16:42:30.7", datetime(2016, 9, 8, 16, 42, 30, 700000, tzinfo=UTC)),
        ("2017-01-02T03:04:05.12", datetime(2017, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)),
        ("2017-01-02T03:04:05.1234567", datetime(2017, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
        ("2017-01-02T03:04:05Z", datetime(2017, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2017-01-02T05:04:05+02:00", datetime(2017, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (None, None),
    ],
)
def test_dates_without_a_zone_and_with_any_fraction_are_utc(wire: Any, expected: Any) -> None:
    assert parse_time(wire) == expected


@responses.activate
def test_people_become_records_with_company_status_tags_owner_and_custom_fields(
    connector: SellfConnector,
) -> None:
    mock_schema()
    responses.get(
        f"{API}/people",
        json=fixture("people_page1.json"),
        match=[
            matchers.query_param_matcher({"sort_by": "updated_at", "page": "1", "user_id": "4"})
        ],
    )
    responses.get(f"{API}/people", json=fixture("people_page2.json"))
    pages = list(connector.fetch(None))
    records = {r.id: r for page in pages for r in page.records}
    filippo, giulia, marco = records["3"], records["5"], records["9"]
    assert filippo.fields["company"] == "Sellf Srl"
    assert filippo.fields["prospect_status"] == "customer"
    assert filippo.fields["tags"] == ["Italy", "Treviso"]
    assert filippo.fields["user_id"] == "4"
    assert filippo.fields["birthday"] == "1980-04-02"
    assert filippo.fields["custom:policy_expiration_date"] == "2027-01-31"
    assert filippo.fields["custom:hobbies"] == ["sail", "ski"]
    assert filippo.updated_at == datetime(2016, 9, 8, 16, 42, 30, tzinfo=UTC)
    # Null fields stay empty, never the text "None"; a missing custom_fields is empty.
    assert giulia.fields["title"] is None and giulia.fields["company"] is None
    assert giulia.fields["prospect_status"] == "lead"
    assert (
        giulia.fields["custom:hobbies"] == []
        and giulia.fields["custom:policy_expiration_date"] is None
    )
    assert giulia.key == "cs-42"  # the code we wrote on create
    assert marco.fields["tags"] == [] and marco.fields["email"] is None
    assert marco.fields["prospect_status"] == "prospect"
    assert [p.complete for p in pages] == [False, True]
    assert pages[0].cursor is None and pages[-1].cursor == "2017-01-02T03:04:05.123456"


@responses.activate
def test_the_next_page_is_asked_from_the_last_updated_at_seen(connector: SellfConnector) -> None:
    mock_schema()
    responses.get(f"{API}/people", json=fixture("people_page1.json"))
    responses.get(f"{API}/people", json=fixture("people_page2.json"))
    list(connector.fetch("2016-01-01T00:00:00"))
    reads = [query(c) for c in responses.calls if "/people" in c.request.url]
    assert reads[0]["updated_at:gte"] == "2016-01-01T00:00:00"
    assert reads[1] == {
        "sort_by": "updated_at",
        "page": "1",
        "updated_at:gte": "2016-09-08T16:42:30.700000",
        "user_id": "4",
    }


@responses.activate
def test_all_team_members_reads_everyones_people(waits: list[float]) -> None:
    mock_schema()
    responses.get(f"{API}/people", json=fixture("people_page2.json"))
    list(build(waits, scope="people:all").fetch(None))
    [read] = [query(c) for c in responses.calls if "/people" in c.request.url]
    assert "user_id" not in read


@responses.activate
def test_only_added_tags_are_appended_with_atags(connector: SellfConnector) -> None:
    mock_schema()
    person = fixture("people_page1.json")["data"][0]
    responses.get(f"{API}/people/3", json=person)
    responses.put(f"{API}/people/3", json={**person, "tags": ["Italy", "Treviso", "vip"]})
    [result] = connector.push(
        [Change("update", "u", id="3", fields={"tags": ["Italy", "Treviso", "vip"]})]
    )
    assert result.error is None
    assert sent("PUT", "people/3") == [{"atags": ["vip"]}]


@responses.activate
def test_a_removal_replaces_the_tags_but_keeps_one_added_in_sellf_meanwhile(
    connector: SellfConnector,
) -> None:
    mock_schema()
    page = fixture("people_page1.json")
    page["meta"]["has_more"] = False
    responses.get(f"{API}/people", json=page)
    list(connector.fetch(None))  # the run reads Italy, Treviso
    person = {**page["data"][0], "tags": ["Italy", "Treviso", "hot"]}  # "hot" added since
    responses.get(f"{API}/people/3", json=person)
    responses.put(f"{API}/people/3", json={**person, "tags": ["Italy", "hot", "vip"]})
    connector.push([Change("update", "u", id="3", fields={"tags": ["Italy", "vip"]})])
    assert sent("PUT", "people/3") == [{"tags": ["Italy", "hot", "vip"]}]


@responses.activate
def test_a_create_creates_its_missing_company(connector: SellfConnector) -> None:
    responses.get(f"{API}/custom_fields", json=fixture("custom_fields.json"))
    responses.get(
        f"{API}/companies",
        json=fixture("companies.json"),
        match=[matchers.query_param_matcher({"page": "1"})],
    )
    created = fixture("people_page2.json")["data"][0]
    responses.get(
        f"{API}/companies",
        json={"meta": {"has_more": False}, "data": []},
        match=[matchers.query_param_matcher({"name:eq": "Nuova Spa", "page": "1"})],
    )
    responses.post(f"{API}/companies", json={"id": 11, "name": "Nuova Spa"}, status=201)
    responses.post(f"{API}/people", json={**created, "company_id": 11}, status=201)
    fields = {"first_name": "Marco", "last_name": "Bianchi", "company": "Nuova Spa"}
    [result] = connector.push([Change("create", "key-1", fields=fields)])
    assert result.error is None and result.id == "9"
    assert sent("POST", "companies") == [{"name": "Nuova Spa", "user_id": 4}]
    [body] = sent("POST", "people")
    assert body["company_id"] == 11 and body["user_id"] == 4 and body["code"] == "key-1"


@responses.activate
def test_a_create_links_the_company_of_that_name(connector: SellfConnector) -> None:
    mock_schema()
    created = fixture("people_page2.json")["data"][0]
    responses.post(f"{API}/people", json=created, status=201)
    fields = {"first_name": "Marco", "last_name": "Bianchi", "company": "sellf srl"}
    [result] = connector.push([Change("create", "key-1", fields=fields)])
    assert result.error is None and result.record.fields["company"] == "Sellf Srl"
    assert sent("POST", "companies") == []
    assert sent("POST", "people")[0]["company_id"] == 7


@responses.activate
def test_status_and_owner_are_written_as_sellf_numbers(connector: SellfConnector) -> None:
    mock_schema()
    person = fixture("people_page1.json")["data"][1]
    responses.get(f"{API}/people/5", json=person)
    responses.put(f"{API}/people/5", json=person)
    fields = {
        "prospect_status": "customer",
        "user_id": "6",
        "custom:policy_expiration_date": "2027-02-01T00:00:00",
    }
    connector.push([Change("update", "u", id="5", fields=fields)])
    [body] = sent("PUT", "people/5")
    assert body == {
        "prospect_status": 2,
        "user_id": 6,
        "custom_fields": {"policy_expiration_date": "2027-02-01"},
    }


@responses.activate
def test_a_validation_error_is_a_permanent_error_naming_the_field(
    connector: SellfConnector,
) -> None:
    mock_schema()
    responses.post(f"{API}/people", json=fixture("errors.json")["422"], status=422)
    fields = {"first_name": "A", "last_name": "B"}
    [result] = connector.push([Change("create", "k", fields=fields)])
    assert result.error is not None and result.error.permanent
    assert "last_name: can't be blank" in str(result.error)


@responses.activate
def test_a_rejected_key_is_an_auth_error(connector: SellfConnector) -> None:
    responses.get(f"{API}/users", json=fixture("errors.json")["401"], status=401)
    with pytest.raises(AuthError):
        connector.check()
    assert responses.calls[0].request.headers["Api-Key"] == "k-123"


@responses.activate
def test_a_user_no_longer_in_the_team_fails_the_check(waits: list[float]) -> None:
    mock_schema()
    with pytest.raises(AuthError):
        build(waits, user_id=99).check()


@responses.activate
def test_a_429_without_retry_after_is_backed_off_and_retried(
    connector: SellfConnector, waits: list[float]
) -> None:
    responses.get(f"{API}/users", json={"message": "Too many requests"}, status=429)
    responses.get(f"{API}/users", json=fixture("users.json"))
    assert [u.id for u in connector.users()] == ["4", "6"]
    assert waits == [1.0]


@responses.activate
def test_a_list_of_the_wrong_shape_is_refused_at_the_edge(connector: SellfConnector) -> None:
    mock_schema()
    responses.get(f"{API}/people", json=[{"id": 1}])
    with pytest.raises(ConnectorError, match="not a list envelope"):
        list(connector.fetch(None))


@responses.activate
def test_a_person_with_a_malformed_id_is_refused_at_the_edge(connector: SellfConnector) -> None:
    mock_schema()
    responses.get(
        f"{API}/people",
        json={"meta": {"has_more": False}, "data": [{"id": 1, "user_id": {"x": 1}}]},
    )
    with pytest.raises(ConnectorError, match="invalid person"):
        list(connector.fetch(None))


def test_the_seams_gate_alone_paces_at_sellf_rate_limit(settings: Any) -> None:
    """One pacer: the gate of connectors/limits.py, at SELLF_RATE_LIMIT a second."""
    settings.SELLF_RATE_LIMIT = 20.0
    assert build([]).http.gate.limits.per_second == 20.0  # type: ignore[union-attr]
    settings.SELLF_RATE_LIMIT = 0  # off
    assert build([]).http.gate.limits.per_second == 0  # type: ignore[union-attr]


def test_authorizations_holding_one_key_share_its_limits() -> None:
    """Sellf counts per API key, and a team's authorizations (one per team user) hold the
    same key: they share one gate key, a digest that does not show the key."""
    a, b = build([], user_id=4), build([], user_id=5)
    other = SellfConnector(Credentials({"api_key": "k-456"}, {}), "people", Http())
    assert a.limits_key() == b.limits_key() != other.limits_key()
    assert "k-123" not in a.limits_key()


@responses.activate
def test_a_long_429_surfaces_as_rate_limited(connector: SellfConnector) -> None:
    responses.get(
        f"{API}/users", json={"message": "Too many"}, status=429, headers={"Retry-After": "600"}
    )
    with pytest.raises(RateLimited):
        connector.users()
