"""Fill a translation catalogue from a JSON file of translations, then save it.

    .venv/bin/python bin/apply_translations.py pl translations-pl.json

The JSON maps each English message to its translation: a string, or for a message with
a plural the list of its forms in the catalogue's order (Polish three, Italian two). A
message with a context is keyed ``"<context>\\u0004<message>"``, as gettext does. Each
entry filled loses its fuzzy flag and the previous message xgettext remembered for it;
a key the catalogue does not hold is reported and the script fails, so that a typo in
the JSON never passes silently. `make compile-messages` compiles the result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = "\x04"


def main(language: str, translations_path: str) -> int:
    po_path = ROOT / "locale" / language / "LC_MESSAGES" / "django.po"
    catalogue = polib.pofile(str(po_path))
    translations = json.loads(Path(translations_path).read_text(encoding="utf-8"))
    entries = {(f"{e.msgctxt}{CONTEXT}{e.msgid}" if e.msgctxt else e.msgid): e for e in catalogue}
    unknown = [key for key in translations if key not in entries]
    for key, text in translations.items():
        entry = entries.get(key)
        if entry is None:
            continue
        if entry.msgid_plural:
            forms = [text] if isinstance(text, str) else list(text)
            entry.msgstr_plural = dict(enumerate(forms))
        else:
            entry.msgstr = text
        if entry.fuzzy:
            entry.flags.remove("fuzzy")
        entry.previous_msgid = entry.previous_msgid_plural = entry.previous_msgctxt = None
    catalogue.save(str(po_path))
    left = [e.msgid for e in catalogue if e.fuzzy or not e.translated()]
    print(
        f"{po_path.relative_to(ROOT)}: {len(translations) - len(unknown)} filled, "
        f"{len(left)} left untranslated or fuzzy"
    )
    for key in unknown:
        print(f"  not in the catalogue: {key!r}", file=sys.stderr)
    return 1 if unknown else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
