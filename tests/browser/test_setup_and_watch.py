"""A user signs in, connects two GetResponse accounts of the sandbox, builds a
connection with a rule and a custom field pair, previews it, starts it, watches the
progress bar finish, sees the synced records in the statistics tab, then pauses and
resumes it. Real HTTP all the way: the browser to the live Django server, the connectors
to the sandbox server on loopback; the engine runs in the request (django-q2 sync)."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.sandbox.control import SandboxControl
from sync.models import Connection, SyncEvent
from tests.browser.conftest import screenshot
from tests.plugins.personas import PERSONA_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VENDOR = "getresponse"


def sign_in(page: Any, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    screenshot(page, "01-sign-in")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PERSONA_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Connections").wait_for()


def connect_getresponse(page: Any, base: str, label: str, key: str) -> None:
    page.goto(f"{base}/apps/")
    page.get_by_role("link", name="Connect GetResponse").click()
    page.get_by_label("Label").fill(label)
    page.get_by_label("API key").fill(key)
    # No API address to type: the platform knows GetResponse's (here, the sandbox's).
    assert page.get_by_label("API base URL (optional)").count() == 0
    page.get_by_role("button", name="Connect").click()
    page.get_by_text(f"GetResponse is connected as “{label}”.").wait_for()


def test_user_sets_up_a_connection_and_watches_it_sync(
    page: Any, live_server: Any, sandbox: SandboxControl, owner: Any
) -> None:
    base = live_server.url
    shop = sandbox.create_account(VENDOR, name="Shop", lists=["shop_customers"])
    news = sandbox.create_account(VENDOR, name="News", lists=["newsletter"])
    sandbox.seed(VENDOR, shop["account_id"], 6, seed=1)
    sandbox.seed(VENDOR, news["account_id"], 4, seed=2)

    sign_in(page, base)
    connect_getresponse(page, base, "Shop", shop["api_key"])
    connect_getresponse(page, base, "News", news["api_key"])
    page.get_by_text("OK").first.wait_for()
    screenshot(page, "02-apps")

    # Step 1: the two apps.
    page.goto(f"{base}/connections/new/")
    page.get_by_label("Name").fill("Shop ⇄ News")
    page.get_by_label("App 1 (side A)").select_option(label="Shop (getresponse)")
    page.get_by_label("App 2 (side B)").select_option(label="News (getresponse)")
    page.get_by_role("button", name="Continue").click()

    # Step 2: lists and direction (two-way is the default).
    page.get_by_role("heading", name="What to sync, and which way").wait_for()
    page.get_by_label("In GetResponse · Shop (side A), sync").select_option(
        label="shop_customers (list)"
    )
    page.get_by_label("In GetResponse · News (side B), sync").select_option(
        label="newsletter (list)"
    )
    page.get_by_role("button", name="Save and continue").click()

    # Step 3: a rule action on Shop → News, added in place by htmx.
    rule = page.locator("article.rule").first
    rule.get_by_text("Add an action").click()
    rule.get_by_label("Then", exact=True).select_option("add_tag")
    rule.get_by_label("Action value").fill("from_shop")
    rule.get_by_role("button", name="Add action").click()
    page.locator("article.rule").first.get_by_text("“from_shop”").wait_for()
    screenshot(page, "03-rules")
    page.get_by_role("button", name="Save and continue").click()

    # Step 4: options as they are.
    page.get_by_role("heading", name="Options").wait_for()
    page.get_by_role("button", name="Save and continue").click()

    # Step 5: a custom pair next to the locked defaults.
    page.get_by_role("heading", name="Field mapping").wait_for()
    page.get_by_label("Field on A").select_option("scoring")
    page.get_by_label("Field on B").select_option("scoring")
    page.get_by_role("button", name="Add the pair").click()
    page.locator("#mapping tr", has_text="Scoring").get_by_text("custom").wait_for()
    screenshot(page, "04-mapping")
    page.get_by_role("button", name="Save and continue").click()

    # No Users step: GetResponse has no owners to link (issue 21), so on to the preview.
    page.get_by_role("button", name="Run the preview").click()
    page.locator("table.preview").wait_for()
    screenshot(page, "05-preview")

    # Start: the initial sync runs; the dashboard's progress bar reaches 100 %.
    page.get_by_role("button", name="Start syncing").click()
    page.locator('[data-run-status="succeeded"], [data-run-status="partial"]').wait_for()
    page.locator('[data-state="active"]').wait_for()
    assert page.locator("[data-progress]").inner_text() == "100"
    screenshot(page, "06-dashboard")

    # Statistics: the records the initial sync created on each side.
    page.get_by_role("link", name="Statistics").click()
    rows = page.locator("table.records tbody tr")
    rows.first.wait_for()
    connection = Connection.objects.get(name="Shop ⇄ News")
    created = SyncEvent.objects.filter(connection=connection, action="create").count()
    assert created == 10  # 6 shop contacts to News, 4 news contacts to Shop
    assert rows.count() == created
    screenshot(page, "07-statistics")

    # Explain one record that came from the shop: its rule, key and fields.
    from_shop = page.locator("table.records tbody tr", has_text="GetResponse · Shop → ")
    from_shop.first.get_by_role("link").click()
    page.get_by_role("heading", name="Why this record syncs as it does").wait_for()
    assert page.get_by_text("All contacts Shop → News").count() == 1
    assert page.locator("dd", has_text="email").count() >= 1
    screenshot(page, "07b-explain")
    page.go_back()
    # In News: its own 4 contacts and the shop's 6, which carry the rule's tag.
    news_contacts = sandbox.state(VENDOR, news["account_id"])["accounts"][news["account_id"]]
    contacts = news_contacts["contacts"] + news_contacts["pending"]
    assert len(contacts) == 10
    assert sum("from_shop" in c["tags"] for c in contacts) == 6

    # Pause and resume.
    page.get_by_role("link", name="Dashboard").click()
    page.get_by_role("button", name="Pause").click()
    page.locator('[data-state="paused"]').wait_for()
    page.get_by_role("button", name="Resume").click()
    page.locator('[data-state="active"]').wait_for()
    connection.refresh_from_db()
    assert connection.state == "active"

    # The dashboard and the statistics also fit a phone's width (no sideways scrolling).
    page.set_viewport_size({"width": 390, "height": 844})
    assert overflowing(page) == []
    screenshot(page, "08-dashboard-phone")
    page.get_by_role("link", name="Statistics").click()
    assert overflowing(page) == []
    screenshot(page, "09-statistics-phone")


def overflowing(page: Any) -> list[str]:
    """Elements wider than the window (tables may scroll inside their own box)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => !e.parentElement.closest('.table-wrap'))
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .map(e => e.tagName + '.' + e.className)"""
    )
