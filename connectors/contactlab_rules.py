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
first, from plain values. ``problems`` applies them all to a ``SetupReview``: it is the
Contacthub connector's ``connection_problems`` hook (connectors/base.py), which
sync/setup.py asks when a connection is saved, gets a field pair, starts or resumes, so
the pages, the API and the admin refuse the same things in the same words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.base import ConnectionSetup, SetupReview

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


def sides(setup: ConnectionSetup) -> tuple[str, str] | None:
    """Which side is Contacthub and which ContactSend; None when it is not a source."""
    vendors = (setup.vendors["a"], setup.vendors["b"])
    if vendors == (HUB, SEND):
        return "a", "b"
    if vendors == (SEND, HUB):
        return "b", "a"
    return None


def source_of(setup: ConnectionSetup) -> SourceConfig | None:
    """The source values of a Contacthub <-> ContactSend connection (else None):
    subscription pairs are the mapping's pairs of two ``subscription:`` fields."""
    found = sides(setup)
    if found is None:
        return None
    hub, send = found
    pairs: set[tuple[str, str]] = set()
    subscriptions: set[tuple[str, str]] = set()
    for a_field, b_field in setup.pairs:
        values = {"a": a_field, "b": b_field}
        pair = (values[hub], values[send])
        if all(p.startswith(SUBSCRIPTION) for p in pair):
            subscriptions.add((pair[0][len(SUBSCRIPTION) :], pair[1][len(SUBSCRIPTION) :]))
        else:
            pairs.add(pair)
    return SourceConfig(
        node_id=setup.scopes[hub],
        api_key=str(setup.credentials[send].secrets.get("api_key") or ""),
        userdb_id=setup.scopes[send],
        subscriptions=frozenset(subscriptions),
        mapping=frozenset(pairs),
        connection_id=setup.id,
    )


def emptiness(review: SetupReview, old: SourceConfig, new: SourceConfig) -> Facts:
    """The facts ``change_problems`` needs, counted through the connectors only where a
    change depends on them: customers in the current and the new node (a node or apiKey
    change), subscribers of the current userdb (a userdb change)."""
    found = sides(review.new)
    assert found is not None
    hub, send = found
    counts: dict[str, int] = {}
    userdb = 0
    if (new.node_id, new.api_key, new.userdb_id) != (old.node_id, old.api_key, old.userdb_id):
        for node in dict.fromkeys([old.node_id, new.node_id]):
            with review.open(hub, node) as connector:
                counts[node] = connector.count()
    if new.userdb_id != old.userdb_id:
        with review.open(send, old.userdb_id) as connector:
            userdb = connector.count()
    assert review.old is not None
    return Facts(paused=review.old.paused, node_customers=counts, userdb_subscribers=userdb)


def problems(review: SetupReview) -> list[str]:
    """Every source rule that ``review`` breaks: sharing with the account's other
    sources; at start, the mapping minimum; for a change to a started source, the
    change-requirements table (a connection in setup has synced nothing yet, so its
    node, userdb and pairs may change freely)."""
    new = source_of(review.new)
    if new is None:
        return []
    others = [o for o in (source_of(s) for s in review.others) if o is not None]
    found = sharing_problems(new, others)
    if review.starting:
        found += mapping_problems(new)
    old = source_of(review.old) if review.old is not None else None
    if old is not None and review.old is not None and review.old.started and old != new:
        found += change_problems(old, new, emptiness(review, old, new))
    return found
