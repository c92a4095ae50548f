"""The Contacthub <-> ContactSend "source" constraints of seed 002, as pure functions.

A Contactlab source is a connection between one Contacthub node and one ContactSend
userdb. Contactlab's rules (Contacthub changelog 1.36 and the source screens):

- one source : one node : one userdb: a node or a userdb serves one such connection;
- changing the node or the apiKey needs the connection paused and the current and the
  new node empty;
- changing the userdb id needs it paused, both nodes empty and the userdb empty;
- changing the subscription pairs or the field mapping needs it paused;
- the field mapping has at least one pair.

Each function answers the messages to show (empty: allowed), each saying what to do
first. They take plain values, so the pages, the API and the admin can all call them
with what they have; ``source_of`` reads those values from a Connection. WHERE THEY MUST
BE CALLED (the lead wires this into sync/setup.py / sync/lifecycle.py): before saving a
new Contactlab connection (``sharing_problems``, ``mapping_problems``) and before saving
a change to one (``change_problems`` with the facts from ``emptiness``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sync.models import Connection

HUB, SEND = "contacthub", "contactsend"
SUBSCRIPTION = "subscription:"


@dataclass(frozen=True)
class SourceConfig:
    """What identifies a Contactlab source and what may change only under conditions."""

    node_id: str
    api_key: str
    userdb_id: str
    subscriptions: frozenset[tuple[str, str]] = frozenset()  # (hub id, webform code)
    mapping: frozenset[tuple[str, str]] = frozenset()  # (hub field, send field)
    connection_id: int | None = None


@dataclass(frozen=True)
class Facts:
    """The state the change rules depend on: whether the connection is paused, how many
    customers each node holds, how many subscribers the userdb holds."""

    paused: bool
    node_customers: dict[str, int] = field(default_factory=dict)
    userdb_subscribers: int = 0


def sharing_problems(config: SourceConfig, others: Iterable[SourceConfig]) -> list[str]:
    """One source : one node : one userdb."""
    problems = []
    for other in others:
        if other.connection_id == config.connection_id and config.connection_id is not None:
            continue
        if other.node_id == config.node_id:
            problems.append(
                f"Contacthub node {config.node_id} already serves another ContactSend source "
                "(connection "
                f"{other.connection_id}); delete that connection first or choose another node."
            )
        if other.userdb_id == config.userdb_id:
            problems.append(
                f"ContactSend userdb {config.userdb_id} already serves another Contacthub node "
                f"(connection {other.connection_id}); delete that connection first or choose "
                "another userdb."
            )
    return problems


def mapping_problems(config: SourceConfig) -> list[str]:
    """At least one matched field pair ("select one or more matched fields")."""
    if not config.mapping:
        return ["Select one or more matched fields: map at least one Contacthub field."]
    return []


def change_problems(old: SourceConfig, new: SourceConfig, facts: Facts) -> list[str]:
    """The change-requirements table, one message per unmet requirement."""
    problems: list[str] = []

    def nodes_empty(nodes: Iterable[str], why: str) -> None:
        for node in dict.fromkeys(nodes):
            count = facts.node_customers.get(node, 0)
            if count:
                problems.append(
                    f"{why} needs Contacthub node {node} empty; it holds {count} customers. "
                    "Empty the node first."
                )

    def paused(why: str) -> None:
        if not facts.paused:
            problems.append(f"{why} needs the connection paused. Pause it first.")

    if new.node_id != old.node_id or new.api_key != old.api_key:
        why = "Changing the node" if new.node_id != old.node_id else "Changing the apiKey"
        paused(why)
        nodes_empty([old.node_id, new.node_id], why)
    if new.userdb_id != old.userdb_id:
        why = "Changing the userdb"
        paused(why)
        nodes_empty([old.node_id, new.node_id], why)
        if facts.userdb_subscribers:
            problems.append(
                f"{why} needs the ContactSend userdb {old.userdb_id} empty; it holds "
                "subscribers. Empty the userdb first."
            )
    if new.subscriptions != old.subscriptions:
        paused("Changing the subscriptions")
    if new.mapping != old.mapping:
        paused("Changing the field mapping")
    return list(dict.fromkeys(problems))


def sides(connection: Connection) -> tuple[str, str] | None:
    """Which side is Contacthub and which ContactSend; None when it is not a source."""
    vendors = (connection.a_authorization.vendor, connection.b_authorization.vendor)
    if vendors == (HUB, SEND):
        return "a", "b"
    if vendors == (SEND, HUB):
        return "b", "a"
    return None


def source_of(connection: Connection) -> SourceConfig | None:
    """The source values of a Contacthub <-> ContactSend connection (else None):
    subscription pairs are the mapping's pairs of two ``subscription:`` fields."""
    found = sides(connection)
    if found is None:
        return None
    hub, send = found
    pairs: set[tuple[str, str]] = set()
    subscriptions: set[tuple[str, str]] = set()
    for row in connection.mappings.filter(enabled=True):
        values: dict[str, Any] = {"a": row.a_field, "b": row.b_field}
        pair = (str(values[hub]), str(values[send]))
        if all(p.startswith(SUBSCRIPTION) for p in pair):
            subscriptions.add((pair[0][len(SUBSCRIPTION) :], pair[1][len(SUBSCRIPTION) :]))
        else:
            pairs.add(pair)
    send_auth = connection.authorization(send)
    return SourceConfig(
        node_id=connection.scope(hub),
        api_key=str(send_auth.secrets.get("api_key") or ""),
        userdb_id=connection.scope(send),
        subscriptions=frozenset(subscriptions),
        mapping=frozenset(pairs),
        connection_id=connection.pk,
    )


def emptiness(connection: Connection, new: SourceConfig) -> Facts:
    """The facts ``change_problems`` needs, read through the two connectors: customers
    in the current and the new node, whether the current userdb holds subscribers."""
    from sync.models import ConnectionState
    from sync.vendors import open_connector

    found = sides(connection)
    if found is None:
        raise ValueError("not a Contacthub <-> ContactSend connection")
    hub, send = found
    old = source_of(connection)
    assert old is not None
    counts = {}
    for node in dict.fromkeys([old.node_id, new.node_id]):
        counts[node] = open_connector(connection.authorization(hub), node).count()  # type: ignore[attr-defined]
    send_connector = open_connector(connection.authorization(send), old.userdb_id)
    return Facts(
        paused=connection.state == ConnectionState.PAUSED,
        node_customers=counts,
        userdb_subscribers=send_connector.count(),  # type: ignore[attr-defined]
    )
