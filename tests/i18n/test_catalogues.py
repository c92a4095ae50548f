"""The Italian and Polish catalogues are complete: every message translated, none
fuzzy, Polish with its three plural forms, and every placeholder of a message kept in
its translation (a lost ``%(name)s`` raises at render time; a lost ``{name}`` shows
nothing)."""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings

LANGUAGES = ["it", "pl"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")


def catalogue(language: str) -> polib.POFile:
    return polib.pofile(
        str(Path(settings.BASE_DIR, "locale", language, "LC_MESSAGES", "django.po"))
    )


def test_every_product_language_but_english_has_a_catalogue() -> None:
    assert [code for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE] == LANGUAGES


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_has_no_empty_untranslated_or_fuzzy_entry(language: str) -> None:
    po = catalogue(language)
    assert len(po) > 400  # the templates' messages at least
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []
    assert [e.msgid for e in po.obsolete_entries()] == []
    for entry in po:
        if entry.msgid_plural:
            assert all(s.strip() for s in entry.msgstr_plural.values()), entry.msgid
        else:
            assert entry.msgstr.strip(), entry.msgid


def test_polish_has_three_plural_forms_and_uses_them() -> None:
    po = catalogue("pl")
    assert po.metadata["Plural-Forms"].startswith("nplurals=3;")
    plurals = [e for e in po if e.msgid_plural]
    assert plurals
    for entry in plurals:
        assert sorted(entry.msgstr_plural) == [0, 1, 2], entry.msgid


def test_italian_has_two_plural_forms() -> None:
    po = catalogue("it")
    assert po.metadata["Plural-Forms"].startswith("nplurals=2;")
    for entry in (e for e in po if e.msgid_plural):
        assert sorted(entry.msgstr_plural) == [0, 1], entry.msgid


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_placeholder_of_a_message_is_in_its_translation(language: str) -> None:
    missing = []
    for entry in catalogue(language):
        wanted = set(PLACEHOLDER.findall(entry.msgid + (entry.msgid_plural or "")))
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for index, text in enumerate(translations):
            found = set(PLACEHOLDER.findall(text))
            # A singular may say "one" in words instead of its count.
            allowed_gap = {"%(counter)s", "%(minutes)s", "%(days)s"} if index == 0 else set()
            if (wanted - found) - allowed_gap or found - wanted:
                missing.append((entry.msgid, index, sorted(wanted ^ found)))
    assert missing == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_product_vocabulary_is_used(language: str) -> None:
    """connection, rule, mapping, conflict, preview, undo: the same words everywhere."""
    words = {
        "it": {
            "New connection": "connessione",
            "Rules": "Regole",
            "Field mapping": "Mappatura dei campi",
            "Conflicts": "Conflitti",
            "Undo this run": "Annulla",
            "Preview again": "anteprima",
        },
        "pl": {
            "New connection": "połączenie",
            "Rules": "Reguły",
            "Field mapping": "Mapowanie pól",
            "Conflicts": "Konflikty",
            "Undo this run": "Cofnij",
            "Preview again": "podgląd",
        },
    }[language]
    translated = {e.msgid: e.msgstr for e in catalogue(language) if not e.msgid_plural}
    for msgid, word in words.items():
        assert word.lower() in translated[msgid].lower(), (msgid, translated[msgid])
