"""Value translation of choice pairs (issue 17): a pair whose two fields both declare
their values (``FieldSpec.choices``: a picklist, a lookup's value list) translates each
value into the other app's vocabulary instead of copying it, e.g. Salesforce's stage
"Closed Won" ↔ ForceManager's opportunity status "Won".

How a value crosses, per direction:
- the tenant's choice, stored on the mapping row (``FieldMapping.value_map``:
  ``{"a_to_b": {a value: b value}, "b_to_a": {b value: a value}}``), where made;
- else the other side's value of the same *name* (``value_key``: accents, case,
  punctuation and spacing ignored: "Closed-Won" is "closed won");
- else, for a value the other direction's translations reach (a many-to-one map read
  backwards), the first value in its app's order that translates into it: with "Closed
  Won" and "Won (verbal)" both → "Won", a "Won" coming back becomes "Closed Won", the
  one of the two Salesforce lists first. The tenant's "b_to_a" choice overrides it.
- else no translation: writing that value is refused record by record (``Untranslated``,
  reported by the applier as the record's error and listed by the preview), never
  silently dropped.

The three-way merge compares *tokens* (``ValueMap.token``), one vocabulary for both
sides, B's: a value of B is ``"b:<its value>"``, a value of A is ``"b:<its translation>"``,
or ``"a:<its value>"`` when it has none. So A's "Needs Analysis" and "Qualification",
both mapped to B's "Qualified", are the same token (a change between them writes
nothing to B), and a token always names the exact value it came from: writing it into
A translates B's value (``to_a``), never a value already translated once
(``ValueMap.value_on``). The one case the tokens do not equate: a B value that becomes an
A value whose own translation is another B value (B's "Lost - price" → A's "Closed
Lost" → B's "Lost - other"); a new link settles that by its conflict policy, and after
that the two stay as they are until either side changes.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

# The stored map's two directions (FieldMapping.value_map).
DIRECTIONS = ("a_to_b", "b_to_a")


def value_key(text: Any) -> str:
    """The name a value is paired by: accents, case, punctuation and spacing ignored."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    kept = "".join(
        ch if ch.isalnum() else " " for ch in decomposed if not unicodedata.combining(ch)
    )
    return " ".join(kept.casefold().split())


def translatable(a_choices: tuple[str, ...], b_choices: tuple[str, ...]) -> bool:
    """Whether a pair of fields with these values is translated (both declare values)."""
    return bool(a_choices) and bool(b_choices)


class Untranslated(str):
    """A value a write would carry that has no translation into the target field: the
    text is the source value (journals and previews show it); ``message`` says which
    field, which value and where to map it. The applier reports it as the record's error
    instead of sending the write (sync/engine/apply.py ``refusal``)."""

    message: str

    def __new__(cls, value: str, message: str) -> Untranslated:
        made = super().__new__(cls, value)
        made.message = message
        return made


def untranslated_in(fields: dict[str, Any]) -> list[Untranslated]:
    """The untranslated values a write carries."""
    return [v for v in fields.values() if isinstance(v, Untranslated)]


@dataclass(frozen=True)
class ValueMap:
    """How one pair's values cross (see the module docstring). ``chosen`` is the stored
    map; ``labels`` name the two fields and ``entity`` the element, for the messages."""

    a_choices: tuple[str, ...]
    b_choices: tuple[str, ...]
    chosen: dict[str, dict[str, str]] = field(default_factory=dict)
    labels: tuple[str, str] = ("A", "B")
    entity: str = "contact"

    def _choices(self, side: str) -> tuple[str, ...]:
        return self.a_choices if side == "a" else self.b_choices

    @cached_property
    def _by_key(self) -> dict[str, dict[str, str]]:
        """Per side: value_key -> the declared value (the first of a name)."""
        found: dict[str, dict[str, str]] = {"a": {}, "b": {}}
        for side in ("a", "b"):
            for value in self._choices(side):
                found[side].setdefault(value_key(value), value)
        return found

    def declared(self, side: str, value: str) -> str:
        """``value`` as ``side`` declares it (its own spelling), or as given."""
        return self._by_key[side].get(value_key(value), value)

    def automatic(self, side: str, value: str) -> str | None:
        """The value of ``side`` with the same name as ``value``, if any."""
        return self._by_key[side].get(value_key(value))

    def _direct(self, direction: str, value: str) -> str | None:
        """The tenant's choice for ``value`` in ``direction``, else the same name."""
        target = "b" if direction == "a_to_b" else "a"
        picked = (self.chosen.get(direction) or {}).get(value)
        if picked and picked in self._choices(target):
            return picked
        return self.automatic(target, value)

    @cached_property
    def _reverse(self) -> dict[str, dict[str, str]]:
        """Per direction: target value -> the first source value (in its app's order)
        whose direct translation it is (what a many-to-one map reads backwards)."""
        found: dict[str, dict[str, str]] = {"a_to_b": {}, "b_to_a": {}}
        for direction, source in (("a_to_b", "a"), ("b_to_a", "b")):
            for value in self._choices(source):
                target = self._direct(direction, value)
                if target is not None:
                    found[direction].setdefault(target, value)
        return found

    def to_b(self, a_value: str) -> str | None:
        """The B value an A value becomes (None: no translation)."""
        return self._direct("a_to_b", a_value) or self._reverse["b_to_a"].get(a_value)

    def to_a(self, b_value: str) -> str | None:
        """The A value a B value becomes (None: no translation)."""
        return self._direct("b_to_a", b_value) or self._reverse["a_to_b"].get(b_value)

    def translation(self, direction: str, value: str) -> str | None:
        """What ``value`` (of the direction's source side) becomes."""
        return self.to_b(value) if direction == "a_to_b" else self.to_a(value)

    def token(self, side: str, raw: Any) -> str | None:
        """``side``'s value as the merge compares it (see the module docstring)."""
        if raw in (None, "") or isinstance(raw, list | dict):
            return None
        text = str(raw).strip()
        if not text:
            return None
        if side == "a":
            value = self.declared("a", text)
            b_value = self.to_b(value)
            return f"b:{b_value}" if b_value is not None else f"a:{value}"
        return f"b:{self.declared('b', text)}"

    def value_on(self, side: str, token: Any, field_key: str) -> str | None:
        """What ``side``'s field gets for ``token``: its own value, the translation, or
        an ``Untranslated`` marker naming ``field_key`` (the target field)."""
        if token in (None, ""):
            return None
        origin, _sep, value = str(token).partition(":")
        if origin == side:
            return value
        translated = self.to_a(value) if side == "a" else self.to_b(value)
        if translated is not None:
            return translated
        source_label, target_label = self.labels if side == "b" else self.labels[::-1]
        return Untranslated(
            value,
            f"{source_label} “{value}” has no value in {target_label} ({field_key}): choose "
            f"one in the value table of the pair {self.labels[0]} ↔ {self.labels[1]} on the "
            f"connection's field mapping page ({self.entity} element)",
        )

    def rows(self, side: str) -> list[dict[str, Any]]:
        """The value table of one direction (``side``'s values towards the other): each
        value with its automatic translation, the tenant's choice and what it becomes."""
        direction = "a_to_b" if side == "a" else "b_to_a"
        target = "b" if side == "a" else "a"
        chosen = self.chosen.get(direction) or {}
        return [
            {
                "value": value,
                "automatic": self.automatic(target, value),
                "chosen": chosen.get(value, ""),
                "becomes": self.translation(direction, value),
            }
            for value in self._choices(side)
        ]


def clean_value_map(
    posted: dict[str, dict[str, str]], a_choices: tuple[str, ...], b_choices: tuple[str, ...]
) -> dict[str, dict[str, str]]:
    """The stored form of a posted value map: per direction, the values of the source
    side mapped to a value of the other side (blank entries, meaning "automatic", and
    anything either app does not declare are left out). Raises ValueError naming a
    value neither side knows."""
    choices = {"a_to_b": (a_choices, b_choices), "b_to_a": (b_choices, a_choices)}
    cleaned: dict[str, dict[str, str]] = {}
    for direction in DIRECTIONS:
        sources, targets = choices[direction]
        entries = {}
        for source, target in (posted.get(direction) or {}).items():
            if not target:
                continue
            if source not in sources or target not in targets:
                raise ValueError(f"{source!r} → {target!r}")
            entries[source] = target
        if entries:
            cleaned[direction] = entries
    return cleaned
