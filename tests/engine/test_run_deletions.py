"""Deletions (feed and complete listing, every mode, review) and unsubscribes in runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sync.engine import review_deletions
from sync.models import RecordLink, SyncEvent
from tests.engine.support import events, synced
from tests.plugins.fake import make_fake_connection


def linked_pair(connection, a, b, **fields):
    ann = a.add(email="ann@example.com", **fields)
    synced(connection)
    return ann, b.by_email("ann@example.com")[0]


def test_deletion_is_not_synced_when_deletions_are_off(fake_apps, fake_connection):
    a, b = fake_apps
    ann, ann_b = linked_pair(fake_connection, a, b)
    a.remove(ann)
    run = synced(fake_connection)
    assert ann_b in b.records
    assert "deleted in A" in events(run, "skip")[0].reason


def test_deletion_from_the_feed_deletes_on_b_in_delete_mode(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b, deletions_a_to_b="delete")
    ann, ann_b = linked_pair(connection, a, b, company="Acme")
    a.remove(ann)
    run = synced(connection)
    assert ann_b not in b.records
    (delete,) = events(run, "delete")
    assert delete.changes["company"]["old"] == "Acme"  # journaled for undo


def test_deletion_is_found_by_a_complete_listing_without_a_feed(fake_vendor, account):
    a = fake_vendor.make_app("a", delta=False)
    b = fake_vendor.make_app("b")
    connection = make_fake_connection(account, a, b, deletions_a_to_b="delete")
    ann, ann_b = linked_pair(connection, a, b)
    a.add(email="other@example.com")  # keeps the listing non-empty
    synced(connection)
    a.remove(ann)
    synced(connection)
    assert ann_b not in b.records


def test_delta_without_deletion_feed_does_not_guess_deletions(fake_vendor, account):
    a = fake_vendor.make_app("a", deletion_feed=False)
    b = fake_vendor.make_app("b")
    connection = make_fake_connection(account, a, b, deletions_a_to_b="delete")
    ann, ann_b = linked_pair(connection, a, b)
    a.remove(ann)
    synced(connection)
    assert ann_b in b.records  # only a complete listing may reveal it


def test_deletion_adds_the_trash_tag_in_trash_mode(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b, deletions_a_to_b="trash_tag")
    ann, ann_b = linked_pair(connection, a, b)
    a.remove(ann)
    synced(connection)
    assert "deleted" in b.get(ann_b)["tags"]
    assert RecordLink.objects.get(connection=connection).state == "trashed"


def test_deletion_removes_from_the_list_in_list_mode(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(
        account, a, b, deletions_a_to_b="remove_from_list", b_scope="newsletter"
    )
    ann, ann_b = linked_pair(connection, a, b)
    assert b.get(ann_b)["lists"] == ["newsletter"]
    a.remove(ann)
    synced(connection)
    assert "newsletter" not in b.get(ann_b)["lists"]


def test_deletion_sets_the_marker_field_in_marker_mode(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(
        account, a, b, deletions_a_to_b="marker_field", marker_field_b="deleted_marker"
    )
    ann, ann_b = linked_pair(connection, a, b)
    a.remove(ann)
    synced(connection)
    assert b.get(ann_b)["deleted_marker"] is True


def test_deletion_on_b_deletes_on_a_per_its_own_direction(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b, deletions_b_to_a="delete")
    ann, ann_b = linked_pair(connection, a, b)
    b.remove(ann_b)
    synced(connection)
    assert ann not in a.records


def test_modify_beats_delete(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b, deletions_a_to_b="delete")
    ann, ann_b = linked_pair(connection, a, b)
    a.remove(ann)
    b.edit(ann_b, company="Still here")
    synced(connection)
    assert ann_b in b.records
    (again,) = a.by_email("ann@example.com")
    assert a.get(again)["company"] == "Still here"


def test_deletion_waits_for_review_and_approval_deletes(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(
        account, a, b, deletions_a_to_b="delete", deletion_review=True
    )
    ann, ann_b = linked_pair(connection, a, b)
    a.remove(ann)
    synced(connection)
    assert ann_b in b.records
    pending = SyncEvent.objects.filter(connection=connection, status="pending_review")
    assert pending.count() == 1
    assert review_deletions(list(pending), approve=True) == 1
    assert ann_b not in b.records
    assert synced(connection).writes == 0


def test_dismissed_deletion_keeps_the_record(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(
        account, a, b, deletions_a_to_b="delete", deletion_review=True
    )
    ann, ann_b = linked_pair(connection, a, b)
    a.remove(ann)
    synced(connection)
    pending = list(SyncEvent.objects.filter(connection=connection, status="pending_review"))
    review_deletions(pending, approve=False)
    assert ann_b in b.records
    assert SyncEvent.objects.get(pk=pending[0].pk).status == "dismissed"


def test_unsubscribe_in_a_adds_the_unsubscribe_tag_in_b(fake_apps, fake_connection):
    a, b = fake_apps
    ann, ann_b = linked_pair(fake_connection, a, b, subscribed=True)
    a.edit(ann, subscribed=False)
    run = synced(fake_connection)
    assert "unsubscribed" in b.get(ann_b)["tags"]
    assert events(run, "unsubscribe")


def test_unsubscribe_sets_the_opt_out_field_in_opt_out_mode(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b, unsubscribes="opt_out")
    ann, ann_b = linked_pair(connection, a, b, subscribed=True)
    b.edit(ann_b, subscribed=True)
    synced(connection)
    a.edit(ann, subscribed=False)
    synced(connection)
    assert b.get(ann_b)["subscribed"] is False


@pytest.mark.parametrize("mode", ["off"])
def test_unsubscribe_is_ignored_when_off(fake_apps, account, mode):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b, unsubscribes=mode)
    ann, ann_b = linked_pair(connection, a, b, subscribed=True)
    a.edit(ann, subscribed=False)
    synced(connection)
    assert "unsubscribed" not in (b.get(ann_b).get("tags") or [])


def test_delta_without_deletion_feed_is_listed_completely_once_due(fake_vendor, account, settings):
    settings.SYNC_FULL_LISTING_MINUTES = 60
    a = fake_vendor.make_app("a", deletion_feed=False)
    b = fake_vendor.make_app("b")
    connection = make_fake_connection(account, a, b, deletions_a_to_b="delete")
    ann, ann_b = linked_pair(connection, a, b)
    a.add(email="other@example.com")  # keeps the listing non-empty
    synced(connection)
    a.remove(ann)
    type(connection).objects.filter(pk=connection.pk).update(
        a_listed_at=connection.a_listed_at - timedelta(minutes=61)
    )
    connection.refresh_from_db()
    synced(connection)
    assert ann_b not in b.records
    connection.refresh_from_db()
    assert timezone.now() - connection.a_listed_at < timedelta(minutes=1)


def test_a_partial_record_changes_only_what_it_carries(fake_apps, fake_connection, monkeypatch):
    # A vendor that reports an unsubscribe apart from its contacts (GetResponse's removed
    # segment) sends only the subscription: the other fields stay as last synced, and a
    # fragment of a record never synced creates nothing.
    from connectors.base import Record
    from tests.fakes.connector import FakeConnector

    a, b = fake_apps
    ann, ann_b = linked_pair(fake_connection, a, b, subscribed=True, first_name="Ann")
    listed = FakeConnector.fetch

    def fetch(self, cursor):
        for page in listed(self, cursor):
            if self.app is a:
                page.records = [
                    Record(ann, None, {"subscribed": False}, partial=True),
                    Record("stranger", None, {"email": "x@example.com"}, partial=True),
                ]
            yield page

    monkeypatch.setattr(FakeConnector, "fetch", fetch)
    count = len(b.records)
    run = synced(fake_connection)
    assert "unsubscribed" in b.get(ann_b)["tags"]
    assert b.get(ann_b)["first_name"] == "Ann"
    assert len(b.records) == count
    assert events(run, "unsubscribe")
