"""Rule filters (every kind and operator) and actions (every kind, reverts, on-create)."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base import FieldSpec
from sync.engine.rules import (
    ActionSpec,
    FilterSpec,
    RuleContext,
    RuleSpec,
    action_changes,
    compare,
    field_for,
    matching,
)

SOURCE = {
    s.key: s
    for s in [
        FieldSpec("labels", "Tags", "tags", common="tags", multi=True),
        FieldSpec("groups", "Lists", "lists", common="lists", multi=True),
        FieldSpec("user_id", "Owner", "owner", common="owner"),
        FieldSpec("stage", "Status", "status", common="status"),
        FieldSpec("cf_budget", "Budget", "number", custom=True),
    ]
}
TARGET = {
    s.key: s
    for s in [
        FieldSpec("tags", "Tags", "tags", common="tags", multi=True),
        FieldSpec("lists", "Lists", "lists", common="lists", multi=True),
        FieldSpec("OwnerId", "Owner", "owner", common="owner"),
        FieldSpec("Status", "Status", "status", common="status"),
        FieldSpec("LeadSource", "Lead source", "choice"),
        FieldSpec("Employees", "Employees", "number"),
    ]
}
CTX = RuleContext(SOURCE, TARGET, user_links={"7": "005A"})
RECORD: dict[str, Any] = {
    "labels": ["VIP", "lead"],
    "groups": ["newsletter"],
    "user_id": "7",
    "stage": "2",
    "city": "Milano",
    "cf_budget": "1500",
    "signed_on": "2024-03-05",
    "empty": "  ",
}


def matches(*filters: FilterSpec, exists: bool = False, record: dict[str, Any] = RECORD) -> bool:
    rule = RuleSpec(1, "a_to_b", filters=filters)
    return matching([rule], "a_to_b", record, CTX, exists_in_other=exists) == [rule]


def changes(
    *actions: ActionSpec,
    target: dict[str, Any] | None = None,
    left: tuple[ActionSpec, ...] = (),
    creating: bool = False,
) -> dict[str, Any]:
    matched = [RuleSpec(1, "a_to_b", actions=actions)] if actions else []
    left_rules = [RuleSpec(2, "a_to_b", actions=left)] if left else []
    return action_changes(
        matched, left_rules, target or {}, CTX, creating=creating, source_fields=RECORD
    )


# --- Matching


def test_a_rule_without_filters_matches_everything() -> None:
    assert matches(record={})


def test_only_rules_of_the_direction_match() -> None:
    rules = [RuleSpec(1, "a_to_b"), RuleSpec(2, "b_to_a")]
    assert [r.id for r in matching(rules, "b_to_a", RECORD, CTX, exists_in_other=False)] == [2]


def test_all_filters_of_a_rule_must_hold() -> None:
    assert not matches(FilterSpec("has_tag", value="vip"), FilterSpec("in_list", value="other"))


def test_has_tag_uses_the_common_tags_field_case_insensitively() -> None:
    assert matches(FilterSpec("has_tag", value="vip"))
    assert not matches(FilterSpec("has_tag", value="customer"))


def test_has_tag_with_a_blank_value_means_any_tag() -> None:
    assert matches(FilterSpec("has_tag"))
    assert not matches(FilterSpec("has_tag"), record={"labels": []})


def test_in_list() -> None:
    assert matches(FilterSpec("in_list", value="newsletter"))
    assert not matches(FilterSpec("in_list", value="customers"))


def test_owned_by_one_of_several_owners() -> None:
    assert matches(FilterSpec("owned_by", value="3, 7"))
    assert not matches(FilterSpec("owned_by", value="3"))


def test_owned_by_with_an_operator() -> None:
    assert matches(FilterSpec("owned_by", operator="not_empty"))


def test_status_compares_numbers_numerically() -> None:
    assert matches(FilterSpec("status", value="2.0"))
    assert matches(FilterSpec("status", operator="greater", value="1"))


def test_exists_in_other() -> None:
    assert matches(FilterSpec("exists_in_other"), exists=True)
    assert not matches(FilterSpec("exists_in_other"), exists=False)


def test_negate_turns_a_filter_around() -> None:
    assert matches(FilterSpec("has_tag", value="customer", negate=True))
    assert not matches(FilterSpec("exists_in_other", negate=True), exists=True)


def test_field_filter_on_a_custom_field() -> None:
    assert matches(FilterSpec("field", "cf_budget", "greater", "999.5"))
    assert not matches(FilterSpec("field", "cf_budget", "less", "1000"))


def test_an_unknown_filter_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="filter kind"):
        matches(FilterSpec("astrology", value="leo"))


@pytest.mark.parametrize(
    ("actual", "operator", "expected", "result"),
    [
        ("Milano", "equals", "milano", True),
        (" Milano ", "equals", "Roma", False),
        ("Milano", "not_equals", "Roma", True),
        ("Milano", "not_equals", "MILANO", False),
        (None, "not_equals", "Roma", True),
        ("Milano", "contains", "LAN", True),
        ("Milano", "contains", "rom", False),
        (None, "contains", "x", False),
        ("  ", "empty", "", True),
        (None, "empty", "", True),
        ([], "empty", "", True),
        ("x", "empty", "", False),
        ("x", "not_empty", "", True),
        (None, "not_empty", "", False),
        ("10", "greater", "9", True),
        (10, "greater", "9.5", True),
        ("9", "greater", "10", False),
        ("9", "less", "10", True),
        ("1500", "equals", "1500.00", True),
        ("2024-03-05", "greater", "2024-01-31", True),
        ("2024-03-05", "less", "2024-03-05T12:00:00", True),
        ("2024-03-05T10:00:00+02:00", "equals", "2024-03-05T08:00:00Z", True),
        ("b", "greater", "A", True),
        ("abc", "greater", "5", False),
        ("abc", "less", "5", False),
        (None, "greater", "5", False),
        (True, "equals", "yes", True),
        (False, "equals", "true", False),
        (["Red", "blue"], "equals", "red", True),
        (["Red", "blue"], "not_equals", "red", False),
        (["Red", "blue"], "contains", "LU", True),
    ],
)
def test_field_value_operators(actual: Any, operator: str, expected: str, result: bool) -> None:
    assert compare(actual, operator, expected) is result


def test_an_unknown_operator_is_an_error() -> None:
    with pytest.raises(ValueError, match="operator"):
        compare("x", "resembles", "y")


def test_blank_field_resolves_through_the_common_key() -> None:
    assert field_for("has_tag", "", SOURCE) == "labels"
    assert field_for("set_owner", "", TARGET) == "OwnerId"
    assert field_for("add_tag", "Keywords", TARGET) == "Keywords"


# --- Actions


def test_add_tag_writes_the_whole_new_list() -> None:
    assert changes(ActionSpec("add_tag", value="from-crm"), target={"tags": ["a"]}) == {
        "tags": ["a", "from-crm"]
    }


def test_add_a_tag_already_there_changes_nothing() -> None:
    assert changes(ActionSpec("add_tag", value="vip"), target={"tags": ["VIP"]}) == {}


def test_remove_tag() -> None:
    assert changes(ActionSpec("remove_tag", value="old"), target={"tags": ["old", "a"]}) == {
        "tags": ["a"]
    }


def test_add_to_list_on_a_record_without_lists() -> None:
    assert changes(ActionSpec("add_to_list", value="L1")) == {"lists": ["L1"]}


def test_remove_from_list() -> None:
    assert changes(ActionSpec("remove_from_list", value="L1"), target={"lists": ["L1"]}) == {
        "lists": []
    }


def test_set_owner_to_a_target_owner_id() -> None:
    assert changes(ActionSpec("set_owner", value="005B")) == {"OwnerId": "005B"}


def test_set_owner_without_a_value_follows_the_user_link() -> None:
    assert changes(ActionSpec("set_owner")) == {"OwnerId": "005A"}


def test_set_owner_of_an_unlinked_owner_changes_nothing() -> None:
    rule = RuleSpec(1, "a_to_b", actions=(ActionSpec("set_owner"),))
    result = action_changes([rule], [], {}, CTX, creating=False, source_fields={"user_id": "99"})
    assert result == {}


def test_set_status() -> None:
    assert changes(ActionSpec("set_status", value="Open"), target={"Status": "New"}) == {
        "Status": "Open"
    }


def test_set_field_value_is_typed_by_the_target_field() -> None:
    assert changes(ActionSpec("set_field", "Employees", "50")) == {"Employees": 50}


def test_set_field_to_the_value_it_has_changes_nothing() -> None:
    assert changes(ActionSpec("set_field", "Employees", "50"), target={"Employees": 50.0}) == {}


def test_set_field_on_create_applies_when_creating() -> None:
    action = ActionSpec("set_field_on_create", "LeadSource", "Newsletter")
    assert changes(action, creating=True) == {"LeadSource": "Newsletter"}


def test_set_field_on_create_does_not_touch_existing_records() -> None:
    action = ActionSpec("set_field_on_create", "LeadSource", "Newsletter")
    assert changes(action, target={"LeadSource": "Web"}, creating=False) == {}


def test_action_on_a_field_the_target_lacks_is_skipped() -> None:
    assert changes(ActionSpec("set_field", "Nope", "x")) == {}


def test_an_unknown_action_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="action kind"):
        changes(ActionSpec("teleport", value="x"))


# --- Reverts


def test_leaving_a_rule_removes_its_revertible_tag() -> None:
    left = (ActionSpec("add_tag", value="webinar", revert_on_leave=True),)
    assert changes(left=left, target={"tags": ["webinar", "a"]}) == {"tags": ["a"]}


def test_leaving_a_rule_keeps_a_tag_not_marked_revertible() -> None:
    left = (ActionSpec("add_tag", value="webinar"),)
    assert changes(left=left, target={"tags": ["webinar"]}) == {}


def test_leaving_a_rule_puts_back_a_removed_tag() -> None:
    left = (ActionSpec("remove_tag", value="prospect", revert_on_leave=True),)
    assert changes(left=left, target={"tags": []}) == {"tags": ["prospect"]}


def test_leaving_a_rule_removes_the_record_from_its_list() -> None:
    left = (ActionSpec("add_to_list", value="L1", revert_on_leave=True),)
    assert changes(left=left, target={"lists": ["L1", "L2"]}) == {"lists": ["L2"]}


def test_leaving_a_rule_adds_the_record_back_to_a_list() -> None:
    left = (ActionSpec("remove_from_list", value="L1", revert_on_leave=True),)
    assert changes(left=left, target={"lists": []}) == {"lists": ["L1"]}


def test_leaving_a_rule_clears_the_field_value_it_set() -> None:
    left = (ActionSpec("set_field", "LeadSource", "Webinar", revert_on_leave=True),)
    assert changes(left=left, target={"LeadSource": "Webinar"}) == {"LeadSource": None}


def test_a_field_edited_since_the_action_is_not_cleared() -> None:
    left = (ActionSpec("set_field", "LeadSource", "Webinar", revert_on_leave=True),)
    assert changes(left=left, target={"LeadSource": "Partner"}) == {}


def test_a_rule_still_matched_wins_over_the_revert_of_one_left() -> None:
    left = (ActionSpec("add_tag", value="vip", revert_on_leave=True),)
    result = changes(ActionSpec("add_tag", value="vip"), left=left, target={"tags": ["vip"]})
    assert result == {}
