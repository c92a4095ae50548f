"""A corpus of bad input — webhook bodies, API bodies and query strings, vendor answers of
the wrong shape, contact values — each answered with a 4xx and a message, or recorded as a
vendor error: never a server error, and nothing stored changes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from rest_framework.test import APIClient

from connectors.getresponse.client import DEFAULT_BASE_URL as GR
from sync.models import AppAuthorization, FieldMapping, RecordLink

TALLY: dict[str, int] = {"inputs": 0, "server_errors": 0}


def _sent(status: int) -> None:
    TALLY["inputs"] += 1
    if status >= 500 and status != 502:
        TALLY["server_errors"] += 1


DEEP = "[" * 5000 + "]" * 5000
WEBHOOK_BODIES: list[Any] = [
    {"contact": "x"},
    {"contact": [1]},
    {"contact": {"campaign": "abc"}},
    {"contact": {"campaign": ["x"]}},
    {"contact": {"campaign": {"campaignId": {"deep": 1}}}},
    [{"contact": "x"}],
    [1, "two", None],
    "just a string",
    12,
    None,
    {"contact": None},
    {"\x00": "\x00"},
]
WEBHOOK_RAW = [DEEP, "[" * 100_000, "{", "not json", "\x00", '{"a": NaN}', "[" * 999]

API_BODIES: list[Any] = [
    [],
    "x",
    None,
    {"vendor": None},
    {"vendor": ["getresponse"]},
    {"vendor": "nope", "label": "x", "credentials": {"api_key": "k"}},
    {"vendor": "getresponse", "label": "x", "credentials": "k"},
    {"vendor": "getresponse", "label": "x", "credentials": {"api_key": ["k"]}},
    {"vendor": "getresponse", "label": "x", "credentials": {"api_key": "k\x00"}},
    {"vendor": "getresponse", "label": "x" * 10_000, "credentials": {"api_key": "k"}},
    {"vendor": "getresponse", "label": "x", "credentials": {"api_key": "k"}, "settings": []},
    {"vendor": "getresponse", "label": "x", "credentials": {"api_key": "k"}, "settings": "s"},
    {
        "vendor": "getresponse",
        "label": "x",
        "credentials": {"api_key": "k"},
        "settings": {"page_size": "abc"},
    },
    {
        "vendor": "getresponse",
        "label": "x",
        "credentials": {"api_key": "k"},
        "settings": {"domain": {"a": 1}},
    },
    {"vendor": "google", "label": "x", "settings": {}},
    {"vendor": "google", "label": "x", "credentials": {"access_token": "t"}},
    {"vendor": "carddav", "label": "x", "credentials": {}},
]
CONNECTION_PATCHES: list[Any] = [
    {"mappings": [{"a_field": "email"}]},
    {"mappings": [{"b_field": "email"}]},
    {"mappings": [{"a_field": None, "b_field": None}]},
    {"mappings": "x"},
    {"mappings": [1, 2]},
    {"rules": "x"},
    {"rules": [{"direction": "q"}]},
    {"rules": [{"filters": [{"kind": "nope"}]}]},
    {"direction": "sideways"},
    {"interval_minutes": "abc"},
    {"interval_minutes": -1},
    {"name": None},
    {"name": "\x00"},
    {"a_authorization": 10**12},
    {"a_authorization": "x"},
    {"direction": None},
]
QUERIES = [
    "/api/v1/connections/?page=abc",
    "/api/v1/connections/?page=99999",
    "/api/v1/connections/%00/",
    "/api/v1/connections/1%00/",
    "/api/v1/connections/?state=%00",
    "/api/v1/authorizations/?vendor=%00",
    "/api/v1/connectors/%00/",
    "/api/v1/connectors/getresponse/?authorization=abc",
    "/api/v1/connectors/getresponse/?authorization=%00",
    "/api/v1/connectors/getresponse/?authorization=999999",
    "/api/v1/runs/999999999999999999999/",
    "/api/v1/events/?connection=x",
    "/hooks/getresponse/%00/",
    "/connections/%00/",
    "/apps/?q=%00",
]
VENDOR_ANSWERS: list[tuple[str, Any, int]] = [
    ("null", None, 200),
    ("object for a list", {}, 200),
    ("string", "campaigns", 200),
    ("list of strings", ["a", "b"], 200),
    ("list of lists", [[1]], 200),
    ("items without ids", [{"name": "x"}], 200),
    ("ids of the wrong type", [{"campaignId": {"x": 1}, "name": 2}], 200),
    ("an error without a body", None, 500),
    ("an error of the wrong shape", ["error"], 400),
    ("a 401 of the wrong shape", "nope", 401),
]


@pytest.fixture
def gr_authorization(account) -> AppAuthorization:
    auth = AppAuthorization(account=account, vendor="getresponse", label="news")
    auth.secrets = {"api_key": "k-1"}
    auth.save()
    return auth


def _post_json(api: APIClient, url: str, body: Any) -> int:
    raw = body if isinstance(body, str) else json.dumps(body)
    return api.generic("POST", url, raw, content_type="application/json").status_code


def test_webhook_bodies_of_any_shape_are_refused_or_ignored(client, gr_authorization, queued):
    url = f"/hooks/getresponse/{gr_authorization.webhook_token}/"
    for body in [*WEBHOOK_BODIES, *WEBHOOK_RAW]:
        raw = body if isinstance(body, str) else json.dumps(body)
        status = client.generic("POST", url, raw, content_type="application/json").status_code
        _sent(status)
        assert status < 500, body
    assert queued == []


def test_api_bodies_of_any_shape_are_4xx(owner_api, connection):
    before = AppAuthorization.objects.count()
    for body in [*API_BODIES, DEEP, "[" * 100_000, "{", "\x00"]:
        status = _post_json(owner_api, "/api/v1/authorizations/", body)
        _sent(status)
        assert 400 <= status < 500, body
    assert AppAuthorization.objects.count() == before
    mappings = list(FieldMapping.objects.filter(connection=connection).values())
    for body in CONNECTION_PATCHES:
        response = owner_api.patch(f"/api/v1/connections/{connection.pk}/", body, format="json")
        _sent(response.status_code)
        assert 400 <= response.status_code < 500, (body, response.status_code)
    for body in [*API_BODIES[:4], DEEP]:
        status = _post_json(owner_api, "/api/v1/connections/", body)
        _sent(status)
        assert 400 <= status < 500, body
    assert list(FieldMapping.objects.filter(connection=connection).values()) == mappings


def test_query_strings_and_ids_with_nul_or_garbage_are_4xx(owner_api, owner_client):
    for url in QUERIES:
        for client in (owner_api, owner_client):
            status = client.get(url).status_code
            _sent(status)
            assert status < 500, url


@pytest.mark.parametrize(("label", "body", "status"), VENDOR_ANSWERS)
@responses.activate
def test_a_vendor_answer_of_the_wrong_shape_is_a_vendor_error(
    owner_api, owner_client, gr_authorization, label, body, status
):
    for path in ("/campaigns", "/accounts", "/custom-fields", "/tags", "/contacts"):
        responses.get(f"{GR}{path}", json=body, status=status, headers={"TotalPages": "x"})
    catalogue = owner_api.get(
        f"/api/v1/connectors/getresponse/?authorization={gr_authorization.pk}"
    )
    test = owner_api.post(f"/api/v1/authorizations/{gr_authorization.pk}/test/")
    page = owner_client.get("/apps/")
    for response in (catalogue, test, page):
        _sent(response.status_code)
        # 502 is the API's "the vendor failed", with the vendor error in words.
        assert response.status_code < 500 or (
            response.status_code == 502 and "GetResponse" in response.json()["detail"]
        ), (label, response.status_code, response.content[:300])
    gr_authorization.refresh_from_db()
    assert len(gr_authorization.health_message) <= 300


def test_contact_values_of_any_kind_sync_or_fail_alone(fake_apps, fake_connection):
    from tests.engine.support import sync

    a, b = fake_apps
    values = [
        "\x00",
        "\ud800",
        "a" * 100_000,
        "😀" * 1000,
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "\u202e",
        "\r\n",
        " ",
        "",
        "null",
        "None",
        "0",
        "-1e309",
        "NaN",
        "\\",
        "%00",
        "{}",
    ]
    emails = [
        "not-an-email",
        "a@b",
        "@",
        "x" * 300 + "@example.com",
        "UPPER@EXAMPLE.COM",
        " sp @x.y",
    ]
    phones = ["+11 849 9014115", "abc", "+", "00", "1" * 40, "+49 (0) 30 1234567"]
    for n, value in enumerate(values):
        a.add(email=f"v{n}@example.com", first_name=value, notes=value, company=value[:200])
    for n, email in enumerate(emails):
        a.add(email=email, first_name=f"E{n}")
    for n, phone in enumerate(phones):
        a.add(email=f"p{n}@example.com", phone=phone)
    run = sync(fake_connection, initial=True)
    TALLY["inputs"] += len(values) + len(emails) + len(phones)
    assert run.status in ("succeeded", "partial"), run.error
    # Every record arrived, or has its own error on its link; none vanished silently.
    links = RecordLink.objects.filter(connection=fake_connection)
    assert links.count() == len(a.records)
    failed = links.exclude(last_error="").count()
    assert len(b.records) + failed >= len(a.records)


def test_zz_report_the_corpus(capsys):
    with capsys.disabled():
        print(
            f"\nbad-input corpus: {TALLY['inputs']} inputs, {TALLY['server_errors']} server errors"
        )
    assert TALLY["server_errors"] == 0
