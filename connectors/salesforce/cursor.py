"""The delta cursor of the Salesforce connector: where a delta starts, and what it has
already delivered since then (``SeenWindow``)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from connectors.salesforce.client import format_time, parse_time

# UNCONFIRMED: SystemModstamp is stamped when the transaction starts, so a record can
# surface a little behind the newest stamp already seen; each delta re-reads this much
# (what it already delivered is left out by digest).
OVERLAP = timedelta(seconds=60)
# Rows of the overlap window remembered in the cursor; beyond it the oldest seconds are
# forgotten and may be delivered again (never skipped).
SEEN_LIMIT = 2_000
# Salesforce's datetimes on the wire; written so they sort as text in time order.
WIRE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")


def digest(row: dict[str, Any]) -> str:
    """What a row read says, in 16 hex digits: the same record read again unchanged has
    the same digest, a change in any column read (not only its stamp) a new one."""
    content = {k: v for k, v in row.items() if k != "attributes"}
    text = json.dumps(content, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@dataclass
class SeenWindow:
    """Where a delta starts, and what it has already delivered since then.

    Salesforce stamps ``SystemModstamp`` in whole seconds, so many records share one and a
    record can change again within the second it was read in. A delta therefore asks for
    ``SystemModstamp >= since`` (``since``: the newest stamp read, less ``OVERLAP``) and
    remembers, per stamp from ``since`` on, the digest of each row it delivered
    (``seen``: ``{stamp: {id: digest}}``). A row read again with the same stamp and digest
    was delivered already and is left out; anything else is new. Nothing is skipped
    (the boundary is inclusive) and nothing is delivered twice, unless more than
    ``SEEN_LIMIT`` rows fall in the window: the oldest seconds are forgotten then, and
    their rows may be delivered again (which the engine skips as echoes).
    """

    since: datetime | None
    seen: dict[str, dict[str, str]]
    newest: datetime | None = None

    @classmethod
    def of(cls, cursor: Any) -> SeenWindow:
        """The window a stored cursor describes (cursors from before ``seen`` have none)."""
        if not isinstance(cursor, dict):
            return cls(None, {})
        seen = cursor.get("seen")
        return cls(parse_time(cursor.get("since")), dict(seen) if isinstance(seen, dict) else {})

    @staticmethod
    def _stamp(row: dict[str, Any]) -> str:
        """The row's SystemModstamp as a key that sorts in time order: as Salesforce
        sends it (``2024-01-31T10:00:00.000+0000``), or rewritten so when it is not."""
        value = str(row.get("SystemModstamp") or "")
        if not value or WIRE_TIME.match(value):
            return value
        moment = parse_time(value)
        return format_time(moment) if moment else ""

    def delivered(self, row: dict[str, Any]) -> bool:
        """Whether ``row`` was delivered already, exactly as it reads now."""
        held = self.seen.get(self._stamp(row))
        known = held.get(str(row.get("Id"))) if held else None
        return known is not None and known == digest(row)

    def add_page(self, rows: list[dict[str, Any]]) -> None:
        """Remember a page of rows read. Rows come in SystemModstamp order, so rows
        older than the newest stamp less ``OVERLAP`` will never be read again by a delta
        and are not kept (a listing of many records digests only its last minute)."""
        stamped = [(self._stamp(row), row) for row in rows]
        page_newest = parse_time(max((stamp for stamp, _row in stamped if stamp), default=""))
        if page_newest and (self.newest is None or page_newest > self.newest):
            self.newest = page_newest
        if self.newest is None:
            return
        floor = format_time(self.newest - OVERLAP)
        for stamp, row in stamped:
            if stamp >= floor:
                self.seen.setdefault(stamp, {})[str(row["Id"])] = digest(row)
        for stamp in [s for s in self.seen if s < floor]:
            del self.seen[stamp]

    def cursor(self, deleted_since: datetime) -> dict[str, Any]:
        moved = self.newest - OVERLAP if self.newest else None
        if self.since is not None and (moved is None or moved < self.since):
            moved = self.since  # never step back: a quiet delta keeps its cursor
        since = moved or deleted_since
        floor = format_time(since)
        kept = {stamp: ids for stamp, ids in sorted(self.seen.items()) if stamp >= floor}
        while kept and sum(len(ids) for ids in kept.values()) > SEEN_LIMIT:
            del kept[next(iter(kept))]  # the oldest second first
        self.seen = kept
        return {
            "since": format_time(since),
            "deleted_since": format_time(deleted_since),
            "seen": {stamp: dict(ids) for stamp, ids in kept.items()},
        }
