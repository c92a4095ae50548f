"""No template shows text outside {% translate %} / {% blocktranslate %}: read from the
template sources themselves, so this holds on its own while the Python strings are
marked elsewhere (the pseudo-locale test sees both)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType

from tests.i18n import pseudo

TEMPLATES = sorted(Path(settings.BASE_DIR, "templates").rglob("*.html"))
# Words a template may show as they are: not English prose.
NOT_PROSE = {"http"}  # the scheme of the reset link in the e-mail: {{ protocol }}://…


def untranslated_source(source: str) -> str:
    """The template's own text with every tag, variable and comment replaced by a marked
    blank, and the bodies of {% blocktranslate %} left out (they are translated)."""
    out: list[str] = []
    in_block = False
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents.split() else ""
            if name in ("blocktranslate", "blocktrans"):
                in_block = True
            elif name in ("endblocktranslate", "endblocktrans"):
                in_block = False
        if token.token_type == TokenType.TEXT and not in_block:
            out.append(token.contents)
        else:
            out.append(pseudo.wrap(""))
    return "".join(out)


@pytest.mark.parametrize(
    "path", TEMPLATES, ids=[str(p.relative_to(settings.BASE_DIR)) for p in TEMPLATES]
)
def test_template_shows_no_unmarked_text(path: Path) -> None:
    text = pseudo.shown_text(untranslated_source(path.read_text()))
    unmarked = pseudo.unmarked_words(text, NOT_PROSE)
    assert not unmarked, f"{path.name}: unmarked for translation: {unmarked}"


def test_the_check_finds_an_unmarked_sentence() -> None:
    source = (
        '{% load i18n %}<p title="Open it">{% translate "Marked" %} Not marked</p>'
        "{% blocktranslate %}Inside {{ x }}{% endblocktranslate %}<code>field_key</code>"
    )
    text = pseudo.shown_text(untranslated_source(source))
    assert set(pseudo.unmarked_words(text, set())) == {"Open", "it", "Not", "marked"}
