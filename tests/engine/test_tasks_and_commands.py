"""Scheduling (dispatch_due, enqueue_run, setup_schedules) and the management commands."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.models import Schedule

from sync.models import Connection, SyncRun
from sync.tasks import dispatch_due, enqueue_run
from tests.engine.support import synced
from tests.plugins.fake import make_fake_connection


def test_dispatch_runs_due_connections_only(fake_apps, account):
    a, b = fake_apps
    due = make_fake_connection(account, a, b, next_run_at=timezone.now() - timedelta(minutes=1))
    later = make_fake_connection(account, a, b, next_run_at=timezone.now() + timedelta(hours=1))
    paused = make_fake_connection(
        account, a, b, state="paused", next_run_at=timezone.now() - timedelta(minutes=1)
    )
    a.add(email="ann@example.com")
    assert dispatch_due() == 1  # tasks run synchronously under tests
    assert SyncRun.objects.filter(connection=due, trigger="schedule", status="succeeded").exists()
    assert not SyncRun.objects.filter(connection__in=[later, paused]).exists()
    due.refresh_from_db()
    assert due.next_run_at > timezone.now() + timedelta(minutes=10)  # next interval


def test_dispatch_does_not_enqueue_a_connection_twice(fake_apps, account, monkeypatch):
    connection = make_fake_connection(
        account, *fake_apps, next_run_at=timezone.now() - timedelta(minutes=1)
    )
    enqueued = []
    monkeypatch.setattr("sync.tasks.enqueue_run", lambda c, t: enqueued.append(c.pk))
    dispatch_due()
    dispatch_due()
    assert enqueued == [connection.pk]


def test_enqueue_run_runs_the_connection(fake_apps, fake_connection):
    a, b = fake_apps
    a.add(email="ann@example.com")
    enqueue_run(fake_connection, "manual")
    assert len(b.records) == 1
    assert fake_connection.runs.get().trigger == "manual"


def test_setup_schedules_is_idempotent(db):
    call_command("setup_schedules", stdout=StringIO())
    call_command("setup_schedules", stdout=StringIO())
    (schedule,) = Schedule.objects.all()
    assert schedule.func == "sync.tasks.dispatch_due"
    assert schedule.schedule_type == Schedule.MINUTES and schedule.minutes == 1


def test_sync_command_prints_a_json_summary(fake_apps, fake_connection):
    a, _b = fake_apps
    a.add(email="ann@example.com")
    out = StringIO()
    call_command("sync", str(fake_connection.pk), "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["status"] == "succeeded"
    assert data["counts"] == {"a_to_b": {"create": 1}}
    assert data["writes"] == 1 and data["api_calls"] > 0


def test_sync_command_dry_run_writes_nothing(fake_apps, fake_connection):
    a, b = fake_apps
    a.add(email="ann@example.com")
    out = StringIO()
    call_command("sync", str(fake_connection.pk), "--dry-run", stdout=out)
    assert "dry run" in out.getvalue() and "a_to_b: create 1" in out.getvalue()
    assert not b.records


def test_sync_command_refuses_an_unknown_connection(db):
    with pytest.raises(CommandError):
        call_command("sync", "999999", stdout=StringIO())


def test_undo_command_undoes_a_run(fake_apps, fake_connection):
    a, b = fake_apps
    a.add(email="ann@example.com")
    run = synced(fake_connection)
    out = StringIO()
    call_command("undo", str(run.pk), stdout=out)
    assert "succeeded" in out.getvalue()
    assert not b.records
    assert Connection.objects.get(pk=fake_connection.pk).runs.filter(trigger="undo").exists()
