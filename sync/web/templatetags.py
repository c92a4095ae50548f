"""Template filters of the tenant pages (a builtins library, see config/settings.py)."""

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
