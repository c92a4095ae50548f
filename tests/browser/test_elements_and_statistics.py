"""Issue 17 in the browser: a user sets up a connection between two apps that both have
companies, finds companies chosen (and mandatory) next to the contacts in the Elements
step, picks their direction, previews, starts, and reads the statistics per element.
The apps are the in-memory fake connector (vendor "fake"), served to the live server
of this process; the engine runs in the request (django-q2 sync)."""

from __future__ import annotations

from typing import Any

import pytest

from sync.models import Account, AppAuthorization, Connection, ConnectionEntity, Tier
from tests.browser.conftest import screenshot
from tests.fakes.connector import FakeApp
from tests.plugins.personas import PERSONA_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def apps(monkeypatch: pytest.MonkeyPatch, account: Account, owner: Any) -> dict[str, FakeApp]:
    """A CRM with a company and its two contacts, and a newsletter with one company of
    its own; contacts refer to their company in both apps. Acme is on the Business plan,
    which syncs companies."""
    from connectors.registry import VENDORS
    from tests.fakes.connector import FakeConnector

    monkeypatch.setitem(VENDORS, "fake", "tests.fakes.connector.FakeConnector")
    monkeypatch.setattr(FakeConnector, "apps", {})
    account.tier = Tier.BUSINESS
    account.save(update_fields=["tier"])
    made = {}
    for store, label in (("crm", "Acme CRM"), ("news", "Acme newsletter")):
        made[store] = FakeConnector.make_app(store, company_ref=True)
        made[f"{store}:companies"] = FakeConnector.make_app(f"{store}:companies", kind="company")
        auth = AppAuthorization(account=account, vendor="fake", label=label, owner=owner)
        auth.secrets, auth.settings = {"api_key": "k"}, {"store": store}
        auth.save()
    acme = made["crm:companies"].add(name="Acme Inc", domain="acme.example")
    made["crm"].add(email="ann@acme.example", first_name="Ann", company_id=acme)
    made["crm"].add(email="bob@acme.example", first_name="Bob", company_id=acme)
    made["news:companies"].add(name="Beta Ltd", domain="beta.example")
    return made


def sign_in(page: Any, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PERSONA_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Connections").wait_for()


def test_user_chooses_companies_and_contacts_and_reads_the_statistics_per_element(
    page: Any, live_server: Any, apps: dict[str, FakeApp]
) -> None:
    base = live_server.url
    sign_in(page, base)
    page.goto(f"{base}/connections/new/")
    page.get_by_label("Name").fill("CRM ⇄ newsletter")
    page.get_by_label("App 1 (side A)").select_option(label="Acme CRM (fake)")
    page.get_by_label("App 2 (side B)").select_option(label="Acme newsletter (fake)")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="What to sync, and which way").wait_for()
    page.get_by_role("button", name="Save and continue").click()

    # Elements: contacts always, companies pre-checked and mandatory; choose one way.
    page.get_by_role("heading", name="Elements to sync").wait_for()
    companies = page.locator('tr[data-entity="company"]')
    assert companies.get_by_role("checkbox").is_checked()
    assert companies.get_by_role("checkbox").is_disabled()
    companies.get_by_text("Mandatory: both apps have companies").wait_for()
    companies.get_by_label("Direction of Companies").select_option("two_way")
    screenshot(page, "17-01-elements")
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_text("Elements saved.").wait_for()
    connection = Connection.objects.get(name="CRM ⇄ newsletter")
    assert ConnectionEntity.objects.get(connection=connection, entity="company").enabled

    # The mapping step switches to the companies' own pairs.
    page.goto(f"{base}/connections/{connection.pk}/setup/mapping/")
    page.locator(".entity-switch").get_by_role("link", name="Companies").click()
    page.get_by_role("heading", name="Field mapping · Companies").wait_for()
    assert page.locator("#mapping tr", has_text="Domain").count() == 1
    screenshot(page, "17-02-mapping-companies")

    # Preview, then start: the initial sync runs in the request.
    page.goto(f"{base}/connections/{connection.pk}/setup/preview/")
    page.get_by_role("button", name="Run the preview").click()
    page.locator("table.preview").wait_for()
    page.get_by_role("button", name="Start syncing").click()
    page.locator('[data-run-status="succeeded"], [data-run-status="partial"]').wait_for()

    # Statistics: each element counted, each record with its element, direction, result.
    page.get_by_role("link", name="Statistics").click()
    totals = page.locator('tr[data-entity="company"]', has_text="Acme CRM → ")
    assert totals.locator("td.num").first.inner_text() == "1"  # Acme Inc created in news
    rows = page.locator("table.records tbody tr")
    rows.first.wait_for()
    acme = page.locator("table.records tbody tr", has_text="Acme Inc")
    assert acme.locator("td").nth(1).inner_text() == "Companies"
    assert "Fake app · Acme CRM → Fake app · Acme newsletter" in acme.inner_text()
    assert "OK" in acme.inner_text()
    screenshot(page, "17-03-statistics")
    page.get_by_label("Entity").select_option(label="Companies")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name="Clear the filters").wait_for()
    listed = page.locator("table.records tbody tr")
    assert listed.count() == 2  # Acme Inc to news, Beta Ltd to the CRM
    assert all(row.get_attribute("data-entity") == "company" for row in listed.all())
    screenshot(page, "17-04-statistics-companies")
    # The contacts landed with their company: the newsletter's Ann points at its Acme.
    news_companies = apps["news:companies"].records.items()
    news_acme = next(rid for rid, r in news_companies if r.fields.get("name") == "Acme Inc")
    ann = next(r for r in apps["news"].records.values() if r.fields.get("first_name") == "Ann")
    assert ann.fields["company_id"] == news_acme
