"""The wizard's Elements step and the per-element mapping and rules (issue 17): the
fake apps "crm" and "news" of tests/web/conftest.py, each with its companies in a
companion app (tests/fakes/connector.py), so both apps offer companies."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sync.models import (
    Account,
    Connection,
    ConnectionEntity,
    FieldMapping,
    Rule,
    SyncEvent,
    Tier,
)
from tests.fakes.connector import FakeApp, FakeConnector


@pytest.fixture
def companies(web_apps: dict[str, FakeApp]) -> dict[str, FakeApp]:
    """Companies in both apps: both offer the element "company"."""
    return {
        name: FakeConnector.make_app(f"{name}:companies", kind="company")
        for name in ("crm", "news")
    }


@pytest.fixture
def business(account: Account) -> Account:
    account.tier = Tier.BUSINESS
    account.save(update_fields=["tier"])
    return account


def step(name: str, connection: Connection, query: str = "") -> str:
    return reverse(f"web:{name}", args=[connection.pk]) + query


def elements(client: Client, connection: Connection, **posted: Any) -> Any:
    return client.post(step("setup_entities", connection), posted)


def test_step_is_left_out_when_the_apps_share_only_contacts(
    owner_client: Client, draft: Connection
) -> None:
    page = owner_client.get(step("setup_scopes", draft)).content.decode()
    assert step("setup_entities", draft) not in page
    assert "Elements" not in page


def test_step_follows_the_scopes_when_both_apps_have_companies(
    owner_client: Client, draft: Connection, companies: Any, business: Account
) -> None:
    response = owner_client.post(
        step("setup_scopes", draft),
        {"a_scope": "", "b_scope": "", "direction": "two_way", "continue": "1"},
    )
    assert response["Location"] == step("setup_entities", draft)


def test_companies_are_offered_pre_checked_and_mandatory(
    owner_client: Client, draft: Connection, companies: Any, business: Account
) -> None:
    page = owner_client.get(step("setup_entities", draft)).content.decode()
    assert "Companies" in page
    assert "Mandatory: both apps have companies" in page
    assert 'name="entity_company" value="1" checked disabled' in page
    # A one-way direction whose deletions are off carries new and updated records only.
    assert "Acme CRM → Acme newsletter, new and updated only" in page


def test_saving_syncs_companies_with_their_direction_mapping_and_rules(
    owner_client: Client, draft: Connection, companies: Any, business: Account
) -> None:
    response = elements(owner_client, draft, direction_company="a_to_b", **{"continue": "1"})
    assert response.status_code == 302
    row = ConnectionEntity.objects.get(connection=draft, entity="company")
    assert (row.enabled, row.direction, row.a_scope, row.b_scope) == (
        True,
        "a_to_b",
        "companies",
        "companies",
    )
    assert FieldMapping.objects.filter(connection=draft, entity="company").exists()
    rules = Rule.objects.filter(connection=draft, entity="company")
    assert [r.direction for r in rules] == ["a_to_b"]
    assert rules[0].name == "Companies: all records Acme CRM → Acme newsletter"


def test_companies_are_kept_when_unchecked(
    owner_client: Client, draft: Connection, companies: Any, business: Account
) -> None:
    elements(owner_client, draft, entity_company="1", direction_company="two_way")
    elements(owner_client, draft)  # the disabled box posts nothing: companies stay
    assert ConnectionEntity.objects.get(connection=draft, entity="company").enabled


def test_plan_without_companies_greys_them_and_refuses_them_when_posted(
    owner_client: Client, draft: Connection, companies: Any
) -> None:
    page = owner_client.get(step("setup_entities", draft)).content.decode()
    assert 'class="unavailable"' in page
    assert "needs the Business plan" in page
    response = elements(owner_client, draft, entity_company="1", direction_company="two_way")
    assert response.status_code == 400
    refusal = "Syncing companies needs the Business plan; your plan is Team."
    assert refusal in response.content.decode()
    assert not ConnectionEntity.objects.filter(connection=draft).exists()
    # Contacts alone still save on that plan.
    assert elements(owner_client, draft).status_code == 302


def test_companies_going_against_one_way_contacts_are_refused(
    owner_client: Client, draft: Connection, companies: Any, business: Account
) -> None:
    draft.direction = "a_to_b"
    draft.save()
    response = elements(owner_client, draft, direction_company="b_to_a")
    assert response.status_code == 400
    assert "companies must sync at least the way the contacts do" in response.content.decode()
    assert not ConnectionEntity.objects.filter(connection=draft).exists()


def test_member_cannot_choose_elements(
    member_client: Client, draft: Connection, companies: Any, business: Account
) -> None:
    assert elements(member_client, draft, direction_company="two_way").status_code == 403
    assert not ConnectionEntity.objects.filter(connection=draft).exists()


def test_outsider_cannot_see_the_elements(
    outsider_client: Client, draft: Connection, companies: Any
) -> None:
    assert outsider_client.get(step("setup_entities", draft)).status_code == 404


@pytest.fixture
def with_companies(
    owner_client: Client, draft: Connection, companies: Any, business: Account
) -> Connection:
    """The draft syncing companies two-way besides its contacts."""
    elements(owner_client, draft, direction_company="two_way")
    return draft


def test_mapping_step_switches_to_the_companies_pairs(
    owner_client: Client, with_companies: Connection
) -> None:
    page = owner_client.get(step("setup_mapping", with_companies)).content.decode()
    assert step("setup_mapping", with_companies, "?entity=company") in page  # the switcher
    page = owner_client.get(step("setup_mapping", with_companies, "?entity=company")).content
    text = page.decode()
    assert "Field mapping · Companies" in text
    # The companies' pairs, not the contacts'.
    assert '<td>Domain <small class="muted">text</small></td>' in text
    assert '<td>Email <small class="muted">email</small></td>' not in text


def test_custom_pair_of_companies_is_stored_for_companies(
    owner_client: Client, with_companies: Connection
) -> None:
    response = owner_client.post(
        step("setup_mapping", with_companies, "?entity=company"),
        {"op": "add", "a_field": "notes", "b_field": "notes", "direction": "both"},
    )
    assert response["Location"] == step("setup_mapping", with_companies, "?entity=company")
    pair = FieldMapping.objects.get(connection=with_companies, a_field="notes")
    assert pair.entity == "company"


def test_rules_step_shows_and_adds_the_companies_rules(
    owner_client: Client, with_companies: Connection
) -> None:
    here = step("setup_rules", with_companies, "?entity=company")
    assert "Companies: all records" in owner_client.get(here).content.decode()
    assert "Companies: all records" not in (
        owner_client.get(step("setup_rules", with_companies)).content.decode()
    )
    owner_client.post(here, {"op": "add_rule", "direction": "b_to_a", "name": "Big ones"})
    assert Rule.objects.get(connection=with_companies, name="Big ones").entity == "company"


def test_an_element_the_connection_does_not_sync_is_not_found(
    owner_client: Client, draft: Connection
) -> None:
    assert owner_client.get(step("setup_mapping", draft, "?entity=task")).status_code == 404


# --- The ops console's inline, checked by sync/setup.py


def admin_post(client: Client, connection: Connection, **row: Any) -> str:
    """Save ``connection``'s admin page with its first element row set to ``row``."""
    from tests.core.test_capabilities import admin_form_data

    url = reverse("admin:sync_connection_change", args=[connection.pk])
    data = admin_form_data(client.get(url))
    existing = ConnectionEntity.objects.filter(connection=connection).first()
    if existing is None:
        data["entities-TOTAL_FORMS"] = 1
    else:
        data["entities-0-id"] = existing.pk
    data.pop("entities-0-enabled", None)
    for name, value in row.items():
        if value is not False:
            data[f"entities-0-{name}"] = "on" if value is True else value
    data.setdefault("entities-0-position", 0)
    return client.post(url, data).content.decode()


def test_ops_console_sets_companies_up_through_setup(
    admin_client: Client, draft: Connection, companies: Any, business: Account
) -> None:
    admin_post(admin_client, draft, entity="company", direction="two_way", enabled=True)
    row = ConnectionEntity.objects.get(connection=draft, entity="company")
    assert (row.a_scope, row.b_scope) == ("companies", "companies")  # the apps' scopes
    assert Rule.objects.filter(connection=draft, entity="company").count() == 2
    assert FieldMapping.objects.filter(connection=draft, entity="company").exists()
    page = admin_post(admin_client, draft, entity="company", direction="two_way", enabled=False)
    assert "Both apps have companies: sync them with the contacts." in page
    assert ConnectionEntity.objects.get(connection=draft, entity="company").enabled


def test_ops_console_refuses_an_element_outside_the_plan(
    admin_client: Client, draft: Connection, companies: Any
) -> None:
    page = admin_post(admin_client, draft, entity="company", direction="two_way", enabled=True)
    assert "Syncing companies needs the Business plan; your plan is Team." in page
    assert not ConnectionEntity.objects.filter(connection=draft).exists()


# --- Statistics per element


def stats(client: Client, connection: Connection, query: str = "") -> Any:
    return client.get(reverse("web:stats", args=[connection.pk]) + query)


def record_events(connection: Connection) -> None:
    """Two companies and a contact synced A → B, one company failing back B → A."""
    for entity, label in (("company", "Acme Inc"), ("company", "Beta Ltd"), ("contact", "ann@x")):
        SyncEvent.objects.create(
            connection=connection, entity=entity, action="create", direction="a_to_b", label=label
        )
    SyncEvent.objects.create(
        connection=connection,
        entity="company",
        action="error",
        direction="b_to_a",
        status="error",
        label="Gamma SA",
        error="Name is required",
    )


def test_statistics_count_and_list_per_element(
    member_client: Client, connection: Connection
) -> None:
    ConnectionEntity.objects.create(connection=connection, entity="company")
    record_events(connection)
    response = stats(member_client, connection)
    crm, news = "Fake app · Acme CRM", "Fake app · Acme newsletter"
    totals = [
        (row["label"], row["direction"], row["created"], row["errors"])
        for row in response.context["totals"]
    ]
    assert totals == [
        ("Companies", f"{crm} → {news}", 2, 0),
        ("Companies", f"{news} → {crm}", 0, 1),
        ("Contacts", f"{crm} → {news}", 1, 0),
    ]
    page = response.content.decode()
    assert '<option value="company" >Companies</option>' in page  # the element filter
    assert '<td class="word">Companies</td>' in page  # each record's element
    assert "Fake app · Acme newsletter → Fake app · Acme CRM" in page  # its direction
    assert "Name is required" in page  # its result

    only = stats(member_client, connection, "?entity=contact").content.decode()
    assert "ann@x" in only and "Acme Inc" not in only and "Gamma SA" not in only


def test_statistics_name_the_apps_in_each_direction(
    member_client: Client, connection: Connection, auth_b: Any
) -> None:
    auth_b.vendor = "other"  # an app no longer installed shows by its key
    auth_b.save()
    record_events(connection)
    page = stats(member_client, connection).content.decode()
    assert "other → Fake app" in page


def test_statistics_of_contacts_alone_have_no_element_column(
    member_client: Client, connection: Connection
) -> None:
    SyncEvent.objects.create(
        connection=connection, action="create", direction="a_to_b", label="ann@x"
    )
    page = stats(member_client, connection).content.decode()
    assert "ann@x" in page
    assert 'name="entity"' not in page  # no element filter
    assert '<th scope="col">Entity</th><th scope="col">Action' not in page
    assert '<tr data-entity="contact"><td class="word">Contacts</td>' in page  # the totals say it


def test_ops_console_judges_a_companies_rule_by_the_companies_fields(
    admin_client: Client, with_companies: Connection
) -> None:
    rule = Rule.objects.get(connection=with_companies, entity="company", direction="a_to_b")
    data = {"rule": rule.pk, "kind": "field", "field": "domain", "operator": "equals"}
    response = admin_client.post(reverse("admin:sync_rulefilter_add"), data | {"value": "x"})
    assert response.status_code == 302  # "domain" is a company field, unknown to contacts
    assert rule.filters.get().field == "domain"


def test_a_company_explains_itself_by_the_companies_pairs(
    member_client: Client, with_companies: Connection
) -> None:
    from sync.models import RecordLink

    link = RecordLink.objects.create(
        connection=with_companies,
        entity="company",
        a_id="c1",
        b_id="c2",
        a_fields={"name": "Acme Inc", "domain": "acme.example"},
        b_fields={"name": "Acme Inc", "domain": "acme.example"},
    )
    url = reverse("web:record_explain", args=[with_companies.pk, link.pk])
    base = member_client.get(url).context["base"]
    assert {(row["a_field"], row["value"]) for row in base} >= {
        ("name", "Acme Inc"),
        ("domain", "acme.example"),
    }
