"""Matching (issue 13): identities first, duplicate emails as groups paired by a second
key, ambiguous groups held for the tenant; never the wrong person's values."""

from __future__ import annotations

from sync.models import RecordLink
from tests.engine.support import events, synced


def _partner(connection, a_id):
    return RecordLink.objects.get(connection=connection, a_id=a_id).b_id


def test_a_duplicate_email_group_is_paired_by_name_whatever_the_order(fake_apps, fake_connection):
    a, b = fake_apps
    ann_a = a.add(email="info@lee.test", first_name="Ann", last_name="Lee", company="ann's")
    bob_a = a.add(email="info@lee.test", first_name="Bob", last_name="Lee", company="bob's")
    bob_b = b.add(email="INFO@lee.test", first_name="Bob", last_name="Lee")
    ann_b = b.add(email="info@lee.test", first_name="ann", last_name="lee")
    run = synced(fake_connection)
    assert _partner(fake_connection, ann_a) == ann_b
    assert _partner(fake_connection, bob_a) == bob_b
    assert b.get(bob_b)["company"] == "bob's" and b.get(ann_b)["company"] == "ann's"
    assert len(a.records) == len(b.records) == 2
    assert run.match_summary["matching"]["paired by name"] == 2
    assert run.match_summary["skipped"]["ambiguous group"] == 0
    # Later edits reach their own counterpart.
    b.edit(bob_b, company="bob, edited in B")
    synced(fake_connection)
    assert a.get(bob_a)["company"] == "bob, edited in B" and a.get(ann_a)["company"] == "ann's"


def test_same_names_are_told_apart_by_phone(fake_apps, fake_connection):
    a, b = fake_apps
    one_a = a.add(email="j@smith.test", first_name="J", last_name="Smith", phone="+39 02 1234 5678")
    two_a = a.add(email="j@smith.test", first_name="J", last_name="Smith", phone="+39 06 8765 4321")
    two_b = b.add(email="j@smith.test", first_name="J", last_name="Smith", phone="+390687654321")
    one_b = b.add(email="j@smith.test", first_name="J", last_name="Smith", phone="+39 02 12345678")
    run = synced(fake_connection)
    assert _partner(fake_connection, one_a) == one_b
    assert _partner(fake_connection, two_a) == two_b
    assert run.match_summary["matching"]["paired by phone"] == 2


def test_an_ambiguous_group_is_held_not_linked_and_listed(fake_apps, fake_connection):
    a, b = fake_apps
    a.add(email="info@shop.test", first_name="Sam", company="from A 1")
    a.add(email="info@shop.test", first_name="Sam", company="from A 2")
    b.add(email="info@shop.test", first_name="Sam", company="from B 1")
    b.add(email="info@shop.test", first_name="Sam", company="from B 2")
    run = synced(fake_connection)
    assert run.writes == 0 and len(a.records) == len(b.records) == 2
    held = RecordLink.objects.filter(connection=fake_connection).exclude(held="")
    assert held.count() == 4
    assert all(bool(link.a_id) != bool(link.b_id) for link in held)  # none linked
    assert run.match_summary["skipped"]["ambiguous group"] == 4
    assert run.match_summary["held"]["ambiguous group"] == 4
    skips = [e for e in events(run, "skip") if e.reason.startswith("ambiguous group")]
    assert len(skips) == 2  # the records of B read against A's held half links
    # A later run keeps them held and writes nothing.
    again = synced(fake_connection)
    assert again.writes == 0 and again.match_summary["held"]["ambiguous group"] == 4


def test_a_group_with_one_person_more_creates_only_that_one(fake_apps, fake_connection):
    a, b = fake_apps
    a.add(email="info@lee.test", first_name="Ann", last_name="Lee")
    a.add(email="info@lee.test", first_name="Bob", last_name="Lee")
    b.add(email="info@lee.test", first_name="Bob", last_name="Lee")
    synced(fake_connection)
    assert sorted(r["first_name"] for r in (s.fields for s in b.records.values())) == ["Ann", "Bob"]
    assert len(a.records) == 2


def test_identities_match_before_emails(fake_vendor, account):
    from tests.plugins.fake import make_fake_connection

    a, b = fake_vendor.make_app("a", identity=True), fake_vendor.make_app("b", identity=True)
    # The same people, listed in another order, with emails swapped between them.
    x_a = a.add(uid="x", email="one@h.test", first_name="X")
    y_a = a.add(uid="y", email="two@h.test", first_name="Y")
    y_b = b.add(uid="y", email="one@h.test", first_name="Y")
    x_b = b.add(uid="x", email="two@h.test", first_name="X")
    connection = make_fake_connection(account, a, b)
    run = synced(connection)
    assert _partner(connection, x_a) == x_b and _partner(connection, y_a) == y_b
    assert run.match_summary["matching"]["matched by identity"] == 2


def test_the_summary_is_in_the_sync_command_and_the_api(fake_apps, fake_connection):
    import io
    import json

    from django.core.management import call_command

    from sync.api.serializers import RunSerializer

    a, b = fake_apps
    for app in (a, b):
        app.add(email="info@shop.test", first_name="Sam")
        app.add(email="info@shop.test", first_name="Sam")
    a.add(first_name="Nomail")
    out = io.StringIO()
    call_command("sync", str(fake_connection.pk), "--json", stdout=out)
    summary = json.loads(out.getvalue())["summary"]
    assert summary["skipped"]["ambiguous group"] == 4
    assert summary["skipped"]["no email"] == 1
    assert summary["held"] == {"ambiguous group": 4}
    run = fake_connection.runs.order_by("-pk").first()
    assert RunSerializer(run).data["match_summary"] == summary
