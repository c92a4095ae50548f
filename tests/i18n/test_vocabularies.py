"""Issue 19: the codes the engine and the connectors store (entity types, field types,
scope kinds) and the reasons the engine writes in English are shown in the page's
language (sync/web/describe.py), and only there: what is stored stays as it was."""

from __future__ import annotations

from collections.abc import Iterator
from typing import get_args

import pytest
from django.template import Context, Template
from django.utils import translation

from connectors.base import FieldType
from sync import vocabulary
from sync.engine.context import ENTITY_ORDER
from sync.web import describe
from tests.i18n.python_strings import compiled_catalogues


@pytest.fixture(autouse=True, scope="module")
def catalogues() -> Iterator[None]:
    compiled_catalogues()
    yield


def test_every_entity_type_and_field_type_has_its_words() -> None:
    assert sorted(vocabulary.ENTITIES) == sorted(ENTITY_ORDER)
    assert sorted(describe.FIELD_TYPES) == sorted(get_args(FieldType))


def test_entity_names_are_italian_and_polish_one_and_several() -> None:
    with translation.override("it"):
        assert describe.entity_label("company") == "azienda"
        assert describe.entity_label("company", plural=True) == "aziende"
    with translation.override("pl"):
        assert describe.entity_label("opportunity", plural=True) == "szanse sprzedaży"
        assert describe.entity_label("no_such_entity") == "no_such_entity"


def test_the_filters_name_codes_in_the_pages_language() -> None:
    template = Template("{{ e|entity }} {{ e|entity:True }} {{ t|field_type }} {{ r|reason }}")
    context = Context({"e": "contact", "t": "bool", "r": "out of scope"})
    with translation.override("pl"):
        assert template.render(context) == "kontakt kontakty tak / nie poza zakresem"


@pytest.mark.parametrize(
    ("stored", "italian"),
    [
        (
            "ambiguous group: info@shop.test (2 in B, 3 in A not told apart by name or phone)",
            "gruppo ambiguo: info@shop.test (2 in B, 3 in A non distinti per nome o telefono)",
        ),
        ("deleted in A; not synced", "eliminato in A; non sincronizzato"),
        (
            "cannot apply 'trash_tag' on this app",
            "impossibile applicare “Aggiungi il tag cestino” in questa app",
        ),
        ("trash_tag", "Aggiungi il tag cestino"),
        ("waiting for company Rossi Srl", "in attesa di azienda Rossi Srl"),
        ("Authorization failed: 401 bad key", "Autorizzazione non riuscita: 401 bad key"),
    ],
)
def test_a_stored_reason_is_shown_in_italian(stored: str, italian: str) -> None:
    with translation.override("it"):
        assert describe.reason_words(stored) == italian


@pytest.mark.parametrize(
    ("count", "words"), [(1, "1 jest połączony"), (3, "3 są połączone"), (5, "5 jest połączonych")]
)
def test_a_stopped_run_says_its_count_with_the_polish_plural(count: int, words: str) -> None:
    stored = (
        f"Side A listed no contacts while {count} are linked; the run was stopped so that "
        "nothing is deleted. Check the app's scope and access."
    )
    with translation.override("pl"):
        assert f"choć {words};" in describe.reason_words(stored)


def test_a_reason_nobody_listed_is_shown_as_stored() -> None:
    with translation.override("it"):
        assert describe.reason_words("HTTP 500 from the vendor") == "HTTP 500 from the vendor"
        assert describe.reason_words("") == ""
    with translation.override("en"):
        assert describe.reason_words("deleted in B") == "deleted in B"
