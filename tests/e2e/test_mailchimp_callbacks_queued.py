"""Mailchimp's webhook is registered by a task, not in the web request that starts the
connection: real Mailchimp GETs the webhook's address while it is asked, which a server
with one worker, busy waiting for Mailchimp, could not answer. The dashboard says the app
is being asked, then what came of it (issue 21, beyond the list). Against the Mailchimp
and Salesforce sandboxes over HTTP; the live server answers Mailchimp's check."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from connectors.sandbox.control import SandboxControl
from sync import lifecycle
from sync.models import Account, AppCallback, CallbackStatus, Connection
from tests.e2e.test_salesforce_mailchimp import Seeds, connect

pytestmark = [pytest.mark.usefixtures("strict_sandbox"), pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """No worker runs: the queue only records what was put in it (runs and on_start)."""
    queued: list[tuple[int, str]] = []
    monkeypatch.setattr("sync.tasks.enqueue_run", lambda *args, **kwargs: None)
    monkeypatch.setattr(
        "sync.tasks.enqueue_on_start", lambda connection, side: queued.append((connection.pk, side))
    )
    return queued


@pytest.fixture
def seeds(sandbox: SandboxControl, account: Account, settings: Any, live_server: Any) -> Seeds:
    settings.PUBLIC_URL = live_server.url
    return connect(sandbox, account, settings, "Contact")


def hooks(seeds: Seeds) -> list[str]:
    return [h["url"] for h in seeds.audience_state()["webhooks"]]


def dashboard(client: Client, connection: Connection) -> str:
    return client.get(reverse("web:connection", args=[connection.pk])).content.decode()


def test_start_queues_the_webhook_and_the_dashboard_follows_it(
    seeds: Seeds, queue: list[tuple[int, str]], owner_client: Client
) -> None:
    connection = seeds.connection
    response = owner_client.post(reverse("web:connection_start", args=[connection.pk]))
    assert response.status_code == 302
    # Mailchimp is side B; nothing was asked of it in the request.
    assert queue == [(connection.pk, "b")]
    assert hooks(seeds) == []
    page = dashboard(owner_client, connection)
    assert 'data-callback="queued"' in page and "is being asked to call back" in page
    assert "hx-trigger" in page  # the dashboard follows it without a reload

    # The worker takes the task: Mailchimp checks the live server's address, then keeps it.
    assert lifecycle.tell_app(connection.pk, "b") == CallbackStatus.REGISTERED
    hook_url = connection.b_authorization.callback_url()
    assert hooks(seeds) == [hook_url]
    page = dashboard(owner_client, connection)
    assert 'data-callback="registered"' in page and "webhook registered" in page

    lifecycle.tell_app(connection.pk, "b")  # delivered twice: still one webhook
    assert hooks(seeds) == [hook_url]


def test_a_webhook_mailchimp_refuses_is_shown_with_its_reason(
    seeds: Seeds, queue: list[tuple[int, str]], owner_client: Client, settings: Any
) -> None:
    settings.PUBLIC_URL = "http://127.0.0.1:9"  # nothing listens: Mailchimp's check fails
    connection = seeds.connection
    owner_client.post(reverse("web:connection_start", args=[connection.pk]))
    assert lifecycle.tell_app(connection.pk, "b") == CallbackStatus.FAILED
    [callback] = AppCallback.objects.filter(connection=connection)
    assert callback.message
    page = dashboard(owner_client, connection)
    assert 'data-callback="failed"' in page and "its changes arrive at each poll" in page
    assert hooks(seeds) == []


def test_a_task_that_comes_after_a_pause_registers_nothing(
    seeds: Seeds, queue: list[tuple[int, str]]
) -> None:
    connection = seeds.connection
    lifecycle.start(connection)
    lifecycle.pause(Connection.objects.get(pk=connection.pk), by="test")
    assert lifecycle.tell_app(connection.pk, "b") == "not started"
    assert hooks(seeds) == []
    assert not AppCallback.objects.filter(connection=connection).exists()
