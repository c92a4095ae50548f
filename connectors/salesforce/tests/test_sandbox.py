"""The Salesforce emulator answers as Salesforce does, over HTTP: whole-second
datetimes, 404 for unknown API versions, single-record REST, ``/limits``, describe, and
SOQL literals; what only strict mode refuses is checked in both modes."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from connectors.sandbox.control import SandboxControl

REDIRECT = "http://127.0.0.1/back"  # where the login host sends the browser back


class Org:
    """An org of the sandbox and a REST session on it."""

    def __init__(self, sandbox: SandboxControl, version: str = "v62.0") -> None:
        self.account = sandbox.create_account("salesforce", name="Fidelity")
        self.base = sandbox.vendor_url("salesforce", f"/services/data/{version}")
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {self.account['access_token']}"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, f"{self.base}{path}", timeout=10, **kwargs)

    def query(self, soql: str) -> requests.Response:
        return self.call("GET", "/query", params={"q": soql})


@pytest.fixture
def org(sandbox: SandboxControl) -> Org:
    return Org(sandbox)


def error_code(answer: requests.Response) -> str:
    return str(answer.json()[0]["errorCode"])


def test_record_datetimes_have_whole_seconds(org: Org) -> None:
    created = org.call("POST", "/sobjects/Contact", json={"LastName": "Stamp"}).json()
    record = org.call("GET", f"/sobjects/Contact/{created['id']}").json()
    for name in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
        assert record[name].endswith(".000+0000"), record[name]


def test_an_unknown_api_version_is_not_found(sandbox: SandboxControl, org: Org) -> None:
    old = Org(sandbox, version="v20.0")
    old.http.headers["Authorization"] = org.http.headers["Authorization"]
    answer = old.call("GET", "/sobjects")
    assert answer.status_code == 404 and error_code(answer) == "NOT_FOUND"
    assert org.call("GET", "/sobjects").status_code == 200


def test_one_record_is_created_read_updated_and_deleted(org: Org) -> None:
    answer = org.call("POST", "/sobjects/Contact", json={"LastName": "Solo", "Email": "s@x.io"})
    assert answer.status_code == 201
    created = answer.json()
    assert created["success"] and created["id"].startswith("003") and len(created["id"]) == 18
    path = f"/sobjects/Contact/{created['id']}"
    read = org.call("GET", path, params={"fields": "LastName,Email"}).json()
    assert read == {
        "attributes": {"type": "Contact", "url": f"/services/data/v62.0{path}"},
        "LastName": "Solo",
        "Email": "s@x.io",
    }
    assert org.call("PATCH", path, json={"Title": "Skipper"}).status_code == 204
    assert org.call("GET", path).json()["Title"] == "Skipper"
    assert org.call("DELETE", path).status_code == 204
    gone = org.call("GET", path)
    assert gone.status_code == 404 and error_code(gone) == "ENTITY_IS_DELETED"
    never = org.call("GET", "/sobjects/Contact/003000000000000AAA")
    assert never.status_code == 404 and error_code(never) == "NOT_FOUND"


def test_a_single_record_write_is_refused_in_the_rest_error_shape(org: Org) -> None:
    missing = org.call("POST", "/sobjects/Contact", json={"FirstName": "No last name"})
    assert missing.status_code == 400
    assert missing.json() == [
        {
            "message": "Required fields are missing: [LastName]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["LastName"],
        }
    ]
    with_id = org.call("POST", "/sobjects/Contact", json={"Id": "003x", "LastName": "X"})
    assert with_id.status_code == 400 and error_code(with_id) == "INVALID_FIELD"


def test_limits_report_the_daily_allowance_used(org: Org) -> None:
    org.call("GET", "/sobjects")
    limits = org.call("GET", "/limits").json()["DailyApiRequests"]
    assert limits["Max"] == 15_000 and limits["Remaining"] == 15_000 - 2


def test_describe_says_each_objects_key_prefix_and_what_can_be_done(org: Org) -> None:
    sobjects = {s["name"]: s for s in org.call("GET", "/sobjects").json()["sobjects"]}
    contact = sobjects["Contact"]
    assert contact["keyPrefix"] == "003"
    assert contact["queryable"] and contact["updateable"] and contact["deletable"]
    assert contact["replicateable"]
    assert not sobjects["User"]["deletable"] and sobjects["User"]["keyPrefix"] == "005"
    described = org.call("GET", "/sobjects/Lead/describe").json()
    assert described["keyPrefix"] == "00Q" and described["updateable"]
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["Email"]["filterable"] and not fields["Description"]["filterable"]


@pytest.mark.parametrize("mode", ["lenient", "strict"])
def test_a_quoted_datetime_literal_is_a_malformed_query(
    sandbox: SandboxControl, org: Org, mode: str
) -> None:
    sandbox.strict(mode == "strict")
    quoted = org.query("SELECT Id FROM Contact WHERE SystemModstamp >= '2024-01-01T00:00:00Z'")
    assert quoted.status_code == 400 and error_code(quoted) == "MALFORMED_QUERY"
    assert "should not be enclosed in quotes" in quoted.json()[0]["message"]
    bare = org.query("SELECT Id FROM Contact WHERE SystemModstamp >= 2024-01-01T00:00:00Z")
    assert bare.status_code == 200


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM Contact WHERE HasOptedOutOfEmail = 'false'", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE SystemModstamp > 2024-01-01", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE LastName = 42", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE Description = 'x'", "INVALID_FIELD"),
        ("SELECT Id FROM Contact ORDER BY Description", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE Id IN ('not-an-id')", "INVALID_QUERY_FILTER_OPERATOR"),
    ],
)
def test_strict_mode_refuses_filters_salesforce_refuses(
    sandbox: SandboxControl, org: Org, soql: str, code: str
) -> None:
    assert org.query(soql).status_code == 200  # lenient: let through
    sandbox.strict(True, vendor="salesforce")
    refused = org.query(soql)
    assert refused.status_code == 400 and error_code(refused) == code


def test_strict_mode_wants_json_writes(sandbox: SandboxControl, org: Org) -> None:
    sandbox.strict(True, vendor="salesforce")
    answer = org.call(
        "POST",
        "/sobjects/Contact",
        data='{"LastName": "Form"}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 415 and error_code(answer) == "UNSUPPORTED_MEDIA_TYPE"
    assert org.call("POST", "/sobjects/Contact", json={"LastName": "Json"}).status_code == 201


def authorize(sandbox: SandboxControl, login: str, client_id: str) -> str:
    """The code the login host sends back to the redirect URI."""
    answer = requests.get(
        sandbox.vendor_url("salesforce", f"{login}/services/oauth2/authorize"),
        params={"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302 and answer.headers["Location"].startswith(REDIRECT)
    return answer.headers["Location"].split("code=", 1)[1].split("&", 1)[0]


def token(sandbox: SandboxControl, login: str, **form: str) -> requests.Response:
    url = sandbox.vendor_url("salesforce", f"{login}/services/oauth2/token")
    return requests.post(url, data=form, timeout=10)


def test_the_login_host_exchanges_a_code_once_and_refreshes_a_public_client(
    sandbox: SandboxControl,
) -> None:
    org = sandbox.create_account("salesforce", client_id="app", client_secret="s3")
    code = authorize(sandbox, "", "app")
    grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    answer = token(sandbox, "", client_id="app", client_secret="s3", **grant)
    assert answer.status_code == 200 and answer.json()["access_token"].startswith(org["account_id"])
    again = token(sandbox, "", client_id="app", client_secret="s3", **grant)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    refresh = {"grant_type": "refresh_token", "refresh_token": answer.json()["refresh_token"]}
    assert token(sandbox, "", client_id="app", **refresh).status_code == 200  # no secret
    wrong = token(sandbox, "", client_id="app", client_secret="nope", **refresh)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_client"


def test_a_production_orgs_code_is_refused_at_the_sandbox_login_host(
    sandbox: SandboxControl,
) -> None:
    sandbox.create_account("salesforce", client_id="app", client_secret="s3")
    code = authorize(sandbox, "", "app")
    grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    answer = token(sandbox, "/test", client_id="app", client_secret="s3", **grant)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    unknown = requests.get(
        sandbox.vendor_url("salesforce", "/services/oauth2/authorize"),
        params={"response_type": "code", "client_id": "nobody", "redirect_uri": REDIRECT},
        allow_redirects=False,
        timeout=10,
    )
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_client_id"


def test_strict_mode_refuses_a_uri_over_16_kilobytes(sandbox: SandboxControl, org: Org) -> None:
    names = ", ".join(f"'Name number {i:05d}'" for i in range(1000))  # about 20 KB
    soql = f"SELECT Id FROM Account WHERE Name IN ({names})"  # noqa: S608
    assert org.query(soql).status_code == 200
    sandbox.strict(True, vendor="salesforce")
    assert org.query(soql).status_code == 414
