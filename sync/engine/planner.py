"""The planner: the pure decision of what to do for one record pair (DESIGN.md 4.4-4.8).

``plan(link, a, b, options)`` takes what the link remembers, each side's record as it is
now and as it was last synced, and the connection's options, and returns the writes to
make on each side with the journal events that explain them. No I/O: the same decision
serves the dry run and the real run (sync/engine/apply.py applies it). ``_merge_fields`` is
the conflict table, one commented case per line; normalized values are computed once per
side state (``SideState.now``/``was``).

The merge is three-way per field with a *per-side* base: each side's values are compared
with what that side held after the last sync (``SideState.last``), so a value one side
never sent (a one-way pair, a rule action) is not mistaken for an edit. A side without a
``last`` (a link made this run) counts every filled value as changed, which makes the
initial merge "empty never erases filled, else the policy's side wins".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.base import FieldSpec
from sync.engine import mapping, rules
from sync.engine.mapping import MappingContext, Pair
from sync.engine.references import unresolved, waiting_in
from sync.engine.rules import RuleContext, RuleSpec
from sync.engine.sides import SIDES, direction_from, other, source_of


@dataclass(frozen=True)
class SideSpec:
    """Static facts about one side: its fields and where tags, lists and the
    subscription live (None where the app has none)."""

    specs: dict[str, FieldSpec]
    scope: str = ""
    tags_field: str | None = None
    lists_field: str | None = None
    subscription_field: str | None = None
    marker_field: str = ""

    @classmethod
    def from_specs(cls, specs: list[FieldSpec], scope: str = "", marker: str = "") -> SideSpec:
        def first(kind: str) -> str | None:
            return next((s.key for s in specs if s.type == kind), None)

        return cls(
            specs={s.key: s for s in specs},
            scope=scope,
            tags_field=first("tags"),
            lists_field=first("lists"),
            subscription_field=first("subscription"),
            marker_field=marker,
        )


@dataclass(frozen=True)
class Options:
    """Everything about the connection the planner needs, resolved once per run."""

    pairs: list[Pair]
    mapping: MappingContext
    sides: dict[str, SideSpec]
    rules: list[RuleSpec] = field(default_factory=list)
    rule_contexts: dict[str, RuleContext] = field(default_factory=dict)
    flows: dict[str, bool] = field(default_factory=lambda: {"a_to_b": True, "b_to_a": True})
    avoid_duplicates: bool = True
    deletions: dict[str, str] = field(default_factory=lambda: {"a_to_b": "off", "b_to_a": "off"})
    deletion_review: bool = False
    trash_tag: str = "deleted"
    unsubscribes: str = "tag"
    unsubscribe_tag: str = "unsubscribed"
    conflict_policy: str = "most_recent"
    replace_destination: bool = False

    _rules_of: dict[str, list[RuleSpec]] = field(default_factory=dict, repr=False, compare=False)

    def rules_of(self, direction: str) -> list[RuleSpec]:
        """The rules of ``direction`` (asked for every record: computed once)."""
        if direction not in self._rules_of:
            self._rules_of[direction] = [r for r in self.rules if r.direction == direction]
        return self._rules_of[direction]


@dataclass
class SideState:
    """One side of a pair: ``current`` is its vendor fields now (None when it has no
    record), ``last`` as they were after the last sync (None: never synced)."""

    id: str | None = None
    current: dict[str, Any] | None = None
    last: dict[str, Any] | None = None
    updated_at: datetime | None = None
    gone: bool = False  # a deletion was detected this run
    # Normalized values of ``current`` and ``last``, computed once (``now``, ``was``).
    _normalized: dict[str, dict[str, Any] | None] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def exists(self) -> bool:
        return self.current is not None and not self.gone

    def now(self, options: Options, side: str) -> dict[str, Any] | None:
        """Normalized mapped values of ``current`` (None for no record)."""
        if "now" not in self._normalized:
            self._normalized["now"] = values(options, side, self.current)
        return self._normalized["now"]

    def was(self, options: Options, side: str) -> dict[str, Any] | None:
        """Normalized mapped values of ``last`` (None: never synced)."""
        if "was" not in self._normalized:
            self._normalized["was"] = values(options, side, self.last)
        return self._normalized["was"]


@dataclass
class LinkView:
    """What the planner reads of a RecordLink."""

    state: str = "linked"
    match_key: str = ""
    rules_matched: list[int] = field(default_factory=list)


@dataclass
class Write:
    """A write on one side; ``old`` holds the replaced vendor values (the journal)."""

    op: str  # create | update | delete
    fields: dict[str, Any] = field(default_factory=dict)
    old: dict[str, Any] = field(default_factory=dict)


@dataclass
class Event:
    """A journal entry the run stores (sync.models.SyncEvent)."""

    action: str
    direction: str
    target: str  # the side the event happened on
    changes: dict[str, Any] = field(default_factory=dict)
    status: str = "ok"
    reason: str = ""


@dataclass
class Decision:
    """The planner's answer for one pair."""

    writes: dict[str, Write] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    state: str = "linked"
    rules_matched: list[int] = field(default_factory=list)
    forget: set[str] = field(default_factory=set)  # sides whose (deleted) id is dropped
    destructive: int = 0  # deletes, unsubscribes and overwrites, for the circuit breaker
    # Why nothing is written yet: a reference whose record is not on the target side
    # (sync/engine/references.py); the link stays dirty and is planned again.
    wait: str = ""

    def skip(self, direction: str, target: str, reason: str) -> Decision:
        self.events.append(Event("skip", direction, target, status="skipped", reason=reason))
        return self


def values(options: Options, side: str, fields: dict[str, Any] | None) -> dict[str, Any] | None:
    """Normalized mapped values of a side's vendor fields (None for no record)."""
    if fields is None:
        return None
    return mapping.normalized_values(options.pairs, side, fields, options.mapping)


def plan(link: LinkView, a: SideState, b: SideState, options: Options) -> Decision:
    """Decide the writes and events for one pair. Each case carries a one-line comment."""
    state = {"a": a, "b": b}
    if (a.gone or a.current is None) and (b.gone or b.current is None):
        # Nothing left on either side (both deleted, or deleted before it ever synced).
        return Decision(state="deleted", rules_matched=[])
    for side in SIDES:
        if state[side].gone:
            # A deletion on `side` whose other side still holds the record.
            return _plan_deletion(link, side, state, options)
    if link.state in ("deleted", "trashed", "pending_delete"):
        # The record was deleted on one side earlier; changes to the survivor stay put.
        survivor = "a" if a.exists else "b"
        return Decision(state=link.state, rules_matched=link.rules_matched).skip(
            direction_from(survivor), other(survivor), f"deleted in {other(survivor).upper()}"
        )
    matched = {d: _matching(link, state, options, d) for d in ("a_to_b", "b_to_a")}
    in_scope = {d: matched[d] is not None for d in matched}
    rules_matched = sorted({r.id for d in matched for r in matched[d] or []})
    if not b.exists or not a.exists:
        source = "a" if a.exists else "b"
        created = _plan_create(link, source, state, options, matched, rules_matched)
        return _wait_for_references(link, created, options)
    decision = Decision(rules_matched=rules_matched)
    _merge(link, state, options, matched, in_scope, decision)
    return _wait_for_references(link, decision, options)


def _wait_for_references(link: LinkView, decision: Decision, options: Options) -> Decision:
    """A write carrying a reference whose record is not on the target side yet is not
    made at all (never a dangling id): the pair waits, journaled as a skip that says
    what for, and is planned again (references.py)."""
    if options.mapping.references is None:
        return decision  # no pair holds a reference
    for target, write in decision.writes.items():
        waiting = waiting_in(write.fields)
        if waiting:
            reason = str(waiting[0])
            waited = Decision(state=link.state, rules_matched=link.rules_matched, wait=reason)
            return waited.skip(direction_from(other(target)), target, reason)
    return decision


def _matching(
    link: LinkView, state: dict[str, SideState], options: Options, direction: str
) -> list[RuleSpec] | None:
    """The rules of ``direction`` the source record is in the segment of; None when it
    does not sync that way. A direction without any rule syncs everything (a connection
    set up without rules behaves like the two default rules without filters)."""
    source = source_of(direction)
    fields = state[source].current
    if not options.flows[direction] or fields is None:
        return None
    of_direction = options.rules_of(direction)
    if not of_direction:
        return []
    found = rules.matching(
        of_direction,
        direction,
        fields,
        options.rule_contexts[direction],
        exists_in_other=state[other(source)].exists,
    )
    return found or None


def _left(link: LinkView, options: Options, direction: str, now: list[RuleSpec] | None) -> list:
    """Rules of ``direction`` the record was in the segment of and has now left."""
    now_ids = {r.id for r in now or []}
    return [
        r for r in options.rules_of(direction) if r.id in link.rules_matched and r.id not in now_ids
    ]


def _plan_create(
    link: LinkView,
    source: str,
    state: dict[str, SideState],
    options: Options,
    matched: dict[str, list[RuleSpec] | None],
    rules_matched: list[int],
) -> Decision:
    target = other(source)
    direction = direction_from(source)
    decision = Decision(rules_matched=rules_matched)
    if options.replace_destination and not options.flows[direction]:
        # Replace destination: a destination record the source does not have is removed.
        decision.writes[source] = Write("delete", old=dict(state[source].current or {}))
        decision.events.append(
            Event("delete", direction_from(target), source, _all_old(state[source].current))
        )
        decision.state = "deleted"
        decision.destructive = 1
        return decision
    if matched[direction] is None:
        # Out of the rules' segment (or the direction does not sync): it stays where it is.
        return decision.skip(direction, target, "out of scope")
    if options.avoid_duplicates and not link.match_key:
        # Avoid duplicates: a contact without an email is never created on the other side.
        return decision.skip(direction, target, "no email")
    # In scope and not linked: create it on the target side.
    source_values = state[source].now(options, source) or {}
    flowing = [p for p in options.pairs if p.flows(direction)]
    wanted = {p.key: source_values.get(p.key) for p in flowing if source_values.get(p.key)}
    fields = mapping.write_side(flowing, target, wanted, None, options.mapping)
    fields.update(
        rules.action_changes(
            matched[direction] or [],
            [],
            fields,
            options.rule_contexts.get(direction) or _empty_rule_context(),
            creating=True,
            source_fields=state[source].current,
        )
        if options.rules_of(direction)
        else {}
    )
    fields.update(_unsubscribe(source, state, options, fields, creating=True))
    fields = {k: v for k, v in fields.items() if v is not None}
    decision.writes[target] = Write("create", fields)
    decision.events.append(
        Event("create", direction, target, {k: {"old": None, "new": v} for k, v in fields.items()})
    )
    return decision


def _merge(
    link: LinkView,
    state: dict[str, SideState],
    options: Options,
    matched: dict[str, list[RuleSpec] | None],
    in_scope: dict[str, bool],
    decision: Decision,
) -> None:
    """Three-way merge of a linked pair: the fields (``_merge_fields``), then per target
    side the rule actions and the unsubscribe, the journal events and the count of
    destructive writes for the circuit breaker."""
    to, conflicts = _merge_fields(state, options, in_scope)
    for target in SIDES:
        source = other(target)
        direction = direction_from(source)
        target_state = state[target]
        current = dict(target_state.current or {})
        fields = (
            mapping.write_side(options.pairs, target, to[target], current, options.mapping)
            if to[target]
            else {}
        )
        if options.rules_of(direction) and (matched[direction] or link.rules_matched):
            fields.update(
                rules.action_changes(
                    matched[direction] or [],
                    _left(link, options, direction, matched[direction]),
                    {**current, **fields},
                    options.rule_contexts[direction],
                    creating=False,
                    source_fields=state[source].current,
                )
            )
        unsubscribe = _unsubscribe(source, state, options, {**current, **fields}, creating=False)
        fields.update(unsubscribe)
        fields = {k: v for k, v in fields.items() if _differs(current.get(k), v)}
        if not fields:
            continue
        old = {k: current.get(k) for k in fields}
        decision.writes[target] = Write("update", fields, old)
        changes = {k: {"old": old[k], "new": v} for k, v in fields.items()}
        action = "unsubscribe" if unsubscribe and set(fields) <= set(unsubscribe) else "update"
        decision.events.append(Event(action, direction, target, changes))
        overwrites = any(old[k] not in (None, "", []) for k in fields)
        decision.destructive += 1 if (overwrites or unsubscribe) else 0
    for winner, changes in conflicts:
        decision.events.append(Event("conflict", direction_from(winner), other(winner), changes))


def _merge_fields(
    state: dict[str, SideState], options: Options, in_scope: dict[str, bool]
) -> tuple[dict[str, dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
    """The conflict table: for each pair, what each side gets (normalized values by pair
    key, per target side) and the conflicts (winner, changes) to journal."""
    now = {s: state[s].now(options, s) or {} for s in SIDES}
    last = {s: state[s].was(options, s) for s in SIDES}
    to: dict[str, dict[str, Any]] = {"a": {}, "b": {}}
    conflicts: list[tuple[str, dict[str, Any]]] = []
    for pair in options.pairs:
        key = pair.key
        can = {
            "a": in_scope["b_to_a"] and pair.flows("b_to_a"),  # may write to A
            "b": in_scope["a_to_b"] and pair.flows("a_to_b"),  # may write to B
        }
        av, bv = now["a"].get(key), now["b"].get(key)
        if pair.kind == "set" or isinstance(av, list) or isinstance(bv, list):
            # Tags and lists merge as sets: each side's additions and removals apply.
            for target in SIDES:
                source = other(target)
                if not can[target]:
                    continue
                base = set((last[source] or {}).get(key) or [])
                mine, theirs = set(now[target].get(key) or []), set(now[source].get(key) or [])
                merged = (mine | (theirs - base)) - (base - theirs)
                if merged != mine:
                    to[target][key] = sorted(merged) or None
            continue
        if av == bv:
            continue  # Both sides agree.
        a_changed = last["a"] is None or av != last["a"].get(key)
        b_changed = last["b"] is None or bv != last["b"].get(key)
        if a_changed and not b_changed:
            if can["b"]:
                to["b"][key] = av  # Only A changed: A's value goes to B.
        elif b_changed and not a_changed:
            if can["a"]:
                to["a"][key] = bv  # Only B changed: B's value goes to A.
        elif a_changed and b_changed:
            # Both changed (or the link is new): the conflict policy picks the winner.
            winner = _winner(av, bv, state, options)
            if not can[other(winner)] and can[winner]:
                winner = other(winner)  # The winner cannot be written where it should go.
            if not can[other(winner)]:
                continue
            won, lost = (av, bv) if winner == "a" else (bv, av)
            to[other(winner)][key] = won
            if lost is not None:
                # Both changed to different values: a conflict, the losing value journaled.
                conflicts.append((winner, {key: {"a": av, "b": bv, "won": winner, "lost": lost}}))
        # Neither changed yet they differ: a deliberate difference (one-way pair, rule
        # action); leave it.
    return to, conflicts


def _winner(av: Any, bv: Any, state: dict[str, SideState], options: Options) -> str:
    """Which side's value wins a conflict."""
    if av is None or unresolved(av):
        return "b"  # An empty value never erases a filled one.
    if bv is None or unresolved(bv):
        return "a"  # (nor a reference to a record never synced one that is)
    if options.conflict_policy == "a_wins":
        return "a"
    if options.conflict_policy == "b_wins":
        return "b"
    # Most recent: the side changed last wins; unknown times lose; a tie goes to A.
    a_time, b_time = state["a"].updated_at, state["b"].updated_at
    if b_time is not None and (a_time is None or b_time > a_time):
        return "b"
    return "a"


def _unsubscribe(
    source: str,
    state: dict[str, SideState],
    options: Options,
    target_fields: dict[str, Any],
    *,
    creating: bool,
) -> dict[str, Any]:
    """Target fields an unsubscribe on ``source`` sets: the unsubscribe tag, or the
    opt-out field (falling back to the tag where the target has no opt-out field)."""
    target = other(source)
    spec = options.sides[source]
    if options.unsubscribes == "off" or not spec.subscription_field:
        return {}
    if not options.flows[direction_from(source)]:
        return {}
    now = (state[source].current or {}).get(spec.subscription_field)
    before = None if creating else (state[source].last or {}).get(spec.subscription_field)
    if now is not False or before is False:
        return {}  # Not unsubscribed, or already handled when it happened.
    target_spec = options.sides[target]
    if options.unsubscribes == "opt_out" and target_spec.subscription_field:
        if target_fields.get(target_spec.subscription_field) is False:
            return {}
        return {target_spec.subscription_field: False}
    if target_spec.tags_field:
        tags = list(target_fields.get(target_spec.tags_field) or [])
        if options.unsubscribe_tag not in tags:
            return {target_spec.tags_field: sorted({*tags, options.unsubscribe_tag})}
    return {}


def _plan_deletion(
    link: LinkView, gone: str, state: dict[str, SideState], options: Options
) -> Decision:
    survivor = other(gone)
    direction = direction_from(gone)
    kept = state[survivor]
    decision = Decision(rules_matched=link.rules_matched)
    subscription = options.sides[gone].subscription_field
    if subscription and (state[gone].last or {}).get(subscription) is False:
        # Unsubscribed, then gone: marketing apps drop unsubscribed contacts from the list
        # (GetResponse), and the unsubscribe was passed on when it happened; the other
        # side neither loses the record nor gets it back into the list.
        decision.forget.add(gone)
        decision.state = "deleted"
        return decision.skip(direction, survivor, f"unsubscribed, then removed in {gone.upper()}")
    if kept.last is not None and kept.now(options, survivor) != kept.was(options, survivor):
        # Modify beats delete: the survivor changed since the last sync, so it comes back.
        decision.forget.add(gone)
        if not options.flows[direction_from(survivor)]:
            return decision.skip(direction, survivor, "changed after the deletion; kept")
        rest = plan(LinkView("linked", link.match_key, []), *_pair(survivor, kept), options)
        rest.forget.add(gone)
        for event in rest.events:
            event.reason = event.reason or f"modified in {survivor.upper()} after the deletion"
        return rest
    mode = options.deletions[direction] if options.flows[direction] else "off"
    if mode == "off" or link.state == "pending_delete":
        # Deletions do not sync this way: the survivor stays, the link remembers.
        decision.state = link.state if link.state == "pending_delete" else "deleted"
        return decision.skip(direction, survivor, f"deleted in {gone.upper()}; not synced")
    write, action, state_after = deletion_write(mode, survivor, kept.current or {}, options)
    if write is None:
        decision.state = "deleted"
        return decision.skip(direction, survivor, f"cannot apply '{mode}' on this app")
    event = Event(action, direction, survivor, write.old and _changes(write), reason=mode)
    if write.op == "delete":
        event.changes = _all_old(kept.current)
    decision.destructive = 1
    if options.deletion_review:
        # Deletions wait for a person's approval (review_deletions applies them).
        event.status = "pending_review"
        decision.state = "pending_delete"
        decision.events.append(event)
        return decision
    decision.writes[survivor] = write
    decision.events.append(event)
    decision.state = state_after
    return decision


def _pair(survivor: str, kept: SideState) -> tuple[SideState, SideState]:
    fresh = SideState(kept.id, kept.current, None, kept.updated_at)
    return (fresh, SideState()) if survivor == "a" else (SideState(), fresh)


def deletion_write(
    mode: str, target: str, current: dict[str, Any], options: Options
) -> tuple[Write | None, str, str]:
    """The write that applies deletion ``mode`` to a target record, the event action,
    and the link state afterwards. None when the target app cannot do it."""
    spec = options.sides[target]
    if mode == "delete":
        return Write("delete", old=dict(current)), "delete", "deleted"
    if mode == "trash_tag" and spec.tags_field:
        tags = list(current.get(spec.tags_field) or [])
        new = sorted({*tags, options.trash_tag})
        return Write("update", {spec.tags_field: new}, {spec.tags_field: tags}), "trash", "trashed"
    if mode == "remove_from_list" and spec.lists_field and spec.scope:
        lists = list(current.get(spec.lists_field) or [])
        new = [x for x in lists if x != spec.scope]
        write = Write("update", {spec.lists_field: new}, {spec.lists_field: lists})
        return write, "remove_from_list", "deleted"
    if mode == "marker_field" and spec.marker_field:
        marker_spec = spec.specs.get(spec.marker_field)
        value: Any = True if marker_spec is None or marker_spec.type == "bool" else "deleted"
        old = {spec.marker_field: current.get(spec.marker_field)}
        return Write("update", {spec.marker_field: value}, old), "mark", "trashed"
    return None, "", ""


def _changes(write: Write) -> dict[str, Any]:
    return {k: {"old": write.old.get(k), "new": v} for k, v in write.fields.items()}


def _all_old(fields: dict[str, Any] | None) -> dict[str, Any]:
    return {k: {"old": v, "new": None} for k, v in (fields or {}).items()}


def _differs(old: Any, new: Any) -> bool:
    empty: tuple[Any, ...] = (None, "", [])
    if old in empty and new in empty:
        return False
    if isinstance(old, list) and isinstance(new, list):
        return sorted(map(str, old)) != sorted(map(str, new))
    return bool(old != new)


def _empty_rule_context() -> RuleContext:
    return RuleContext(source_specs={}, target_specs={}, user_links={})
