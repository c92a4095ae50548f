"""Default pairs, type compatibility, and reading and writing values through pairs."""

from __future__ import annotations

import pytest

from connectors.base import FieldSpec
from sync.engine.mapping import (
    MappingContext,
    OwnerMap,
    Pair,
    allowed_direction,
    content_hash,
    default_pairs,
    infer_transform,
    normalized_values,
    write_side,
)
from tests.mapping.specs import CRM, MARKETING

CTX = MappingContext(default_phone_country="IT")


def spec(type_: str = "text", **kwargs: object) -> FieldSpec:
    return FieldSpec("f", "F", type_, **kwargs)  # type: ignore[arg-type]


def by_key(pairs: list[Pair]) -> dict[str, Pair]:
    return {p.key: p for p in pairs}


# --- Default pairs


def test_default_pairs_join_fields_of_the_same_common_key() -> None:
    pairs = by_key(default_pairs(CRM, MARKETING))
    assert set(pairs) == {
        "first_name+last_name|name",
        "email|email",
        "phone|phone",
        "mobile|mobile",
        "title|job",
        "country|country",
        "tags|tags",
        "user_id|owner",  # owners cross through the user links (sync/users.py)
    }


# Issue 21 (22): a contact with only a mobile number reaches an app without a mobile field.
MOBILE_ONLY = [
    FieldSpec("email", "Email", "email", common="email"),
    FieldSpec("cell", "Cell", "phone", common="mobile"),
]
PHONE_ONLY = [
    FieldSpec("email", "Email", "email", common="email"),
    FieldSpec("tel", "Phone", "phone", common="phone"),
]


def test_mobile_goes_one_way_to_the_phone_of_an_app_without_a_mobile_field() -> None:
    pairs = by_key(default_pairs(MOBILE_ONLY, PHONE_ONLY))
    assert set(pairs) == {"email|email", "cell|tel"}
    assert (pairs["cell|tel"].direction, pairs["cell|tel"].transform) == ("a_to_b", "phone")
    reverse = by_key(default_pairs(PHONE_ONLY, MOBILE_ONLY))["tel|cell"]
    assert reverse.direction == "b_to_a"


def test_no_mobile_fallback_where_the_phone_is_mapped_or_a_mobile_exists() -> None:
    both = [*MOBILE_ONLY, FieldSpec("work", "Work phone", "phone", common="phone")]
    # The phone-only app's phone already pairs with the other phone.
    assert set(by_key(default_pairs(both, PHONE_ONLY))) == {"email|email", "work|tel"}
    # Both apps have a mobile: mobile ↔ mobile, both ways, and nothing else for it.
    pairs = by_key(default_pairs(CRM, MARKETING))
    assert pairs["mobile|mobile"].direction == "both"
    assert not [k for k in pairs if k.startswith("mobile|") and k != "mobile|mobile"]
    read_only = [PHONE_ONLY[0], FieldSpec("tel", "Phone", "phone", common="phone", read_only=True)]
    assert set(by_key(default_pairs(MOBILE_ONLY, read_only))) == {"email|email"}


def test_first_and_last_name_pair_with_a_full_name_field() -> None:
    pair = by_key(default_pairs(CRM, MARKETING))["first_name+last_name|name"]
    assert (pair.direction, pair.transform) == ("both", "full_name")


def test_the_composite_name_pair_works_from_side_b_too() -> None:
    pair = default_pairs(MARKETING, CRM)[0]
    assert (pair.a_field, pair.b_field, pair.transform) == (
        "name",
        "first_name+last_name",
        "full_name",
    )


def test_no_composite_when_both_sides_have_first_and_last_names() -> None:
    keys = {p.key for p in default_pairs(CRM, CRM)}
    assert {"first_name|first_name", "last_name|last_name"} <= keys
    assert not any("+" in key for key in keys)


def test_default_pairs_get_the_transform_of_their_meaning() -> None:
    pairs = by_key(default_pairs(CRM, MARKETING))
    assert pairs["email|email"].transform == "email"
    assert pairs["phone|phone"].transform == "phone"
    assert pairs["mobile|mobile"].transform == "phone"
    assert pairs["country|country"].transform == "country"
    assert pairs["tags|tags"].transform == "set"
    assert pairs["title|job"].transform == ""


def test_a_text_field_of_a_typed_common_key_syncs_both_ways() -> None:
    pairs = by_key(default_pairs(CRM, MARKETING))
    assert pairs["phone|phone"].direction == "both"
    assert pairs["country|country"].direction == "both"


def test_status_lists_and_subscription_are_not_default_pairs() -> None:
    fields = {f for p in default_pairs(CRM, MARKETING) for f in (p.a_field, p.b_field)}
    assert not fields & {"prospect_status", "lists", "subscribed"}


def test_owners_cross_through_user_links_else_to_the_default_user() -> None:
    owners = OwnerMap(links={"7": "005A"}, defaults={"b": "005D", "a": ""})
    ctx = MappingContext(owners=owners)
    pair = by_key(default_pairs(CRM, MARKETING))["user_id|owner"]
    assert pair.kind == "owner"
    linked = normalized_values([pair], "a", {"user_id": "7"}, ctx)
    assert linked == normalized_values([pair], "b", {"owner": "005A"}, ctx)
    assert write_side([pair], "b", linked, None, ctx) == {"owner": "005A"}
    unlinked = normalized_values([pair], "a", {"user_id": "9"}, ctx)
    assert write_side([pair], "b", unlinked, None, ctx) == {"owner": "005D"}
    # No default user on A: an unlinked B owner leaves A's owner as it is.
    stray = normalized_values([pair], "b", {"owner": "005X"}, ctx)
    assert write_side([pair], "a", stray, None, ctx) == {}


def test_a_read_only_field_only_flows_out() -> None:
    a = [FieldSpec("score", "Score", "number", common="score")]
    b = [FieldSpec("score", "Score", "number", common="score", read_only=True)]
    assert default_pairs(a, b)[0].direction == "b_to_a"


def test_incompatible_fields_are_not_default_pairs() -> None:
    a = [FieldSpec("birthday", "Birthday", "date", common="birthday")]
    b = [FieldSpec("birthday", "Birthday", "number", common="birthday")]
    assert default_pairs(a, b) == []


def test_default_pairs_record_the_field_types() -> None:
    pair = by_key(default_pairs(CRM, MARKETING))["country|country"]
    assert (pair.a_type, pair.b_type) == ("text", "country")


# --- Type compatibility


def test_same_types_flow_both_ways() -> None:
    assert allowed_direction(spec("text"), spec("text")) == "both"
    assert allowed_direction(spec("number"), spec("number")) == "both"


@pytest.mark.parametrize("typed", ["phone", "country", "number", "date", "email", "bool"])
def test_typed_fields_flow_only_towards_text(typed: str) -> None:
    assert allowed_direction(spec(typed), spec("text")) == "a_to_b"
    assert allowed_direction(spec("text"), spec(typed)) == "b_to_a"


@pytest.mark.parametrize("typed", ["phone", "country", "email"])
def test_text_flows_into_a_typed_field_when_the_transform_parses_it(typed: str) -> None:
    assert allowed_direction(spec("text"), spec(typed), transform=typed) == "both"


def test_text_never_flows_into_a_number() -> None:
    assert allowed_direction(spec("text"), spec("number"), transform="text") == "b_to_a"


def test_number_and_date_are_incompatible() -> None:
    assert allowed_direction(spec("number"), spec("date")) is None


def test_sets_flow_between_multi_valued_fields() -> None:
    assert allowed_direction(spec("tags", multi=True), spec("lists", multi=True)) == "both"


def test_a_set_flows_into_text_and_back_only_as_a_set() -> None:
    assert allowed_direction(spec("tags", multi=True), spec("text")) == "a_to_b"
    assert allowed_direction(spec("tags", multi=True), spec("text"), transform="set") == "both"


def test_owner_only_maps_to_owner() -> None:
    assert allowed_direction(spec("owner"), spec("owner")) == "both"
    assert allowed_direction(spec("text"), spec("owner")) is None


def test_datetime_flows_into_a_date_only() -> None:
    assert allowed_direction(spec("datetime"), spec("date")) == "a_to_b"


def test_bool_and_subscription_are_compatible() -> None:
    assert allowed_direction(spec("bool"), spec("subscription")) == "both"


def test_two_read_only_fields_cannot_be_paired() -> None:
    assert allowed_direction(spec(read_only=True), spec(read_only=True)) is None


def test_a_read_only_text_field_may_still_feed_a_typed_one_it_cannot_receive() -> None:
    assert allowed_direction(spec("number", read_only=True), spec("text")) == "a_to_b"


def test_transform_inference_names_the_meaning() -> None:
    assert infer_transform(spec("text", common="phone"), spec("text")) == "phone"
    assert infer_transform(spec("text"), spec("text")) == ""


# --- Reading


CRM_RECORD = {
    "first_name": " Anna Maria ",
    "last_name": "Rossi",
    "email": " Anna.Rossi@Example.com ",
    "phone": "02 1234 5678",
    "mobile": "",
    "title": "CEO ",
    "country": "Italia",
    "tags": ["vip", "lead", "vip"],
}


def test_normalized_values_returns_normalized_values_by_pair_key() -> None:
    values = normalized_values(default_pairs(CRM, MARKETING), "a", CRM_RECORD, CTX)
    assert values == {
        "first_name+last_name|name": "Anna Maria Rossi",
        "email|email": "anna.rossi@example.com",
        "phone|phone": "+390212345678",
        "mobile|mobile": None,
        "title|job": "CEO",
        "country|country": "IT",
        "tags|tags": ["lead", "vip"],
        "user_id|owner": None,
    }


def test_both_sides_of_the_same_contact_read_equal() -> None:
    pairs = default_pairs(CRM, MARKETING)
    marketing_record = {
        "name": "Anna  Maria Rossi",
        "email": "anna.rossi@example.com",
        "phone": "+39 02 1234 5678",
        "job": "CEO",
        "country": "IT",
        "tags": ["lead", "vip"],
    }
    a = normalized_values(pairs, "a", CRM_RECORD, CTX)
    b = normalized_values(pairs, "b", marketing_record, CTX)
    assert content_hash(a) == content_hash(b)


def test_missing_fields_read_as_none() -> None:
    values = normalized_values(default_pairs(CRM, MARKETING), "b", {}, CTX)
    assert set(values.values()) == {None}


def test_number_and_text_pair_compares_numbers() -> None:
    pair = Pair("employees", "size", "a_to_b", "", "number", "text")
    assert normalized_values([pair], "a", {"employees": 50}, CTX) == normalized_values(
        [pair], "b", {"size": " 50.0 "}, CTX
    )


def test_untyped_custom_pair_normalizes_by_value_shape() -> None:
    pair = Pair("x", "y")
    assert normalized_values([pair], "a", {"x": 7}, CTX) == normalized_values(
        [pair], "b", {"y": "7"}, CTX
    )


def test_text_line_endings_do_not_count_as_a_change() -> None:
    pair = Pair("notes", "notes", "both", "", "text", "text")
    a = normalized_values([pair], "a", {"notes": "one\r\ntwo"}, CTX)
    assert a == normalized_values([pair], "b", {"notes": "one\ntwo\n"}, CTX)


# --- Writing


def test_full_name_is_split_keeping_the_unchanged_first_name() -> None:
    pair = default_pairs(CRM, MARKETING)[0]
    current = {"first_name": "Anna Maria", "last_name": "Rossi"}
    changes = write_side([pair], "a", {pair.key: "Anna Maria Bianchi"}, current, CTX)
    assert changes == {"first_name": "Anna Maria", "last_name": "Bianchi"}


def test_full_name_on_create_is_split_by_nameparser() -> None:
    pair = default_pairs(CRM, MARKETING)[0]
    changes = write_side([pair], "a", {pair.key: "Anna van der Berg"}, None, CTX)
    assert changes == {"first_name": "Anna", "last_name": "van der Berg"}


def test_full_name_is_written_whole_to_the_full_name_side() -> None:
    pair = default_pairs(CRM, MARKETING)[0]
    assert write_side([pair], "b", {pair.key: "Anna Rossi"}, None, CTX) == {"name": "Anna Rossi"}


def test_country_code_is_written_as_a_code_to_a_country_field() -> None:
    pair = by_key(default_pairs(CRM, MARKETING))["country|country"]
    assert write_side([pair], "b", {pair.key: "DE"}, None, CTX) == {"country": "DE"}


def test_country_code_is_written_as_its_english_name_to_a_text_field() -> None:
    pair = by_key(default_pairs(CRM, MARKETING))["country|country"]
    assert write_side([pair], "a", {pair.key: "DE"}, None, CTX) == {"country": "Germany"}


def test_unknown_country_text_is_written_as_it_is() -> None:
    pair = by_key(default_pairs(CRM, MARKETING))["country|country"]
    assert write_side([pair], "a", {pair.key: "Atlantis"}, None, CTX) == {"country": "Atlantis"}


def test_tags_are_written_as_the_whole_list() -> None:
    pair = by_key(default_pairs(CRM, MARKETING))["tags|tags"]
    assert write_side([pair], "b", {pair.key: ["a", "b"]}, None, CTX) == {"tags": ["a", "b"]}


def test_emptied_tags_are_written_as_an_empty_list() -> None:
    pair = by_key(default_pairs(CRM, MARKETING))["tags|tags"]
    assert write_side([pair], "b", {pair.key: None}, None, CTX) == {"tags": []}


def test_tags_written_to_a_text_field_are_joined() -> None:
    pair = Pair("tags", "note", "a_to_b", "set", "tags", "text")
    assert write_side([pair], "b", {pair.key: ["a", "b"]}, None, CTX) == {"note": "a, b"}


def test_numbers_are_written_as_json_numbers_to_number_fields() -> None:
    pair = Pair("size", "employees", "a_to_b", "", "text", "number")
    assert write_side([pair], "b", {pair.key: "50"}, None, CTX) == {"employees": 50}


def test_booleans_are_written_as_text_to_text_fields() -> None:
    pair = Pair("opt_in", "note", "a_to_b", "", "bool", "text")
    assert write_side([pair], "b", {pair.key: True}, None, CTX) == {"note": "true"}


def test_only_pairs_present_in_values_are_written() -> None:
    pairs = default_pairs(CRM, MARKETING)
    assert write_side(pairs, "b", {"email|email": "a@b.it"}, None, CTX) == {"email": "a@b.it"}


def test_a_pair_is_not_written_against_its_direction() -> None:
    pair = Pair("score", "score", "b_to_a", "", "number", "number")
    assert write_side([pair], "b", {pair.key: "5"}, None, CTX) == {}


# --- Hash


def test_content_hash_ignores_key_order() -> None:
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})


def test_content_hash_changes_with_a_value() -> None:
    assert content_hash({"a": "x"}) != content_hash({"a": "y"})


def test_the_wizard_says_why_mobile_numbers_go_one_way_to_the_phone() -> None:
    from connectors.base import Capabilities
    from sync.models import FieldMapping
    from sync.setup import SideApp, one_way_reason

    apps = {
        "a": SideApp("Address book", Capabilities(), MOBILE_ONLY),
        "b": SideApp("Newsletter", Capabilities(), PHONE_ONLY),
    }
    (pair,) = [p for p in default_pairs(MOBILE_ONLY, PHONE_ONLY) if p.a_field == "cell"]
    row = FieldMapping(
        a_field=pair.a_field, b_field=pair.b_field, direction=pair.direction, is_default=True
    )
    assert one_way_reason(row, apps) == (
        "Newsletter has no mobile field, so mobile numbers go to its “Phone”; that phone "
        "is not written back as a mobile, since it may be a landline"
    )
    # The same two fields paired one way by hand are one-way by choice.
    row.is_default = False
    assert one_way_reason(row, apps) == "one-way by choice"
