"""Dry run, initial sync, replace destination, undo and conflict resolution."""

from __future__ import annotations

import pytest

from sync.engine import preview, resolve_conflict, undo_run
from sync.models import RecordLink, SyncEvent
from tests.engine.support import events, sync, synced
from tests.plugins.fake import make_fake_connection


def test_dry_run_counts_and_samples_without_writing(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b, state="draft")
    for n in range(25):
        a.add(email=f"p{n}@example.com")
    b.add(email="bob@example.com")
    run = preview(connection)
    connection.refresh_from_db()
    assert run.status == "succeeded" and run.dry_run
    assert run.preview["counts"] == {"a_to_b": {"create": 25}, "b_to_a": {"create": 1}}
    assert len(run.preview["samples"]["a_to_b"]["create"]) == 20
    assert run.preview["samples"]["b_to_a"]["create"][0]["label"] == "bob@example.com"
    assert len(a.records) == 25 and len(b.records) == 1  # nothing written
    assert not RecordLink.objects.filter(connection=connection).exists()
    assert not SyncEvent.objects.filter(connection=connection).exists()
    assert connection.cursor_a is None
    assert connection.state == "previewed"


def test_real_run_after_preview_does_what_the_preview_said(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b, state="draft")
    a.add(email="ann@example.com")
    planned = preview(connection).preview["counts"]
    run = synced(connection, trigger="initial", initial=True)
    assert run.counts == planned
    assert connection.state == "active"


def test_initial_sync_reports_progress_by_phase(fake_apps, account):
    a, b = fake_apps
    a.page_size = 10
    connection = make_fake_connection(account, a, b, state="previewed")
    for n in range(35):
        a.add(email=f"p{n}@example.com")
    b.add(email="p0@example.com")
    run = synced(connection, trigger="initial", initial=True)
    assert run.progress["list_a"] == {"done": 35}
    assert run.progress["list_b"] == {"done": 1}
    assert run.progress["check"] == {"done": 35}
    assert run.progress["write"] == {"done": 35}
    assert run.phase == "write"


def test_initial_sync_links_records_outside_the_rules(fake_apps, account):
    from sync.models import Rule, RuleFilter

    a, b = fake_apps
    connection = make_fake_connection(account, a, b, default_rules=False)
    rule = Rule.objects.create(connection=connection, direction="a_to_b")
    RuleFilter.objects.create(rule=rule, kind="has_tag", value="vip")
    a.add(email="ann@example.com")  # not in the segment
    b.add(email="ann@example.com")
    synced(connection, initial=True)
    link = RecordLink.objects.get(connection=connection)
    assert link.a_id and link.b_id  # matched, so a later rule change will not duplicate


def test_replace_destination_needs_confirmation(fake_apps, account):
    connection = make_fake_connection(account, *fake_apps, direction="a_to_b")
    with pytest.raises(ValueError, match="confirm"):
        sync(connection, replace_destination=True)


def test_replace_destination_removes_extra_records_and_journals_them(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b, direction="a_to_b")
    a.add(email="ann@example.com", company="A")
    b.add(email="ann@example.com", company="B")
    extra = b.add(email="extra@example.com", company="Gone")
    run = synced(connection, replace_destination=True, confirm_replace=True)
    assert extra not in b.records
    assert b.get(b.by_email("ann@example.com")[0])["company"] == "A"
    (removed,) = events(run, "delete")
    assert removed.changes["company"]["old"] == "Gone"


def test_undo_writes_old_values_back(fake_apps, fake_connection):
    a, b = fake_apps
    ann = a.add(email="ann@example.com", company="Old", city="Rome")
    synced(fake_connection)
    ann_b = b.by_email("ann@example.com")[0]
    a.edit(ann, company="New")
    run = synced(fake_connection)
    assert b.get(ann_b)["company"] == "New"
    undo = undo_run(run)
    assert undo.status == "succeeded" and undo.undo_of == run and undo.trigger == "undo"
    assert b.get(ann_b)["company"] == "Old"
    assert events(undo, "undo")[0].changes["company"] == {"old": "New", "new": "Old"}
    assert SyncEvent.objects.get(run=run, action="update").status == "undone"
    assert synced(fake_connection).writes == 0  # the undo is not synced back


def test_undo_deletes_what_the_run_created(fake_apps, fake_connection):
    a, b = fake_apps
    a.add(email="ann@example.com")
    run = synced(fake_connection)
    undo_run(run)
    assert not b.records
    assert synced(fake_connection).writes == 0


def test_undo_recreates_what_the_run_deleted(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b, deletions_a_to_b="delete")
    ann = a.add(email="ann@example.com", company="Acme")
    synced(connection)
    a.remove(ann)
    run = synced(connection)
    assert not b.records
    undo_run(run)
    (back,) = b.by_email("ann@example.com")
    assert b.get(back)["company"] == "Acme"


def test_resolving_a_conflict_applies_the_losing_value_to_both_sides(fake_apps, fake_connection):
    a, b = fake_apps
    ann = a.add(email="ann@example.com", company="Old")
    synced(fake_connection)
    ann_b = b.by_email("ann@example.com")[0]
    a.edit(ann, company="Right")
    b.edit(ann_b, company="Wrong")  # later, so it wins
    run = synced(fake_connection)
    assert a.get(ann)["company"] == "Wrong"
    (conflict,) = events(run, "conflict")
    resolve_conflict(conflict, use="other")
    assert a.get(ann)["company"] == "Right" and b.get(ann_b)["company"] == "Right"
    assert SyncEvent.objects.get(pk=conflict.pk).status == "resolved"
    assert synced(fake_connection).writes == 0


def test_a_delta_run_plans_each_dirty_link_once(fake_apps, account, monkeypatch):
    """The circuit breaker's check plans the dirty links; the writes reuse those plans."""
    from sync.engine import apply

    a, b = fake_apps
    connection = make_fake_connection(account, a, b, state="previewed")
    for n in range(30):
        a.add(email=f"p{n}@example.com")
    synced(connection, trigger="initial", initial=True)
    for record_id in list(a.records)[:12]:
        a.edit(record_id, first_name="Changed")
    planned: list[int] = []
    real_plan = apply.plan

    def counting_plan(link, *args, **kwargs):
        planned.append(1)
        return real_plan(link, *args, **kwargs)

    monkeypatch.setattr(apply, "plan", counting_plan)
    run = synced(connection)
    assert run.progress["check"] == {"done": 12}
    assert len(planned) == 12  # not 24: planned once for the breaker and the writes
    assert run.counts["a_to_b"]["update"] == 12
