"""Runs between two fake apps: creates, updates, conflicts, sets, names, phones."""

from __future__ import annotations

from sync.models import RecordLink
from tests.engine.support import events, synced
from tests.plugins.fake import make_fake_connection


def test_first_run_creates_each_side_on_the_other(fake_apps, fake_connection):
    a, b = fake_apps
    a.add(email="ann@example.com", first_name="Ann")
    b.add(email="bob@example.com", first_name="Bob")
    run = synced(fake_connection)
    assert run.counts == {"a_to_b": {"create": 1}, "b_to_a": {"create": 1}}
    assert b.get(b.by_email("ann@example.com")[0])["first_name"] == "Ann"
    assert a.get(a.by_email("bob@example.com")[0])["first_name"] == "Bob"


def test_second_run_writes_nothing(fake_apps, fake_connection):
    a, b = fake_apps
    a.add(email="ann@example.com", first_name="Ann", tags=["vip"], phone="+39 02 123456")
    b.add(email="bob@example.com", first_name="Bob")
    synced(fake_connection)
    writes = a.writes + b.writes
    run = synced(fake_connection)
    assert run.writes == 0 and a.writes + b.writes == writes
    assert run.api_calls > 0  # it read both sides


def test_same_email_on_both_sides_is_linked_not_duplicated(fake_apps, fake_connection):
    a, b = fake_apps
    a.add(email="Ann@Example.com ", first_name="Ann")
    b.add(email="ann@example.com", last_name="Lee")
    synced(fake_connection)
    assert len(a.records) == 1 and len(b.records) == 1
    assert a.get(a.by_email("ann@example.com")[0])["last_name"] == "Lee"
    assert b.get(b.by_email("ann@example.com")[0])["first_name"] == "Ann"


def test_edit_on_a_reaches_b_and_is_journaled_with_old_value(fake_apps, fake_connection):
    a, b = fake_apps
    ann = a.add(email="ann@example.com", company="Old")
    synced(fake_connection)
    a.edit(ann, company="New")
    run = synced(fake_connection)
    assert b.get(b.by_email("ann@example.com")[0])["company"] == "New"
    (update,) = events(run, "update")
    assert update.changes["company"] == {"old": "Old", "new": "New"}
    assert update.direction == "a_to_b"


def test_edit_on_b_reaches_a(fake_apps, fake_connection):
    a, b = fake_apps
    a.add(email="ann@example.com", company="Old")
    synced(fake_connection)
    b.edit(b.by_email("ann@example.com")[0], company="FromB")
    synced(fake_connection)
    assert a.get(a.by_email("ann@example.com")[0])["company"] == "FromB"


def test_conflict_most_recent_wins_and_loser_is_journaled(fake_apps, fake_connection):
    a, b = fake_apps
    ann = a.add(email="ann@example.com", company="Old")
    synced(fake_connection)
    a.edit(ann, company="FromA")
    b.edit(b.by_email("ann@example.com")[0], company="FromB")  # later
    run = synced(fake_connection)
    assert a.get(ann)["company"] == "FromB"
    (conflict,) = events(run, "conflict")
    assert conflict.changes["company|company"]["lost"] == "FromA"


def test_conflict_with_a_wins_policy_keeps_a(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b, conflict_policy="a_wins")
    ann = a.add(email="ann@example.com", company="Old")
    synced(connection)
    a.edit(ann, company="FromA")
    b.edit(b.by_email("ann@example.com")[0], company="FromB")
    synced(connection)
    assert b.get(b.by_email("ann@example.com")[0])["company"] == "FromA"


def test_initial_merge_fills_empty_fields_from_either_side(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b, conflict_policy="b_wins")
    a.add(email="ann@example.com", company="Acme", first_name="Ann")
    b.add(email="ann@example.com", company="Beta")
    synced(connection, initial=True)
    assert a.get(a.by_email("ann@example.com")[0])["company"] == "Beta"  # policy
    assert b.get(b.by_email("ann@example.com")[0])["first_name"] == "Ann"  # never erased


def test_tags_added_and_removed_on_both_sides_merge(fake_apps, fake_connection):
    a, b = fake_apps
    ann = a.add(email="ann@example.com", tags=["one", "two"])
    synced(fake_connection)
    ann_b = b.by_email("ann@example.com")[0]
    a.edit(ann, tags=["one", "two", "three"])
    b.edit(ann_b, tags=["two"])
    synced(fake_connection)
    assert sorted(a.get(ann)["tags"]) == ["three", "two"]
    assert sorted(b.get(ann_b)["tags"]) == ["three", "two"]


def test_full_name_is_split_and_joined(fake_vendor, account):
    split = fake_vendor.make_app("split")
    joined = fake_vendor.make_app("joined", full_name_only=True)
    connection = make_fake_connection(account, split, joined)
    split.add(email="ann@example.com", first_name="Ann Marie", last_name="van Dyke")
    joined.add(email="bob@example.com", name="Bob Stone")
    synced(connection)
    assert joined.get(joined.by_email("ann@example.com")[0])["name"] == "Ann Marie van Dyke"
    bob = split.get(split.by_email("bob@example.com")[0])
    assert (bob["first_name"], bob["last_name"]) == ("Bob", "Stone")


def test_full_name_change_keeps_the_unchanged_part(fake_vendor, account):
    split = fake_vendor.make_app("split")
    joined = fake_vendor.make_app("joined", full_name_only=True)
    connection = make_fake_connection(account, split, joined)
    ann = split.add(email="ann@example.com", first_name="Ann Marie", last_name="Lee")
    synced(connection)
    joined.edit(joined.by_email("ann@example.com")[0], name="Ann Marie Smith")
    synced(connection)
    assert (split.get(ann)["first_name"], split.get(ann)["last_name"]) == ("Ann Marie", "Smith")


def test_phone_in_local_format_matches_e164_with_default_country(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b, default_phone_country="IT")
    a.add(email="ann@example.com", phone="02 1234 5678")
    b.add(email="ann@example.com", phone="+390212345678")
    run = synced(connection)
    assert run.writes == 0  # the same number, only spelled differently


def test_phone_is_written_in_e164(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b, default_phone_country="IT")
    a.add(email="ann@example.com", phone="02 1234 5678")
    synced(connection)
    assert b.get(b.by_email("ann@example.com")[0])["phone"] == "+390212345678"


def test_country_name_and_code_are_the_same_value(fake_apps, fake_connection):
    a, b = fake_apps
    a.add(email="ann@example.com", country="Italy")
    b.add(email="ann@example.com", country="IT")
    assert synced(fake_connection).writes == 0


def test_duplicate_email_inside_one_app_reaches_the_other_as_two_people(fake_apps, fake_connection):
    # Issue 13: no first-wins skip; two people sharing an email are both synced.
    a, b = fake_apps
    first = a.add(email="ann@example.com", first_name="Ann")
    second = a.add(email="ANN@example.com", first_name="Annie")
    run = synced(fake_connection)
    assert sorted(r["first_name"] for r in (s.fields for s in b.records.values())) == [
        "Ann",
        "Annie",
    ]
    assert not [e for e in events(run, "skip") if "duplicate" in e.reason]
    for a_id, name in ((first, "Ann"), (second, "Annie")):
        link = RecordLink.objects.get(connection=fake_connection, a_id=a_id)
        assert b.get(link.b_id)["first_name"] == name


def test_contact_without_email_is_skipped_when_avoiding_duplicates(fake_apps, fake_connection):
    a, b = fake_apps
    a.add(first_name="Nomail")
    run = synced(fake_connection)
    assert not b.records
    assert [e.reason for e in events(run, "skip")] == ["no email"]


def test_contact_without_email_syncs_when_duplicates_are_allowed(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b, avoid_duplicates=False)
    a.add(first_name="Nomail")
    synced(connection)
    synced(connection)
    assert len(b.records) == 1


def test_one_way_connection_never_writes_to_the_source(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b, direction="a_to_b")
    a.add(email="ann@example.com")
    b.add(email="bob@example.com")
    synced(connection)
    assert len(a.records) == 1 and len(b.records) == 2


def test_full_listing_app_without_delta_converges(fake_vendor, account):
    a = fake_vendor.make_app("a", delta=False)
    b = fake_vendor.make_app("b", delta=False)
    connection = make_fake_connection(account, a, b)
    ann = a.add(email="ann@example.com", company="X")
    synced(connection)
    a.edit(ann, company="Y")
    synced(connection)
    assert b.get(b.by_email("ann@example.com")[0])["company"] == "Y"
    assert synced(connection).writes == 0
