"""The Contacthub <-> ContactSend source constraints (connectors/contactlab_rules.py): one
test per row of the change-requirements table, plus sharing and the mapping minimum, and
the facts read from the sandboxes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from connectors.base import SetupReview
from connectors.contactlab_rules import (
    Facts,
    SourceConfig,
    change_problems,
    emptiness,
    mapping_problems,
    sharing_problems,
    source_of,
)

OLD = SourceConfig(
    node_id="node-1",
    api_key="key-1",
    userdb_id="100",
    subscriptions=frozenset({("newsletter", "nl-weekly")}),
    mapping=frozenset({("base.contacts.email", "EMAIL")}),
    connection_id=1,
)
PAUSED_EMPTY = Facts(paused=True)


def test_a_node_or_a_userdb_serves_one_source() -> None:
    other = replace(OLD, connection_id=2)
    problems = sharing_problems(replace(OLD, connection_id=3), [other])
    assert len(problems) == 2
    assert "node node-1 already serves" in problems[0] and "userdb 100" in problems[1]
    assert sharing_problems(OLD, [OLD]) == [], "a connection does not conflict with itself"
    assert (
        sharing_problems(replace(OLD, node_id="n2", userdb_id="7", connection_id=3), [other]) == []
    )


def test_the_mapping_needs_one_matched_pair() -> None:
    assert mapping_problems(replace(OLD, mapping=frozenset())) == [
        "Select one or more matched fields: map at least one Contacthub field."
    ]
    assert mapping_problems(OLD) == []


def test_changing_the_node_needs_it_paused_and_both_nodes_empty() -> None:
    new = replace(OLD, node_id="node-2")
    assert change_problems(OLD, new, PAUSED_EMPTY) == []
    problems = change_problems(
        OLD, new, Facts(paused=False, node_customers={"node-1": 5, "node-2": 1})
    )
    assert problems == [
        "Changing the node needs the connection paused. Pause it first.",
        "Changing the node needs Contacthub node node-1 empty; it holds 5 customers. "
        "Empty the node first.",
        "Changing the node needs Contacthub node node-2 empty; it holds 1 customers. "
        "Empty the node first.",
    ]


def test_changing_the_api_key_needs_it_paused_and_the_node_empty() -> None:
    new = replace(OLD, api_key="key-2")
    assert change_problems(OLD, new, PAUSED_EMPTY) == []
    problems = change_problems(OLD, new, Facts(paused=True, node_customers={"node-1": 2}))
    assert problems == [
        "Changing the apiKey needs Contacthub node node-1 empty; it holds 2 customers. "
        "Empty the node first."
    ]


def test_changing_the_userdb_needs_it_paused_the_nodes_and_the_userdb_empty() -> None:
    new = replace(OLD, userdb_id="200")
    assert change_problems(OLD, new, PAUSED_EMPTY) == []
    problems = change_problems(
        OLD, new, Facts(paused=False, node_customers={"node-1": 3}, userdb_subscribers=9)
    )
    assert problems[0] == "Changing the userdb needs the connection paused. Pause it first."
    assert "node node-1 empty" in problems[1]
    assert problems[2] == (
        "Changing the userdb needs the ContactSend userdb 100 empty; it holds subscribers. "
        "Empty the userdb first."
    )


def test_changing_subscriptions_or_mapping_needs_it_paused() -> None:
    new_subs = replace(OLD, subscriptions=frozenset({("newsletter", "promo")}))
    new_map = replace(OLD, mapping=OLD.mapping | {("base.firstName", "firstName")})
    running = Facts(paused=False, node_customers={"node-1": 50}, userdb_subscribers=50)
    assert change_problems(OLD, new_subs, running) == [
        "Changing the subscriptions needs the connection paused. Pause it first."
    ]
    assert change_problems(OLD, new_map, running) == [
        "Changing the field mapping needs the connection paused. Pause it first."
    ]
    assert change_problems(OLD, new_map, replace(running, paused=True)) == []


@pytest.mark.django_db(transaction=True)
def test_source_values_and_facts_come_from_the_connection_and_the_sandboxes(
    sandbox: Any, settings: Any
) -> None:
    from sync.setup import setup_of
    from sync.vendors import open_connector
    from tests.e2e.test_contacthub_contactsend import connect

    source = connect(sandbox, settings)
    source.connection.state = "active"
    setup = setup_of(source.connection)
    config = source_of(setup)
    assert config is not None
    assert config.node_id == source.hub["node_id"]
    assert config.userdb_id == str(source.send["userdb_id"])
    assert config.subscriptions == {("newsletter", "nl-weekly")}
    assert ("base.contacts.email", "EMAIL") in config.mapping

    def review(new: SourceConfig) -> SetupReview:
        connection = source.connection
        return SetupReview(
            new=replace(setup, scopes={"a": new.node_id, "b": new.userdb_id}),
            old=setup,
            others=(),
            open=lambda side, scope: open_connector(connection.authorization(side), scope),
        )

    other_db = replace(config, userdb_id="999")
    assert emptiness(review(other_db), config, other_db) == Facts(
        paused=False, node_customers={source.hub["node_id"]: 0}, userdb_subscribers=0
    )
    sandbox.seed("contacthub", source.hub["account_id"], 2)
    sandbox.seed("contactsend", source.send["api_key"], 1)
    facts = emptiness(review(other_db), config, other_db)
    assert facts.node_customers == {source.hub["node_id"]: 2} and facts.userdb_subscribers == 1
    assert len(change_problems(config, other_db, facts)) == 3
    assert emptiness(review(config), config, config).node_customers == {}, (
        "nothing changed: nothing is counted"
    )
