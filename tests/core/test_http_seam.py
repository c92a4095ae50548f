"""The one HTTP seam: timeouts, retries, Retry-After, call counting, error classes."""

from __future__ import annotations

import pytest
import requests
import responses

from connectors.base import AuthError, ConnectorError, RateLimited, RecordGone
from connectors.http import Http, parse_retry_after, redact_headers

URL = "https://vendor.example/api"


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def http(waits: list[float]) -> Http:
    return Http(base_url=URL, retries=3, backoff=0.1, max_wait=30, sleep=waits.append)


@responses.activate
def test_success_returns_response_and_counts_one_call(http: Http) -> None:
    responses.get(f"{URL}/contacts", json=[{"id": "1"}])
    assert http.json("GET", "contacts") == [{"id": "1"}]
    assert http.calls == 1


@responses.activate
def test_429_is_waited_out_honouring_retry_after(http: Http, waits: list[float]) -> None:
    responses.get(f"{URL}/contacts", status=429, headers={"Retry-After": "7"})
    responses.get(f"{URL}/contacts", json=[])
    assert http.json("GET", "contacts") == []
    assert waits == [7.0]
    assert http.calls == 2


@responses.activate
def test_429_longer_than_max_wait_surfaces_as_rate_limited(http: Http) -> None:
    responses.get(f"{URL}/contacts", status=429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimited) as caught:
        http.get("contacts")
    assert caught.value.retry_after == 3600
    assert not caught.value.permanent


@responses.activate
def test_5xx_on_a_read_is_retried_with_backoff(http: Http, waits: list[float]) -> None:
    responses.get(f"{URL}/contacts", status=503)
    responses.get(f"{URL}/contacts", status=502)
    responses.get(f"{URL}/contacts", json=[])
    assert http.json("GET", "contacts") == []
    assert len(waits) == 2
    assert waits[1] > waits[0]


@responses.activate
def test_5xx_on_a_create_is_not_repeated_so_nothing_is_created_twice(http: Http) -> None:
    responses.post(f"{URL}/contacts", status=500)
    with pytest.raises(ConnectorError) as caught:
        http.post("contacts", json={"email": "a@example.com"})
    assert not caught.value.permanent
    assert http.calls == 1


@responses.activate
def test_5xx_that_persists_is_a_transient_error(http: Http) -> None:
    responses.get(f"{URL}/contacts", status=500)
    with pytest.raises(ConnectorError) as caught:
        http.get("contacts")
    assert caught.value.permanent is False
    assert http.calls == 4  # the first try and three retries


@responses.activate
def test_connection_errors_on_reads_are_retried(http: Http) -> None:
    responses.get(f"{URL}/contacts", body=requests.ConnectionError("reset"))
    responses.get(f"{URL}/contacts", json=[])
    assert http.json("GET", "contacts") == []


@pytest.mark.parametrize(
    ("status", "error_class", "permanent"),
    [
        (401, AuthError, True),
        (403, AuthError, True),
        (404, RecordGone, True),
        (400, ConnectorError, True),
        (422, ConnectorError, True),
    ],
)
@responses.activate
def test_client_errors_are_classified_and_not_retried(
    http: Http, status: int, error_class: type[ConnectorError], permanent: bool
) -> None:
    responses.get(f"{URL}/contacts/9", status=status, json={"message": "nope"})
    with pytest.raises(error_class) as caught:
        http.get("contacts/9")
    assert caught.value.permanent is permanent
    assert caught.value.status == status
    assert http.calls == 1


@responses.activate
def test_a_body_that_is_not_json_is_a_clear_error(http: Http) -> None:
    responses.get(f"{URL}/contacts", body="<html>maintenance</html>")
    with pytest.raises(ConnectorError, match="not JSON"):
        http.json("GET", "contacts")


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("12", 60) == 12
    assert parse_retry_after(None, 60) == 60
    assert parse_retry_after("garbage", 5) == 5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 5) == 0


def test_secret_headers_are_redacted_for_logs() -> None:
    safe = redact_headers({"X-Auth-Token": "api-key s3cret", "Accept": "application/json"})
    assert safe == {"X-Auth-Token": "***", "Accept": "application/json"}
