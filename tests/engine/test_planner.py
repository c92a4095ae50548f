"""The planner alone: a pure function from (link, side A, side B, options) to actions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from sync.engine import mapping
from sync.engine.mapping import MappingContext
from sync.engine.planner import LinkView, Options, SideSpec, SideState, plan
from tests.fakes.connector import FakeApp

SPECS = FakeApp("specs").field_specs()
OPTIONS = Options(
    pairs=mapping.default_pairs(SPECS, SPECS),
    mapping=MappingContext("IT"),
    sides={
        "a": SideSpec.from_specs(SPECS, "", "deleted_marker"),
        "b": SideSpec.from_specs(SPECS, "newsletter", "deleted_marker"),
    },
)
EARLY = datetime(2026, 1, 1, tzinfo=UTC)
LATE = datetime(2026, 1, 2, tzinfo=UTC)


def linked(last: dict[str, Any], now: dict[str, Any] | None = None, **kw: Any) -> SideState:
    return SideState(id="x", current=now if now is not None else last, last=last, **kw)


def ann(**fields: Any) -> dict[str, Any]:
    return {"email": "ann@example.com", "first_name": "Ann", **fields}


LINK = LinkView("linked", "ann@example.com")


def test_record_only_on_a_is_created_on_b() -> None:
    decision = plan(LINK, SideState("a1", ann(), None), SideState(), OPTIONS)
    assert decision.writes["b"].op == "create"
    assert decision.writes["b"].fields["email"] == "ann@example.com"


def test_record_without_email_is_skipped_when_avoiding_duplicates() -> None:
    decision = plan(LinkView(), SideState("a1", {"first_name": "Ann"}, None), SideState(), OPTIONS)
    assert not decision.writes
    assert decision.events[0].reason == "no email"


def test_change_on_a_only_updates_b() -> None:
    decision = plan(LINK, linked(ann(), ann(company="Acme")), linked(ann()), OPTIONS)
    assert decision.writes["b"].fields == {"company": "Acme"}
    assert "a" not in decision.writes


def test_change_on_b_only_updates_a() -> None:
    decision = plan(LINK, linked(ann()), linked(ann(), ann(company="Beta")), OPTIONS)
    assert decision.writes["a"].fields == {"company": "Beta"}


def test_same_value_on_both_sides_writes_nothing() -> None:
    decision = plan(LINK, linked(ann(), ann(company="X")), linked(ann(), ann(company="X")), OPTIONS)
    assert not decision.writes and not decision.events


@pytest.mark.parametrize(
    ("policy", "a_time", "b_time", "winner_value"),
    [
        ("a_wins", LATE, EARLY, "FromA"),
        ("a_wins", EARLY, LATE, "FromA"),
        ("b_wins", LATE, EARLY, "FromB"),
        ("most_recent", EARLY, LATE, "FromB"),
        ("most_recent", LATE, EARLY, "FromA"),
    ],
)
def test_conflict_is_settled_by_the_policy(policy, a_time, b_time, winner_value) -> None:
    a = linked(ann(company="Old"), ann(company="FromA"), updated_at=a_time)
    b = linked(ann(company="Old"), ann(company="FromB"), updated_at=b_time)
    decision = plan(LINK, a, b, replace(OPTIONS, conflict_policy=policy))
    loser = "b" if winner_value == "FromA" else "a"
    assert decision.writes[loser].fields == {"company": winner_value}
    conflict = next(e for e in decision.events if e.action == "conflict")
    assert conflict.changes["company|company"]["lost"] != winner_value


def test_empty_value_never_erases_a_filled_one_by_conflict() -> None:
    a = linked(ann(company="Old"), ann(company=None))
    b = linked(ann(company="Old"), ann(company="New"))
    decision = plan(LINK, a, b, replace(OPTIONS, conflict_policy="a_wins"))
    assert decision.writes["a"].fields == {"company": "New"}
    assert "b" not in decision.writes


def test_tags_merge_as_sets_with_additions_and_removals_from_both_sides() -> None:
    a = linked(ann(tags=["x", "y"]), ann(tags=["x", "y", "from-a"]))
    b = linked(ann(tags=["x", "y"]), ann(tags=["x"]))  # B removed y
    decision = plan(LINK, a, b, OPTIONS)
    assert sorted(decision.writes["a"].fields["tags"]) == ["from-a", "x"]
    assert sorted(decision.writes["b"].fields["tags"]) == ["from-a", "x"]


def test_phone_spelled_differently_is_not_a_change() -> None:
    a = linked(ann(phone="+39 02 1234567"))
    b = linked(ann(phone="+39 02 1234567"), ann(phone="02 1234567"))
    assert not plan(LINK, a, b, OPTIONS).writes


@pytest.mark.parametrize(
    ("mode", "action", "field", "value"),
    [
        ("trash_tag", "trash", "tags", ["deleted"]),
        ("remove_from_list", "remove_from_list", "lists", []),
        ("marker_field", "mark", "deleted_marker", True),
    ],
)
def test_deletion_on_a_applies_the_configured_action_on_b(mode, action, field, value) -> None:
    options = replace(OPTIONS, deletions={"a_to_b": mode, "b_to_a": "off"})
    gone = SideState("a1", None, ann(), gone=True)
    decision = plan(LINK, gone, linked(ann(lists=["newsletter"])), options)
    assert decision.writes["b"].fields == {field: value}
    assert decision.events[0].action == action


def test_deletion_with_delete_mode_deletes_and_journals_the_old_values() -> None:
    options = replace(OPTIONS, deletions={"a_to_b": "delete", "b_to_a": "off"})
    decision = plan(LINK, SideState("a1", None, ann(), gone=True), linked(ann()), options)
    assert decision.writes["b"].op == "delete"
    assert decision.events[0].changes["email"]["old"] == "ann@example.com"


def test_deletion_goes_to_review_when_review_is_on() -> None:
    options = replace(
        OPTIONS, deletions={"a_to_b": "delete", "b_to_a": "off"}, deletion_review=True
    )
    decision = plan(LINK, SideState("a1", None, ann(), gone=True), linked(ann()), options)
    assert not decision.writes
    assert decision.state == "pending_delete"
    assert decision.events[0].status == "pending_review"


def test_modify_beats_delete() -> None:
    options = replace(OPTIONS, deletions={"a_to_b": "delete", "b_to_a": "delete"})
    gone = SideState("a1", None, ann(), gone=True)
    modified = linked(ann(), ann(company="Changed"))
    decision = plan(LINK, gone, modified, options)
    assert decision.writes["a"].op == "create"
    assert "a" in decision.forget


def test_an_unsubscribed_record_that_leaves_its_list_is_not_a_deletion_too() -> None:
    # GetResponse drops an unsubscribed contact from its list; the unsubscribe already
    # crossed, so neither the trash action nor modify-beats-delete applies.
    options = replace(OPTIONS, deletions={"a_to_b": "delete", "b_to_a": "delete"})
    gone = SideState("a1", None, ann(subscribed=False), gone=True)
    decision = plan(LINK, gone, linked(ann(), ann(company="Changed")), options)
    assert not decision.writes
    assert decision.state == "deleted"
    assert "a" in decision.forget


def test_unsubscribe_on_a_adds_the_unsubscribe_tag_on_b() -> None:
    a = linked(ann(subscribed=True), ann(subscribed=False))
    decision = plan(LINK, a, linked(ann()), OPTIONS)
    assert decision.writes["b"].fields == {"tags": ["unsubscribed"]}
    assert decision.events[0].action == "unsubscribe"


def test_unsubscribe_sets_the_opt_out_field_in_opt_out_mode() -> None:
    a = linked(ann(subscribed=True), ann(subscribed=False))
    decision = plan(LINK, a, linked(ann(subscribed=True)), replace(OPTIONS, unsubscribes="opt_out"))
    assert decision.writes["b"].fields == {"subscribed": False}
