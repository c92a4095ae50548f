"""Values as they arrive from a connector, made storable before anything else sees them.

A vendor may hand us text no database keeps: PostgreSQL refuses NUL characters in text and
JSON, and no UTF-8 column takes a lone surrogate (what a broken ``\\ud800`` escape in a JSON
answer decodes to). One such value used to fail every run of its connection, so every page
is cleaned here, at the edge, and the rest of the engine never meets one.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

from connectors.base import Page, Record

logger = logging.getLogger(__name__)

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(value: str) -> str:
    """``value`` without NULs and lone surrogates (dropped: they carry no meaning)."""
    return _UNSTORABLE.sub("", value) if _UNSTORABLE.search(value) else value


def clean_value(value: Any) -> Any:
    """A field value with every string in it cleaned, lists and dicts included."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list | tuple):
        return [clean_value(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_value(v) for k, v in value.items()}
    return value


def _dirty(value: Any) -> bool:
    """Whether ``value`` holds a string that needs cleaning. Flat dicts of strings are the
    common case and take one regular-expression search per string, no recursion."""
    search = _UNSTORABLE.search
    if isinstance(value, str):
        return search(value) is not None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str):
                if search(item) or search(key):
                    return True
            elif item is None or isinstance(item, int | float):
                if search(key):
                    return True
            elif search(key) or _dirty(item):
                return True
        return False
    if isinstance(value, list | tuple):
        return any(_dirty(v) for v in value)
    return False


def clean_page(page: Page) -> Page:
    """``page`` with storable ids and values; a record without a usable id is dropped
    (logged), since nothing could ever link it."""
    records: list[Record] = []
    for record in page.records:
        record_id = clean_text(str(record.id)) if record.id is not None else ""
        if not record_id:
            logger.warning("A record without an id was left out: %r", record.fields)
            continue
        if record_id != record.id or _dirty(record.fields):
            fields = {clean_text(str(k)): clean_value(v) for k, v in record.fields.items()}
            record = replace(record, id=record_id, fields=fields)
        records.append(record)
    deleted = [d for d in (clean_text(str(i)) for i in page.deleted) if d]
    return replace(page, records=records, deleted=deleted)
