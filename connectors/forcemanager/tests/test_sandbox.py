"""The ForceManager emulator over real HTTP, as a client that knows only the vendor's API
sees it: login and session keys, bare arrays with ``X-FM-*`` paging headers, the
``where`` parser, soft deletes, lookups, extra fields and required fields."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from connectors.forcemanager.sandbox import PATH, Where, WhereError, parse_time
from connectors.sandbox.control import SandboxControl


class Api:
    """A logged-in client of one sandbox account."""

    def __init__(self, sandbox: SandboxControl, account: dict[str, Any]) -> None:
        self.base = sandbox.vendor_url("forcemanager", "/api/v4")
        self.account = account
        self.session = requests.Session()
        answer = self.session.post(
            f"{self.base}/login",
            json={"username": account["public_key"], "password": account["private_key"]},
            timeout=5,
        )
        assert answer.status_code == 200, answer.text
        self.session.headers["X-Session-Key"] = answer.json()["token"]

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.base}/{path}", timeout=5, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.call(method, path, **kwargs)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def where(self, resource: str, where: str) -> list[int]:
        return [r["id"] for r in self.ok("GET", resource, params={"where": where})]


@pytest.fixture
def account(sandbox: SandboxControl) -> dict[str, Any]:
    return sandbox.create_account("forcemanager", name="Tritium")


@pytest.fixture
def api(sandbox: SandboxControl, account: dict[str, Any]) -> Api:
    return Api(sandbox, account)


def an_account_id(api: Api, name: str = "Globex") -> int:
    branch = api.ok("GET", "values", params={"resourcename": "branches"})[0]["id"]
    rep = api.account["users"][0]["id"]
    body = {"name": name, "branchId": branch, "salesRepId1": rep}
    return int(api.ok("POST", "accounts", json=body)["id"])


def a_contact(api: Api, **fields: Any) -> int:
    body = {
        "accountId": an_account_id(api),
        "firstName": "Ana",
        "lastName": "Núñez",
        "salesRepId": api.account["users"][0]["id"],
        **fields,
    }
    answer = api.ok("POST", "contacts", json=body)
    assert answer["Message"] == "entity created"
    return int(answer["id"])


def test_a_new_account_answers_the_keys_a_user_types_and_its_path(
    account: dict[str, Any],
) -> None:
    assert {"public_key", "private_key", "path", "users"} <= set(account)
    assert account["path"] == PATH == "/forcemanager/api/v4"


def test_login_refuses_wrong_keys_and_calls_need_a_live_session(
    sandbox: SandboxControl, account: dict[str, Any], api: Api
) -> None:
    base = sandbox.vendor_url("forcemanager", "/api/v4")
    wrong = requests.post(
        f"{base}/login",
        json={"username": account["public_key"], "password": "nope"},
        timeout=5,
    )
    assert wrong.status_code == 401 and set(wrong.json()) == {"code", "message"}
    assert requests.get(f"{base}/contacts", timeout=5).status_code == 401
    assert api.call("GET", "contacts").status_code == 200
    sandbox.action("forcemanager", "expire_sessions")
    assert api.call("GET", "contacts").status_code == 401


def test_listings_are_bare_arrays_with_paging_headers(
    sandbox: SandboxControl, account: dict[str, Any], api: Api
) -> None:
    seeded = sandbox.seed("forcemanager", account["account_id"], 7, seed=3)["ids"]
    seen, headers = [], []
    for page in range(3):
        answer = api.call("GET", "contacts", headers={"X-FM-Page": str(page), "Count": "3"})
        assert isinstance(answer.json(), list)
        seen += [str(r["id"]) for r in answer.json()]
        headers.append(
            tuple(
                answer.headers[h]
                for h in ("X-FM-Page", "X-FM-Next-Page", "X-FM-Prev-Page", "X-FM-Entity-Count")
            )
        )
    assert seen == seeded  # id order, each once
    assert headers == [("0", "1", "0", "3"), ("1", "2", "0", "3"), ("2", "2", "1", "1")]


def test_the_default_page_holds_fifty(
    sandbox: SandboxControl, account: dict[str, Any], api: Api
) -> None:
    sandbox.seed("forcemanager", account["account_id"], 51, seed=3)
    first = api.call("GET", "contacts")
    assert len(first.json()) == 50 and first.headers["X-FM-Next-Page"] == "1"


def test_records_show_lookups_as_id_and_value_and_take_plain_ids(api: Api) -> None:
    spain = next(
        v["id"]
        for v in api.ok("GET", "values", params={"resourcename": "countries"})
        if v["value"] == "Spain"
    )
    contact_id = a_contact(api, countryId=spain, gender=1)
    stored = api.ok("GET", f"contacts/{contact_id}")
    assert stored["countryId"] == {"id": spain, "value": "Spain"}
    assert stored["gender"] == {"id": 1, "value": "Female"}
    assert stored["accountId"]["value"] == ""  # references come with a blank value
    assert stored["dateUpdated"] is None and stored["deleted"] is False
    refused = api.call("PUT", f"contacts/{contact_id}", json={"countryId": stored["countryId"]})
    assert refused.status_code == 400
    unknown = api.call("PUT", f"contacts/{contact_id}", json={"countryId": 999999})
    assert (unknown.status_code, unknown.json()["code"]) == (400, 910)


def test_required_fields_are_answered_with_400(api: Api) -> None:
    rep = api.account["users"][0]["id"]
    no_last = api.call(
        "POST",
        "contacts",
        json={"accountId": an_account_id(api), "firstName": "A", "salesRepId": rep},
    )
    assert no_last.status_code == 400 and "lastName" in no_last.json()["message"]
    no_branch = api.call("POST", "accounts", json={"name": "X", "salesRepId1": rep})
    assert no_branch.status_code == 400 and "branchId" in no_branch.json()["message"]
    contact_id = a_contact(api)
    cleared = api.call("PUT", f"contacts/{contact_id}", json={"firstName": ""})
    assert cleared.status_code == 400
    assert api.ok("GET", f"contacts/{contact_id}")["firstName"] == "Ana"


def test_a_put_changes_only_what_it_sends_and_stamps_date_updated(api: Api) -> None:
    contact_id = a_contact(api, email="ana@x.example")
    assert api.ok("PUT", f"contacts/{contact_id}", json={"firstName": "Anna"}) == {
        "Message": "entity updated"
    }
    stored = api.ok("GET", f"contacts/{contact_id}")
    assert (stored["firstName"], stored["email"]) == ("Anna", "ana@x.example")
    assert stored["dateUpdated"] is not None


def test_deletes_are_soft_and_listed_until_filtered_out(api: Api) -> None:
    kept, gone = a_contact(api), a_contact(api)
    assert api.ok("DELETE", f"contacts/{gone}") == {"Message": "entity deleted"}
    row = api.ok("GET", f"contacts/{gone}")
    assert row["deleted"] is True and row["dateDeleted"]
    assert api.where("contacts", "deleted=false") == [kept]
    assert gone in api.where("contacts", "deleted=true")
    again = api.call("DELETE", f"contacts/{gone}")
    assert (again.status_code, again.json()["code"]) == (400, 910)
    assert api.call("PUT", f"contacts/{gone}", json={"firstName": "X"}).status_code == 400


def test_where_finds_changes_by_date(api: Api) -> None:
    first = a_contact(api)
    boundary = api.ok("GET", f"contacts/{first}")["dateCreated"]
    second = a_contact(api)
    api.ok("PUT", f"contacts/{first}", json={"comment": "edited"})
    since = f"'{boundary}'"
    assert api.where("contacts", f"dateUpdated>{since} OR dateCreated>{since}") == [first, second]
    assert api.where("contacts", f"dateCreated>{since}") == [second]


def test_a_bad_where_is_a_400(api: Api) -> None:
    for bad in ("nosuchfield=1", "firstName=", "(deleted=false", "deleted=false AND", "a ; b"):
        answer = api.call("GET", "contacts", params={"where": bad})
        assert answer.status_code == 400, bad


def test_extra_fields_are_created_listed_and_stored_with_their_types(api: Api) -> None:
    created = api.call(
        "POST",
        "extrafields/contacts",
        json={"entity": "contacts", "fieldName": "Shoe", "type": "list", "description": "Shoe"},
    )
    assert created.status_code == 200 and created.json()["Message"] == "entity created"
    names = {f["fieldName"]: f for f in api.ok("GET", "extrafields/contacts")}
    assert names["Z_Shoe"]["type"] == "list" and "Z_Industry" in names
    twice = api.call("POST", "extrafields/contacts", json={"fieldName": "Z_Shoe", "type": "text"})
    assert twice.status_code == 400
    bad_type = api.call("POST", "extrafields/contacts", json={"fieldName": "X", "type": "blob"})
    assert bad_type.status_code == 400
    segment = api.ok("GET", "values", params={"resourcename": "segments"})[0]
    contact_id = a_contact(api, Z_Employees=12.5, Z_Vip=True, Z_Segment=segment["id"])
    stored = api.ok("GET", f"contacts/{contact_id}")
    assert (stored["Z_Employees"], stored["Z_Vip"]) == (12.5, True)
    assert stored["Z_Segment"] == segment
    assert stored["Z_Shoe"] is None and stored["Z_Interests"] == []
    wrong = api.call("PUT", f"contacts/{contact_id}", json={"Z_Vip": "yes"})
    assert wrong.status_code == 400
    assert api.call("PUT", f"contacts/{contact_id}", json={"Z_Nope": 1}).status_code == 400


def test_every_offered_resource_is_stored_with_its_references(api: Api) -> None:
    rep = api.account["users"][0]["id"]
    company = an_account_id(api)
    contact = a_contact(api)
    stage = api.ok("GET", "values", params={"resourcename": "opportunityStatuses"})[0]["id"]
    deal = api.ok(
        "POST",
        "opportunities",
        json={"reference": "Fleet deal", "accountId1": company, "contactId1": contact,
              "salesRepId": rep, "statusId": stage, "total": 1200},
    )["id"]  # fmt: skip
    visit = api.ok("GET", "values", params={"resourcename": "activityTypes"})[0]["id"]
    api.ok(
        "POST",
        "activities",
        json={"activityTypeId": visit, "salesRepId": rep, "opportunityId": deal},
    )
    start = "2026-12-01T10:00:00.000Z"
    for is_task in (False, True):
        api.ok(
            "POST",
            "calendars",
            json={"subject": "Call", "dateStart": start, "salesRepId": rep, "isTask": is_task},
        )
    assert len(api.where("calendars", "isTask=true")) == 1
    assert len(api.where("calendars", "isTask=false")) == 1
    dangling = api.call(
        "POST", "activities", json={"activityTypeId": visit, "salesRepId": rep, "contactId": 10**6}
    )
    assert (dangling.status_code, dangling.json()["code"]) == (400, 910)


FIELDS = {"a", "b", "name", "deleted", "dateUpdated"}


def matches(where: str, row: dict[str, Any]) -> bool:
    return Where(where, FIELDS, {"dateUpdated"}).predicate(row)


def test_where_and_binds_before_or_and_parentheses_group() -> None:
    row = {"a": 1, "b": 2, "name": "Ana", "deleted": False, "dateUpdated": None}
    assert matches("a=1 OR a=5 AND b=9", row)  # a=1 OR (a=5 AND b=9)
    assert not matches("(a=1 OR a=5) AND b=9", row)
    assert matches("name='ana' AND deleted=false", row)  # text without regard to case
    assert matches("name LIKE 'A%'", row) and not matches("name LIKE '%x%'", row)
    assert matches("dateUpdated=null", row) and not matches("dateUpdated>'2024-01-01'", row)
    assert matches("a<>2 and b>=2", row)


def test_where_compares_dates_as_moments() -> None:
    row = {"dateUpdated": parse_time("2024-05-01T10:00:00.500Z")}
    assert matches("dateUpdated>'2024-05-01T10:00:00.499Z'", row)
    assert matches("dateUpdated>'2024-05-01T12:00:00+02:00'", row)  # 10:00 UTC
    assert not matches("dateUpdated>'2024-05-01T12:00:01+02:00'", row)


@pytest.mark.parametrize("bad", ["a=", "a=1 OR", "(a=1", "zzz=1", "a LIKE 1", "a='x", "a=1 b=2"])
def test_where_refuses_what_it_cannot_read(bad: str) -> None:
    with pytest.raises(WhereError):
        Where(bad, FIELDS, set())
