"""The API's JSON parser: DRF's, with input no client means refused as a 400."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, where a body nested too deep to decode (``[[[[…``) is a 400
    rather than a RecursionError, and a NUL anywhere in the decoded body too, since no
    text with one can be stored."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the body is nested too deeply.") from exc
        if _has_nul(data):
            raise ParseError("JSON parse error - the body contains a NUL character.")
        return data


def _has_nul(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if depth > 100:
        return False
    if isinstance(value, list):
        return any(_has_nul(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k, depth + 1) or _has_nul(v, depth + 1) for k, v in value.items())
    return False
