"""Writes known to be refused before they are sent (sync/engine/apply.py ``refusal``): a
choice value with no translation into the target field (sync/engine/choices.py). The run
reports it as the record's error, naming the field, the value and where to map it, and
sends nothing for that record; the preview counts it as a write that would fail."""

from __future__ import annotations

from sync.engine import preview
from sync.models import FieldMapping
from tests.engine.support import events, sync
from tests.plugins.fake import make_fake_connection


def status_connection(fake_apps, account):
    """The fake apps' status fields both declare "lead" and "customer": a pair of them
    translates; "vip" is neither's."""
    a, b = fake_apps
    connection = make_fake_connection(account, a, b)
    FieldMapping.objects.create(connection=connection, a_field="status", b_field="status")
    a.add(email="ann@example.com", status="vip")
    a.add(email="bob@example.com", status="lead")
    return connection, a, b


def test_a_value_without_translation_is_the_records_error_and_is_not_sent(
    fake_apps, account
) -> None:
    connection, _a, b = status_connection(fake_apps, account)
    run = sync(connection, trigger="initial", initial=True)
    assert run.status == "partial"
    [error] = events(run, "error")
    assert error.label == "ann@example.com" and error.direction == "a_to_b"
    assert "Status “vip” has no value in Status (status)" in error.error
    assert "value table" in error.error
    assert [r.fields["email"] for r in b.records.values()] == ["bob@example.com"]
    assert [r.fields["status"] for r in b.records.values()] == ["lead"]


def test_the_preview_counts_the_untranslated_value_as_a_failing_write(fake_apps, account) -> None:
    connection, _a, b = status_connection(fake_apps, account)
    run = preview(connection, initial=True)
    assert run.preview["counts"]["a_to_b"] == {"create": 1, "error": 1}
    [sample] = run.preview["samples"]["a_to_b"]["error"]
    assert sample["label"] == "ann@example.com"
    assert "Status “vip” has no value in Status (status)" in sample["reason"]
    assert not b.records
