"""GET /api/v1/lookup: token auth, tenant isolation, throttling, and number formats,
over index rows as the engine writes them (sync/lookup.py)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from sync.models import Account, AppAuthorization, Connection, PhoneEntry, RecordLink


def index(account: Account, number: str, name: str, country: str = "IT") -> None:
    auths = []
    for label in ("CRM", "PBX"):
        auth = AppAuthorization(account=account, vendor="wildix", label=label)
        auth.secrets = {}
        auth.save()
        auths.append(auth)
    connection = Connection.objects.create(
        account=account,
        name="c",
        a_authorization=auths[0],
        b_authorization=auths[1],
        default_phone_country=country,
    )
    link = RecordLink.objects.create(connection=connection, a_id="a1", b_id="b1")
    for side, auth, record_id in (("a", auths[0], "a1"), ("b", auths[1], "b1")):
        PhoneEntry.objects.create(
            account=account,
            link=link,
            authorization=auth,
            side=side,
            vendor=auth.vendor,
            record_id=record_id,
            phone=number,
            name=name,
            company="Acme",
        )


@pytest.mark.parametrize(
    "typed",
    ["06 4567 8901", "06-4567-8901", "+39 06 4567 8901", "+390645678901", "0039064567890 1"],
)
def test_a_number_in_any_format_finds_the_one_person(
    owner_api: APIClient, account: Account, typed: str
) -> None:
    index(account, "+390645678901", "Luca Verdi")
    body = owner_api.get("/api/v1/lookup", {"phone": typed}).json()
    [person] = body["matches"]
    assert person["name"] == "Luca Verdi" and person["company"] == "Acme"
    assert [r["record_id"] for r in person["records"]] == ["a1", "b1"]


def test_an_outsider_gets_nothing_of_another_tenant(
    outsider_api: APIClient, account: Account, other_account: Account
) -> None:
    index(account, "+390645678901", "Luca Verdi")
    index(other_account, "+390699999999", "Globex Person")
    assert outsider_api.get("/api/v1/lookup", {"phone": "+390645678901"}).json()["matches"] == []


def test_no_token_no_answer_and_garbage_is_no_number(
    owner_api: APIClient, account: Account
) -> None:
    index(account, "+390645678901", "Luca Verdi")
    assert APIClient().get("/api/v1/lookup", {"phone": "0645678901"}).status_code in (401, 403)
    assert owner_api.get("/api/v1/lookup").status_code == 400
    body = owner_api.get("/api/v1/lookup", {"phone": "reception"}).json()
    assert body == {"phone": "reception", "numbers": [], "matches": []}


def test_lookups_are_throttled(owner_api: APIClient, account: Account, settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "2/minute"},
    }
    codes = [owner_api.get("/api/v1/lookup", {"phone": "0645678901"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
