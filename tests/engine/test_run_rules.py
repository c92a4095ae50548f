"""Rules in runs: every filter decides the segment, every action lands on the target."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from sync.models import Rule, RuleAction, RuleFilter, UserLink
from tests.engine.support import synced
from tests.plugins.fake import make_fake_connection


def connection_with_rule(account, a, b, filters=(), actions=(), both_ways=False):
    """A connection whose only A→B rule has the given filters and actions."""
    connection = make_fake_connection(account, a, b, default_rules=False)
    rule = Rule.objects.create(connection=connection, direction="a_to_b", name="Segment")
    for spec in filters:
        RuleFilter.objects.create(rule=rule, **spec)
    for spec in actions:
        RuleAction.objects.create(rule=rule, **spec)
    if both_ways:
        Rule.objects.create(connection=connection, direction="b_to_a", name="Everyone")
    return connection


def emails(app):
    return sorted(r.fields["email"] for r in app.records.values())


@pytest.mark.parametrize(
    ("spec", "inside", "outside"),
    [
        ({"kind": "has_tag", "value": "vip"}, {"tags": ["vip"]}, {"tags": ["other"]}),
        ({"kind": "in_list", "value": "news"}, {"lists": ["news"]}, {"lists": []}),
        ({"kind": "owned_by", "value": "u1"}, {"owner": "u1"}, {"owner": "u2"}),
        ({"kind": "status", "value": "customer"}, {"status": "customer"}, {"status": "lead"}),
        (
            {"kind": "field", "field": "company", "operator": "contains", "value": "acme"},
            {"company": "ACME Corp"},
            {"company": "Beta"},
        ),
        (
            {"kind": "field", "field": "company", "operator": "not_empty"},
            {"company": "Acme"},
            {"company": ""},
        ),
        ({"kind": "has_tag", "value": "vip", "negate": True}, {"tags": []}, {"tags": ["vip"]}),
    ],
)
def test_filter_decides_which_contacts_sync(fake_apps, account, spec, inside, outside):
    a, b = fake_apps
    connection = connection_with_rule(account, a, b, filters=[spec])
    a.add(email="in@example.com", **inside)
    a.add(email="out@example.com", **outside)
    synced(connection)
    assert emails(b) == ["in@example.com"]


def test_exists_in_other_filter_only_updates_contacts_already_there(fake_apps, account):
    a, b = fake_apps
    connection = connection_with_rule(account, a, b, filters=[{"kind": "exists_in_other"}])
    a.add(email="both@example.com", company="Fresh")
    a.add(email="only-a@example.com")
    existing = b.add(email="both@example.com")
    synced(connection)
    assert emails(b) == ["both@example.com"]
    assert b.get(existing)["company"] == "Fresh"


def test_a_contact_syncs_if_any_rule_matches(fake_apps, account):
    a, b = fake_apps
    connection = connection_with_rule(account, a, b, filters=[{"kind": "has_tag", "value": "x"}])
    second = Rule.objects.create(connection=connection, direction="a_to_b", order=1)
    RuleFilter.objects.create(rule=second, kind="has_tag", value="y")
    a.add(email="x@example.com", tags=["x"])
    a.add(email="y@example.com", tags=["y"])
    a.add(email="z@example.com", tags=["z"])
    synced(connection)
    assert emails(b) == ["x@example.com", "y@example.com"]


@pytest.mark.parametrize(
    ("action", "field", "expected"),
    [
        ({"kind": "add_tag", "value": "from-crm"}, "tags", ["from-crm", "keep"]),
        ({"kind": "remove_tag", "value": "keep"}, "tags", []),
        ({"kind": "add_to_list", "value": "news"}, "lists", ["news"]),
        ({"kind": "set_status", "value": "customer"}, "status", "customer"),
        ({"kind": "set_owner", "value": "u2"}, "owner", "u2"),
        ({"kind": "set_field", "field": "notes", "value": "synced"}, "notes", "synced"),
        ({"kind": "set_field_on_create", "field": "notes", "value": "new"}, "notes", "new"),
    ],
)
def test_action_is_applied_on_the_target(fake_apps, account, action, field, expected):
    a, b = fake_apps
    connection = connection_with_rule(account, a, b, actions=[action])
    a.add(email="ann@example.com", tags=["keep"])
    synced(connection)
    value = b.get(b.by_email("ann@example.com")[0]).get(field)
    assert (sorted(value) if isinstance(value, list) else value) == expected


def test_set_field_on_create_does_not_touch_existing_contacts(fake_apps, account):
    a, b = fake_apps
    action = {"kind": "set_field_on_create", "field": "notes", "value": "new"}
    connection = connection_with_rule(account, a, b, actions=[action])
    a.add(email="ann@example.com")
    existing = b.add(email="ann@example.com", notes="mine")
    synced(connection)
    assert b.get(existing)["notes"] == "mine"


def test_set_owner_without_value_follows_the_user_link(fake_apps, account):
    a, b = fake_apps
    connection = connection_with_rule(account, a, b, actions=[{"kind": "set_owner"}])
    UserLink.objects.create(connection=connection, a_user_id="u1", b_user_id="u2")
    a.add(email="ann@example.com", owner="u1")
    synced(connection)
    assert b.get(b.by_email("ann@example.com")[0])["owner"] == "u2"


def test_revertible_action_is_undone_when_the_contact_leaves_the_segment(fake_apps, account):
    a, b = fake_apps
    connection = connection_with_rule(
        account,
        a,
        b,
        filters=[{"kind": "has_tag", "value": "vip"}],
        actions=[{"kind": "add_to_list", "value": "vip-list", "revert_on_leave": True}],
    )
    ann = a.add(email="ann@example.com", tags=["vip"])
    synced(connection)
    ann_b = b.by_email("ann@example.com")[0]
    assert b.get(ann_b)["lists"] == ["vip-list"]
    a.edit(ann, tags=[])
    synced(connection)
    assert b.get(ann_b)["lists"] == []
    assert ann_b in b.records  # the link stays


def test_added_tag_does_not_flow_back_to_the_source(fake_apps, account):
    a, b = fake_apps
    connection = connection_with_rule(
        account, a, b, actions=[{"kind": "add_tag", "value": "from-a"}], both_ways=True
    )
    ann = a.add(email="ann@example.com", tags=["x"])
    synced(connection)
    b.edit(b.by_email("ann@example.com")[0], company="Edited in B")
    synced(connection)
    assert a.get(ann)["tags"] == ["x"]
    assert a.get(ann)["company"] == "Edited in B"
    assert synced(connection).writes == 0


def test_rules_beyond_the_plan_limit_are_refused(fake_apps, account):
    account.tier = "free"  # two rules per connection
    account.save()
    connection = make_fake_connection(account, *fake_apps)
    third = Rule(connection=connection, direction="a_to_b")
    with pytest.raises(ValidationError):
        third.clean()
