"""Normalization of emails, phones, names, countries, sets and scalars."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from sync.engine.normalize import (
    country_name,
    is_valid_email,
    join_name,
    normalize_bool,
    normalize_country,
    normalize_date,
    normalize_email,
    normalize_name,
    normalize_number,
    normalize_phone,
    normalize_set,
    normalize_value,
    number_value,
    split_name,
)

# --- Email


def test_email_is_stripped_and_lower_cased() -> None:
    assert normalize_email("  Anna.Rossi@Example.COM \n") == "anna.rossi@example.com"


def test_blank_email_is_none() -> None:
    assert normalize_email("   ") is None
    assert normalize_email(None) is None


def test_invalid_email_is_kept_but_flagged() -> None:
    # Not understood, so not altered (issue 13): no lower-casing of a non-address.
    assert normalize_email("Not An@Email@x") == "Not An@Email@x"
    assert not is_valid_email("Not An@Email@x")


@pytest.mark.parametrize("email", ["anna@example.com", "A.B+tag@sub.example.co.uk", "x@demo.test"])
def test_valid_emails_pass_without_any_dns_lookup(email: str) -> None:
    assert is_valid_email(email)


@pytest.mark.parametrize("email", ["", "anna", "anna@", "@example.com", "a b@example.com", "a@b"])
def test_malformed_emails_are_invalid(email: str) -> None:
    assert not is_valid_email(email)


# Addresses near the edges of the plain shape the fast path accepts: each is judged by
# the fast path exactly as email_validator judges it (or left to email_validator).
EDGE_EMAILS = [
    "anna@example.com",
    "Anna.Rossi+news@Mail.Example.CO.UK",
    "a_b-c.d@x-y.example.org",
    "x@demo.test",
    "x@test",
    "x@host.local",
    "x@a.localhost",
    "x@b.onion",
    "x@c.invalid",
    "x@1.in-addr.arpa",
    "x@ab--cd.com",
    "x@xn--80ak6aa92e.com",
    "x@xn--zz.com",
    "x@-a.com",
    "x@a-.com",
    "x@a.c0m",
    "x@a.123",
    "x@a.c",
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    "a" * 64 + "@example.com",
    "a" * 65 + "@example.com",
    "x@" + "a" * 63 + ".com",
    "x@" + "a" * 64 + ".com",
    "x@" + ".".join(["a" * 60] * 4) + ".com",
]


def _validator_accepts(text: str) -> bool:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(text, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        return False
    return True


@pytest.mark.parametrize("email", EDGE_EMAILS)
def test_the_fast_path_accepts_only_what_email_validator_accepts(email: str) -> None:
    from sync.engine.normalize import _plain_email

    assert is_valid_email(email) == _validator_accepts(email)
    if _plain_email(email):
        assert _validator_accepts(email)


def test_the_fast_path_takes_the_plain_addresses_of_contact_data() -> None:
    from sync.engine.normalize import _plain_email

    assert _plain_email("person123@example.com")
    assert _plain_email("Anna.Rossi+news@Mail.Example.CO.UK")
    assert not _plain_email("x@host.local")  # reserved: email_validator refuses it


# --- Phone


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("02 1234 5678", "IT", "+390212345678"),
        ("+39 02 1234 5678", "", "+390212345678"),
        ("0039 02 1234 5678", "", "+390212345678"),
        ("0039 02 1234 5678", "DE", "+390212345678"),
        ("(650) 253-0000", "US", "+16502530000"),
        ("030 1234567", "DE", "+49301234567"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("06 12 34 56 78", "fr", "+33612345678"),
        ("+33 6 12 34 56 78", "IT", "+33612345678"),
    ],
)
def test_phones_become_e164_with_the_default_country(raw: str, country: str, expected: str) -> None:
    assert normalize_phone(raw, country) == expected


def test_e164_phone_stays_as_it_is() -> None:
    assert normalize_phone("+390212345678", "US") == "+390212345678"


def test_national_phone_without_default_country_is_kept_as_text() -> None:
    assert normalize_phone(" 02 1234 5678 ") == "02 1234 5678"


def test_unparseable_phone_is_kept_stripped_never_dropped() -> None:
    assert normalize_phone("  call the front desk ", "IT") == "call the front desk"


def test_too_short_phone_is_kept_as_text() -> None:
    assert normalize_phone("12", "IT") == "12"


def test_phone_extension_is_kept_after_the_e164_number() -> None:
    assert normalize_phone("(650) 253-0000 ext. 123", "US") == "+16502530000 ext. 123"
    assert normalize_phone("+1 650 253 0000;ext=123") == "+16502530000 ext. 123"


def test_blank_phone_is_none() -> None:
    assert normalize_phone("  ", "IT") is None


# --- Names


def test_name_spaces_are_collapsed() -> None:
    assert normalize_name("  Anna   Maria\tRossi ") == "Anna Maria Rossi"


def test_join_name_skips_missing_parts() -> None:
    assert join_name(" Anna ", None) == "Anna"
    assert join_name("", "Rossi") == "Rossi"
    assert join_name(None, " ") is None


def test_split_keeps_the_unchanged_first_name() -> None:
    assert split_name("Anna Maria Bianchi", "Anna Maria", "Rossi") == ("Anna Maria", "Bianchi")


def test_split_keeps_the_unchanged_last_name() -> None:
    assert split_name("Maria Luisa Rossi", "Anna", "Rossi") == ("Maria Luisa", "Rossi")


def test_split_keeps_a_multi_word_last_name_when_only_the_first_changed() -> None:
    assert split_name("Carla De Santis", "Anna", "De Santis") == ("Carla", "De Santis")


def test_split_of_an_unchanged_name_returns_the_previous_parts() -> None:
    assert split_name("Anna Maria Rossi", "Anna", "Maria Rossi") == ("Anna", "Maria Rossi")


def test_split_follows_the_new_casing_of_a_kept_part() -> None:
    assert split_name("ANNA MARIA Bianchi", "Anna Maria", "Rossi") == ("ANNA MARIA", "Bianchi")


def test_split_of_a_removed_first_name_keeps_the_last() -> None:
    assert split_name("Rossi", "Anna", "Rossi") == (None, "Rossi")


def test_split_without_previous_values_uses_nameparser() -> None:
    assert split_name("Anna Rossi") == ("Anna", "Rossi")


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Ludwig van Beethoven", "Ludwig", "van Beethoven"),
        ("Anna van der Berg", "Anna", "van der Berg"),
        ("Juan de la Cruz", "Juan", "de la Cruz"),
    ],
)
def test_split_keeps_particles_with_the_last_name(full: str, first: str, last: str) -> None:
    assert split_name(full) == (first, last)


def test_split_keeps_a_title_and_middle_names_with_the_first_name() -> None:
    assert split_name("Dr. Anna Maria Rossi") == ("Dr. Anna Maria", "Rossi")


def test_split_keeps_a_suffix_with_the_last_name() -> None:
    assert split_name("Martin Luther King Jr.") == ("Martin Luther", "King Jr.")


def test_single_name_is_a_first_name() -> None:
    assert split_name("Madonna") == ("Madonna", None)


def test_empty_full_name_splits_into_nothing() -> None:
    assert split_name("  ", "Anna", "Rossi") == (None, None)


def test_last_comma_first_form_is_reordered() -> None:
    assert split_name("Rossi, Anna") == ("Anna", "Rossi")


# --- Countries


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("Italy", "IT"),
        ("italy", "IT"),
        ("Italia", "IT"),
        ("ITALIA ", "IT"),
        ("Deutschland", "DE"),
        ("Germany", "DE"),
        ("USA", "US"),
        ("United States", "US"),
        ("united states of america", "US"),
        ("UK", "GB"),
        ("United Kingdom", "GB"),
        ("España", "ES"),
        ("Espana", "ES"),
        ("Österreich", "AT"),
        ("Côte d'Ivoire", "CI"),
        ("Russia", "RU"),
        ("Czech Republic", "CZ"),
        ("it", "IT"),
        ("DE", "DE"),
        ("ITA", "IT"),
        ("deu", "DE"),
    ],
)
def test_country_names_and_codes_become_iso_alpha2(raw: str, code: str) -> None:
    assert normalize_country(raw) == code


def test_unknown_country_stays_as_text() -> None:
    assert normalize_country(" Atlantis ") == "Atlantis"
    assert normalize_country("ZZ") == "ZZ"


def test_blank_country_is_none() -> None:
    assert normalize_country("") is None


@pytest.mark.parametrize(
    ("code", "name"),
    [("IT", "Italy"), ("DE", "Germany"), ("US", "United States"), ("RU", "Russia")],
)
def test_country_codes_have_english_names(code: str, name: str) -> None:
    assert country_name(code) == name


def test_country_name_of_unknown_text_is_the_text() -> None:
    assert country_name("Atlantis") == "Atlantis"


# --- Sets


def test_sets_are_trimmed_deduplicated_and_sorted() -> None:
    assert normalize_set([" vip", "lead ", "vip", ""]) == ["lead", "vip"]


def test_sets_are_case_sensitive() -> None:
    assert normalize_set(["VIP", "vip"]) == ["VIP", "vip"]


def test_a_comma_separated_string_is_a_set() -> None:
    assert normalize_set("b, a,  b") == ["a", "b"]


def test_empty_set_is_none() -> None:
    assert normalize_set([]) is None
    assert normalize_set([" "]) is None


# --- Scalars


@pytest.mark.parametrize(
    ("raw", "text"),
    [(1, "1"), (1.0, "1"), ("1.00", "1"), (2.50, "2.5"), ("-0", "0"), ("1e3", "1000")],
)
def test_numbers_compare_as_canonical_text(raw: object, text: str) -> None:
    assert normalize_number(raw) == text


def test_ambiguous_number_text_stays_text() -> None:
    assert normalize_number("1,000") == "1,000"


@pytest.mark.parametrize(("text", "number"), [("3", 3), ("2.5", 2.5), ("-7", -7)])
def test_number_text_becomes_a_json_number(text: str, number: float) -> None:
    assert number_value(text) == number


@pytest.mark.parametrize(
    ("raw", "value"), [("yes", True), ("FALSE", False), (1, True), (None, None)]
)
def test_booleans_parse_their_usual_spellings(raw: object, value: bool | None) -> None:
    assert normalize_bool(raw) is value


def test_dates_become_iso_dates() -> None:
    assert normalize_date("2024-03-05T10:00:00Z") == "2024-03-05"
    assert normalize_date(date(2024, 3, 5)) == "2024-03-05"


def test_aware_datetimes_are_compared_in_utc() -> None:
    moment = datetime(2024, 3, 5, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert normalize_date(moment, with_time=True) == "2024-03-05T10:00:00+00:00"
    assert normalize_date("2024-03-05T12:00:00+02:00", with_time=True) == (
        "2024-03-05T10:00:00+00:00"
    )


def test_non_iso_date_text_stays_text() -> None:
    assert normalize_date(" 5 March ") == "5 March"


def test_generic_values_normalize_by_shape() -> None:
    assert normalize_value(" x ") == "x"
    assert normalize_value(3) == "3"
    assert normalize_value(True) is True
    assert normalize_value(["b", "a"]) == ["a", "b"]
    assert normalize_value("") is None
