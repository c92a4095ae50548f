"""What one run knows about its connection: the two live connectors, their field specs,
the mapping pairs, the rules and the planner's options, resolved once per run and entity.

A connection syncs its primary entity (contacts: the connection's own scopes, cursors
and direction) and the entities of its ConnectionEntity rows (issue 17); each gets a
RunContext of its own (``build_context(connection, track=row)``): connectors opened on
that entity's scopes, its specs, mapping, rules, cursors and links. Matching: contacts
by email, companies by normalized name, every other entity by its link only."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from connectors.base import Connector, ConnectorError, FieldSpec
from sync.engine import mapping, match, rules
from sync.engine.mapping import MappingContext, Pair
from sync.engine.planner import Options, SideSpec, values
from sync.engine.references import References
from sync.engine.sides import SIDES, direction_into
from sync.models import PRIMARY_ENTITY, Connection, ConnectionEntity, RecordLink, SyncDirection
from sync.setup import replaced_side
from sync.users import owner_map
from sync.vendors import open_connector

logger = logging.getLogger(__name__)

# Field types whose raw values count in a side's content hash even when no pair maps
# them: rules filter on them and deletions/unsubscribes act on them.
_HASHED_TYPES = {"tags", "lists", "owner", "status", "subscription"}


@dataclass
class RunContext:
    """Connectors, specs and planner options of one connection for one run."""

    connection: Connection
    connectors: dict[str, Connector]
    specs: dict[str, list[FieldSpec]]
    options: Options
    email_key: str | None
    hashed_fields: dict[str, list[str]] = field(default_factory=dict)
    # What matching did this run, by reason (sync/engine/match.py), for the run summary.
    match_stats: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # The entity this context syncs and, beyond the primary one, its ConnectionEntity.
    entity: str = PRIMARY_ENTITY
    track: ConnectionEntity | None = None

    def scope(self, side: str) -> str:
        return self.track.scope(side) if self.track else self.connection.scope(side)

    def _holder(self) -> tuple[Any, Any]:
        """The model and row keeping this entity's cursors and listing times."""
        if self.track is not None:
            return ConnectionEntity, self.track
        return Connection, self.connection

    def cursor(self, side: str) -> Any:
        model, row = self._holder()
        return model.objects.values_list(f"cursor_{side}", flat=True).get(pk=row.pk)

    def save_cursor(self, side: str, cursor: Any) -> None:
        model, row = self._holder()
        model.objects.filter(pk=row.pk).update(**{f"cursor_{side}": cursor})

    def listed_at(self, side: str) -> Any:
        return getattr(self._holder()[1], f"{side}_listed_at")

    def save_listed_at(self, side: str, when: Any) -> None:
        model, row = self._holder()
        model.objects.filter(pk=row.pk).update(**{f"{side}_listed_at": when})

    @property
    def pairs(self) -> list[Pair]:
        return self.options.pairs

    def close(self) -> None:
        """End both connectors' sessions (``Connector.close``): once per run, always."""
        close_all(self.connectors)

    def api_calls(self) -> int:
        return sum(c.http.calls for c in self.connectors.values())

    def side_values(self, side: str, fields: dict[str, Any]) -> dict[str, Any]:
        return values(self.options, side, fields) or {}

    def side_hash(
        self, side: str, fields: dict[str, Any] | None, normalized: dict[str, Any] | None = None
    ) -> str:
        """The content hash of a side's record: normalized mapped values plus the raw
        values rules and deletions read. Equal hash = nothing we care about changed.
        It starts with the fingerprint of the configuration it was computed under.
        ``normalized``: the fields' normalized values where the caller has them."""
        if fields is None:
            return ""
        extra = {k: fields.get(k) for k in self.hashed_fields[side]}
        if normalized is None:
            normalized = self.side_values(side, fields)
        digest = mapping.content_hash({"v": normalized, "x": extra})
        return f"{self.fingerprint}{digest[: 64 - len(self.fingerprint)]}"

    @cached_property
    def fingerprint(self) -> str:
        """8 characters that change when what side hashes cover changes (pairs, their
        normalization, the fields rules read): a stored hash that starts with them was
        computed under the current configuration."""
        covered = {
            "pairs": [(p.key, p.kind) for p in self.pairs],
            "hashed": self.hashed_fields,
            "country": self.options.mapping.default_phone_country,
        }
        return mapping.content_hash(covered)[:8]

    def unchanged(
        self, side: str, fields: dict[str, Any], last: dict[str, Any] | None, stored: str
    ) -> bool:
        """Whether a record read now holds what was last synced (``last``, its fields
        then, and ``stored``, their hash). Identical fields under the same configuration
        need no normalization at all: echoes and unchanged records of a complete
        listing are recognised at the cost of a dict comparison."""
        if last is None or not stored:
            return False
        if fields == last and stored.startswith(self.fingerprint):
            return True
        return self.side_hash(side, fields) == stored

    def signature(self, side: str, fields: dict[str, Any]) -> str:
        """Hash of the non-empty normalized values of the pairs that may flow into
        ``side``: the same for the fields a create sends and for the record it makes, so
        that a create whose answer was lost is recognised without a key or an email."""
        towards = direction_into(side)
        pairs = [p for p in self.pairs if p.flows(towards)]
        values = mapping.normalized_values(pairs, side, fields, self.options.mapping)
        return mapping.content_hash({k: v for k, v in values.items() if v not in (None, [], "")})

    def match_key(self, side: str, fields: dict[str, Any]) -> str:
        """The normalized email of a record ("" when it has none)."""
        if not self.email_key:
            return ""
        # Only the email pair is normalized: records seen for the first time need no
        # more than their match key while a side is staged.
        pair = self._email_pair
        value = mapping.normalized_values([pair], side, fields, self.options.mapping)[pair.key]
        if value and self.entity != PRIMARY_ENTITY:
            value = match.company_key(value)  # a company's name
        return str(value)[:320] if value else ""

    @cached_property
    def _email_pair(self) -> Pair:
        return next(p for p in self.pairs if p.key == self.email_key)

    @cached_property
    def lost_creates(self) -> bool:
        """Whether a link awaits a create whose answer was lost (see ``signature``);
        asked once per run, before any of its writes."""
        return (
            RecordLink.objects.filter(connection=self.connection, entity=self.entity)
            .exclude(create_signature="")
            .exists()
        )


def build_context(
    connection: Connection,
    *,
    connectors: dict[str, Connector] | None = None,
    replace_destination: bool = False,
    track: ConnectionEntity | None = None,
) -> RunContext:
    """Open both connectors (on the scopes of ``track``'s entity, else the connection's
    own) and resolve the connection's options for the planner."""
    if connectors is None:
        connectors = {}
        try:
            for side in SIDES:
                scope = track.scope(side) if track else connection.scope(side)
                connectors[side] = open_connector(connection.authorization(side), scope)
        except BaseException:
            close_all(connectors)
            raise
    try:
        return _resolve(connection, connectors, replace_destination, track)
    except BaseException:
        close_all(connectors)  # no RunContext will close them
        raise


def close_all(connectors: dict[str, Connector]) -> None:
    """``close`` each connector; one failing to close never keeps the other open."""
    for side, connector in connectors.items():
        try:
            connector.close()
        except Exception:
            logger.warning("Closing the %s side's connector failed", side, exc_info=True)
        finally:
            connector.http.release()  # its share of the account's limits (limits.py)


def _resolve(
    connection: Connection,
    connectors: dict[str, Connector],
    replace_destination: bool,
    track: ConnectionEntity | None = None,
) -> RunContext:
    entity = track.entity if track else PRIMARY_ENTITY
    syncs = track.syncs if track else connection.syncs
    specs = {}
    for side in SIDES:
        try:
            specs[side] = connectors[side].fields()
        except ConnectorError as exc:
            exc.side = side  # which authorization failed
            raise
    pairs = mapping.pairs_for(connection, specs["a"], specs["b"], entity)
    if not pairs:
        # A connection saved without mapping rows syncs the default pairs.
        pairs = mapping.default_pairs(
            specs["a"], specs["b"], entity, mapping.synced_entities(connection)
        )
    # A reference to an entity the connection does not sync has no links to be
    # translated through: its pair is left out (its records would wait for ever).
    synced = {
        PRIMARY_ENTITY,
        *connection.entities.filter(enabled=True).values_list("entity", flat=True),
    }
    pairs = [p for p in pairs if not p.refers_to or p.refers_to in synced]
    by_key = {side: {s.key: s for s in specs[side]} for side in SIDES}
    rule_contexts = {
        d: rules.context_for(connection, d, specs["a"], specs["b"]) for d in ("a_to_b", "b_to_a")
    }
    options = Options(
        pairs=pairs,
        mapping=MappingContext(
            default_phone_country=connection.default_phone_country,
            owners=owner_map(connection),
            references=References(connection.pk) if any(p.refers_to for p in pairs) else None,
        ),
        sides={
            side: SideSpec.from_specs(
                specs[side],
                track.scope(side) if track else connection.scope(side),
                connection.marker_field_a if side == "a" else connection.marker_field_b,
            )
            for side in SIDES
        },
        rules=rules.load_rules(connection, entity),
        rule_contexts=rule_contexts,
        flows=_flows(connection, syncs, replace_destination),
        # "No email, no create" is the contacts' rule; other entities match by name or
        # by link only, and a record without a match key is created like any other.
        avoid_duplicates=connection.avoid_duplicates and entity == PRIMARY_ENTITY,
        deletions={"a_to_b": connection.deletions_a_to_b, "b_to_a": connection.deletions_b_to_a},
        deletion_review=connection.deletion_review,
        trash_tag=connection.trash_tag,
        unsubscribes=connection.unsubscribes,
        unsubscribe_tag=connection.unsubscribe_tag,
        conflict_policy=(
            _destination_wins(connection) if replace_destination else connection.conflict_policy
        ),
        replace_destination=replace_destination,
    )
    hashed = {
        side: sorted(
            {s.key for s in specs[side] if s.type in _HASHED_TYPES}
            | {f.field for r in options.rules for f in r.filters if f.field}
        )
        for side in SIDES
    }
    email_key = _match_pair(entity, pairs, by_key["a"])
    return RunContext(
        connection, connectors, specs, options, email_key, hashed, entity=entity, track=track
    )


def _match_pair(entity: str, pairs: list[Pair], a_specs: dict[str, FieldSpec]) -> str | None:
    """The key of the pair records of ``entity`` are matched by: the email for contacts,
    the company name for companies, none for the rest (matched by their link only)."""
    if entity == PRIMARY_ENTITY:
        return next(
            (
                p.key
                for p in pairs
                if p.transform == "email"
                or (a_specs.get(p.a_field) and a_specs[p.a_field].type == "email")
            ),
            None,
        )
    if entity == "company":
        names = ("company", "full_name", "name")
        return next(
            (p.key for p in pairs if a_specs.get(p.a_field) and a_specs[p.a_field].common in names),
            None,
        )
    return None


def _destination(connection: Connection) -> str:
    """The side a replace-destination run replaces: a one-way connection's target, else
    the side whose app is replaced at activation (setup.replaced_side)."""
    if connection.direction == SyncDirection.A_TO_B:
        return "b"
    if connection.direction == SyncDirection.B_TO_A:
        return "a"
    return replaced_side(connection) or "b"


def _flows(
    connection: Connection, syncs: Callable[[str], bool], replace_destination: bool
) -> dict[str, bool]:
    flows = {d: syncs(d) for d in ("a_to_b", "b_to_a")}
    if replace_destination:
        # Replacing: nothing flows out of the destination during this run, so what only
        # it holds is removed and what both hold is overwritten by the source.
        flows["b_to_a" if _destination(connection) == "b" else "a_to_b"] = False
    return flows


def _destination_wins(connection: Connection) -> str:
    # Replace destination: the source overwrites everything it holds.
    return "a_wins" if _destination(connection) == "b" else "b_wins"


# Referenced entities first: a record is written after the records it refers to.
ENTITY_ORDER = ("company", "contact", "lead", "opportunity", "activity", "event", "task")


def entity_order(entity: str) -> int:
    return ENTITY_ORDER.index(entity) if entity in ENTITY_ORDER else len(ENTITY_ORDER)


def tracks_of(connection: Connection) -> list[ConnectionEntity | None]:
    """The entities a run of ``connection`` syncs, in reference order: its enabled
    ConnectionEntity rows and None for the primary entity (the connection's own scopes);
    an entity outside ENTITY_ORDER goes last, by its position."""
    rows: list[ConnectionEntity | None] = list(connection.entities.filter(enabled=True))
    rows.append(None)
    return sorted(
        rows,
        key=lambda row: (
            entity_order(row.entity if row else PRIMARY_ENTITY),
            row.position if row else 0,
        ),
    )


def context_of(connection: Connection, entity: str = PRIMARY_ENTITY) -> RunContext:
    """A context for ``entity`` of ``connection`` outside a run (undo, conflict
    resolution, deletion review): its ConnectionEntity's scopes, else the connection's."""
    track = None
    if entity != PRIMARY_ENTITY:
        track = ConnectionEntity.objects.get(connection=connection, entity=entity)
    return build_context(connection, track=track)
