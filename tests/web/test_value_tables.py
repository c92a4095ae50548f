"""The value table of a choice pair on the mapping page (issue 17): the fake apps' status
fields both declare their values ("lead", "customer"), so a pair of them translates its
values: by name unless the tenant chooses, per element, posted with CSRF."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from sync.models import Account, Connection, ConnectionEntity, FieldMapping, Tier
from tests.fakes.connector import FakeApp, FakeConnector


def mapping_page(connection: Connection, query: str = "") -> str:
    return reverse("web:setup_mapping", args=[connection.pk]) + query


@pytest.fixture
def status_pair(draft: Connection) -> FieldMapping:
    return FieldMapping.objects.create(connection=draft, a_field="status", b_field="status")


def test_the_page_shows_the_values_paired_by_name(
    owner_client: Client, draft: Connection, status_pair: FieldMapping
) -> None:
    page = owner_client.get(mapping_page(draft)).content.decode()
    assert f'id="values-{status_pair.pk}"' in page
    assert 'name="a_to_b-0"' in page and 'name="b_to_a-1"' in page
    assert "By name: lead" in page and "By name: customer" in page


def test_a_pair_that_copies_its_values_has_no_table(
    owner_client: Client, draft: Connection
) -> None:
    notes = FieldMapping.objects.create(connection=draft, a_field="notes", b_field="notes")
    assert f'id="values-{notes.pk}"' not in owner_client.get(mapping_page(draft)).content.decode()


def test_posting_the_table_stores_the_chosen_values(
    owner_client: Client, draft: Connection, status_pair: FieldMapping
) -> None:
    response = owner_client.post(
        mapping_page(draft),
        {"op": "values", "pair": status_pair.pk, "a_to_b-0": "customer", "a_to_b-1": ""},
    )
    assert response.status_code == 302
    status_pair.refresh_from_db()
    assert status_pair.value_map == {"a_to_b": {"lead": "customer"}}
    page = owner_client.get(mapping_page(draft)).content.decode()
    assert '<option value="customer" selected>customer</option>' in page


def test_a_value_neither_app_knows_is_refused(
    owner_client: Client, draft: Connection, status_pair: FieldMapping
) -> None:
    response = owner_client.post(
        mapping_page(draft),
        {"op": "values", "pair": status_pair.pk, "a_to_b-0": "vip"},
        follow=True,
    )
    assert "not a value of these fields" in response.content.decode()
    status_pair.refresh_from_db()
    assert status_pair.value_map == {}


def test_the_table_is_posted_with_csrf(draft: Connection, owner, status_pair) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(
        mapping_page(draft), {"op": "values", "pair": status_pair.pk, "a_to_b-0": "customer"}
    )
    assert response.status_code == 403
    status_pair.refresh_from_db()
    assert status_pair.value_map == {}


def test_member_cannot_change_the_values(
    member_client: Client, draft: Connection, status_pair: FieldMapping
) -> None:
    response = member_client.post(
        mapping_page(draft), {"op": "values", "pair": status_pair.pk, "a_to_b-0": "customer"}
    )
    assert response.status_code == 403


def test_another_tenants_pair_is_not_found(
    owner_client: Client, draft: Connection, foreign_connection: Connection
) -> None:
    theirs = FieldMapping.objects.create(
        connection=foreign_connection, a_field="status", b_field="status"
    )
    response = owner_client.post(
        mapping_page(draft), {"op": "values", "pair": theirs.pk, "a_to_b-0": "customer"}
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.value_map == {}


def test_outsider_cannot_see_the_tables(
    outsider_client: Client, draft: Connection, status_pair: FieldMapping
) -> None:
    assert outsider_client.get(mapping_page(draft)).status_code == 404


# --- A contact's company twice


@pytest.fixture
def business(account: Account) -> Account:
    account.tier = Tier.BUSINESS
    account.save(update_fields=["tier"])
    return account


@pytest.fixture
def referencing(web_apps: dict[str, FakeApp]) -> None:
    """Both apps' contacts refer to their company, and both apps have companies."""
    for name in ("crm", "news"):
        web_apps[name].company_ref = True
        FakeConnector.make_app(f"{name}:companies", kind="company")


def test_companies_synced_leave_the_default_company_name_pair_off(
    owner_client: Client, draft: Connection, referencing: None, business
) -> None:
    owner_client.post(mapping_page(draft), {"op": "defaults"})
    name_pair = FieldMapping.objects.get(connection=draft, entity="contact", a_field="company")
    assert name_pair.enabled
    response = owner_client.post(
        reverse("web:setup_entities", args=[draft.pk]), {"direction_company": "two_way"}
    )
    assert response.status_code == 302, response.content.decode()
    assert ConnectionEntity.objects.get(connection=draft, entity="company").enabled
    name_pair.refresh_from_db()
    assert not name_pair.enabled
    assert FieldMapping.objects.get(connection=draft, a_field="company_id").enabled


def test_mapping_both_the_company_and_its_name_warns(
    owner_client: Client, draft: Connection, referencing: None, business
) -> None:
    owner_client.post(
        reverse("web:setup_entities", args=[draft.pk]), {"direction_company": "two_way"}
    )
    owner_client.post(mapping_page(draft), {"op": "defaults"})
    assert not FieldMapping.objects.filter(connection=draft, a_field="company").exists()
    assert "data-mapping-warning" not in owner_client.get(mapping_page(draft)).content.decode()
    FieldMapping.objects.create(connection=draft, a_field="company", b_field="company")
    page = owner_client.get(mapping_page(draft)).content.decode()
    assert "data-mapping-warning" in page
    assert "pairs the company&#x27;s name while the company itself is synced" in page
