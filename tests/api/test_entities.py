"""A connection's elements through the API (issue 17): list what both apps offer, sync
one more, change its direction, stop it; the plan and the companies' rules refuse in
the wizard's words. The fake apps "a" and "b" have their companies in companion apps."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from sync.models import Account, Connection, ConnectionEntity, Tier
from tests.plugins.fake import make_fake_connection


@pytest.fixture
def connection(fake_vendor: Any, account: Account) -> Connection:
    """Acme's fake contacts a ⇄ b, both apps with companies, on the Business plan."""
    account.tier = Tier.BUSINESS
    account.save(update_fields=["tier"])
    apps = [fake_vendor.make_app(name) for name in ("a", "b")]
    for name in ("a", "b"):
        fake_vendor.make_app(f"{name}:companies", kind="company")
    return make_fake_connection(account, *apps)


def url(connection: Connection, entity: str = "") -> str:
    return f"/api/v1/connections/{connection.pk}/entities/" + (f"{entity}/" if entity else "")


def test_lists_the_elements_both_apps_offer(member_api: APIClient, connection: Connection) -> None:
    answer = member_api.get(url(connection))
    assert answer.status_code == 200
    assert answer.json() == [
        {
            "entity": "company",
            "label": "Companies",
            "enabled": False,
            "direction": "two_way",
            "mandatory": True,
            "needs": "",
        }
    ]


def test_owner_syncs_companies_one_way_then_two_way(
    owner_api: APIClient, connection: Connection
) -> None:
    answer = owner_api.post(url(connection), {"entity": "company", "direction": "a_to_b"})
    assert answer.status_code == 201, answer.json()
    assert answer.json()["enabled"] is True
    row = ConnectionEntity.objects.get(connection=connection, entity="company")
    assert row.direction == "a_to_b"
    answer = owner_api.patch(url(connection, "company"), {"direction": "two_way"}, format="json")
    assert answer.status_code == 200
    row.refresh_from_db()
    assert row.direction == "two_way"
    assert connection.rules.filter(entity="company").count() == 2


def test_companies_cannot_be_stopped_while_both_apps_have_them(
    owner_api: APIClient, connection: Connection
) -> None:
    owner_api.post(url(connection), {"entity": "company"})
    answer = owner_api.delete(url(connection, "company"))
    assert answer.status_code == 400
    assert answer.json() == {"entity": ["Both apps have companies: sync them with the contacts."]}
    answer = owner_api.patch(url(connection, "company"), {"enabled": False}, format="json")
    assert answer.status_code == 400
    assert ConnectionEntity.objects.get(connection=connection, entity="company").enabled


def test_an_element_the_plan_lacks_is_refused_in_the_wizards_words(
    owner_api: APIClient, connection: Connection, account: Account
) -> None:
    account.tier = Tier.TEAM
    account.save(update_fields=["tier"])
    listed = owner_api.get(url(connection)).json()
    assert (listed[0]["needs"], listed[0]["mandatory"]) == ("needs the Business plan", False)
    answer = owner_api.post(url(connection), {"entity": "company"})
    assert answer.status_code == 400
    assert answer.json() == {
        "entity": ["Syncing companies needs the Business plan; your plan is Team."]
    }
    assert not ConnectionEntity.objects.filter(connection=connection).exists()


def test_an_element_an_app_lacks_is_refused(owner_api: APIClient, connection: Connection) -> None:
    answer = owner_api.post(url(connection), {"entity": "task"})
    assert answer.status_code == 400
    assert answer.json() == {"entity": ["Fake a offers no task records."]}


def test_member_cannot_add_an_element(member_api: APIClient, connection: Connection) -> None:
    assert member_api.post(url(connection), {"entity": "company"}).status_code == 403
    assert not ConnectionEntity.objects.filter(connection=connection).exists()


def test_outsider_cannot_see_the_elements(outsider_api: APIClient, connection: Connection) -> None:
    assert outsider_api.get(url(connection)).status_code == 404
    assert outsider_api.post(url(connection), {"entity": "company"}).status_code == 404
    assert not ConnectionEntity.objects.filter(connection=connection).exists()


def test_an_element_not_synced_is_not_found(owner_api: APIClient, connection: Connection) -> None:
    assert owner_api.delete(url(connection, "company")).status_code == 404


def test_events_and_stats_per_element(member_api: APIClient, connection: Connection) -> None:
    from sync.models import SyncEvent

    for entity in ("company", "company", "contact"):
        SyncEvent.objects.create(
            connection=connection, entity=entity, action="create", direction="a_to_b"
        )
    base = f"/api/v1/connections/{connection.pk}"
    listed = member_api.get(f"{base}/events/?entity=company").json()["results"]
    assert [e["entity"] for e in listed] == ["company", "company"]
    rows = member_api.get(f"{base}/stats/").json()
    assert [(r["entity"], r["action"], r["count"]) for r in rows] == [
        ("company", "create", 2),
        ("contact", "create", 1),
    ]
