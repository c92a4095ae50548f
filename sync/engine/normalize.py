"""Normalization of contact values, so that the two sides are compared on meaning, not on
spelling (DESIGN.md section 4, step 3). Pure functions, no I/O.

Every ``normalize_*`` function is idempotent (``f(f(x)) == f(x)``) and returns ``None`` for
an empty value, never ``""`` or ``[]``. None of them drops information it cannot
understand: a value a normalizer cannot understand (a phone that is not a valid number, an
email that is not an address, an unknown country) passes through as its stripped text, so
that normalization only ever rewrites a value to an equivalent form.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import phonenumbers
import pycountry
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from nameparser import HumanName

_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\D")


def _text(value: Any) -> str | None:
    """``value`` as stripped text, or None when empty."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


# --- Email -------------------------------------------------------------------------------


def normalize_email(value: Any) -> str | None:
    """Stripped and lower-cased when it is a valid address; anything else is not
    understood and stays as its stripped text (never altered)."""
    text = _text(value)
    if not text:
        return None
    return text.lower() if _valid_email(text) else text


@lru_cache(maxsize=250_000)
def _valid_email(text: str) -> bool:
    # Remembered: the match key of every record read asks for it, and the planner asks
    # again once the whole of both sides is staged. Sized for a run of 200,000 contacts
    # (about 40 MB when full): a smaller cache is scanned through in order and never
    # hits (100,000 cost an initial sync of 200,000 a validation per record).
    return is_valid_email(text)


# Addresses of the plainest shape: letters and digits, runs of them joined by one of
# ``. _ + -`` before the @, hostname labels after it and a top-level domain of letters.
# Every such address that also passes ``_plain_email`` is one email_validator accepts
# (checked against it in tests/mapping/test_normalize.py); anything else, which is rare
# in contact data, goes through email_validator itself, which costs some 70 µs an address.
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9]+(?:[._+-][A-Za-z0-9]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,63}"
)
_RESERVED_DOMAINS = tuple(d for d in SPECIAL_USE_DOMAIN_NAMES if d != "test")


def _plain_email(text: str) -> bool:
    """Whether ``text`` is an address of the plainest shape (``_PLAIN_EMAIL``) within
    email_validator's limits: 254 characters at most, 64 before the @ and 63 a label,
    no ``--`` in the domain (email_validator's IDNA rules about labels with one) and no
    special-use domain (``.local``, ``.onion``...; ``.test`` is accepted, as below)."""
    if len(text) > 254 or not _PLAIN_EMAIL.fullmatch(text):
        return False
    local, domain = text.split("@")
    if len(local) > 64 or "--" in domain or any(len(label) > 63 for label in domain.split(".")):
        return False
    domain = domain.lower()
    return not any(domain == d or domain.endswith(f".{d}") for d in _RESERVED_DOMAINS)


def is_valid_email(value: Any) -> bool:
    """Whether ``value`` is a syntactically valid email address. No DNS or deliverability
    check (that would be network I/O on every record); ``.test`` domains are accepted
    because sandboxes and demos use them."""
    text = _text(value)
    if not text:
        return False
    if _plain_email(text):
        return True
    try:
        validate_email(text, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        return False
    return True


# --- Phone -------------------------------------------------------------------------------

# How an extension is written after the E.164 number: readable by people and parsed back
# by phonenumbers, so normalization stays idempotent.
_EXTENSION = " ext. "


# Parsing a number costs tens of microseconds and a run meets each number several times
# (read, planned, written, read back), so results are remembered: the number as written
# and, normalization being idempotent, the result as its own normal form. Bounded; a
# full cache starts again empty.
_PHONES: dict[tuple[str, str], str] = {}
_PHONES_MAX = 100_000


def normalize_phone(value: Any, default_country: str = "") -> str | None:
    """E.164 (``+390212345678``) when the number parses with ``default_country`` (ISO
    alpha-2, for numbers without an international prefix) and is a *valid* number
    (``phonenumbers.is_valid_number``: a merely possible one such as ``+11 849 9014115``,
    with an unassigned country code, would lose a digit to E.164);
    a ``00`` international prefix counts as ``+``; an extension is kept as
    ``"+16502530000 ext. 123"``. Anything else stays as the stripped original text."""
    text = _text(value)
    if not text:
        return None
    known = _PHONES.get((text, default_country))
    if known is not None:
        return known
    result = _parse_phone(text, default_country)
    if len(_PHONES) >= _PHONES_MAX:
        _PHONES.clear()
    _PHONES[(text, default_country)] = _PHONES[(result, default_country)] = result
    return result


def _parse_phone(text: str, default_country: str) -> str:
    candidate = "+" + text[2:] if text.startswith("00") else text
    region = default_country.upper() or None
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return text
    if not phonenumbers.is_valid_number(number):
        return text
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if candidate.startswith("+") and _DIGITS.sub("", candidate) != e164[1:] + (
        number.extension or ""
    ):
        # An international number whose digits the parser changed ("+11 849 9014115"
        # read as +1 849 901 4115, a valid number of another person): not understood.
        return text
    return f"{e164}{_EXTENSION}{number.extension}" if number.extension else e164


# --- Names -------------------------------------------------------------------------------


def normalize_name(value: Any) -> str | None:
    """A name with runs of white space collapsed to one space, stripped."""
    text = _text(value)
    return _SPACES.sub(" ", text) if text else None


def join_name(first: Any, last: Any) -> str | None:
    """The full name ``"First Last"`` from its parts (either may be empty)."""
    parts = [p for p in (normalize_name(first), normalize_name(last)) if p]
    return " ".join(parts) or None


def _strip_prefix(text: str, prefix: str) -> str | None:
    """The rest of ``text`` after the words ``prefix`` (case-insensitive), or None.
    Slices are compared, never case-folded whole strings, whose length may change
    ("ß" folds to "ss")."""
    n = len(prefix)
    if text[n : n + 1] == " " and text[:n].casefold() == prefix.casefold():
        return text[n + 1 :] or None
    return None


def _strip_suffix(text: str, suffix: str) -> str | None:
    """The start of ``text`` before the words ``suffix`` (case-insensitive), or None."""
    n = len(text) - len(suffix)
    if n > 0 and text[n - 1] == " " and text[n:].casefold() == suffix.casefold():
        return text[: n - 1] or None
    return None


def split_name(
    full: Any, previous_first: Any = None, previous_last: Any = None
) -> tuple[str | None, str | None]:
    """First and last name for the full name ``full``, keeping the part that did not change.

    With previous values: an unchanged last name is kept (the rest is the first name),
    else an unchanged first name is kept (the rest is the last name); so "Anna Maria Rossi"
    renamed "Anna Maria Bianchi" stays first="Anna Maria", last="Bianchi". Otherwise
    nameparser decides which trailing words are the last name (particles such as "van
    der" included, a suffix such as "Jr." stays with it) and every word before it is the
    first name (titles and middle names included), so joining the parts gives ``full``
    back. A single name is a first name. "Last, First" is understood and reordered.
    """
    text = normalize_name(full)
    if not text:
        return None, None
    first, last = normalize_name(previous_first), normalize_name(previous_last)
    if join_name(first, last) == text:
        return first, last
    if last:
        if text.casefold() == last.casefold():
            return None, text
        rest = _strip_suffix(text, last)
        if rest:
            return rest, text[len(rest) + 1 :]
    if first:
        if text.casefold() == first.casefold():
            return text, None
        rest = _strip_prefix(text, first)
        if rest:
            return text[: len(first)], rest
    return _parse_name(text)


def _parse_name(text: str) -> tuple[str | None, str | None]:
    """Split ``text`` (normalized) with nameparser, as described in ``split_name``."""
    parsed = HumanName(text)
    last = " ".join(p for p in (parsed.last, parsed.suffix) if p)
    if not last:
        return text, None
    if text == last:
        # Only a last name was recognised ("de la Cruz").
        return None, text
    first = _strip_suffix(text, last)
    if first:
        return first, text[len(first) + 1 :]
    # A form such as "Rossi, Anna": take nameparser's parts in first-last order.
    first = " ".join(p for p in (parsed.title, parsed.first, parsed.middle) if p)
    return normalize_name(first), normalize_name(last)


# --- Countries ---------------------------------------------------------------------------

# Names people write that pycountry does not know: local names, short forms, old names.
_COUNTRY_ALIASES: dict[str, str] = {
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "britain": "GB",
    "usa": "US",
    "u.s.a.": "US",
    "u.s.": "US",
    "united states of america": "US",
    "america": "US",
    "russia": "RU",
    "turkey": "TR",
    "turkiye": "TR",
    "ivory coast": "CI",
    "holland": "NL",
    "the netherlands": "NL",
    "macedonia": "MK",
    "vatican": "VA",
    "vatican city": "VA",
    "uae": "AE",
    "czech republic": "CZ",
    "korea": "KR",
    "north korea": "KP",
    "swaziland": "SZ",
    "burma": "MM",
    "cape verde": "CV",
    "east timor": "TL",
    "palestine": "PS",
    "kosovo": "XK",
    # Local names, for the languages of our customers' apps.
    "italia": "IT",
    "deutschland": "DE",
    "germania": "DE",
    "allemagne": "DE",
    "alemania": "DE",
    "espana": "ES",
    "spagna": "ES",
    "espagne": "ES",
    "spanien": "ES",
    "frankreich": "FR",
    "francia": "FR",
    "schweiz": "CH",
    "suisse": "CH",
    "svizzera": "CH",
    "osterreich": "AT",
    "nederland": "NL",
    "belgie": "BE",
    "belgique": "BE",
    "belgio": "BE",
    "brasil": "BR",
    "mexico": "MX",
    "polska": "PL",
    "sverige": "SE",
    "norge": "NO",
    "danmark": "DK",
    "suomi": "FI",
    "eire": "IE",
    "hellas": "GR",
    "grecia": "GR",
    "regno unito": "GB",
    "stati uniti": "US",
    "portogallo": "PT",
    "inghilterra": "GB",
    "san marino": "SM",
    "ceska republika": "CZ",
    "magyarorszag": "HU",
    "hrvatska": "HR",
    "slovenija": "SI",
}

# English names to write where pycountry's is the formal one.
_ENGLISH_NAMES: dict[str, str] = {"RU": "Russia", "XK": "Kosovo"}


def _country_key(text: str) -> str:
    """Case-, accent- and spacing-insensitive lookup key of a country name."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", plain).strip()


@lru_cache(maxsize=1)
def _country_index() -> dict[str, str]:
    """Lookup key -> alpha-2 code, from pycountry's names plus our aliases."""
    index: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name", "alpha_3"):
            name = getattr(country, attr, None)
            if name:
                index[_country_key(name)] = country.alpha_2
    for alias, code in _COUNTRY_ALIASES.items():
        index[_country_key(alias)] = code
    return index


def normalize_country(value: Any) -> str | None:
    """The ISO 3166-1 alpha-2 code (``"IT"``) for a code (alpha-2 or alpha-3) or a name
    (English, common variants such as "USA" or "UK", local names such as "Italia" or
    "Deutschland"; case and accents ignored); unknown text stays as the stripped text."""
    text = _text(value)
    if not text:
        return None
    if len(text) == 2 and text.isalpha():
        code = text.upper()
        if pycountry.countries.get(alpha_2=code) is not None or code in _ENGLISH_NAMES:
            return code
        # "UK" is not an ISO code but everybody writes it.
        return _COUNTRY_ALIASES.get(text.casefold(), text)
    return _country_index().get(_country_key(text), text)


def country_name(code: str) -> str:
    """The English name of the alpha-2 ``code`` ("IT" -> "Italy"); ``code`` itself when it
    is not a known code (unknown text passes through unchanged)."""
    if code in _ENGLISH_NAMES:
        return _ENGLISH_NAMES[code]
    country = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    if country is None:
        return code
    return getattr(country, "common_name", None) or country.name


# --- Sets (tags, lists) ------------------------------------------------------------------


def normalize_set(value: Any) -> list[str] | None:
    """Tags or lists as a sorted list without duplicates. Items are compared trimmed but
    **case-sensitively** ("VIP" and "vip" are two tags, as in most apps, and what we write
    is exactly what we read). A string is a comma-separated list (a text field holding
    tags)."""
    if value is None:
        return None
    items: Iterable[Any]
    if type(value) is list:
        items = value  # the usual shape, without the abstract-class check below
    elif isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, Iterable):
        items = value
    else:
        items = [value]
    result = sorted({text for item in items if (text := _text(item))})
    return result or None


# --- Scalars -----------------------------------------------------------------------------


def normalize_number(value: Any) -> str | None:
    """A number as canonical text (1, 1.0 and "1.00" -> "1"; 2.50 -> "2.5"), so numbers
    compare equal whatever their JSON type. Non-numeric text stays stripped text."""
    if isinstance(value, bool):
        return "1" if value else "0"
    text = _text(value)
    if not text:
        return None
    try:
        # A comma is left alone: "1,000" and "1,5" are ambiguous, so they stay text.
        number = Decimal(text)
    except InvalidOperation:
        return text
    if not number.is_finite():
        return text
    if number == 0:
        return "0"
    return format(number.normalize(), "f")


def number_value(text: str) -> int | float | str:
    """The JSON number for canonical number text (``normalize_number``'s output): an int
    when integral, a float when the float says exactly the same, else the text."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if not number.is_finite():
        return text
    if number == number.to_integral_value():
        return int(number)
    as_float = float(number)
    return as_float if normalize_number(repr(as_float)) == text else text


_TRUE = {"true", "yes", "y", "1", "on", "si", "sì", "ja", "oui"}
_FALSE = {"false", "no", "n", "0", "off", "nein", "non"}


def normalize_bool(value: Any) -> bool | str | None:
    """True/False for booleans and their usual spellings ("yes", "1", "false", …);
    other text stays stripped text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    text = _text(value)
    if not text:
        return None
    if text.casefold() in _TRUE:
        return True
    if text.casefold() in _FALSE:
        return False
    return text


def normalize_date(value: Any, *, with_time: bool = False) -> str | None:
    """ISO 8601 text: ``YYYY-MM-DD`` for dates (a datetime is cut to its date), or for
    ``with_time`` the full timestamp (aware ones in UTC). Text that is not ISO stays."""
    if value is None:
        return None
    parsed: date | None
    if isinstance(value, datetime | date):
        parsed = value
    else:
        text = _text(value)
        if not text:
            return None
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text
    if isinstance(parsed, datetime):
        if not with_time:
            return parsed.date().isoformat()
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC)
        return parsed.isoformat()
    return parsed.isoformat()


def normalize_value(value: Any) -> Any:
    """Generic normalization by the value's shape, for fields of unknown type: booleans
    stay booleans, numbers become canonical text, lists become sets, dates ISO text,
    other values stripped text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return normalize_number(value)
    if isinstance(value, datetime):
        return normalize_date(value, with_time=True)
    if isinstance(value, date):
        return normalize_date(value)
    if isinstance(value, list | tuple | set | frozenset):
        return normalize_set(value)
    return _text(value)
