"""Applying decisions: what the links record after a write (DESIGN.md 4.9)."""

from __future__ import annotations

from typing import Any

from sync.engine.context import RunContext
from sync.models import LinkSide


def remember(ctx: RunContext, side: LinkSide, fields: dict[str, Any] | None) -> None:
    """Record what ``side`` holds after a write of ours (or an accepted read), so that
    the next run recognises the record's content as an echo."""
    side.settle(fields, ctx.side_hash(side.name, fields))
