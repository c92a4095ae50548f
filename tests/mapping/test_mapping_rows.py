"""The database side of mapping and rules: default FieldMapping rows, pairs of a
connection, and rules loaded with their filters and actions."""

from __future__ import annotations

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from sync.engine.mapping import ensure_default_mappings, pairs_for
from sync.engine.rules import ActionSpec, FilterSpec, context_for, load_rules, load_user_links
from sync.models import (
    Account,
    AppAuthorization,
    Connection,
    FieldMapping,
    Rule,
    RuleAction,
    RuleFilter,
    UserLink,
)
from tests.mapping.specs import CRM, MARKETING


@pytest.fixture
def conn(account: Account) -> Connection:
    crm = AppAuthorization.objects.create(account=account, vendor="fake", label="CRM")
    marketing = AppAuthorization.objects.create(account=account, vendor="fake", label="Mail")
    return Connection.objects.create(
        account=account, name="CRM ↔ Mail", a_authorization=crm, b_authorization=marketing
    )


def test_default_mappings_are_created_locked_and_in_order(conn: Connection) -> None:
    rows = ensure_default_mappings(conn, CRM, MARKETING)
    assert [r.key for r in rows][:3] == ["first_name+last_name|name", "email|email", "phone|phone"]
    assert all(r.is_default and r.enabled for r in rows)


def test_ensuring_default_mappings_twice_creates_nothing_more(conn: Connection) -> None:
    first = ensure_default_mappings(conn, CRM, MARKETING)
    second = ensure_default_mappings(conn, CRM, MARKETING)
    assert [r.pk for r in second] == [r.pk for r in first]
    assert FieldMapping.objects.filter(connection=conn).count() == len(first)


def test_ensuring_default_mappings_leaves_custom_and_disabled_rows_alone(conn: Connection) -> None:
    custom = FieldMapping.objects.create(
        connection=conn, a_field="employees", b_field="size", direction="a_to_b", order=99
    )
    ensure_default_mappings(conn, CRM, MARKETING)
    FieldMapping.objects.filter(connection=conn, a_field="email").update(enabled=False)
    ensure_default_mappings(conn, CRM, MARKETING)
    custom.refresh_from_db()
    assert not custom.is_default
    assert not FieldMapping.objects.get(connection=conn, a_field="email").enabled


def test_pairs_for_returns_only_enabled_rows(conn: Connection) -> None:
    ensure_default_mappings(conn, CRM, MARKETING)
    FieldMapping.objects.filter(connection=conn, a_field="title").update(enabled=False)
    keys = [p.key for p in pairs_for(conn)]
    assert "title|job" not in keys
    assert "email|email" in keys


def test_pairs_for_with_specs_fills_types_and_infers_blank_transforms(conn: Connection) -> None:
    FieldMapping.objects.create(connection=conn, a_field="mobile", b_field="phone")
    pair = pairs_for(conn, CRM, MARKETING)[0]
    assert (pair.transform, pair.a_type, pair.b_type) == ("phone", "text", "text")


def test_pairs_for_leaves_out_a_field_that_no_longer_exists(conn: Connection) -> None:
    FieldMapping.objects.create(connection=conn, a_field="gone", b_field="size")
    FieldMapping.objects.create(connection=conn, a_field="employees", b_field="size", order=1)
    assert [p.key for p in pairs_for(conn, CRM, MARKETING)] == ["employees|size"]


def test_load_rules_reads_enabled_rules_with_filters_and_actions(conn: Connection) -> None:
    rule = Rule.objects.create(connection=conn, direction="a_to_b", order=1)
    Rule.objects.create(connection=conn, direction="a_to_b", enabled=False)
    RuleFilter.objects.create(rule=rule, kind="has_tag", value="vip", negate=True)
    RuleAction.objects.create(rule=rule, kind="add_tag", value="crm", revert_on_leave=True)
    (spec,) = load_rules(conn)
    assert spec.filters == (FilterSpec("has_tag", "", "equals", "vip", True),)
    assert spec.actions == (ActionSpec("add_tag", "", "crm", True),)


def test_load_rules_takes_three_queries_whatever_the_number_of_rules(conn: Connection) -> None:
    for order in range(5):
        rule = Rule.objects.create(connection=conn, direction="b_to_a", order=order)
        RuleFilter.objects.create(rule=rule, kind="in_list", value=f"L{order}")
        RuleAction.objects.create(rule=rule, kind="set_status", value="new")
    with CaptureQueriesContext(db_connection) as queries:
        rules = load_rules(conn)
    assert len(rules) == 5
    assert len(queries) == 3


def test_user_links_map_owners_in_the_rule_direction(conn: Connection) -> None:
    UserLink.objects.create(connection=conn, a_user_id="7", b_user_id="005A")
    assert load_user_links(conn, "a_to_b") == {"7": "005A"}
    assert load_user_links(conn, "b_to_a") == {"005A": "7"}


def test_rule_context_of_b_to_a_has_b_as_source(conn: Connection) -> None:
    ctx = context_for(conn, "b_to_a", CRM, MARKETING)
    assert "name" in ctx.source_specs
    assert "first_name" in ctx.target_specs
