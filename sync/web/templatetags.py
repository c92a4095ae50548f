"""Template filters of the tenant pages (a builtins library, see config/settings.py).
The vocabulary filters read sync/web/describe.py when first used, not at import: this
library loads with the template engine, which may be before the models are ready."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.utils.translation import gettext

register = template.Library()


@register.filter
def shown(value: Any) -> str:
    """A synced value as a person reads it: sets as "a, b", booleans as yes / no,
    nothing as "(empty)", structures as compact JSON."""
    if value is None or value == "" or value == []:
        return gettext("(empty)")
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list | tuple | set):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


@register.filter
def entity(value: str, plural: bool = False) -> str:
    """An entity type's key ("company") in the page's words; ``|entity:True`` for several."""
    from sync.web import describe

    return describe.entity_label(value, plural=bool(plural))


@register.filter
def field_type(value: str) -> str:
    """A field type's key ("bool") in the page's words."""
    from sync.web import describe

    return describe.field_type_label(value)


@register.filter
def reason(value: str) -> str:
    """A reason or error the engine stored in English, in the page's words where it is a
    known phrase (describe.reason_words)."""
    from sync.web import describe

    return describe.reason_words(value or "")
