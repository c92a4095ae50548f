"""Issue 21 in the browser: after Start the dashboard shows the queued state at once
and the run when a worker starts it, without a reload (point 13)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from sync.models import Account, AppAuthorization, Connection, SyncRun
from tests.browser.conftest import screenshot
from tests.plugins.personas import PERSONA_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Any, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PERSONA_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_13_start_shows_the_queued_state_then_the_run_without_reloading(
    page: Any, live_server: Any, owner: Any, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """13: Start queues the first run at once; the dashboard says it is queued and
    follows it as soon as a worker (here: the test) starts it."""
    queued: list[tuple[int, str]] = []
    # No worker is running: the queue only records what Start put in it.
    monkeypatch.setattr(
        "sync.tasks.enqueue_run",
        lambda connection, trigger="manual", **options: queued.append((connection.pk, trigger)),
    )
    a = AppAuthorization.objects.create(account=account, vendor="getresponse", label="Shop")
    b = AppAuthorization.objects.create(account=account, vendor="getresponse", label="Club")
    connection = Connection.objects.create(
        account=account,
        name="Shop ⇄ Club",
        a_authorization=a,
        b_authorization=b,
        state="previewed",
    )
    SyncRun.objects.create(
        connection=connection, trigger="preview", dry_run=True, status="succeeded", preview={}
    )

    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/connections/{connection.pk}/setup/preview/")
    page.get_by_role("button", name="Start syncing").click()
    page.locator('[data-run-status="queued"]').wait_for()
    assert queued == [(connection.pk, "initial")]  # at once, not at the next dispatch
    assert "No run yet" not in page.locator("#live").inner_text()
    screenshot(page, "21-13-dashboard-queued")
    page.evaluate("window.notReloaded = true")

    # A worker takes the task: the run appears on its own.
    run = SyncRun.objects.create(
        connection=connection,
        trigger="initial",
        status="running",
        started_at=timezone.now(),
        phase="list_a",
        progress={"list_a": {"done": 5, "total": 20}},
    )
    Connection.objects.filter(pk=connection.pk).update(current_run=run)
    page.get_by_text("5 / 20").wait_for()
    screenshot(page, "21-13-dashboard-running")

    run.status, run.phase, run.finished_at = "succeeded", "write", timezone.now()
    run.save()
    Connection.objects.filter(pk=connection.pk).update(state="active")
    page.locator('[data-run-status="succeeded"]').wait_for()
    assert page.locator("#live[hx-trigger]").count() == 0  # polling stopped
    assert page.evaluate("window.notReloaded") is True


@pytest.fixture
def fake_sides(monkeypatch: pytest.MonkeyPatch, account: Account, owner: Any) -> Connection:
    """A connection between two fake apps (the in-memory fake connector as vendor
    "fake"), served to the live server of this process."""
    from connectors.registry import VENDORS
    from sync.models import FieldMapping, Rule
    from tests.fakes.connector import FakeConnector

    monkeypatch.setitem(VENDORS, "fake", "tests.fakes.connector.FakeConnector")
    monkeypatch.setattr(FakeConnector, "apps", {})
    sides = []
    for store, label in (("crm", "Acme CRM"), ("news", "Acme newsletter")):
        FakeConnector.make_app(store)
        auth = AppAuthorization(account=account, vendor="fake", label=label, owner=owner)
        auth.secrets, auth.settings = {"api_key": "k"}, {"store": store}
        auth.save()
        sides.append(auth)
    connection = Connection.objects.create(
        account=account,
        name="CRM ⇄ newsletter",
        a_authorization=sides[0],
        b_authorization=sides[1],
    )
    for direction in ("a_to_b", "b_to_a"):
        Rule.objects.create(connection=connection, direction=direction, name=f"All {direction}")
    FieldMapping.objects.create(
        connection=connection,
        a_field="email",
        b_field="email",
        transform="email",
        is_default=True,
    )
    return connection


def test_3_and_21_the_rules_editor_keeps_the_choice_and_picks_owners(
    page: Any, live_server: Any, fake_sides: Connection
) -> None:
    """3 and 21: after a refusal (swapped in by htmx) the action form still says "Remove
    tag"; an owner is chosen from the app's users, and shown by name."""
    connection = fake_sides
    rule = connection.rules.get(direction="a_to_b")
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/connections/{connection.pk}/setup/rules/")
    article = page.locator(f"#rule-{rule.pk}")
    article.get_by_text("Add an action").click()
    article.get_by_label("Then").select_option("remove_tag")
    article.get_by_role("button", name="Add action").click()
    page.get_by_text("Say which tag, list, owner or status.").wait_for()
    article = page.locator(f"#rule-{rule.pk}")
    assert article.get_by_label("Then").input_value() == "remove_tag"
    article.get_by_label("Then").select_option("set_owner")
    article.get_by_label("Owner (for “Set owner”)").select_option(label="Ann (ann@example.com)")
    article.get_by_role("button", name="Add action").click()
    page.locator(f"#rule-{rule.pk} .conditions li", has_text="Set owner “Ann”").wait_for()
    assert rule.actions.get().value == "u1"
    screenshot(page, "21-03-rules-owner-picked")
    page.goto(f"{live_server.url}/connections/{connection.pk}/setup/options/")
    screenshot(page, "21-04-options")
    page.goto(f"{live_server.url}/connections/{connection.pk}/setup/mapping/")
    screenshot(page, "21-21-mapping")
