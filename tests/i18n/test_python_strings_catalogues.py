"""Issue 19: every string the Python side marks is translated in Italian and Polish —
no empty and no fuzzy entry, Polish with its three plural forms, the same placeholders
as the English."""

from __future__ import annotations

import re

import pytest

from tests.i18n.python_strings import LANGUAGES, PYTHON_SOURCES, catalogue

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%\((\w+)\)02d")


def python_entries(language: str) -> list[object]:
    """The catalogue's entries that come from the Python side."""
    return [
        entry
        for entry in catalogue(language)
        if any(path.startswith(PYTHON_SOURCES) for path, _line in entry.occurrences)
    ]


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_python_string_is_translated_and_none_is_fuzzy(language: str) -> None:
    entries = python_entries(language)

    assert len(entries) > 300  # the Python side's strings are in the catalogue at all
    untranslated = [e.msgid for e in entries if not e.translated()]
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    assert untranslated == []
    assert fuzzy == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_english_placeholders(language: str) -> None:
    wrong = []
    for entry in python_entries(language):
        wanted = placeholders(entry.msgid) | placeholders(entry.msgid_plural or "")
        forms = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for form in forms:
            # A singular form may leave the count out ("one" needs no number); no other.
            missing = wanted - placeholders(form) - ({"count"} if entry.msgid_plural else set())
            if missing or placeholders(form) - wanted:
                wrong.append((entry.msgid, form))
    assert wrong == []


def test_polish_counts_have_three_forms_and_italian_two() -> None:
    for language, forms in (("pl", 3), ("it", 2)):
        plurals = [e for e in python_entries(language) if e.msgid_plural]
        assert len(plurals) > 20
        assert [e.msgid for e in plurals if len(e.msgstr_plural) != forms] == []
