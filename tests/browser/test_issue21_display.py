"""Issue 21, the layout points a browser shows (14, 24): direction radios beside their
words, the options form one field group under the other, long names without spaces never
widening a page, the records table showing error texts whole, and the statistics tab one
line per record. In Chromium at 1,280 px against the live server, with the in-memory fake
apps (they live in this process, as the live server does)."""

from __future__ import annotations

from typing import Any

import pytest

from sync.engine.run import run_connection
from sync.models import Account, AppAuthorization, Connection, SyncEvent
from tests.browser.conftest import screenshot
from tests.fakes.connector import FakeApp
from tests.plugins.fake import make_fake_connection
from tests.plugins.personas import PERSONA_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG = "averylongnamewithoutanyspace" * 7  # 196 characters (names hold 200), no space


def sign_in(page: Any, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PERSONA_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Connections").wait_for()


def page_width(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def wide_elements(page: Any) -> list[str]:
    """The innermost elements reaching past the window, to say what widened a page."""
    return page.evaluate(
        """() => {
            const wide = e => e.getBoundingClientRect().right > window.innerWidth + 1;
            return [...document.querySelectorAll('body *')]
                .filter(e => wide(e) && ![...e.children].some(wide))
                .map(e => e.tagName + '.' + e.className);
        }"""
    )


def long_named(account: Account, app_a: FakeApp, app_b: FakeApp) -> Connection:
    """A synced connection whose every name is one long word: apps, connection, record."""
    connection = make_fake_connection(account, app_a, app_b)
    AppAuthorization.objects.filter(pk=connection.a_authorization_id).update(label=LONG)
    Connection.objects.filter(pk=connection.pk).update(name=LONG, a_scope_label=LONG)
    app_a.add(email=f"{LONG}@example.com", company=LONG)
    run_connection(connection.pk, initial=True)
    SyncEvent.objects.create(
        connection=connection,
        action="update",
        direction="a_to_b",
        label=f"{LONG}@example.com",
        status="error",
        error=f"HTTP 400: the vendor refused the value {LONG} of the field Company",
        changes={"company": {"old": None, "new": LONG}},
    )
    return connection


def test_long_names_never_widen_a_page(
    page: Any, live_server: Any, owner: Any, account: Account, fake_apps: tuple[FakeApp, FakeApp]
) -> None:
    connection = long_named(account, *fake_apps)
    base = live_server.url
    sign_in(page, base)
    pk = connection.pk
    event = connection.events.filter(status="error").first()
    link = connection.links.first()
    assert event is not None and link is not None
    paths = [
        "/connections/",
        "/apps/",
        f"/connections/{pk}/",
        f"/connections/{pk}/stats/",
        f"/connections/{pk}/conflicts/",
        f"/connections/{pk}/events/{event.pk}/",
        f"/connections/{pk}/records/{link.pk}/",
        f"/connections/{pk}/setup/scopes/",
        f"/connections/{pk}/setup/rules/",
        f"/connections/{pk}/setup/options/",
        f"/connections/{pk}/setup/mapping/",
    ]
    widths = {}
    for path in paths:
        response = page.goto(base + path)
        assert response.status == 200, path
        widths[path] = page_width(page)
        if widths[path] > 1280:
            print(path, wide_elements(page))
    screenshot(page, "issue21-long-names-mapping")
    assert {p: w for p, w in widths.items() if w > 1280} == {}

    # The records table shows the error text whole, inside the window.
    page.goto(f"{base}/connections/{pk}/stats/")
    error = page.locator("table.records .error-text").first
    box = error.bounding_box()
    assert box["x"] + box["width"] <= 1280
    assert LONG in error.inner_text().replace("\n", "")
    wrap = page.locator(".table-wrap", has=page.locator("table.records"))
    assert wrap.evaluate("e => e.scrollWidth <= e.clientWidth + 1")


def test_direction_radios_sit_beside_their_words_and_options_stack(
    page: Any, live_server: Any, owner: Any, account: Account, fake_apps: tuple[FakeApp, FakeApp]
) -> None:
    connection = make_fake_connection(account, *fake_apps, state="draft")
    base = live_server.url
    sign_in(page, base)
    page.goto(f"{base}/connections/{connection.pk}/setup/scopes/")
    radios = page.locator("input[type=radio][name=direction]")
    assert radios.count() == 3
    for index in range(radios.count()):
        radio = radios.nth(index)
        label = page.locator(f"label[for='{radio.get_attribute('id')}']")
        r, t = radio.bounding_box(), label.bounding_box()
        assert r["width"] < 40  # not stretched across the form
        # On the line of its words, at their left.
        assert abs((r["y"] + r["height"] / 2) - (t["y"] + t["height"] / 2)) < 8
        assert r["x"] <= t["x"] + 4
    screenshot(page, "issue21-scopes")

    page.goto(f"{base}/connections/{connection.pk}/setup/options/")
    for name in ("deletions_a_to_b", "conflict_policy", "interval_minutes", "unsubscribes"):
        label = page.locator(f"label[for='id_{name}']").bounding_box()
        field = page.locator(f"#id_{name}").bounding_box()
        assert label["y"] + label["height"] <= field["y"] + 1, name  # label above its field
        assert field["x"] < label["x"] + 4, name
    screenshot(page, "issue21-options")


def test_statistics_show_one_line_per_record(
    page: Any, live_server: Any, owner: Any, account: Account, fake_apps: tuple[FakeApp, FakeApp]
) -> None:
    connection = make_fake_connection(account, *fake_apps)
    # 25 updates (one page), each changing six fields, as an initial sync of rich records.
    SyncEvent.objects.bulk_create(
        SyncEvent(
            connection=connection,
            action="update",
            direction="a_to_b",
            label=f"person{n:02}@example.com",
            changes={
                field: {"old": f"old {field} {n}", "new": f"new {field} {n}"}
                for field in ("first_name", "last_name", "company", "phone", "city", "notes")
            },
        )
        for n in range(25)
    )
    base = live_server.url
    sign_in(page, base)
    page.goto(f"{base}/connections/{connection.pk}/stats/?direction=a_to_b")
    rows = page.locator("table.records tbody tr")
    assert rows.count() == 25
    height = page.evaluate("document.documentElement.scrollHeight")
    table = page.locator("table.records").bounding_box()["height"]
    print(f"\nstatistics at 1280 px: page {height} px, last-records table {table:.0f} px")
    line = page.locator("table.records tbody td").first.bounding_box()["height"]
    assert all(rows.nth(i).bounding_box()["height"] <= 2.2 * line for i in range(25))
    assert table < 25 * 50
    # The field changes are one click away, and the filters stay in the URL.
    first = rows.first
    assert not first.get_by_text("new company 24").is_visible()
    first.get_by_text("6 fields").click()
    first.get_by_text("new company 24").wait_for()
    assert page.locator("select[name=direction]").input_value() == "a_to_b"
    first.get_by_role("link").click()
    page.get_by_role("link", name=f"← Statistics of {connection.name}").click()
    assert "direction=a_to_b" in page.url
    assert page.locator("select[name=direction]").input_value() == "a_to_b"
    screenshot(page, "issue21-statistics")


def test_tour_of_the_pages_a_new_user_sees(
    page: Any, live_server: Any, sandbox: Any, owner: Any
) -> None:
    """Every wizard step, the dashboard after Start, the statistics and a conflict, in
    Chromium against the GetResponse sandbox: the pages read as a person would (sides
    by vendor, rules in words, one line per record, the conflict's two values)."""
    from tests.browser.test_setup_and_watch import connect_getresponse

    base = live_server.url
    shop = sandbox.create_account("getresponse", name="Shop", lists=["shop_customers"])
    news = sandbox.create_account("getresponse", name="News", lists=["newsletter"])
    sandbox.seed("getresponse", shop["account_id"], 6, seed=1)
    sandbox.seed("getresponse", news["account_id"], 4, seed=2)
    sign_in(page, base)
    connect_getresponse(page, base, "Shop", shop["api_key"])
    connect_getresponse(page, base, "News", news["api_key"])
    screenshot(page, "tour-00-apps")

    page.goto(f"{base}/connections/new/")
    page.get_by_label("Name").fill("Shop ⇄ News")
    page.get_by_label("App 1 (side A)").select_option(label="Shop (getresponse)")
    page.get_by_label("App 2 (side B)").select_option(label="News (getresponse)")
    screenshot(page, "tour-01-apps-step")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="What to sync, and which way").wait_for()
    page.locator("select").nth(0).select_option(label="shop_customers (list)")
    page.locator("select").nth(1).select_option(label="newsletter (list)")
    screenshot(page, "tour-02-scopes")
    page.get_by_role("button", name="Save and continue").click()
    rule = page.locator("article.rule").first
    rule.get_by_text("Add a condition").click()
    rule.get_by_label("If", exact=True).select_option("has_tag")
    rule.get_by_label("Value", exact=True).fill("vip")
    rule.get_by_label("Not").check()
    rule.get_by_role("button", name="Add condition").click()
    page.locator("article.rule").first.get_by_text("“vip”").wait_for()
    screenshot(page, "tour-03-rules")
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_role("heading", name="Options").wait_for()
    screenshot(page, "tour-04-options")
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_role("heading", name="Field mapping").wait_for()
    screenshot(page, "tour-05-mapping")
    page.get_by_role("button", name="Save and continue").click()  # no Users step: no owners
    page.get_by_role("button", name="Run the preview").click()
    page.locator("table.preview").wait_for()
    screenshot(page, "tour-07-preview")

    page.get_by_role("button", name="Start syncing").click()
    page.locator('[data-state="active"]').wait_for()
    config = page.locator("#config").locator("xpath=..").inner_text()
    assert "Contacts of GetResponse · shop_customers · Shop that do not have the tag “vip”" in (
        config
    )
    screenshot(page, "tour-08-dashboard")

    page.get_by_role("link", name="Statistics").click()
    page.locator("table.records tbody tr").first.wait_for()
    screenshot(page, "tour-09-statistics")

    # Both apps change one person's name between two runs: a conflict.
    state = sandbox.state("getresponse", shop["account_id"])["accounts"][shop["account_id"]]
    email = state["contacts"][0]["email"]
    sandbox.action("getresponse", "edit", account=news["account_id"], contact=email, name="Roma GR")
    sandbox.action("getresponse", "edit", account=shop["account_id"], contact=email, name="Roma SF")
    page.get_by_role("link", name="Dashboard").click()
    page.get_by_role("button", name="Run now").click()
    page.locator('[data-run-status="succeeded"], [data-run-status="partial"]').wait_for()
    page.get_by_role("link", name="Conflicts").first.click()
    card = page.locator("ul.cards li.card").first
    card.wait_for()
    text = card.inner_text()
    assert "Roma SF" in text and "Roma GR" in text and "(empty)" not in text
    assert "name|name" not in text and "Name" in text
    screenshot(page, "tour-10-conflicts")
