"""References between entities (issue 17): a field holding another record's id.

A reference field (``FieldSpec.refers_to``, a ``Pair`` of kind ``reference``) never
crosses as a foreign id. Its *normalized* value is the referenced record's link
(``"ref:<link pk>"``), the same on both sides once the referenced records are linked, so
the planner's three-way merge compares references like any value. A reference to a record
without a live link normalizes to ``"?<side>:<id>"`` (unresolved: it differs from
anything on the other side). Writing a reference translates the link back into the
target side's id (``to_side``); when the linked record has no id on that side yet, the
value is a ``Waiting`` marker, and the planner turns the whole write into a wait
(``planner._wait_for_references``): the record is not written, stays dirty, and is
planned again once the referenced record lands (referenced entities run first, so most
waits end in the same run). ``SYNC_REFERENCE_WAIT_RUNS`` bounds the wait: past it, the
wait is reported as an error (and still retried).

Deleted referenced records: a reference to a link that is deleted or trashed resolves to
no value (``None``), and the runner clears the references that still point at a record
the run removed (``Runner._clear_references``, journaled: undo puts them back).

A preview (dry run) writes nothing, so there a reference to a linked record counts as
written (``assume_created``): the preview shows the records that would land in the run.

One ``References`` per entity pass of a run: it caches lookups, and ``reset`` drops them
when the referenced entity's links have changed (after its write pass).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sync.models import LinkState, RecordLink

PREFIX = "ref:"
PREVIEWED = "(created by this run)"
_DEAD = (LinkState.DELETED, LinkState.TRASHED)


@dataclass(frozen=True)
class Waiting:
    """A reference to a record of ``entity`` (link ``link_pk``) not on the target side
    yet: what a write would carry instead of a dangling id."""

    entity: str
    link_pk: int
    label: str = ""

    def __str__(self) -> str:
        return f"waiting for {self.entity} {self.label or self.link_pk}"


class References:
    """Translation of reference values through the referenced entities' links."""

    def __init__(self, connection_id: int) -> None:
        self.connection_id = connection_id
        self._by_id: dict[tuple[str, str, str], int | None] = {}
        self._links: dict[int, RecordLink | None] = {}
        # A preview writes nothing, so a referenced record it would create never gets
        # its id: there a linked record counts as on the target side (``PREVIEWED``).
        self.assume_created = False

    def reset(self) -> None:
        self._by_id.clear()
        self._links.clear()

    def prime(self, side: str, entity: str, ids: set[str]) -> None:
        """Look up the links of many ids of ``side`` at once (one query)."""
        wanted = {i for i in ids if (side, entity, i) not in self._by_id}
        if not wanted:
            return
        column = f"{side}_id"
        found = RecordLink.objects.filter(
            connection_id=self.connection_id, entity=entity, **{f"{column}__in": wanted}
        ).only("id", "a_id", "b_id", "state", "match_key")
        for link in found:
            self._by_id[(side, entity, getattr(link, column))] = link.pk
            self._links[link.pk] = link
        for record_id in wanted:
            self._by_id.setdefault((side, entity, record_id), None)

    def _link(self, pk: int) -> RecordLink | None:
        if pk not in self._links:
            self._links[pk] = (
                RecordLink.objects.filter(pk=pk, connection_id=self.connection_id)
                .only("id", "a_id", "b_id", "state", "match_key")
                .first()
            )
        return self._links[pk]

    def normalize(self, side: str, entity: str, raw: Any) -> str | None:
        """The normalized value of ``side``'s reference ``raw`` to a record of ``entity``."""
        if raw in (None, "", [], {}):
            return None
        if isinstance(raw, dict):  # {"id": …, "value": …} lookups of some vendors
            raw = raw.get("id")
            if raw in (None, ""):
                return None
        record_id = str(raw)
        key = (side, entity, record_id)
        if key not in self._by_id:
            self.prime(side, entity, {record_id})
        pk = self._by_id[key]
        if pk is None:
            return f"?{side}:{record_id}"
        link = self._links.get(pk)
        if link is not None and link.state in _DEAD:
            return None  # the referenced record was deleted: no reference any more
        return f"{PREFIX}{pk}"

    def to_side(self, side: str, entity: str, value: Any) -> Any:
        """``side``'s id for the normalized reference ``value``: the id, None for no
        reference, or a ``Waiting`` marker when the record is not on ``side`` yet."""
        if value in (None, ""):
            return None
        text = str(value)
        if text.startswith(PREFIX):
            pk = int(text[len(PREFIX) :])
            link = self._link(pk)
            if link is not None and link.state in _DEAD:
                return None
            record_id = link.side_id(side) if link is not None else None
            if record_id:
                return record_id
            if self.assume_created and link is not None:
                return PREVIEWED
            return Waiting(entity, pk, link.match_key if link is not None else "")
        if text.startswith(f"?{side}:"):
            return text[len(side) + 2 :]  # the side's own unresolved id: unchanged
        # Another side's record with no link at all (not synced, out of scope).
        return Waiting(entity, 0, text.split(":", 1)[-1])


def unresolved(value: Any) -> bool:
    """Whether a normalized value is a reference to a record without a link (never
    synced, out of scope, or deleted in its app before it synced): in a conflict it
    counts as empty, so a reference the other side can translate wins."""
    return isinstance(value, str) and value[:3] in ("?a:", "?b:")


def waiting_in(fields: dict[str, Any]) -> list[Waiting]:
    """The ``Waiting`` markers among a write's values."""
    return [v for v in fields.values() if isinstance(v, Waiting)]
