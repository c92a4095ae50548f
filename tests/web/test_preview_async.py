"""The wizard's preview runs on the task queue (issue 7): POST queues the dry run, the
page polls a small status partial while it is queued or running, then shows its result;
a second POST does not queue another one, a preview whose worker died shows as stale."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sync.models import Connection, ConnectionState, SyncRun
from tests.fakes.connector import FakeApp

POLLING = 'hx-trigger="every 1s"'


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    """The "preview queued" markers live in the cache, which outlives a test."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def setup(connection: Connection) -> Connection:
    """The two-way CRM ⇄ newsletter connection, still being set up."""
    connection.state = ConnectionState.DRAFT
    connection.save(update_fields=["state"])
    return connection


@pytest.fixture
def untaken(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str, dict[str, Any]]]:
    """The task queue with no worker: what is queued stays queued (no run is made)."""
    import sync.tasks

    calls: list[tuple[int, str, dict[str, Any]]] = []

    def record(connection: Connection, trigger: str, **options: Any) -> str:
        calls.append((connection.pk, trigger, options))
        return "task-id"

    monkeypatch.setattr(sync.tasks, "enqueue_run", record)
    return calls


def page_url(connection: Connection) -> str:
    return reverse("web:setup_preview", args=[connection.pk])


def status_url(connection: Connection) -> str:
    return reverse("web:setup_preview_status", args=[connection.pk])


def start_button(page: str) -> str:
    found = re.search(r"<button[^>]*>Start syncing</button>", page)
    assert found, "no Start syncing button"
    return found.group(0)


def preview_run(connection: Connection, status: str, **fields: Any) -> SyncRun:
    return SyncRun.objects.create(
        connection=connection, trigger="preview", dry_run=True, status=status, **fields
    )


# --- queueing and the result


def test_post_queues_the_preview_and_the_page_then_shows_its_counts(
    owner_client: Client, setup: Connection, web_apps: dict[str, FakeApp]
) -> None:
    web_apps["crm"].add(email="ann@x.test", first_name="Ann")
    assert "disabled" in start_button(owner_client.get(page_url(setup)).content.decode())

    response = owner_client.post(page_url(setup))  # tasks run inline in tests

    assert response.status_code == 302 and response["Location"] == page_url(setup)
    run = setup.runs.get()
    assert (run.trigger, run.dry_run, run.status) == ("preview", True, "succeeded")
    page = owner_client.get(page_url(setup)).content.decode()
    assert "The preview has started" in page
    assert "Fake app · Acme CRM → Fake app · Acme newsletter" in page and "Would create" in page
    assert '<td class="num">1</td>' in page and "ann@x.test" in page
    assert POLLING not in page
    assert "disabled" not in start_button(page)
    assert web_apps["news"].records == {}  # a dry run writes nothing
    setup.refresh_from_db()
    assert setup.state == "previewed"


def test_a_failed_preview_says_why_and_syncing_cannot_start(
    owner_client: Client, setup: Connection, web_apps: dict[str, FakeApp]
) -> None:
    web_apps["crm"].rate_limited_calls = 100
    owner_client.post(page_url(setup))

    page = owner_client.get(page_url(setup)).content.decode()
    assert setup.runs.get().status == "failed"
    assert "The preview could not finish: fake: slow down" in page
    assert "Nothing would change" not in page
    assert "disabled" in start_button(page)


def test_the_preview_lists_both_sides_whole_before_the_first_sync(
    owner_client: Client, setup: Connection, untaken: list[tuple[int, str, dict[str, Any]]]
) -> None:
    owner_client.post(page_url(setup))
    assert untaken == [(setup.pk, "preview", {"dry_run": True, "initial": True})]


# --- the live status partial


def test_the_partial_polls_and_shows_elapsed_time_while_the_preview_runs(
    owner_client: Client, setup: Connection
) -> None:
    preview_run(setup, "running", started_at=timezone.now() - timedelta(seconds=75))

    response = owner_client.get(status_url(setup))

    part = response.content.decode()
    assert response.status_code == 200
    assert POLLING in part and f'hx-get="{status_url(setup)}"' in part
    assert 'data-preview-state="running"' in part and "Running" in part
    assert "1 min 15 s" in part
    assert "<html" not in part  # only the part the poll swaps
    assert "disabled" in start_button(part)


def test_the_partial_shows_the_phase_the_running_preview_is_in(
    owner_client: Client, setup: Connection
) -> None:
    preview_run(
        setup,
        "running",
        started_at=timezone.now(),
        phase="list_b",
        progress={"list_a": {"done": 1200}, "list_b": {"done": 500}},
    )

    part = owner_client.get(status_url(setup)).content.decode()

    assert '<p data-preview-phase="list_b">Reading side B: 500 contacts so far.</p>' in part


def test_the_page_polls_and_can_be_refreshed_without_javascript_while_running(
    owner_client: Client, setup: Connection
) -> None:
    preview_run(setup, "running", started_at=timezone.now())

    page = owner_client.get(page_url(setup)).content.decode()

    assert POLLING in page
    assert '<noscript><meta http-equiv="refresh"' in page
    assert f'<a href="{page_url(setup)}">Refresh</a>' in page


def test_the_partial_stops_polling_and_shows_the_result_once_the_preview_ends(
    owner_client: Client, setup: Connection
) -> None:
    now = timezone.now()
    preview_run(
        setup,
        "succeeded",
        started_at=now - timedelta(seconds=3),
        finished_at=now,
        preview={
            "counts": {"a_to_b": {"create": 7}},
            "samples": {"a_to_b": {"create": [{"label": "bea@x.test", "reason": ""}]}},
        },
    )

    part = owner_client.get(status_url(setup)).content.decode()

    assert POLLING not in part and "hx-get" not in part
    assert 'data-preview-state="done"' in part
    assert '<td class="num">7</td>' in part and "bea@x.test" in part
    assert "disabled" not in start_button(part)


def test_an_aborted_preview_shows_the_engines_reason(
    owner_client: Client, setup: Connection
) -> None:
    preview_run(setup, "aborted", error="Another run of this connection is in progress.")

    part = owner_client.get(status_url(setup)).content.decode()

    assert POLLING not in part
    assert "The preview was stopped: Another run of this connection is in progress." in part


# --- one preview at a time


def test_a_second_post_does_not_queue_another_preview_while_one_runs(
    owner_client: Client, setup: Connection, untaken: list[tuple[int, str, dict[str, Any]]]
) -> None:
    preview_run(setup, "running", started_at=timezone.now())

    response = owner_client.post(page_url(setup), follow=True)

    assert untaken == []
    assert setup.runs.count() == 1
    assert "already queued or running" in response.content.decode()


def test_a_queued_preview_no_worker_took_yet_is_not_queued_twice(
    owner_client: Client, setup: Connection, untaken: list[tuple[int, str, dict[str, Any]]]
) -> None:
    owner_client.post(page_url(setup))
    page = owner_client.get(page_url(setup)).content.decode()
    assert 'data-preview-state="queued"' in page and POLLING in page
    assert "Waiting for a worker" in page

    response = owner_client.post(page_url(setup), follow=True)

    assert len(untaken) == 1
    assert "already queued or running" in response.content.decode()


# --- a preview whose worker died


def test_a_preview_running_longer_than_the_lease_is_stale_and_can_be_restarted(
    owner_client: Client, setup: Connection, untaken: list[tuple[int, str, dict[str, Any]]]
) -> None:
    long_ago = timezone.now() - timedelta(seconds=settings.SYNC_LEASE_SECONDS + 60)
    preview_run(setup, "running", started_at=long_ago)

    part = owner_client.get(status_url(setup)).content.decode()
    assert 'data-preview-state="stale"' in part and POLLING not in part
    assert "stopped answering" in part and "Start a new preview" in part

    owner_client.post(page_url(setup))
    assert [trigger for _, trigger, _ in untaken] == ["preview"]


def test_a_queued_preview_no_worker_took_within_the_lease_is_stale(
    owner_client: Client,
    setup: Connection,
    untaken: list[tuple[int, str, dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    owner_client.post(page_url(setup))
    later = timezone.now() + timedelta(seconds=settings.SYNC_LEASE_SECONDS + 60)
    monkeypatch.setattr("sync.web.views.wizard.timezone", SimpleNamespace(now=lambda: later))

    part = owner_client.get(status_url(setup)).content.decode()
    assert 'data-preview-state="stale"' in part and POLLING not in part
    assert "It was queued" in part

    owner_client.post(page_url(setup))
    assert len(untaken) == 2


# --- who may


def test_outsider_gets_404_on_the_partial_and_on_post(
    outsider_client: Client, setup: Connection, untaken: list[tuple[int, str, dict[str, Any]]]
) -> None:
    preview_run(setup, "running", started_at=timezone.now())

    assert outsider_client.get(status_url(setup)).status_code == 404
    assert outsider_client.post(page_url(setup)).status_code == 404
    assert untaken == []


def test_member_cannot_start_a_preview(
    member_client: Client, setup: Connection, untaken: list[tuple[int, str, dict[str, Any]]]
) -> None:
    assert member_client.post(page_url(setup)).status_code == 403
    assert member_client.get(status_url(setup)).status_code == 403
    assert untaken == []
    assert not setup.runs.exists()
