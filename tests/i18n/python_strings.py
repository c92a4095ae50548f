"""Helpers of the Python-strings translation tests (issue 19): the catalogues read with
polib, and compiled the way `make install` compiles them."""

from __future__ import annotations

import runpy
from pathlib import Path

import polib
from django.conf import settings
from django.utils.translation import trans_real

ROOT = Path(settings.BASE_DIR)
LANGUAGES = ("it", "pl")
# The Python modules whose strings tenants and ops read (issue 19's Python side).
PYTHON_SOURCES = (
    "sync/admin.py",
    "sync/lifecycle.py",
    "sync/models.py",
    "sync/setup.py",
    "sync/tiers.py",
    "sync/users.py",
    "sync/web/",
    "connectors/",
)


def catalogue(language: str) -> polib.POFile:
    return polib.pofile(str(ROOT / "locale" / language / "LC_MESSAGES" / "django.po"))


def compiled_catalogues() -> None:
    """Compile a .po newer than its .mo (bin/compile_messages.py, as `make install`
    does); Django then reads the new catalogues afresh."""
    before = {p: p.stat().st_mtime for p in (ROOT / "locale").glob("*/LC_MESSAGES/*.mo")}
    runpy.run_path(str(ROOT / "bin" / "compile_messages.py"))["main"]()
    after = {p: p.stat().st_mtime for p in (ROOT / "locale").glob("*/LC_MESSAGES/*.mo")}
    if before != after:
        trans_real._translations.clear()  # catalogues are cached per process
