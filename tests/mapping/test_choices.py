"""Choice pairs (issue 17): values both fields declare cross translated, by name or by the
tenant's value map; a value without a translation is refused, never dropped; and the
three-way merge compares the translated values."""

from __future__ import annotations

from typing import Any

from connectors.base import FieldSpec
from sync.engine import mapping
from sync.engine.choices import Untranslated, ValueMap, clean_value_map, value_key
from sync.engine.mapping import MappingContext, default_pairs, normalized_values, write_side
from sync.engine.planner import LinkView, Options, SideSpec, SideState, plan

STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Proposal/Price Quote",
    "Closed Won",
    "Closed Lost",
)
STATUSES = ("Prospecting", "Qualified", "Proposal / price quote", "Won", "Lost")
CHOSEN = {"a_to_b": {"Qualification": "Qualified", "Closed Won": "Won", "Closed Lost": "Lost"}}
SF = [
    FieldSpec("Email", "Email", "email", common="email"),
    FieldSpec("StageName", "Stage", "choice", common="stage", choices=STAGES),
]
FM = [
    FieldSpec("email", "Email", "email", common="email"),
    FieldSpec("statusId", "Status", "choice", common="stage", choices=STATUSES),
]
CTX = MappingContext()


def stage_pair(chosen: dict[str, dict[str, str]] | None = None) -> mapping.Pair:
    [pair] = [p for p in default_pairs(SF, FM) if p.a_field == "StageName"]
    if chosen is None:
        return pair
    values = ValueMap(STAGES, STATUSES, chosen, ("Stage", "Status"), "opportunity")
    return mapping.Pair(pair.a_field, pair.b_field, values=values, a_type="choice", b_type="choice")


def token(pair: mapping.Pair, side: str, value: Any) -> Any:
    field = pair.field(side)
    return normalized_values([pair], side, {field: value}, CTX)[pair.key]


def written(pair: mapping.Pair, side: str, value: Any) -> Any:
    return write_side([pair], side, {pair.key: value}, None, CTX)[pair.field(side)]


def test_values_are_named_alike_whatever_the_accents_case_and_punctuation() -> None:
    assert value_key("Proposal/Price Quote") == value_key("proposal / price  quote")
    assert value_key("Négociation") == value_key("negociation")


def test_a_default_pair_of_two_declared_value_lists_translates_its_values() -> None:
    pair = stage_pair()
    assert pair.kind == "choice"
    assert written(pair, "b", token(pair, "a", "Proposal/Price Quote")) == "Proposal / price quote"
    assert written(pair, "a", token(pair, "b", "Proposal / price quote")) == "Proposal/Price Quote"


def test_values_of_the_same_name_compare_equal_across_the_two_sides() -> None:
    pair = stage_pair()
    assert token(pair, "a", "Prospecting") == token(pair, "b", "prospecting") == "b:Prospecting"


def test_the_tenants_map_translates_both_ways() -> None:
    pair = stage_pair(CHOSEN)
    assert written(pair, "b", token(pair, "a", "Closed Won")) == "Won"
    # "Won" comes back as the Salesforce stage mapped to it.
    assert written(pair, "a", token(pair, "b", "Won")) == "Closed Won"
    assert token(pair, "a", "Closed Won") == token(pair, "b", "Won")


def test_a_many_to_one_map_reads_back_as_the_first_value_in_its_apps_order() -> None:
    pair = stage_pair({"a_to_b": {**CHOSEN["a_to_b"], "Needs Analysis": "Qualified"}})
    assert token(pair, "a", "Needs Analysis") == token(pair, "a", "Qualification")
    assert written(pair, "a", token(pair, "b", "Qualified")) == "Qualification"


def test_the_reverse_choice_overrides_what_a_many_to_one_map_reads_back() -> None:
    chosen = {
        "a_to_b": {**CHOSEN["a_to_b"], "Needs Analysis": "Qualified"},
        "b_to_a": {"Qualified": "Needs Analysis"},
    }
    pair = stage_pair(chosen)
    assert written(pair, "a", token(pair, "b", "Qualified")) == "Needs Analysis"


def test_a_value_without_translation_is_written_as_a_refusal_naming_field_value_and_place() -> None:
    pair = stage_pair(CHOSEN)
    value = written(pair, "b", token(pair, "a", "Needs Analysis"))
    assert isinstance(value, Untranslated) and value == "Needs Analysis"
    assert "Stage “Needs Analysis” has no value in Status (statusId)" in value.message
    assert "value table" in value.message and "opportunity" in value.message


def test_a_value_goes_back_to_its_own_side_as_it_was() -> None:
    pair = stage_pair(CHOSEN)
    assert written(pair, "a", token(pair, "a", "Needs Analysis")) == "Needs Analysis"


def test_pairs_without_two_value_lists_copy_their_values() -> None:
    free = [FieldSpec("statusId", "Status", "choice", common="stage")]
    [pair] = [p for p in default_pairs(SF, free) if p.a_field == "StageName"]
    assert pair.values is None and pair.kind == "text"


def test_a_posted_map_keeps_the_chosen_entries_and_refuses_unknown_values() -> None:
    posted = {"a_to_b": {"Closed Won": "Won", "Prospecting": ""}, "b_to_a": {}}
    assert clean_value_map(posted, STAGES, STATUSES) == {"a_to_b": {"Closed Won": "Won"}}
    try:
        clean_value_map({"a_to_b": {"Closed Won": "Gewonnen"}}, STAGES, STATUSES)
    except ValueError as exc:
        assert "Gewonnen" in str(exc)
    else:
        raise AssertionError("an unknown value was stored")


# --- The three-way merge compares translated values


def options(pair: mapping.Pair) -> Options:
    return Options(
        pairs=[pair],
        mapping=CTX,
        sides={"a": SideSpec.from_specs(SF), "b": SideSpec.from_specs(FM)},
    )


def linked(last: dict[str, Any], now: dict[str, Any] | None = None) -> SideState:
    return SideState(id="x", current=now if now is not None else last, last=last)


LINK = LinkView("linked", "deal")


def test_translated_values_that_agree_write_nothing() -> None:
    pair = stage_pair(CHOSEN)
    decision = plan(
        LINK,
        linked({"StageName": "Closed Won"}),
        linked({"statusId": "Won"}),
        options(pair),
    )
    assert not decision.writes and not decision.events


def test_a_stage_change_in_a_writes_the_mapped_status_to_b() -> None:
    pair = stage_pair(CHOSEN)
    decision = plan(
        LINK,
        linked({"StageName": "Qualification"}, {"StageName": "Closed Won"}),
        linked({"statusId": "Qualified"}),
        options(pair),
    )
    assert decision.writes["b"].fields == {"statusId": "Won"}
    assert "a" not in decision.writes


def test_a_status_change_in_b_writes_the_mapped_stage_to_a() -> None:
    pair = stage_pair(CHOSEN)
    decision = plan(
        LINK,
        linked({"StageName": "Qualification"}),
        linked({"statusId": "Qualified"}, {"statusId": "Lost"}),
        options(pair),
    )
    assert decision.writes["a"].fields == {"StageName": "Closed Lost"}


def test_a_change_between_two_stages_of_one_status_writes_nothing() -> None:
    pair = stage_pair({"a_to_b": {**CHOSEN["a_to_b"], "Needs Analysis": "Qualified"}})
    decision = plan(
        LINK,
        linked({"StageName": "Qualification"}, {"StageName": "Needs Analysis"}),
        linked({"statusId": "Qualified"}),
        options(pair),
    )
    assert not decision.writes


def test_an_untranslated_stage_is_planned_as_a_refusal_not_dropped() -> None:
    pair = stage_pair(CHOSEN)
    decision = plan(
        LINK,
        linked({"StageName": "Qualification"}, {"StageName": "Needs Analysis"}),
        linked({"statusId": "Qualified"}),
        options(pair),
    )
    value = decision.writes["b"].fields["statusId"]
    assert isinstance(value, Untranslated)


# --- A contact's company twice


COMPANY_REF = [
    FieldSpec("AccountId", "Account", common="company_id", refers_to="company"),
    FieldSpec("Account.Name", "Account name", common="company"),
    FieldSpec("Email", "Email", "email", common="email"),
]
FM_CONTACT = [
    FieldSpec("accountId", "Company", common="company_id", refers_to="company"),
    FieldSpec("company", "Company name", common="company"),
    FieldSpec("email", "Email", "email", common="email"),
]


def test_with_companies_synced_the_default_pairs_leave_the_company_name_out() -> None:
    keys = {p.key for p in default_pairs(COMPANY_REF, FM_CONTACT, synced=frozenset({"company"}))}
    assert "AccountId|accountId" in keys and "Account.Name|company" not in keys


def test_without_companies_the_company_name_is_paired() -> None:
    keys = {p.key for p in default_pairs(COMPANY_REF, FM_CONTACT, synced=frozenset({"contact"}))}
    assert "Account.Name|company" in keys
