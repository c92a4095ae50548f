"""The dashboard's progress bar follows a run live: htmx polls the partial while the run
is in flight and stops once it is over, with no page reload."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from sync.models import Account, AppAuthorization, Connection, SyncRun
from tests.browser.conftest import screenshot
from tests.plugins.personas import PERSONA_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_progress_bar_moves_and_finishes_without_reloading(
    page: Any, live_server: Any, owner: Any, account: Account
) -> None:
    auth = AppAuthorization.objects.create(account=account, vendor="getresponse", label="Shop")
    connection = Connection.objects.create(
        account=account,
        name="Live",
        a_authorization=auth,
        b_authorization=auth,
        state="initial_sync",
    )
    run = SyncRun.objects.create(
        connection=connection,
        trigger="initial",
        status="running",
        phase="list_a",
        progress={"list_a": {"done": 10, "total": 40}},
    )
    Connection.objects.filter(pk=connection.pk).update(current_run=run)

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PERSONA_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/connections/{connection.pk}/")
    page.get_by_text("10 / 40").wait_for()
    page.evaluate("window.notReloaded = true")

    # The worker reads side B: the bar moves on its own.
    run.phase = "list_b"
    run.progress = {"list_a": {"done": 40, "total": 40}, "list_b": {"done": 30, "total": 60}}
    run.save()
    page.get_by_text("30 / 60").wait_for()
    screenshot(page, "10-progress-running")

    # The run ends: 100 %, the state turns active, and polling stops.
    run.status, run.phase, run.finished_at = "succeeded", "write", timezone.now()
    run.save()
    Connection.objects.filter(pk=connection.pk).update(state="active")
    page.locator('[data-run-status="succeeded"]').wait_for()
    page.locator('[data-state="active"]').wait_for()
    assert page.locator("[data-progress]").inner_text() == "100"
    assert page.locator("#live[hx-trigger]").count() == 0
    assert page.evaluate("window.notReloaded") is True
