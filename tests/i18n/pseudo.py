"""A pseudo-locale: every message the product and Django know, "translated" into
itself between markers (⟦…⟧), so that on a page rendered in it any English word outside
the markers is a string nobody marked for translation.

The messages come from the Italian catalogues (ours, which `make messages` keeps
complete, and Django's own), so a marked string missing from locale/ shows up as
unmarked too: run `make messages` and translate it."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import django
import polib
from django.apps import apps
from django.conf import settings

# A language code no installed catalogue translates (Django knows its name, "norsk").
PSEUDO = "no"
OPEN, CLOSE = "⟦", "⟧"


def _sources() -> list[Path]:
    roots = [Path(p) for p in settings.LOCALE_PATHS]
    roots.append(Path(django.__file__).parent / "conf" / "locale")
    roots += [Path(app.path) / "locale" for app in apps.get_app_configs()]
    found = []
    for root in roots:
        for suffix in ("po", "mo"):
            path = root / "it" / "LC_MESSAGES" / f"django.{suffix}"
            if path.exists():
                found.append(path)
                break
    return found


# Python's and Django's placeholders: what fills them is data or another message, so it
# is left outside the markers and checked on its own.
_PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}")


def wrap(text: str) -> str:
    """``text`` between the markers, its placeholders outside them."""
    inner = _PLACEHOLDER.sub(lambda m: f"{CLOSE}{m.group()}{OPEN}", text)
    return f"{OPEN}{inner}{CLOSE}"


def build_catalogue(locale_dir: Path) -> Path:
    """Write ``<locale_dir>/no/LC_MESSAGES/django.mo`` and return it."""
    out = polib.POFile()
    out.metadata = {
        "Content-Type": "text/plain; charset=UTF-8",
        "Language": PSEUDO,
        "Plural-Forms": "nplurals=2; plural=(n != 1);",
    }
    seen: set[tuple[str | None, str]] = set()
    for path in _sources():
        catalogue = polib.pofile(str(path)) if path.suffix == ".po" else polib.mofile(str(path))
        for entry in catalogue:
            key = (entry.msgctxt, entry.msgid)
            if not entry.msgid or key in seen:
                continue
            seen.add(key)
            if entry.msgid_plural:
                plural = {0: wrap(entry.msgid), 1: wrap(entry.msgid_plural)}
                out.append(
                    polib.POEntry(
                        msgctxt=entry.msgctxt,
                        msgid=entry.msgid,
                        msgid_plural=entry.msgid_plural,
                        msgstr_plural=plural,
                    )
                )
            else:
                out.append(
                    polib.POEntry(
                        msgctxt=entry.msgctxt, msgid=entry.msgid, msgstr=wrap(entry.msgid)
                    )
                )
    target = locale_dir / PSEUDO / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    out.save_as_mofile(str(target / "django.mo"))
    return target / "django.mo"


# Attributes a person reads (or hears from a screen reader).
SHOWN_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "data-confirm", "data-copied"}
# Elements whose text is code or data by construction: field keys, ids, commands.
HIDDEN_ELEMENTS = {"script", "style", "code", "pre"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.body: list[str] = []  # one stream: a translated text may hold elements
        self.attributes: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN_ELEMENTS:
            self.hidden += 1
        self.attributes += [v for name, v in attrs if name in SHOWN_ATTRIBUTES and v]
        self.body.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN_ELEMENTS and self.hidden:
            self.hidden -= 1
        self.body.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.body.append(data)


def shown_text(html: str) -> list[str]:
    """The text of ``html`` a person sees: the elements' text outside scripts, styles
    and code (as one piece), then each attribute that is read."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    pieces = ["".join(parser.body), *parser.attributes]
    return [" ".join(piece.split()) for piece in pieces if piece.strip()]


_MARKED = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
_EMAIL = re.compile(r"\S+@\S+")
_URL = re.compile(r"\b\w+://\S+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]+")


def unmarked_words(pieces: list[str], allowed: set[str]) -> dict[str, str]:
    """Each English-looking word outside the markers that is not data, with the text it
    was found in."""
    found: dict[str, str] = {}
    for piece in pieces:
        text = piece
        while _MARKED.search(text):  # innermost first: a translated text may hold another
            text = _MARKED.sub(" ", text)
        text = _URL.sub(" ", _EMAIL.sub(" ", text))
        for match in _WORD.finditer(text):
            if match.group().lower() not in allowed:
                start = max(0, match.start() - 40)
                found.setdefault(match.group(), text[start : match.end() + 40].strip())
    return found


def data_words(*texts: str) -> set[str]:
    """The words of data shown on a page (names, labels, values), lower-cased."""
    return {word.lower() for text in texts for word in _WORD.findall(text)}
