"""Hypothesis properties: normalization is idempotent, and writing a normalized value to
a side then reading it back gives the same value, for every transform."""

from __future__ import annotations

from typing import Any

import pycountry
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sync.engine import normalize
from sync.engine.mapping import MappingContext, Pair, normalized_values, write_side
from sync.engine.normalize import (
    join_name,
    normalize_country,
    normalize_email,
    normalize_name,
    normalize_number,
    normalize_phone,
    normalize_set,
    split_name,
)

# Deadlines off: the machine is shared and a slow example is not a failure.
FAST = settings(deadline=None, max_examples=100)

REGIONS = st.sampled_from(["", "IT", "DE", "US", "GB", "FR", "CH", "BR", "JP", "IN"])
COUNTRY_CODES = st.sampled_from([c.alpha_2 for c in pycountry.countries])
COUNTRY_TEXT = st.one_of(
    COUNTRY_CODES,
    st.sampled_from([c.name for c in pycountry.countries]),
    st.sampled_from(["Italia", "USA", "UK", "Deutschland", "España", "atlantis", "ZZ", "can"]),
    st.text(max_size=20),
)
PHONES = st.one_of(
    st.from_regex(r"(\+|00)?[0-9 ()\-]{3,18}( ext\. [0-9]{1,4})?", fullmatch=True),
    st.text(max_size=20),
)
WORD = st.text(
    alphabet=st.characters(categories=["Lu", "Ll"], exclude_characters=","),
    min_size=1,
    max_size=8,
)
NAME = st.one_of(
    st.lists(WORD, min_size=1, max_size=4).map(" ".join),
    st.tuples(
        st.sampled_from(["", "Dr. ", "Mrs. "]),
        WORD,
        st.sampled_from([" van der ", " de la ", " von ", " "]),
        WORD,
        st.sampled_from(["", " Jr.", " III"]),
    ).map("".join),
)
TAGS = st.lists(st.text(alphabet=st.characters(exclude_characters=","), max_size=10), max_size=6)


@FAST
@given(st.text())
def test_email_normalization_is_idempotent(raw: str) -> None:
    once = normalize_email(raw)
    assert normalize_email(once) == once


@FAST
@given(PHONES, REGIONS)
def test_phone_normalization_is_idempotent(raw: str, region: str) -> None:
    once = normalize_phone(raw, region)
    assert normalize_phone(once, region) == once
    # normalize_phone remembers a result as its own normal form; the parser itself must
    # agree, or the cache would hide a non-idempotent case.
    if once is not None:
        assert normalize._parse_phone(once, region) == once


@FAST
@given(st.text())
def test_name_normalization_is_idempotent(raw: str) -> None:
    once = normalize_name(raw)
    assert normalize_name(once) == once


@FAST
@given(COUNTRY_TEXT)
def test_country_normalization_is_idempotent(raw: str) -> None:
    once = normalize_country(raw)
    assert normalize_country(once) == once


@FAST
@given(TAGS)
def test_set_normalization_is_idempotent(raw: list[str]) -> None:
    once = normalize_set(raw)
    assert normalize_set(once) == once


@FAST
@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=12)))
def test_number_normalization_is_idempotent(raw: Any) -> None:
    once = normalize_number(raw)
    assert normalize_number(once) == once


@FAST
@given(NAME, st.one_of(st.none(), NAME), st.one_of(st.none(), NAME))
def test_a_split_name_joins_back_to_the_full_name(full: str, first: Any, last: Any) -> None:
    assert join_name(*split_name(full, first, last)) == normalize_name(full)


def round_trip(pair: Pair, value: Any, side: str, current: dict[str, Any] | None = None) -> Any:
    ctx = MappingContext(default_phone_country="IT")
    written = write_side([pair], side, {pair.key: value}, current, ctx)
    return normalized_values([pair], side, {**(current or {}), **written}, ctx)[pair.key]


@FAST
@given(st.text())
def test_emails_round_trip(raw: str) -> None:
    value = normalize_email(raw)
    assert round_trip(Pair("e", "e", transform="email", a_type="email"), value, "a") == value


@FAST
@given(PHONES)
def test_phones_round_trip_into_a_text_field(raw: str) -> None:
    value = normalize_phone(raw, "IT")
    pair = Pair("p", "p", transform="phone", a_type="phone", b_type="text")
    assert round_trip(pair, value, "b") == value


@FAST
@given(COUNTRY_TEXT, st.sampled_from(["country", "text"]))
def test_countries_round_trip_as_codes_or_names(raw: str, target_type: str) -> None:
    value = normalize_country(raw)
    pair = Pair("c", "c", transform="country", a_type="country", b_type=target_type)
    assert round_trip(pair, value, "b") == value


@FAST
@given(TAGS, st.sampled_from(["tags", "text"]))
def test_tags_round_trip_as_lists_or_text(raw: list[str], target_type: str) -> None:
    value = normalize_set(raw)
    pair = Pair("t", "t", transform="set", a_type="tags", b_type=target_type)
    assert round_trip(pair, value, "b") == value


@FAST
@given(NAME, st.one_of(st.none(), NAME), st.one_of(st.none(), NAME))
def test_full_names_round_trip_through_first_and_last(full: str, first: Any, last: Any) -> None:
    value = normalize_name(full)
    pair = Pair("first+last", "name", transform="full_name")
    assert round_trip(pair, value, "a", {"first": first, "last": last}) == value


@FAST
@given(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)))
def test_numbers_round_trip_into_a_number_field(raw: Any) -> None:
    value = normalize_number(raw)
    pair = Pair("n", "n", a_type="number", b_type="number")
    assert round_trip(pair, value, "b") == value


@FAST
@given(st.booleans(), st.sampled_from(["bool", "text"]))
def test_booleans_round_trip(value: bool, target_type: str) -> None:
    pair = Pair("b", "b", a_type="bool", b_type=target_type)
    assert round_trip(pair, value, "b") is value


@FAST
@given(st.dates())
def test_dates_round_trip(raw: Any) -> None:
    value = raw.isoformat()
    pair = Pair("d", "d", a_type="date", b_type="text")
    assert round_trip(pair, value, "b") == value


@FAST
@given(st.text())
def test_text_round_trips(raw: str) -> None:
    pair = Pair("x", "x", a_type="text", b_type="text")
    value = normalized_values([pair], "a", {"x": raw}, MappingContext())[pair.key]
    assert round_trip(pair, value, "b") == value


# --- A value a normalizer cannot understand passes through unchanged (issue 13).

INVALID_PHONES = st.one_of(
    st.sampled_from(["+11 849 9014115", "+78 478 7219035", "+999 12", "12", "call me"]),
    # Country codes 1-digit "+1" aside, these prefixes are unassigned.
    st.from_regex(r"\+(28|80|83|89|11|78) [0-9]{3} [0-9]{7}", fullmatch=True),
)


@FAST
@given(PHONES, REGIONS)
@example("009008000000000", "")  # valid +90 8000000000 once E.164 drops a 0: kept as typed
def test_a_phone_that_is_not_a_valid_number_stays_as_typed(raw: str, region: str) -> None:
    import phonenumbers

    text = raw.strip()
    result = normalize_phone(raw, region)
    candidate = "+" + text[2:] if text.startswith("00") else text
    try:
        valid = phonenumbers.is_valid_number(phonenumbers.parse(candidate, region or None))
    except phonenumbers.NumberParseException:
        valid = False
    if not valid:
        assert result == (text or None)
    elif candidate.startswith("+") and result != text:
        # Kept as typed, or rewritten only to an equivalent form: the same digits
        # ("009008000000000" parses as a valid +90 number that E.164 writes with one 0
        # fewer, so it stays as typed).
        digits = "".join(c for c in candidate if c.isdigit())
        assert "".join(c for c in (result or "") if c.isdigit()) == digits


@FAST
@given(INVALID_PHONES, REGIONS)
def test_invalid_phones_survive_unchanged_both_ways(raw: str, region: str) -> None:
    assert normalize_phone(raw, region) == raw
    pair = Pair("p", "p", transform="phone", a_type="phone", b_type="phone")
    assert round_trip(pair, normalize_phone(raw, region), "b") == raw


@FAST
@given(st.text())
def test_an_email_that_is_not_an_address_stays_as_typed(raw: str) -> None:
    if not normalize.is_valid_email(raw):
        assert normalize_email(raw) == (raw.strip() or None)


# Addresses built from the characters the fast path of is_valid_email looks at, in
# every arrangement, most of them within a character or two of its plain shape.
PLAIN_ISH_EMAILS = st.builds(
    "{}@{}{}".format,
    st.text(alphabet="aZ9._+-", min_size=1, max_size=70),
    st.text(alphabet="aZ9.-", min_size=1, max_size=70),
    st.sampled_from(["", ".com", ".co.uk", ".c0m", ".x", ".local", ".test", ".onion", ".arpa"]),
)


@settings(deadline=None, max_examples=500)
@given(PLAIN_ISH_EMAILS | st.text())
def test_the_email_fast_path_agrees_with_email_validator(raw: str) -> None:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(raw.strip(), check_deliverability=False, test_environment=True)
        accepted = True
    except EmailNotValidError:
        accepted = False
    assert normalize.is_valid_email(raw) == accepted


@FAST
@given(COUNTRY_TEXT)
def test_an_unknown_country_stays_as_typed(raw: str) -> None:
    text = raw.strip()
    result = normalize_country(raw)
    if result is not None and pycountry.countries.get(alpha_2=result) is None:
        assert result == text


@FAST
@given(st.text())
def test_a_name_only_changes_in_white_space(raw: str) -> None:
    result = normalize_name(raw) or ""
    assert result.split() == raw.split()
