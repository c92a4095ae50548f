"""Rules: which records sync in a direction (IF filters) and what happens to them on the
other side (THEN actions). Pure functions except ``load_rules``, ``load_user_links`` and
``context_for``, which read the database.

A record syncs S→T when any enabled rule of that direction has all its filters true.
Filters and actions name a vendor field in ``field``; when blank, the field is the one
whose FieldSpec.common is the kind's natural key: has_tag/add_tag/remove_tag → "tags",
in_list/add_to_list/remove_from_list → "lists", owned_by/set_owner → "owner",
status/set_status → "status".

Comparisons (field filters, and status / owner filters, which take an operator too):
numbers numerically when both sides parse as numbers, ISO dates and datetimes as points
in time when both parse as such, booleans as booleans, anything else as text, trimmed and
case-insensitive. A multi-valued field (tags, lists) matches when any of its items does
("not equals" when none does). Tags and lists are matched case-insensitively too, and
``has_tag`` / ``in_list`` with a blank value mean "has any tag" / "is in any list".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from connectors.base import FieldSpec
from sync.engine import normalize as norm
from sync.engine.sides import source_of

if TYPE_CHECKING:
    from sync.models import Connection

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FilterSpec:
    """One IF condition of a rule (see sync.models.RuleFilter)."""

    kind: str  # sync.models.FilterKind
    field: str = ""
    operator: str = "equals"  # sync.models.Operator
    value: str = ""
    negate: bool = False


@dataclass(frozen=True)
class ActionSpec:
    """One THEN action of a rule (see sync.models.RuleAction)."""

    kind: str  # sync.models.ActionKind
    field: str = ""
    value: str = ""
    revert_on_leave: bool = False


@dataclass(frozen=True)
class RuleSpec:
    """An enabled rule with its filters and actions, detached from the database."""

    id: int
    direction: str  # "a_to_b" | "b_to_a"
    filters: tuple[FilterSpec, ...] = ()
    actions: tuple[ActionSpec, ...] = ()


@dataclass(frozen=True)
class RuleContext:
    """What rules of one direction need to know besides the record."""

    source_specs: dict[str, FieldSpec]
    target_specs: dict[str, FieldSpec]
    # Owner id on the source side -> owner id on the target side (from UserLinks).
    user_links: dict[str, str]


# The common key a filter or action acts on when its ``field`` is blank.
NATURAL_KEYS: dict[str, str] = {
    "has_tag": "tags",
    "add_tag": "tags",
    "remove_tag": "tags",
    "in_list": "lists",
    "add_to_list": "lists",
    "remove_from_list": "lists",
    "owned_by": "owner",
    "set_owner": "owner",
    "status": "status",
    "set_status": "status",
}


def load_rules(connection: Connection, entity: str = "contact") -> list[RuleSpec]:
    """The connection's enabled rules with their filters and actions, in order (three
    queries: the rules, then all their filters, then all their actions)."""
    rules = (
        connection.rules.filter(enabled=True, entity=entity)
        .order_by("direction", "order", "pk")
        .prefetch_related("filters", "actions")
    )
    return [
        RuleSpec(
            id=rule.pk,
            direction=rule.direction,
            filters=tuple(
                FilterSpec(f.kind, f.field, f.operator, f.value, f.negate)
                for f in sorted(rule.filters.all(), key=lambda f: f.pk)
            ),
            actions=tuple(
                ActionSpec(a.kind, a.field, a.value, a.revert_on_leave)
                for a in sorted(rule.actions.all(), key=lambda a: a.pk)
            ),
        )
        for rule in rules
    ]


def load_user_links(connection: Connection, direction: str) -> dict[str, str]:
    """Owner id on the source side -> linked owner id on the target side, for
    ``direction`` (a_to_b or b_to_a), from the connection's UserLinks."""
    links = connection.user_links.values_list("a_user_id", "b_user_id")
    if direction == "a_to_b":
        return dict(links)
    return {b_id: a_id for a_id, b_id in links}


def context_for(
    connection: Connection,
    direction: str,
    a_specs: list[FieldSpec],
    b_specs: list[FieldSpec],
) -> RuleContext:
    """The RuleContext of ``direction``: specs by key of source and target, user links."""
    a_by_key, b_by_key = {s.key: s for s in a_specs}, {s.key: s for s in b_specs}
    source, target = (a_by_key, b_by_key) if source_of(direction) == "a" else (b_by_key, a_by_key)
    return RuleContext(source, target, load_user_links(connection, direction))


def field_for(kind: str, field: str, specs: dict[str, FieldSpec]) -> str:
    """The vendor field a filter or action of ``kind`` acts on: ``field`` when given, else
    the field whose common key is the kind's natural key (that key itself if none)."""
    if field:
        return field
    natural = NATURAL_KEYS.get(kind, "")
    for spec in specs.values():
        if spec.common == natural:
            return spec.key
    return natural


# --- Filters -----------------------------------------------------------------------------


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _moment(value: Any) -> datetime | None:
    """``value`` as a point in time if it is an ISO date or datetime (naive means UTC)."""
    text = norm.normalize_date(value, with_time=True)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set | frozenset | dict):
        return not value
    return False


def _order(actual: Any, expected: str) -> int | None:
    """-1, 0 or 1 comparing ``actual`` with ``expected``; None when they do not compare
    (a number against text that is not one)."""
    if isinstance(actual, bool):
        wanted = norm.normalize_bool(expected)
        return (actual > wanted) - (actual < wanted) if isinstance(wanted, bool) else None
    a_num, e_num = _number(actual), _number(expected)
    if a_num is not None and e_num is not None:
        return (a_num > e_num) - (a_num < e_num)
    a_time, e_time = _moment(actual), _moment(expected)
    if a_time is not None and e_time is not None:
        return (a_time > e_time) - (a_time < e_time)
    if a_num is not None or e_num is not None:
        return None
    a_text, e_text = str(actual).strip().casefold(), expected.strip().casefold()
    return (a_text > e_text) - (a_text < e_text)


def _compare_one(actual: Any, operator: str, expected: str) -> bool:
    """One scalar ``actual`` value against the filter's ``expected`` text."""
    if _is_empty(actual):
        # Nothing equals, contains or compares with an empty value, except "not equals".
        return operator == "not_equals" and not _is_empty(expected)
    if operator == "contains":
        return expected.strip().casefold() in str(actual).casefold()
    order = _order(actual, expected)
    if operator == "equals":
        return order == 0
    if operator == "not_equals":
        return order != 0
    if operator == "greater":
        return order is not None and order > 0
    if operator == "less":
        return order is not None and order < 0
    raise ValueError(f"Unknown operator {operator!r}")


def compare(actual: Any, operator: str, expected: str) -> bool:
    """Whether the field value ``actual`` satisfies ``operator`` with ``expected`` (see
    the module docstring for how values compare)."""
    if operator == "empty":
        return _is_empty(actual)
    if operator == "not_empty":
        return not _is_empty(actual)
    if isinstance(actual, list | tuple | set | frozenset):
        items = [item for item in actual if not _is_empty(item)]
        if operator == "not_equals":
            return all(_compare_one(item, operator, expected) for item in items)
        return any(_compare_one(item, operator, expected) for item in items)
    return _compare_one(actual, operator, expected)


def _has_item(value: Any, wanted: str) -> bool:
    """Whether the tags/lists ``value`` holds ``wanted`` (any item when blank)."""
    items = norm.normalize_set(value) or []
    if not wanted.strip():
        return bool(items)
    return wanted.strip().casefold() in {item.casefold() for item in items}


def _holds(
    spec: FilterSpec, fields: dict[str, Any], ctx: RuleContext, exists_in_other: bool
) -> bool:
    """Whether one filter holds for the source record ``fields``, before ``negate``."""
    if spec.kind == "exists_in_other":
        return exists_in_other
    value = fields.get(field_for(spec.kind, spec.field, ctx.source_specs))
    if spec.kind in ("has_tag", "in_list"):
        return _has_item(value, spec.value)
    if spec.kind == "owned_by" and spec.operator == "equals":
        # Owner filters may name several owners: "12, 15" means either of them.
        owners = {part.strip() for part in spec.value.split(",") if part.strip()}
        return value is not None and str(value).strip() in owners
    if spec.kind in ("owned_by", "status", "field"):
        return compare(value, spec.operator, spec.value)
    raise ValueError(f"Unknown filter kind {spec.kind!r}")


def matching(
    rules: list[RuleSpec],
    direction: str,
    fields: dict[str, Any],
    ctx: RuleContext,
    *,
    exists_in_other: bool,
) -> list[RuleSpec]:
    """The rules of ``direction`` whose filters all hold for the source record ``fields``
    (a rule without filters matches everything)."""
    return [
        rule
        for rule in rules
        if rule.direction == direction
        and all(_holds(f, fields, ctx, exists_in_other) != f.negate for f in rule.filters)
    ]


# --- Actions -----------------------------------------------------------------------------

_SET_ADD = {"add_tag", "add_to_list"}
_SET_REMOVE = {"remove_tag", "remove_from_list"}
_ACTION_KINDS = (
    _SET_ADD | _SET_REMOVE | {"set_owner", "set_status", "set_field", "set_field_on_create"}
)
# What undoes a set action when the record leaves the rule's segment.
_SET_REVERT = {
    "add_tag": "remove_tag",
    "remove_tag": "add_tag",
    "add_to_list": "remove_from_list",
    "remove_from_list": "add_to_list",
}


def _typed(value: str, spec: FieldSpec | None) -> Any:
    """The action's text ``value`` as the target field's type holds it."""
    if spec is None:
        return value
    if spec.multi or spec.type in ("tags", "lists"):
        return norm.normalize_set(value) or []
    if spec.type == "number":
        number = norm.normalize_number(value)
        return norm.number_value(number) if number is not None else None
    if spec.type in ("bool", "subscription"):
        return norm.normalize_bool(value)
    return value


def _same(old: Any, new: Any) -> bool:
    """Whether writing ``new`` over ``old`` would change nothing a user would notice."""
    if isinstance(old, list | tuple | set) or isinstance(new, list | tuple | set):
        return norm.normalize_set(old) == norm.normalize_set(new)
    return norm.normalize_value(old) == norm.normalize_value(new)


class _Target:
    """The target record as actions change it: the current values overlaid with writes."""

    def __init__(self, fields: dict[str, Any], specs: dict[str, FieldSpec]) -> None:
        self.fields = fields
        self.specs = specs
        self.writes: dict[str, Any] = {}

    def get(self, field: str) -> Any:
        return self.writes[field] if field in self.writes else self.fields.get(field)

    def known(self, field: str) -> bool:
        # Without specs (unknown schema) every field is writable.
        return not self.specs or field in self.specs

    def change_set(self, field: str, item: str, add: bool) -> None:
        item = item.strip()
        if not item:
            return
        current = [str(x) for x in (norm.normalize_set(self.get(field)) or [])]
        present = [x for x in current if x.casefold() == item.casefold()]
        if add and not present:
            self.writes[field] = [*current, item]
        elif not add and present:
            self.writes[field] = [x for x in current if x.casefold() != item.casefold()]

    def set(self, field: str, value: Any) -> None:
        self.writes[field] = value


def _apply(action: ActionSpec, kind: str, target: _Target, owner: Any, ctx: RuleContext) -> None:
    """Apply one action (as ``kind``, which differs from ``action.kind`` for reverts)."""
    if kind not in _ACTION_KINDS:
        raise ValueError(f"Unknown action kind {kind!r}")
    field = field_for(kind, action.field, ctx.target_specs)
    if not target.known(field):
        logger.info("Action %s names %r, which the target app does not have", kind, field)
        return
    if kind in _SET_ADD or kind in _SET_REMOVE:
        target.change_set(field, action.value, add=kind in _SET_ADD)
    elif kind == "set_owner":
        # A blank value means "the owner linked to the source record's owner".
        value = action.value.strip() or ctx.user_links.get(str(owner) if owner else "", "")
        if value:
            target.set(field, value)
    else:
        target.set(field, _typed(action.value, ctx.target_specs.get(field)))


def _revert(action: ActionSpec, target: _Target, ctx: RuleContext) -> None:
    """Undo a revert_on_leave action of a rule the record left. Set actions are undone
    exactly; a field value is cleared only if it still holds what the action set (a later
    edit wins). Owner and status have no "unset" most apps accept, and their previous
    value is not remembered, so they stay."""
    if action.kind in _SET_REVERT:
        _apply(action, _SET_REVERT[action.kind], target, None, ctx)
        return
    if action.kind in ("set_field", "set_field_on_create"):
        field = field_for(action.kind, action.field, ctx.target_specs)
        if target.known(field) and _same(
            target.get(field), _typed(action.value, ctx.target_specs.get(field))
        ):
            target.set(field, None)


def action_changes(
    matched: list[RuleSpec],
    left: list[RuleSpec],
    target_fields: dict[str, Any],
    ctx: RuleContext,
    *,
    creating: bool,
    source_fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Target vendor field values that the actions of ``matched`` rules set (sets as the
    whole new list), plus the reverts of revert_on_leave actions of the rules the record
    ``left``. set_field_on_create applies only when ``creating``. Returns only fields
    whose value would change.

    Reverts go first, so a rule still matched wins over one left (both touching the same
    tag leave it set). ``source_fields`` gives the source record's owner to a set_owner
    action without a value (mapped through ``ctx.user_links``; unlinked owners change
    nothing).
    """
    target = _Target(target_fields, ctx.target_specs)
    for rule in left:
        for action in rule.actions:
            if action.revert_on_leave:
                _revert(action, target, ctx)
    owner = None
    if source_fields is not None:
        owner = source_fields.get(field_for("owned_by", "", ctx.source_specs))
    for rule in matched:
        for action in rule.actions:
            if action.kind == "set_field_on_create" and not creating:
                continue
            _apply(action, action.kind, target, owner, ctx)
    return {
        field: value
        for field, value in target.writes.items()
        if not _same(target_fields.get(field), value)
    }
