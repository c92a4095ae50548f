"""vCard 3.0 / 4.0 <-> connector fields, without ever losing what the mapping does not touch.

A sync must never strip data from a card (photos, birthdays, X- properties, groups such as
``item1.X-ABLabel``). A full vobject round-trip is not safe for that: vobject 0.9.9 cuts a
vCard 4.0 ``PHOTO:data:image/png;base64,...`` URI at the comma and reorders properties.
So a ``Card`` keeps every content line *verbatim* (folded text included) and only rebuilds
the lines of the properties a write changes; vobject's ``parseLine`` supplies the content
line grammar (groups, quoted parameters). Values are unescaped on read and escaped on write
per RFC 6350 section 3.4 (the same rules as vCard 3.0's RFC 2426).

Multi-valued EMAIL / TEL / ADR map to single fields by type (``email`` is the preferred or
first one, ``email_work`` the first of type work, ...); writing one of them changes or
removes exactly that property and keeps the others.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from vobject.base import ParseError, parseLine

from sync.engine.normalize import split_name

FOLD_OCTETS = 75  # RFC 6350 3.2: lines SHOULD NOT be longer than 75 octets
_FOLD = re.compile(r"\r?\n[ \t]")  # a line break and the whitespace that folds a line

# Which TEL types are not a voice line of the given kind.
_NOT_VOICE = {"cell", "fax", "pager", "mobile"}
_MAX_PREF = 100  # sorts cards' unranked properties after every PREF=1..100


class VCardError(ValueError):
    """The text is not a vCard we can read, or a write names a field we cannot set."""


@dataclass
class Line:
    """One content line: its verbatim text (as folded in the source, without the final line
    break) and its parsed parts. ``value`` stays escaped, exactly as in the text."""

    raw: str
    name: str
    params: list[list[str]]
    value: str
    group: str | None = None

    @classmethod
    def parse(cls, raw: str) -> Line:
        unfolded = _FOLD.sub("", raw) if "\n" in raw else raw
        try:
            name, params, value, group = parseLine(unfolded)
        except ParseError:
            # Not a content line we understand: kept verbatim, never read or dropped.
            return cls(raw=raw, name="", params=[], value="")
        return cls(raw=raw, name=name.upper(), params=params, value=value, group=group)

    @classmethod
    def build(cls, name: str, params: list[list[str]], value: str) -> Line:
        """A new line; parameter values are quoted when they hold a separator."""
        text = name
        for param in params:
            if len(param) == 1:
                text += f";{param[0]}"
                continue
            values = [f'"{v}"' if re.search(r"[:;]", v) else v for v in param[1:]]
            text += f";{param[0]}=" + ",".join(values)
        return cls(raw=fold(f"{text}:{value}"), name=name, params=params, value=value)

    def with_value(self, value: str) -> Line:
        """This line with another (escaped) value, keeping its group and parameters
        exactly as written."""
        unfolded = _FOLD.sub("", self.raw)
        prefix = unfolded[: len(unfolded) - len(self.value)]
        return Line(
            raw=fold(prefix + value),
            name=self.name,
            params=self.params,
            value=value,
            group=self.group,
        )

    def param(self, name: str) -> list[str]:
        """All values of parameter ``name`` (case-insensitive), commas split."""
        found: list[str] = []
        for param in self.params:
            if param[0].upper() == name and len(param) > 1:
                for value in param[1:]:
                    found.extend(v.strip() for v in value.split(","))
        return found

    # A line's parameters never change (a write builds a new Line), so what is read from
    # them is worked out once: cards are read far more often than written.
    @cached_property
    def types(self) -> frozenset[str]:
        """TYPE values in lower case, including vCard 2.1-style bare parameters."""
        bare = {p[0].lower() for p in self.params if len(p) == 1}
        return frozenset({t.lower() for t in self.param("TYPE")} | bare)

    @cached_property
    def pref(self) -> int:
        """Preference rank: 1 is most preferred (4.0 PREF=1 or 3.0 TYPE=pref)."""
        ranks = self.param("PREF")
        if ranks and ranks[0].isdigit():
            return int(ranks[0])
        return 1 if "pref" in self.types else _MAX_PREF


def fold(text: str) -> str:
    """Fold one content line at 75 octets without splitting a UTF-8 character."""
    out: list[str] = []
    current = ""
    size = 0
    for char in text:
        width = len(char.encode())
        if size + width > FOLD_OCTETS:
            out.append(current)
            current, size = " ", 1
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def unescape(value: str) -> str:
    """Text value to plain text (``\\n``, ``\\,``, ``\\;``, ``\\\\``)."""
    if "\\" not in value:
        return value
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value, flags=re.S)


def escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace("\r\n", "\n")
        .replace("\n", "\\n")
        .replace(",", "\\,")
        .replace(";", "\\;")
    )


def split_unescaped(value: str, separator: str) -> list[str]:
    """Split at separators not preceded by a backslash; parts stay escaped."""
    if "\\" not in value:
        return value.split(separator)
    parts: list[str] = []
    current = ""
    i = 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value):
            current += value[i : i + 2]
            i += 2
            continue
        if char == separator:
            parts.append(current)
            current = ""
        else:
            current += char
        i += 1
    parts.append(current)
    return parts


def _text(value: str | None) -> str:
    return "" if value is None else str(value).strip()


# --- Which property (and which part of it) each field reads and writes.

ADR_PARTS = {"street": 2, "city": 3, "region": 4, "postal_code": 5, "country": 6}
N_PARTS = {"last_name": 0, "first_name": 1}
ORG_PARTS = {"company": 0, "department": 1}
SIMPLE = {"full_name": "FN", "job_title": "TITLE", "notes": "NOTE", "website": "URL"}
URI_PROPERTIES = {"URL"}  # URI values are not text-escaped


def _email_kind(kind: str) -> Callable[[Line], bool]:
    return lambda line: kind in line.types


def _phone_kind(kind: str) -> Callable[[Line], bool]:
    return lambda line: kind in line.types and not line.types & _NOT_VOICE


def _is_voice(line: Line) -> bool:
    return not line.types & _NOT_VOICE


def _is_mobile(line: Line) -> bool:
    return bool(line.types & {"cell", "mobile"})


# field -> (property, selector, the TYPE values of a new line for 3.0 and for 4.0)
MULTI: dict[str, tuple[str, Callable[[Line], bool] | None, list[str], list[str]]] = {
    "email": ("EMAIL", None, ["INTERNET"], []),
    "email_work": ("EMAIL", _email_kind("work"), ["INTERNET", "WORK"], ["work"]),
    "email_home": ("EMAIL", _email_kind("home"), ["INTERNET", "HOME"], ["home"]),
    "phone": ("TEL", _is_voice, ["VOICE"], ["voice"]),
    "phone_work": ("TEL", _phone_kind("work"), ["WORK", "VOICE"], ["work", "voice"]),
    "phone_home": ("TEL", _phone_kind("home"), ["HOME", "VOICE"], ["home", "voice"]),
    "mobile": ("TEL", _is_mobile, ["CELL"], ["cell"]),
}
WRITABLE = {*SIMPLE, *N_PARTS, *ORG_PARTS, *ADR_PARTS, *MULTI, "tags"}


class Card:
    """One vCard as a list of verbatim content lines (BEGIN/END excluded)."""

    def __init__(self, lines: list[Line]) -> None:
        self.lines = lines
        # name -> lines, while ``to_fields`` reads (nothing changes the card meanwhile).
        self._index: dict[str, list[Line]] | None = None

    # --- parsing and serialising

    @classmethod
    def parse(cls, text: str) -> Card:
        """Parse the first vCard in ``text``; folded lines are kept as they were."""
        physical = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        raws: list[str] = []
        for row in physical:
            if row[:1] in (" ", "\t") and raws:
                raws[-1] += "\r\n" + row
            elif row.strip():
                raws.append(row)
        lines = [Line.parse(raw) for raw in raws]
        names = [line.name for line in lines]
        if not names or names[0] != "BEGIN" or lines[0].value.upper() != "VCARD":
            raise VCardError("the text does not start with BEGIN:VCARD")
        if "END" not in names:
            raise VCardError("the vCard has no END:VCARD")
        return cls(lines[1 : names.index("END")])

    @classmethod
    def new(cls, uid: str, version: str = "3.0") -> Card:
        """An empty card with the properties its version requires."""
        card = cls([Line.build("VERSION", [], version), Line.build("UID", [], escape(uid))])
        card.lines.append(Line.build("FN", [], ""))
        if version == "3.0":
            card.lines.append(Line.build("N", [], ";;;;"))
        return card

    def serialize(self) -> str:
        body = "".join(line.raw + "\r\n" for line in self.lines)
        return f"BEGIN:VCARD\r\n{body}END:VCARD\r\n"

    # --- reading

    @property
    def version(self) -> str:
        found = self.first("VERSION")
        return found.value.strip() if found else "3.0"

    @property
    def uid(self) -> str:
        found = self.first("UID")
        return unescape(found.value) if found else ""

    def all(self, name: str) -> list[Line]:
        if self._index is not None:
            return self._index.get(name, [])
        return [line for line in self.lines if line.name == name]

    def first(self, name: str, selector: Callable[[Line], bool] | None = None) -> Line | None:
        """The most preferred line of ``name`` that ``selector`` accepts (first on ties)."""
        candidates = [line for line in self.all(name) if selector is None or selector(line)]
        return min(candidates, key=lambda line: line.pref) if candidates else None

    def _part(self, name: str, index: int) -> str | None:
        found = self.first(name)
        if found is None:
            return None
        parts = split_unescaped(found.value, ";")
        if index >= len(parts):
            return None
        return unescape(parts[index]).strip() or None

    def _value(self, line: Line | None) -> str | None:
        if line is None:
            return None
        value = line.value if line.name in URI_PROPERTIES else unescape(line.value)
        if line.name == "TEL" and value.lower().startswith("tel:"):
            value = value[4:]
        return value.strip() or None

    def to_fields(self) -> dict[str, Any]:
        """Connector field values; a missing property is None (tags: [])."""
        index: dict[str, list[Line]] = {}
        for line in self.lines:
            index.setdefault(line.name, []).append(line)
        self._index = index
        try:
            return self._fields()
        finally:
            self._index = None

    def _fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for key, prop in SIMPLE.items():
            fields[key] = self._value(self.first(prop))
        for key, index in N_PARTS.items():
            fields[key] = self._part("N", index)
        for key, index in ORG_PARTS.items():
            fields[key] = self._part("ORG", index)
        for key, index in ADR_PARTS.items():
            fields[key] = self._part("ADR", index)
        for key, (prop, selector, _, _) in MULTI.items():
            fields[key] = self._value(self.first(prop, selector))
        if fields["phone"] is None:
            # A card whose only number is a mobile (TEL;TYPE=CELL) has that as its phone:
            # an app with one phone field then still receives it (issue 21).
            fields["phone"] = fields["mobile"]
        fields["tags"] = self.tags()
        fields["uid"] = self.uid or None
        return fields

    def tags(self) -> list[str]:
        tags: list[str] = []
        for line in self.all("CATEGORIES"):
            for part in split_unescaped(line.value, ","):
                tag = unescape(part).strip()
                if tag and tag not in tags:
                    tags.append(tag)
        return tags

    def revision(self) -> datetime | None:
        """REV as an aware datetime, when present and readable (servers may not keep it)."""
        found = self.first("REV")
        if found is None:
            return None
        text = found.value.strip().replace("-", "").replace(":", "")
        for pattern in ("%Y%m%dT%H%M%SZ", "%Y%m%dT%H%M%S", "%Y%m%d"):
            try:
                return datetime.strptime(text, pattern).replace(tzinfo=UTC)
            except ValueError:
                continue
        return None

    # --- writing

    def apply(self, fields: dict[str, Any]) -> None:
        """Set the given fields and nothing else; None or "" removes the value."""
        unknown = set(fields) - WRITABLE
        if unknown:
            raise VCardError(f"fields that cannot be written to a vCard: {sorted(unknown)}")
        old_given, old_family = self._part("N", 1) or "", self._part("N", 0) or ""
        old_full = self._value(self.first("FN")) or ""
        # The mobile first: a phone equal to it is then known to be on the card already.
        for key, value in sorted(fields.items(), key=lambda item: item[0] != "mobile"):
            if key in SIMPLE:
                self._set_single(SIMPLE[key], value)
            elif key in N_PARTS:
                self._set_part("N", N_PARTS[key], value, size=5, keep_empty=True)
            elif key in ORG_PARTS:
                self._set_part("ORG", ORG_PARTS[key], value, size=1)
            elif key in ADR_PARTS:
                self._set_part("ADR", ADR_PARTS[key], value, size=7)
            elif key in MULTI:
                self._set_multi(key, value)
            else:
                self._set_tags(value or [])
        if "full_name" not in fields and N_PARTS.keys() & fields.keys():
            self._follow_name(old_given, old_family)
        elif "full_name" in fields and not N_PARTS.keys() & fields.keys():
            self._follow_full_name(old_full, old_given, old_family)

    def touch(self, now: datetime | None = None) -> None:
        """Set REV to now: clients use it to notice the change."""
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
        self._set_single("REV", stamp, raw=True)

    def _replace(self, old: Line | None, new: Line | None) -> None:
        if old is None and new is not None:
            self.lines.append(new)
        elif old is not None and new is None:
            self.lines.remove(old)
        elif old is not None and new is not None:
            self.lines[self.lines.index(old)] = new

    def _set_single(self, name: str, value: Any, *, raw: bool = False) -> None:
        text = _text(value)
        encoded = text if raw or name in URI_PROPERTIES else escape(text)
        old = self.first(name)
        if not text and name == "FN":
            new = old.with_value("") if old else Line.build("FN", [], "")
        elif not text:
            new = None
        else:
            new = old.with_value(encoded) if old else Line.build(name, [], encoded)
        self._replace(old, new)

    def _set_part(
        self, name: str, index: int, value: Any, *, size: int, keep_empty: bool = False
    ) -> None:
        old = self.first(name)
        parts = split_unescaped(old.value, ";") if old else []
        parts += [""] * (max(size, index + 1) - len(parts))
        parts[index] = escape(_text(value))
        joined = ";".join(parts)
        if not keep_empty and not any(unescape(p).strip() for p in parts):
            self._replace(old, None)
        else:
            self._replace(old, old.with_value(joined) if old else Line.build(name, [], joined))

    def _set_multi(self, key: str, value: Any) -> None:
        prop, selector, types_v3, types_v4 = MULTI[key]
        old = self.first(prop, selector)
        text = _text(value)
        if key == "phone" and old is None:
            mobile = self._value(self.first("TEL", _is_mobile))
            if mobile is not None and (not text or text == mobile):
                # The phone read was the mobile (to_fields): it is on the card already;
                # clearing it is the mobile's business.
                return
        if not text:
            self._replace(old, None)
            return
        if prop == "TEL" and old is not None and "uri" in {v.lower() for v in old.param("VALUE")}:
            text = "tel:" + text.replace(" ", "-")
        else:
            text = escape(text)
        types = types_v4 if self.version.startswith("4") else types_v3
        params = [["TYPE", *types]] if types else []
        self._replace(old, old.with_value(text) if old else Line.build(prop, params, text))

    def _set_tags(self, tags: list[str]) -> None:
        olds = self.all("CATEGORIES")
        value = ",".join(escape(str(t).strip()) for t in tags if str(t).strip())
        new = None
        if value:
            new = olds[0].with_value(value) if olds else Line.build("CATEGORIES", [], value)
        for extra in olds[1:]:
            self.lines.remove(extra)
        self._replace(olds[0] if olds else None, new)

    def _follow_name(self, old_given: str, old_family: str) -> None:
        # FN is what clients display. When it was just "Given Family" (or empty), keep it
        # in step with N; a hand-written FN ("Dr. Ann Lee") is the user's and stays.
        fn = self._value(self.first("FN")) or ""
        if fn and fn != " ".join(p for p in (old_given, old_family) if p):
            return
        given, family = self._part("N", 1) or "", self._part("N", 0) or ""
        self._set_single("FN", " ".join(p for p in (given, family) if p))

    def _follow_full_name(self, old_full: str, old_given: str, old_family: str) -> None:
        # The structured name (N) is what address books sort and search by, and what
        # vCard 3.0 and Google require: when only a full name was written (an app with one
        # name field), N follows it, unless N was the user's own ("Lee;Ann" under an FN
        # of "Dr. Ann Lee").
        if (old_given or old_family) and old_full != " ".join(
            p for p in (old_given, old_family) if p
        ):
            return
        # One home for splitting a name (nameparser: "Ludwig van Beethoven" has the last
        # name "van Beethoven"); an unchanged given or family name is kept as it was.
        given, family = split_name(self._value(self.first("FN")), old_given, old_family)
        self._set_part("N", N_PARTS["first_name"], given, size=5, keep_empty=True)
        self._set_part("N", N_PARTS["last_name"], family, size=5, keep_empty=True)


def card_from_fields(uid: str, fields: dict[str, Any], version: str = "3.0") -> Card:
    """A new card holding ``fields``; FN follows the names when no full name is given."""
    card = Card.new(uid, version)
    card.apply(fields)
    card.touch()
    return card
