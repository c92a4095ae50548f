"""Compile every translation catalogue (locale/<lang>/LC_MESSAGES/*.po) to its .mo.

Pure Python (polib), so `make install` needs no GNU gettext on a fresh machine; CI also
runs Django's `compilemessages`, which checks the catalogues with msgfmt. A catalogue
is compiled again only when its .po is newer than its .mo.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    for po_path in sorted((ROOT / "locale").glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
        print(f"compiled {mo_path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
