"""Polymorphic lookups as one reference field per target (issue 17).

A Task's or an Event's ``WhoId`` holds a Contact's or a Lead's id, its ``WhatId`` an
Account's, an Opportunity's or another object's. The engine translates a reference
through the links of *one* entity, so the connector offers one virtual field per target,
``<lookup>.<object>`` (``WhoId.Contact``, ``WhatId.Account``, ``WhatId.Opportunity``,
``WhoId.Lead``), each declaring ``refers_to`` and the target's common key
(objects.py ``TARGETS``): default mappings pair them with another app's
``contact_id`` / ``company_id`` / ``opportunity_id``. The engine learns nothing of
Salesforce here.

Read: the id goes to the target its key prefix names (the org's describe ``keyPrefix``,
objects.py ``KEY_PREFIXES`` where the describe gives none); the other targets read empty,
except that a target with a derived field (a Task's ``AccountId``) reads that field when
the lookup points elsewhere: a task about an Opportunity is also about its Account.

Write: the lookup gets the most specific target that has a value once the change is laid
over the record as it is (``Split.value``); clearing every target clears the lookup, but
a lookup to an object the connector does not split out (a Case) is never cleared by it.
An update that names only some targets needs the record's current lookup: the connector
reads it first (``Split.partial``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.base import FieldSpec
from connectors.salesforce.objects import KEY_PREFIXES, TARGETS, Polymorphic

SEPARATOR = "."


def key_of(lookup: str, target: str) -> str:
    """The virtual field of ``lookup``'s ``target`` (``WhatId.Account``)."""
    return f"{lookup}{SEPARATOR}{target}"


@dataclass(frozen=True)
class Split:
    """One polymorphic lookup as the org describes it: its targets the connector splits
    out (in priority order, with their key prefixes) and the derived fields present."""

    lookup: Polymorphic
    label: str
    prefixes: tuple[tuple[str, str], ...]  # (target, key prefix), most specific first
    derived: tuple[tuple[str, str], ...]  # (target, field) the describe lists
    read_only: bool

    @classmethod
    def of(
        cls,
        lookup: Polymorphic,
        described: dict[str, dict[str, Any]],
        prefixes: dict[str, str],
    ) -> Split | None:
        """The split of ``lookup`` given the object's describe fields (by name) and the
        org's key prefixes; None when the object has no such lookup or none of its
        targets is one the connector splits out."""
        field = described.get(lookup.field)
        if field is None or field.get("type") != "reference":
            return None
        offered = {str(t) for t in field.get("referenceTo") or []}
        targets = tuple(
            (t, prefixes.get(t) or KEY_PREFIXES[t])
            for t in lookup.targets
            if t in offered and t in TARGETS
        )
        if not targets:
            return None
        names = {t for t, _ in targets}
        derived = tuple((t, f) for t, f in lookup.derived if t in names and f in described)
        writable = bool(field.get("createable")) or bool(field.get("updateable"))
        label = str(field.get("label") or lookup.field)
        return cls(lookup, label, targets, derived, read_only=not writable)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(key_of(self.lookup.field, t) for t, _ in self.prefixes)

    @property
    def columns(self) -> tuple[str, ...]:
        """What a query selects to read the split's fields."""
        return (self.lookup.field, *(f for _, f in self.derived))

    def specs(self) -> list[FieldSpec]:
        return [
            FieldSpec(
                key_of(self.lookup.field, target),
                f"{self.label} ({target})",
                "text",
                common=TARGETS[target][1],
                read_only=self.read_only,
                refers_to=TARGETS[target][0],
            )
            for target, _ in self.prefixes
        ]

    def target_of(self, record_id: Any) -> str | None:
        """The target object ``record_id`` belongs to by its prefix; None for another
        object's id (or none)."""
        text = str(record_id or "")
        return next((t for t, prefix in self.prefixes if text[:3] == prefix), None)

    def read(self, row: dict[str, Any], *, derived: bool = True) -> dict[str, Any]:
        """The split's fields of a queried ``row`` (without ``derived``: only the
        lookup's own target)."""
        raw = row.get(self.lookup.field)
        target = self.target_of(raw) if raw else None
        fields = {
            key_of(self.lookup.field, t): raw if t == target else None for t, _ in self.prefixes
        }
        for name, column in self.derived if derived else ():
            key = key_of(self.lookup.field, name)
            if fields[key] is None and row.get(column):
                fields[key] = row[column]
        return fields

    def touched(self, fields: dict[str, Any]) -> bool:
        return any(k in fields for k in self.keys)

    def partial(self, fields: dict[str, Any]) -> bool:
        """Whether a change names some of the split's fields but not all: writing it
        needs the lookup's current value."""
        named = [k in fields for k in self.keys]
        return any(named) and not all(named)

    def value(self, fields: dict[str, Any], current: dict[str, Any] | None) -> tuple[bool, Any]:
        """(whether to write the lookup, its value) for a change of ``fields`` to a
        record that holds ``current`` (its queried row; None for a create): the most
        specific target with a value, None when they are all empty, unless the lookup
        holds an object not split out (a Case), which only a target given a value
        replaces: its derived Account does not stand in for it."""
        if not self.touched(fields):
            return False, None
        raw = (current or {}).get(self.lookup.field)
        foreign = bool(raw) and self.target_of(raw) is None
        merged = self.read(current, derived=not foreign) if current is not None else {}
        merged.update({k: fields[k] for k in self.keys if k in fields})
        chosen = next((merged[k] for k in self.keys if merged.get(k) not in (None, "")), None)
        if chosen is not None:
            return True, str(chosen)
        if foreign:
            return False, None  # nothing here speaks for a Case: it stays
        return True, None


def splits_of(
    lookups: tuple[Polymorphic, ...],
    described: list[dict[str, Any]],
    prefixes: dict[str, str],
) -> list[Split]:
    """The splits of an object's polymorphic lookups the org's describe has."""
    by_name = {str(f.get("name") or ""): f for f in described}
    found = (Split.of(lookup, by_name, prefixes) for lookup in lookups)
    return [s for s in found if s is not None]
