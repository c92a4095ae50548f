"""Webhook receivers: a genuine callback queues one run per affected connection at once
(debounced); forged or unknown calls are refused and queue nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from connectors import registry
from sync.models import (
    Account,
    AppAuthorization,
    Connection,
    ConnectionState,
    Trigger,
)
from tests.api.conftest import make_authorization
from tests.api.vendor import sign

Queued = list[tuple[int, str]]


def hook_url(authorization: AppAuthorization, vendor: str = "apitest") -> str:
    return f"/hooks/{vendor}/{authorization.webhook_token}/"


def deliver(url: str, lists: list[str], *, signature: str | None = None) -> object:
    """POST a callback as the vendor does (no session, CSRF enforced like a browser)."""
    body = json.dumps({"lists": lists}).encode()
    return Client(enforce_csrf_checks=True).post(
        url,
        body,
        content_type="application/json",
        headers={"X-Signature": signature if signature is not None else sign(body)},
    )


def test_valid_callback_queues_a_webhook_run_of_the_connection(
    connection: Connection, queued: Queued
) -> None:
    response = deliver(hook_url(connection.a_authorization), ["list-1"])
    assert response.status_code == 200
    # GetResponse retries unless the body is exactly this.
    assert response.json() == {"status": "OK"}
    assert queued == [(connection.pk, Trigger.WEBHOOK)]


def test_burst_of_callbacks_queues_one_run(connection: Connection, queued: Queued) -> None:
    for _ in range(5):
        assert deliver(hook_url(connection.a_authorization), ["list-1"]).status_code == 200
    assert queued == [(connection.pk, Trigger.WEBHOOK)]


def test_callbacks_swallowed_by_the_debounce_bring_the_next_run_forward(
    connection: Connection, queued: Queued
) -> None:
    Connection.objects.filter(pk=connection.pk).update(
        next_run_at=timezone.now() + timezone.timedelta(hours=1)
    )
    deliver(hook_url(connection.a_authorization), ["list-1"])
    deliver(hook_url(connection.a_authorization), ["list-1"])
    connection.refresh_from_db()
    assert connection.next_run_at <= timezone.now() + timezone.timedelta(seconds=10)


@override_settings(WEBHOOK_DEBOUNCE_SECONDS=1)
def test_callback_after_the_debounce_window_queues_again(
    connection: Connection, queued: Queued
) -> None:
    deliver(hook_url(connection.a_authorization), ["list-1"])
    time.sleep(1.1)
    deliver(hook_url(connection.a_authorization), ["list-1"])
    assert queued == [(connection.pk, Trigger.WEBHOOK)] * 2


def test_every_active_connection_reading_the_scope_is_queued_once(
    connection: Connection, queued: Queued
) -> None:
    # The same app and list as side B of another connection.
    mirror = Connection.objects.create(
        account=connection.account,
        name="CRM ↔ Newsletter",
        a_authorization=make_authorization(connection.account, "Shop"),
        a_scope="x",
        b_authorization=connection.a_authorization,
        b_scope="list-1",
        state=ConnectionState.ACTIVE,
    )
    deliver(hook_url(connection.a_authorization), ["list-1", "list-1"])
    assert sorted(queued) == sorted([(connection.pk, "webhook"), (mirror.pk, "webhook")])


def test_connections_of_other_scopes_are_not_queued(connection: Connection, queued: Queued) -> None:
    assert deliver(hook_url(connection.a_authorization), ["list-9"]).status_code == 200
    assert queued == []


def test_paused_connection_is_not_queued(connection: Connection, queued: Queued) -> None:
    Connection.objects.filter(pk=connection.pk).update(state=ConnectionState.PAUSED)
    deliver(hook_url(connection.a_authorization), ["list-1"])
    assert queued == []


def test_forged_signature_is_refused(connection: Connection, queued: Queued) -> None:
    response = deliver(hook_url(connection.a_authorization), ["list-1"], signature="0" * 64)
    assert response.status_code == 403
    assert queued == []


def test_unknown_token_is_not_found(connection: Connection, queued: Queued) -> None:
    response = deliver("/hooks/apitest/not-a-token/", ["list-1"])
    assert response.status_code == 404
    assert queued == []


def test_unknown_vendor_is_not_found(connection: Connection, queued: Queued) -> None:
    response = deliver(hook_url(connection.a_authorization, vendor="nope"), ["list-1"])
    assert response.status_code == 404
    assert queued == []


def test_token_under_another_vendors_path_is_not_found(
    connection: Connection, queued: Queued, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.VENDORS, "apitwin", "tests.api.vendor.ApiTestConnector")
    response = deliver(hook_url(connection.a_authorization, vendor="apitwin"), ["list-1"])
    assert response.status_code == 404
    assert queued == []


def test_signed_but_unreadable_body_is_a_bad_request(
    connection: Connection, queued: Queued
) -> None:
    body = b"not json"
    response = Client().post(
        hook_url(connection.a_authorization),
        body,
        content_type="application/json",
        headers={"X-Signature": sign(body)},
    )
    assert response.status_code == 400
    assert queued == []


def test_url_check_by_get_answers_ok_without_queueing(
    connection: Connection, queued: Queued
) -> None:
    # Mailchimp validates a webhook URL with a GET before it sends anything.
    assert Client().get(hook_url(connection.a_authorization)).status_code == 200
    assert queued == []


def test_other_methods_are_not_allowed(connection: Connection, queued: Queued) -> None:
    assert Client().put(hook_url(connection.a_authorization)).status_code == 405
    assert queued == []


# --- GetResponse, through its real connector

GETRESPONSE_BATCH = (
    Path(__file__).resolve().parents[2] / "connectors/getresponse/tests/fixtures/webhook_batch.json"
).read_bytes()


@pytest.fixture
def getresponse_connection(account: Account) -> Connection:
    """An active connection reading GetResponse list V8r1 (webhook secret "s3cret")."""
    getresponse = AppAuthorization(account=account, vendor="getresponse", label="GetResponse")
    getresponse.secrets = {"api_key": "k", "webhook_secret": "s3cret"}
    getresponse.save()
    return Connection.objects.create(
        account=account,
        name="GetResponse ↔ CRM",
        a_authorization=getresponse,
        a_scope="V8r1",
        b_authorization=make_authorization(account, "CRM"),
        b_scope="list-1",
        state=ConnectionState.ACTIVE,
    )


def test_getresponse_batch_queues_the_connection_of_the_list_it_names(
    getresponse_connection: Connection, queued: Queued
) -> None:
    url = hook_url(getresponse_connection.a_authorization, "getresponse") + "?secret=s3cret"
    response = Client().post(url, GETRESPONSE_BATCH, content_type="application/json")
    assert response.json() == {"status": "OK"}
    assert queued == [(getresponse_connection.pk, Trigger.WEBHOOK)]


def test_getresponse_legacy_get_callback_queues_the_connection(
    getresponse_connection: Connection, queued: Queued
) -> None:
    url = hook_url(getresponse_connection.a_authorization, "getresponse")
    response = Client().get(url, {"action": "subscribe", "CAMPAIGN_ID": "V8r1", "secret": "s3cret"})
    assert response.status_code == 200
    assert queued == [(getresponse_connection.pk, Trigger.WEBHOOK)]


def test_getresponse_call_without_the_secret_is_refused(
    getresponse_connection: Connection, queued: Queued
) -> None:
    url = hook_url(getresponse_connection.a_authorization, "getresponse") + "?secret=guess"
    response = Client().post(url, GETRESPONSE_BATCH, content_type="application/json")
    assert response.status_code == 403
    assert queued == []


def test_vendor_without_webhooks_has_no_receiver(
    account: Account, queued: Queued, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.VENDORS, "nohooks", "tests.api.vendor.NoWebhooksConnector")
    authorization = AppAuthorization.objects.create(account=account, vendor="nohooks", label="x")
    assert deliver(hook_url(authorization, "nohooks"), ["list-1"]).status_code == 404
    assert queued == []
