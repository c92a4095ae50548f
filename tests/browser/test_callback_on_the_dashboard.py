"""The dashboard after Start says Mailchimp is being asked to call back, and then, once
a worker has asked it (here: the test, as the worker would), that its webhook is
registered, without a reload. Against the Salesforce and Mailchimp sandboxes; Mailchimp
checks the webhook's address on the live server."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.sandbox.control import SandboxControl
from sync import lifecycle
from sync.models import Account, ConnectionState, SyncRun
from tests.browser.conftest import screenshot
from tests.browser.test_issue21_behaviour import sign_in
from tests.e2e.test_salesforce_mailchimp import connect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_dashboard_follows_the_webhook_being_registered(
    page: Any,
    live_server: Any,
    sandbox: SandboxControl,
    account: Account,
    owner: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queued: list[tuple[int, str]] = []
    monkeypatch.setattr("sync.tasks.enqueue_run", lambda *args, **kwargs: None)
    monkeypatch.setattr(
        "sync.tasks.enqueue_on_start", lambda connection, side: queued.append((connection.pk, side))
    )
    settings.PUBLIC_URL = live_server.url
    seeds = connect(sandbox, account, settings, "Contact")
    connection = seeds.connection
    connection.state = ConnectionState.PREVIEWED
    connection.save(update_fields=["state"])
    SyncRun.objects.create(
        connection=connection, trigger="preview", dry_run=True, status="succeeded", preview={}
    )

    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/connections/{connection.pk}/setup/preview/")
    page.get_by_role("button", name="Start syncing").click()
    page.locator('[data-callback="queued"]').wait_for()
    assert queued == [(connection.pk, "b")]
    assert "is being asked to call back" in page.locator("#live").inner_text()
    screenshot(page, "21-mailchimp-callback-queued")
    page.evaluate("window.notReloaded = true")

    lifecycle.tell_app(connection.pk, "b")  # the worker's turn
    page.locator('[data-callback="registered"]').wait_for()
    assert "webhook registered" in page.locator("#live").inner_text()
    assert page.evaluate("window.notReloaded") is True
    assert [h["url"] for h in seeds.audience_state()["webhooks"]] == [
        connection.b_authorization.callback_url()
    ]
    screenshot(page, "21-mailchimp-callback-registered")
