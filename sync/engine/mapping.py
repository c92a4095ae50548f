"""Field mapping: which vendor fields correspond, and how values cross between them.

The engine never compares raw vendor values: ``normalized_values`` projects one side's record
onto the connection's pairs as *normalized* values (comparable across sides), the planner
merges those, and ``write_side`` turns the merged values back into the target vendor's
field values. Pure functions, no I/O, except ``pairs_for`` and ``ensure_default_mappings``
which read and write the connection's FieldMapping rows.

Normalized value conventions (what ``normalized_values`` returns per pair key):
- empty / missing -> ``None`` (never "" or [])
- text -> stripped ``str`` (line endings as ``\\n``); email -> lower-cased, stripped;
  phone -> E.164 when parseable with the default country, else the stripped original text
  (never dropped)
- country -> ISO 3166-1 alpha-2 code when recognised, else the stripped text
- sets (tags, lists) -> sorted ``list[str]`` without duplicates (case-sensitive)
- full_name pairs -> the joined full name ``"First Last"``
- bool -> ``bool``; numbers -> ``str`` of the number (so 1 and "1" compare equal);
  dates -> ISO text (``YYYY-MM-DD``; datetimes in UTC)
- references (``Pair.refers_to``) -> ``"ref:<link pk>"`` of the referenced record, the
  same on both sides (sync/engine/references.py)
- choice pairs (``Pair.values``: both fields declare their values) -> a token of one
  vocabulary, ``"b:<value>"`` / ``"a:<value>"``, each side's value translated through
  the pair's value map (sync/engine/choices.py); written as the target side's value or,
  without a translation, an ``Untranslated`` marker the applier reports as the record's
  error

How a pair's values are normalized (its *kind*) comes from its transform when that names
one (email, phone, country, set, full_name), else from the two fields' types (``a_type``,
``b_type``: a number field paired with a text field compares numbers, the text side parsed
leniently), else from the shape of the value. ``default_pairs`` and ``pairs_for`` (given
the FieldSpecs) fill the types in.

What is written back (``write_side``) depends on the target field's type: a ``country``
field gets the ISO code and a text field the English name ("Italy"); a multi-valued field
gets a list and a text field the items joined by ", "; a number field gets a JSON number
and a text field the canonical text; a bool field a bool and a text field "true"/"false".
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from connectors.base import FieldSpec
from sync.engine import normalize as norm
from sync.engine.choices import ValueMap, translatable
from sync.engine.sides import BOTH, direction_into

if TYPE_CHECKING:
    from sync.models import Connection, FieldMapping

logger = logging.getLogger(__name__)

PairDirection = Literal["both", "a_to_b", "b_to_a"]  # BOTH or a Direction (sides.py)

# Field types that hold a set of values.
MULTI_TYPES = frozenset({"tags", "lists"})
# Types any text can go into (the vendor validates a choice or a URL per record).
TEXT_LIKE = frozenset({"text", "url", "choice"})
# Transforms that parse a text field as the typed value, making text -> typed safe.
PARSING_TRANSFORMS = {"email": "email", "phone": "phone", "country": "country"}
# Common keys that are not default pairs: their values are ids or codes that differ
# between apps (status and list membership go through rule actions, subscription
# through the connection's unsubscribe option). Owners are paired: their ids cross
# through the connection's user links (OwnerMap).
NOT_DEFAULT = frozenset({"status", "lists", "subscribed"})
PHONE_COMMONS = frozenset({"phone", "mobile", "fax"})
# A record's company name beside its company reference (issue 17): reference common key ->
# the plain common key it makes redundant when the connection syncs the referenced
# entity (the reference then carries the company; a name pair beside it would write the
# company a second time, by name).
NAMED_BY_REFERENCE = {"company_id": "company"}
NAME_PARTS = "+"


@dataclass(frozen=True)
class Pair:
    """One mapping pair, as the engine uses it. For ``transform == "full_name"`` one side's
    field is ``"first+last"`` (two vendor keys joined by ``+``). ``a_type``/``b_type`` are
    the FieldSpec types of the two fields when known ("" otherwise); they choose how values
    are normalized and written."""

    a_field: str
    b_field: str
    direction: PairDirection = "both"
    transform: str = ""
    a_type: str = ""
    b_type: str = ""
    refers_to: str = ""  # both fields hold ids of this entity (sync/engine/references.py)
    # Both fields declare their values: they cross translated (sync/engine/choices.py).
    values: ValueMap | None = field(default=None, compare=False)

    @cached_property
    def key(self) -> str:
        """Stable name of the pair: the key of the values ``normalized_values`` returns."""
        return f"{self.a_field}|{self.b_field}"

    def flows(self, direction: str) -> bool:
        """Whether values of this pair may be written in ``direction``."""
        return self.direction in (BOTH, direction)

    def field(self, side: str) -> str:
        """The vendor field key (or ``first+last``) of ``side``."""
        return self.a_field if side == "a" else self.b_field

    def field_type(self, side: str) -> str:
        """The FieldSpec type of ``side``'s field, "" when unknown."""
        return self.a_type if side == "a" else self.b_type

    @cached_property
    def kind(self) -> str:
        """How values of this pair are normalized (see the module docstring)."""
        if self.refers_to:
            return "reference"
        if self.values is not None:
            return "choice"
        if self.transform in ("email", "phone", "country", "set", "full_name", "text"):
            # An explicit transform wins over the field types: "text" maps e.g. a
            # country or phone field verbatim into a free-text field.
            return self.transform
        types = {t for t in (self.a_type, self.b_type) if t}
        if types == {"owner"}:
            return "owner"  # ids of each app's users: they cross through user links
        if types & MULTI_TYPES:
            return "set"
        specific = {_SCALAR_KINDS.get(t, "text") for t in types} - {"text"}
        if specific == {"date", "datetime"}:
            return "date"
        if len(specific) == 1:
            return specific.pop()
        if types or self.transform == "text":
            return "text"
        return ""


# FieldSpec type -> the kind that normalizes it.
_SCALAR_KINDS = {
    "email": "email",
    "phone": "phone",
    "country": "country",
    "number": "number",
    "bool": "bool",
    "subscription": "bool",
    "date": "date",
    "datetime": "datetime",
}


@dataclass(frozen=True)
class OwnerMap:
    """How owner ids cross: ``links`` A id -> B id; ``defaults`` per side, the user that
    an owner with no link on the other side becomes there ("" for none: the owner is not
    written, and the app's own default applies to a new record)."""

    links: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)

    @cached_property
    def a_of(self) -> dict[str, str]:
        """B id -> A id."""
        return {b_id: a_id for a_id, b_id in self.links.items()}

    def token(self, side: str, value: object) -> str | None:
        """``side``'s owner id as a value comparable across sides: a linked user is the
        same token on both sides; an unlinked one is its side and id."""
        if value in (None, ""):
            return None
        owner = str(value)
        if side == "a":
            linked = self.links.get(owner)
            return f"user:{owner}:{linked}" if linked else f"a:{owner}"
        linked = self.a_of.get(owner)
        return f"user:{linked}:{owner}" if linked else f"b:{owner}"

    def owner_on(self, side: str, token: object) -> str | None:
        """The owner id ``token`` is on ``side``: the linked user, the same user for a
        token of that side, else (an owner of the other side with no link) ``side``'s
        default user; None when there is none."""
        if token in (None, ""):
            return None
        text = str(token)
        if text.startswith("user:"):
            _tag, a_id, b_id = text.split(":", 2)
            return a_id if side == "a" else b_id
        origin, _sep, owner = text.partition(":")
        if origin == side:
            return owner
        return self.defaults.get(side) or None


@dataclass(frozen=True)
class MappingContext:
    """What normalization needs to know about the connection: the default phone
    country, and how owner ids cross (an owner ↔ owner pair)."""

    default_phone_country: str = ""
    owners: OwnerMap = field(default_factory=OwnerMap)
    # The run's reference translation (sync/engine/references.py), where pairs have any.
    references: Any = None


def _is_multi(spec: FieldSpec) -> bool:
    return spec.multi or spec.type in MULTI_TYPES


def _type_of(spec: FieldSpec) -> str:
    """The type a pair records for ``spec`` (multi-valued fields count as tags)."""
    return "tags" if spec.multi and spec.type not in MULTI_TYPES else spec.type


def infer_transform(a_spec: FieldSpec, b_spec: FieldSpec) -> str:
    """The transform a pair of these two fields gets by default: the typed one when either
    field's type or common key says email, phone or country; "set" for tags and lists;
    else "" (the types alone decide, see ``Pair.kind``)."""
    types = {a_spec.type, b_spec.type}
    commons = {a_spec.common, b_spec.common}
    if _is_multi(a_spec) or _is_multi(b_spec):
        return "set"
    if "email" in types or "email" in commons:
        return "email"
    if "phone" in types or commons & PHONE_COMMONS:
        return "phone"
    if "country" in types or "country" in commons:
        return "country"
    return ""


def _flows(src: FieldSpec, dst: FieldSpec, transform: str) -> bool:
    """Whether values of ``src`` can be written into ``dst`` without losing meaning."""
    if _is_multi(src) or _is_multi(dst):
        if _is_multi(src) and _is_multi(dst):
            return True
        if _is_multi(src):
            # A set can be written as "a, b" into a text field...
            return dst.type == "text"
        # ...and read back from one only when the pair says it holds a set.
        return src.type == "text" and transform == "set"
    if src.refers_to != dst.refers_to:
        # A reference pairs only with a reference to the same entity (issue 17).
        return False
    if src.type == dst.type:
        return True
    if "owner" in (src.type, dst.type):
        # Owner ids mean nothing outside their app; they cross only through user links.
        return False
    if dst.type == "text":
        return True
    if src.type in TEXT_LIKE and PARSING_TRANSFORMS.get(transform) == dst.type:
        # Text parsed as an email, a phone or a country by the pair's transform.
        return True
    if src.type in TEXT_LIKE and dst.type in TEXT_LIKE | {"status"}:
        return True
    if src.type == "datetime" and dst.type == "date":
        return True
    return {src.type, dst.type} == {"bool", "subscription"}


def allowed_direction(
    a_spec: FieldSpec, b_spec: FieldSpec, *, transform: str = ""
) -> PairDirection | None:
    """The direction values may flow between the two fields, or None if incompatible.

    Same type both ways; any single value → a text field (phone, country, number, date,
    email, bool: only towards the text side); text → email/phone/country only when the
    pair's ``transform`` parses it (``"email"``/``"phone"``/``"country"``, which default
    pairs of a common key get), never text → number/date/bool; text ↔ url/choice and
    text/choice → status (the vendor validates the value); datetime → date; bool ↔
    subscription; multi ↔ multi both ways, multi → text as "a, b", text → multi only with
    the "set" transform; owner only with owner. A read-only side only as a source.
    """
    a_to_b = not b_spec.read_only and _flows(a_spec, b_spec, transform)
    b_to_a = not a_spec.read_only and _flows(b_spec, a_spec, transform)
    if a_to_b and b_to_a:
        return BOTH
    if a_to_b:
        return "a_to_b"
    if b_to_a:
        return "b_to_a"
    return None


def _names_spec(first: FieldSpec, last: FieldSpec) -> FieldSpec:
    """A pseudo-FieldSpec for the composite ``first+last`` side of a full-name pair."""
    return FieldSpec(
        key=f"{first.key}{NAME_PARTS}{last.key}",
        label=f"{first.label} + {last.label}",
        type="text",
        common="full_name",
        read_only=first.read_only or last.read_only,
    )


def _by_common(specs: list[FieldSpec]) -> dict[str, FieldSpec]:
    """First field of each common key (a vendor rarely declares two)."""
    result: dict[str, FieldSpec] = {}
    for spec in specs:
        if spec.common and spec.common not in result:
            result[spec.common] = spec
    return result


def _composite(a: dict[str, FieldSpec], b: dict[str, FieldSpec]) -> Pair | None:
    """first+last ↔ full_name when one side has both names and the other only a full name."""
    names = ("first_name", "last_name")

    def split_side(side: dict[str, FieldSpec]) -> bool:
        return all(n in side for n in names) and "full_name" not in side

    def full_side(side: dict[str, FieldSpec]) -> bool:
        return "full_name" in side and not any(n in side for n in names)

    if split_side(a) and full_side(b):
        a_spec, b_spec = _names_spec(a["first_name"], a["last_name"]), b["full_name"]
    elif full_side(a) and split_side(b):
        a_spec, b_spec = a["full_name"], _names_spec(b["first_name"], b["last_name"])
    else:
        return None
    direction = allowed_direction(a_spec, b_spec, transform="full_name")
    if direction is None:
        return None
    return Pair(a_spec.key, b_spec.key, direction, "full_name", a_spec.type, b_spec.type)


def default_pairs(
    a_specs: list[FieldSpec],
    b_specs: list[FieldSpec],
    entity: str = "contact",
    synced: frozenset[str] | None = None,
) -> list[Pair]:
    """Pairs of fields that declare the same ``common`` key (plus first+last ↔ full_name
    when one side has both names and the other only a full name), each with the direction
    type compatibility allows (see ``allowed_direction``); read-only fields only flow out.

    Incompatible pairs are left out, and so are the common keys in ``NOT_DEFAULT``
    (status, lists, subscribed), whose values are app-specific ids handled by rule
    actions and the unsubscribe option; owner ↔ owner pairs cross through user links.
    Order: side A's field order, the composite name pair first, a mobile → phone pair
    (``_mobile_fallback``) last. ``synced``, the entities the connection syncs, leaves
    out the plain names a reference pair carries (``shadowed_commons``).
    """
    a_common, b_common = _by_common(a_specs), _by_common(b_specs)
    shadowed = shadowed_commons(a_specs, b_specs, synced or frozenset())
    pairs: list[Pair] = []
    composite = _composite(a_common, b_common)
    if composite is not None:
        pairs.append(composite)
    for common, a_spec in a_common.items():
        b_spec = b_common.get(common)
        if b_spec is None or common in NOT_DEFAULT or common in shadowed:
            continue
        transform = infer_transform(a_spec, b_spec)
        direction = allowed_direction(a_spec, b_spec, transform=transform)
        if direction is None:
            logger.info("No default pair %s ↔ %s: incompatible types", a_spec.key, b_spec.key)
            continue
        pairs.append(
            Pair(
                a_spec.key,
                b_spec.key,
                direction,
                transform,
                _type_of(a_spec),
                _type_of(b_spec),
                a_spec.refers_to,
                value_map(a_spec, b_spec, entity=entity),
            )
        )
    pairs.extend(_mobile_fallback(a_common, b_common, pairs))
    return pairs


def shadowed_commons(
    a_specs: list[FieldSpec], b_specs: list[FieldSpec], synced: frozenset[str]
) -> set[str]:
    """The plain common keys (a contact's ``company`` name) that both sides' reference
    pair makes redundant, the referenced entity being among ``synced``."""
    a_common, b_common = _by_common(a_specs), _by_common(b_specs)
    found = set()
    for reference, plain in NAMED_BY_REFERENCE.items():
        a_ref, b_ref = a_common.get(reference), b_common.get(reference)
        if a_ref is None or b_ref is None or not a_ref.refers_to:
            continue
        if a_ref.refers_to == b_ref.refers_to and a_ref.refers_to in synced:
            found.add(plain)
    return found


def value_map(
    a_spec: FieldSpec,
    b_spec: FieldSpec,
    chosen: dict[str, dict[str, str]] | None = None,
    entity: str = "contact",
) -> ValueMap | None:
    """The value translation of a pair of these two fields, or None when its values are
    copied: only single-valued fields that both declare their values translate."""
    if _is_multi(a_spec) or _is_multi(b_spec) or a_spec.refers_to or b_spec.refers_to:
        return None
    if not translatable(a_spec.choices, b_spec.choices):
        return None
    return ValueMap(
        a_spec.choices, b_spec.choices, chosen or {}, (a_spec.label, b_spec.label), entity
    )


def _mobile_fallback(
    a: dict[str, FieldSpec], b: dict[str, FieldSpec], pairs: list[Pair]
) -> list[Pair]:
    """Mobile → phone, one way, when one side has a mobile field and the other none but a
    phone field no pair uses (issue 21): a contact with only a mobile number then still
    reaches that app. Never back: that app's phone may be a landline."""
    found: list[Pair] = []
    sides: tuple[tuple[dict[str, FieldSpec], dict[str, FieldSpec], PairDirection], ...] = (
        (a, b, "a_to_b"),
        (b, a, "b_to_a"),
    )
    for source, target, direction in sides:
        mobile, phone = source.get("mobile"), target.get("phone")
        if mobile is None or phone is None or "mobile" in target or phone.read_only:
            continue
        if phone.key in {p.b_field if direction == "a_to_b" else p.a_field for p in pairs}:
            continue
        if allowed_direction(mobile, phone) is None:
            continue
        a_spec, b_spec = (mobile, phone) if direction == "a_to_b" else (phone, mobile)
        transform = infer_transform(a_spec, b_spec)
        found.append(
            Pair(a_spec.key, b_spec.key, direction, transform, _type_of(a_spec), _type_of(b_spec))
        )
    return found


def _spec_type(specs: dict[str, FieldSpec], field: str) -> str | None:
    """The pair type of ``field`` (a ``first+last`` composite is text); None if missing."""
    if NAME_PARTS in field:
        parts = field.split(NAME_PARTS)
        return "text" if all(p in specs for p in parts) else None
    spec = specs.get(field)
    return _type_of(spec) if spec else None


def pairs_for(
    connection: Connection,
    a_specs: list[FieldSpec] | None = None,
    b_specs: list[FieldSpec] | None = None,
    entity: str = "contact",
) -> list[Pair]:
    """The connection's enabled FieldMapping rows of ``entity`` as Pairs, in order.

    Given both sides' FieldSpecs (recommended), each Pair carries the field types, a blank
    transform is inferred from them (``infer_transform``), and a row whose field no
    longer exists on its app is left out: reading it would look like an erased value and
    erase the other side.
    """
    a_by_key = {s.key: s for s in a_specs} if a_specs is not None else None
    b_by_key = {s.key: s for s in b_specs} if b_specs is not None else None
    pairs = []
    for row in connection.mappings.filter(enabled=True, entity=entity).order_by("order", "pk"):
        a_type = b_type = refers_to = ""
        values = None
        transform = row.transform
        if a_by_key is not None and b_by_key is not None:
            found_a = _spec_type(a_by_key, row.a_field)
            found_b = _spec_type(b_by_key, row.b_field)
            if found_a is None or found_b is None:
                logger.warning(
                    "Mapping %s of connection %s names a missing field", row, row.connection_id
                )
                continue
            a_type, b_type = found_a, found_b
            if row.a_field in a_by_key and row.b_field in b_by_key:
                a_spec, b_spec = a_by_key[row.a_field], b_by_key[row.b_field]
                if a_spec.refers_to != b_spec.refers_to:
                    logger.warning("Mapping %s pairs a reference with another field", row)
                    continue
                refers_to = a_spec.refers_to
                if not transform:
                    transform = infer_transform(a_spec, b_spec)
                values = value_map(a_spec, b_spec, row.value_map or {}, entity)
        pairs.append(
            Pair(
                row.a_field,
                row.b_field,
                row.direction,
                transform,
                a_type,
                b_type,
                refers_to,
                values,
            )
        )
    return pairs


def ensure_default_mappings(
    connection: Connection,
    a_specs: list[FieldSpec],
    b_specs: list[FieldSpec],
    entity: str = "contact",
) -> list[FieldMapping]:
    """Create the connection's missing default FieldMapping rows (``is_default=True``) from
    the two apps' FieldSpecs, and return the rows of every default pair, in order.

    Idempotent and safe to run concurrently (the pair's unique constraint settles races).
    Existing rows are left alone: a disabled default stays disabled, a custom row for the
    same two fields stays custom. The entities the connection syncs decide which plain
    names a reference pair makes redundant (``shadowed_commons``).
    """
    from sync.models import FieldMapping

    pairs = default_pairs(a_specs, b_specs, entity, synced_entities(connection))
    FieldMapping.objects.bulk_create(
        [
            FieldMapping(
                connection=connection,
                entity=entity,
                a_field=pair.a_field,
                b_field=pair.b_field,
                direction=pair.direction,
                transform=pair.transform,
                is_default=True,
                order=index,
            )
            for index, pair in enumerate(pairs)
        ],
        ignore_conflicts=True,
    )
    rows = {
        (row.a_field, row.b_field): row
        for row in FieldMapping.objects.filter(connection=connection, entity=entity)
    }
    return [rows[(p.a_field, p.b_field)] for p in pairs if (p.a_field, p.b_field) in rows]


def synced_entities(connection: Connection) -> frozenset[str]:
    """The entities ``connection`` syncs: its contacts and its enabled elements."""
    from sync.models import PRIMARY_ENTITY

    if not connection.pk:
        return frozenset({PRIMARY_ENTITY})
    enabled = connection.entities.filter(enabled=True).values_list("entity", flat=True)
    return frozenset({PRIMARY_ENTITY, *enabled})


# --- Reading and writing values ----------------------------------------------------------


def _as_text(value: Any) -> str | None:
    """Any value as comparable text (for the "text" kind)."""
    if type(value) is str:
        # Most values of a text pair are plain strings: the generic dispatch below gives
        # them the same stripped text, at several times the cost.
        text = value.strip()
        if not text:
            return None
        return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set | frozenset):
        items = norm.normalize_set(value)
        return ", ".join(items) if items else None
    normalized = norm.normalize_value(value)
    if isinstance(normalized, str):
        return normalized.replace("\r\n", "\n").replace("\r", "\n")
    return normalized


# How each kind of pair normalizes a value (``normalize_for``); any other kind goes by
# the value's shape. A table rather than a chain of comparisons: normalization runs for
# every pair of every record a run reads, plans and settles.
_NORMALIZERS: dict[str, Callable[[Any, MappingContext], Any]] = {
    "email": lambda value, _ctx: norm.normalize_email(value),
    "phone": lambda value, ctx: norm.normalize_phone(value, ctx.default_phone_country),
    "country": lambda value, _ctx: norm.normalize_country(value),
    "set": lambda value, _ctx: norm.normalize_set(value),
    "full_name": lambda value, _ctx: norm.normalize_name(value),
    "number": lambda value, _ctx: norm.normalize_number(value),
    "bool": lambda value, _ctx: norm.normalize_bool(value),
    "date": lambda value, _ctx: norm.normalize_date(value),
    "datetime": lambda value, _ctx: norm.normalize_date(value, with_time=True),
    "text": lambda value, _ctx: _as_text(value),
}


def _by_shape(value: Any, _ctx: MappingContext) -> Any:
    return norm.normalize_value(value)


def normalize_for(kind: str, value: Any, ctx: MappingContext) -> Any:
    """``value`` normalized as ``kind`` (a ``Pair.kind``)."""
    return _NORMALIZERS.get(kind, _by_shape)(value, ctx)


def normalized_values(
    pairs: list[Pair], side: str, fields: dict[str, Any], ctx: MappingContext
) -> dict[str, Any]:
    """Normalized value of every pair (by ``pair.key``) as ``side``'s record holds it."""
    values: dict[str, Any] = {}
    get = fields.get
    for pair in pairs:
        field = pair.a_field if side == "a" else pair.b_field
        kind = pair.kind
        if NAME_PARTS in field:
            first, last = field.split(NAME_PARTS, 1)
            values[pair.key] = norm.join_name(get(first), get(last))
        elif kind == "owner":
            values[pair.key] = ctx.owners.token(side, get(field))
        elif pair.refers_to and ctx.references is not None:
            values[pair.key] = ctx.references.normalize(side, pair.refers_to, get(field))
        elif pair.values is not None:
            values[pair.key] = pair.values.token(side, get(field))
        else:
            values[pair.key] = _NORMALIZERS.get(kind, _by_shape)(get(field), ctx)
    return values


def _vendor_value(kind: str, value: Any, target_type: str) -> Any:
    """The normalized ``value`` of a ``kind`` pair as a field of ``target_type`` holds it."""
    if kind == "set":
        if target_type in TEXT_LIKE:
            return ", ".join(value) if value else None
        return list(value) if value else []
    if value is None:
        return None
    if kind == "country" and target_type in TEXT_LIKE:
        return norm.country_name(value)
    if kind == "number" and target_type == "number":
        return norm.number_value(value)
    if isinstance(value, bool) and target_type in TEXT_LIKE:
        return "true" if value else "false"
    return value


def write_side(
    pairs: list[Pair],
    side: str,
    values: dict[str, Any],
    current: dict[str, Any] | None,
    ctx: MappingContext,
) -> dict[str, Any]:
    """Vendor field values to set on ``side`` so that it holds ``values`` (normalized,
    by pair key; only the pairs present in ``values`` are written). ``current`` is the
    side's current vendor fields (None on create): a full name split keeps the part of
    first/last that did not change. Pairs that may not flow into ``side`` are skipped."""
    towards = direction_into(side)
    changes: dict[str, Any] = {}
    for pair in pairs:
        if pair.key not in values or not pair.flows(towards):
            continue
        value = values[pair.key]
        field = pair.field(side)
        if NAME_PARTS in field:
            first_key, last_key = field.split(NAME_PARTS, 1)
            previous = current or {}
            first, last = norm.split_name(value, previous.get(first_key), previous.get(last_key))
            changes[first_key], changes[last_key] = first, last
        elif pair.kind == "owner":
            owner = ctx.owners.owner_on(side, value)
            if owner is not None:  # no link and no default user: the owner stays
                changes[field] = owner
        elif pair.refers_to and ctx.references is not None:
            # The referenced record's id on ``side``, or a Waiting marker (references.py).
            changes[field] = ctx.references.to_side(side, pair.refers_to, value)
        elif pair.values is not None:
            # The target side's value, or an Untranslated marker (choices.py).
            changes[field] = pair.values.value_on(side, value, field)
        else:
            changes[field] = _vendor_value(pair.kind, value, pair.field_type(side))
    return changes


# What ``json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)`` would
# build anew for every hash: the same encoder, made once.
_HASH_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


def content_hash(values: dict[str, Any]) -> str:
    """Hash of normalized values; equal hashes mean nothing mapped changed (echoes)."""
    blob = _HASH_JSON.encode(values)
    return hashlib.sha256(blob.encode()).hexdigest()
