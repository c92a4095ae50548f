"""Contacthub ↔ ContactSend as seed 002 describes the source (issue 20), end to end
through the two sandboxes over HTTP (REST and SOAP) and the real engine: customer data
and newsletter subscriptions both ways. A Contacthub subscription id is paired with a
ContactSend webform code as one field mapping of two bool fields. Every assertion reads
the sandboxes' own state through the control API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from connectors.contacthub.tests.harness import point_at_sandbox as point_contacthub
from connectors.contactsend.tests.harness import point_at_sandbox as point_contactsend
from connectors.sandbox.control import SandboxControl
from sync.engine import run_connection
from sync.engine.mapping import ensure_default_mappings
from sync.models import (
    Account,
    AppAuthorization,
    Connection,
    ConnectionState,
    FieldMapping,
    Rule,
    SyncRun,
)
from sync.vendors import open_connector

pytestmark = pytest.mark.django_db(transaction=True)
# The source's subscription pair: Contacthub's "newsletter" is ContactSend's "nl-weekly".
HUB_SUBSCRIPTION = "subscription:newsletter"
SEND_WEBFORM = "nl-weekly"


@dataclass
class Source:
    """The Contacthub workspace, the ContactSend userdb and the connection between them."""

    sandbox: SandboxControl
    hub: dict[str, Any]
    send: dict[str, Any]
    connection: Connection

    def customers(self) -> dict[str, dict[str, Any]]:
        """Contacthub customers by email; fails on a duplicate."""
        state = self.sandbox.state("contacthub", self.hub["workspace_id"])
        customers = list(state[self.hub["workspace_id"]]["customers"].values())
        by_email = {c["base"]["contacts"]["email"].lower(): c for c in customers}
        assert len(by_email) == len(customers), "duplicate customers"
        return by_email

    def hub_subscribed(self, email: str) -> bool:
        subs = self.customers()[email]["base"].get("subscriptions") or []
        return any(s["id"] == "newsletter" and s.get("subscribed") for s in subs)

    def userdb(self) -> dict[str, Any]:
        state = self.sandbox.state("contactsend", self.send["api_key"])
        db: dict[str, Any] = state[self.send["api_key"]]["userdbs"][str(self.send["userdb_id"])]
        return db

    def subscribers(self) -> dict[str, str]:
        """ContactSend subscriber ids by email; fails on a duplicate."""
        subscribers = self.userdb()["subscribers"]
        by_email = {v["EMAIL"].lower(): sid for sid, v in subscribers.items()}
        assert len(by_email) == len(subscribers), "duplicate subscribers"
        return by_email

    def send_subscribed(self, email: str) -> bool:
        return int(self.subscribers()[email]) in self.userdb()["webforms"][SEND_WEBFORM]

    def run(self) -> SyncRun:
        done = run_connection(self.connection.pk, "manual")
        assert done.status == "succeeded", (done.status, done.error, done.counts)
        self.connection.refresh_from_db()
        return done


def connect(sandbox: SandboxControl, settings: Any, account: Account | None = None) -> Source:
    point_contacthub(settings, sandbox)
    point_contactsend(settings, sandbox)
    hub = sandbox.create_account("contacthub", name="Negozio")
    send = sandbox.create_account("contactsend", name="Negozio", webforms=[SEND_WEBFORM, "promo"])
    account = account or Account.objects.create(name="Negozio", slug="negozio")
    hub_auth = AppAuthorization(account=account, vendor="contacthub", label="Contacthub")
    hub_auth.secrets = {"token": hub["token"]}
    hub_auth.settings = {"workspace_id": hub["workspace_id"], "node_id": hub["node_id"]}
    hub_auth.save()
    send_auth = AppAuthorization(account=account, vendor="contactsend", label="ContactSend")
    send_auth.secrets = {"api_key": send["api_key"], "user_key": send["user_key"]}
    send_auth.save()
    connection = Connection.objects.create(
        account=account,
        name="Contacthub ↔ ContactSend",
        a_authorization=hub_auth,
        a_scope=hub["node_id"],
        b_authorization=send_auth,
        b_scope=str(send["userdb_id"]),
        conflict_policy="most_recent",
        state=ConnectionState.INITIAL_SYNC,
    )
    for direction in ("a_to_b", "b_to_a"):
        Rule.objects.create(connection=connection, direction=direction)
    specs = []
    for side in "ab":
        with open_connector(connection.authorization(side), connection.scope(side)) as connector:
            specs.append(connector.fields())
    ensure_default_mappings(connection, specs[0], specs[1])
    FieldMapping.objects.create(
        connection=connection, a_field=HUB_SUBSCRIPTION, b_field=f"subscription:{SEND_WEBFORM}"
    )
    return Source(sandbox, hub, send, connection)


def test_subscriptions_cross_both_ways_within_one_poll(
    sandbox: SandboxControl, settings: Any
) -> None:
    source = connect(sandbox, settings)
    hub_ids = sandbox.seed(
        "contacthub", source.hub["account_id"], 2, seed=1, subscribed=["newsletter"]
    )["ids"]
    send_ids = sandbox.seed(
        "contactsend", source.send["api_key"], 2, seed=2, start=50, subscribed=[SEND_WEBFORM]
    )["ids"]
    first = source.run()  # initial sync: everyone on both sides, subscribed on both sides
    assert first.counts == {"a_to_b": {"create": 2}, "b_to_a": {"create": 2}}

    customers, subscribers = source.customers(), source.subscribers()
    assert set(customers) == set(subscribers) and len(customers) == 4
    assert all(source.hub_subscribed(e) and source.send_subscribed(e) for e in customers)
    hub_email = next(e for e, c in customers.items() if c["id"] == hub_ids[0])
    send_email = next(e for e, sid in subscribers.items() if sid == send_ids[0])

    # An unsubscribe in Contacthub reaches ContactSend in the next poll.
    sandbox.action(
        "contacthub", "subscribe", account=source.hub["account_id"], customer=hub_ids[0],
        subscription="newsletter", subscribed=False,
    )  # fmt: skip
    source.run()
    assert not source.send_subscribed(hub_email)
    assert source.send_subscribed(send_email)

    # An unsubscribe in ContactSend (a campaign's link) reaches Contacthub in the next poll.
    sandbox.action(
        "contactsend", "subscribe", account=source.send["api_key"], subscriber=send_ids[0],
        webform=SEND_WEBFORM, subscribed=False,
    )  # fmt: skip
    source.run()
    assert not source.hub_subscribed(send_email)

    # And a subscribe back on either side too.
    sandbox.action(
        "contactsend", "subscribe", account=source.send["api_key"], subscriber=send_ids[0],
        webform=SEND_WEBFORM, subscribed=True,
    )  # fmt: skip
    sandbox.action(
        "contacthub", "subscribe", account=source.hub["account_id"], customer=hub_ids[0],
        subscription="newsletter", subscribed=True,
    )  # fmt: skip
    source.run()
    assert source.hub_subscribed(send_email) and source.send_subscribed(hub_email)

    # Converged: the next poll writes nothing, and nobody was duplicated.
    calm = source.run()
    writes = [n for side in calm.counts.values() for op, n in side.items() if op != "skip"]
    assert not writes, calm.counts
    assert len(source.customers()) == len(source.subscribers()) == 4


def test_customer_data_crosses_both_ways(sandbox: SandboxControl, settings: Any) -> None:
    source = connect(sandbox, settings)
    [hub_id] = sandbox.seed("contacthub", source.hub["account_id"], 1, seed=3)["ids"]
    [send_id] = sandbox.seed("contactsend", source.send["api_key"], 1, seed=4, start=9)["ids"]
    source.run()
    email = next(e for e, c in source.customers().items() if c["id"] == hub_id)
    sandbox.action(
        "contactsend", "update", account=source.send["api_key"],
        subscriber=source.subscribers()[email], values={"city": "Ferrara"},
    )  # fmt: skip
    source.run()
    assert source.customers()[email]["base"]["address"]["city"] == "Ferrara"
    send_email = next(e for e, sid in source.subscribers().items() if sid == send_id)
    assert source.customers()[send_email]["base"]["firstName"]


def test_the_pages_give_their_contactsend_tokens_back(
    sandbox: SandboxControl, settings: Any
) -> None:
    """A connect check, the scopes and the fields read for a page borrow a token each and
    give it back (the connector closed after use), as a run does."""
    from sync.web.services import authorization_scopes, run_check, side_info

    source = connect(sandbox, settings)
    authorization = source.connection.authorization("b")
    assert run_check(authorization) is None
    scopes, error = authorization_scopes(authorization)
    assert scopes and not error
    assert side_info(source.connection, "b", fields=True).fields
    live = sandbox.state("contactsend", source.send["api_key"])[source.send["api_key"]]
    assert live["live_tokens"] == 0, "a page left its ContactSend token borrowed"


# --- The source rules and the node's rights, through the connectors' hooks -----------------


def test_every_run_gives_its_contactsend_token_back(sandbox: SandboxControl, settings: Any) -> None:
    source = connect(sandbox, settings)
    sandbox.seed("contactsend", source.send["api_key"], 2, seed=5)
    source.run()
    dry = run_connection(source.connection.pk, "preview", dry_run=True)
    assert dry.status == "succeeded", dry.error
    live = sandbox.state("contactsend", source.send["api_key"])[source.send["api_key"]]
    assert live["live_tokens"] == 0, "invalidateToken was not sent at the end of a run"


def second_source(source: Source, **changes: Any) -> Connection:
    """A draft connection of the same account on the first one's node, another userdb."""
    values: dict[str, Any] = {
        "account": source.connection.account,
        "name": "Second source",
        "a_authorization": source.connection.a_authorization,
        "a_scope": source.connection.a_scope,
        "b_authorization": source.connection.b_authorization,
        "b_scope": "4242",
        "state": ConnectionState.DRAFT,
        **changes,
    }
    return Connection.objects.create(**values)


@pytest.mark.parametrize("interface", ["pages", "api", "admin"])
def test_a_node_serves_one_source_in_the_pages_the_api_and_the_admin(
    sandbox: SandboxControl, settings: Any, account: Account, owner: Any, admin_client: Any,
    interface: str, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from tests.core.test_lifecycle import ask

    monkeypatch.setattr("sync.tasks.enqueue_run", lambda *args, **kwargs: None)
    source = connect(sandbox, settings, account)
    second = second_source(source)
    refusal = ask(interface, "start", second, owner, admin_client)
    assert f"Contacthub node {source.hub['node_id']} already serves another" in refusal
    second.refresh_from_db()
    assert second.state == ConnectionState.DRAFT
    # On another node of its own it starts.
    other_node = sandbox.create_account("contacthub", name="Altro")
    Connection.objects.filter(pk=second.pk).update(a_scope=other_node["node_id"])
    FieldMapping.objects.create(connection=second, a_field="base.contacts.email", b_field="EMAIL")
    assert ask(interface, "start", second, owner, admin_client) == ""
    second.refresh_from_db()
    assert second.state == ConnectionState.INITIAL_SYNC


def test_a_source_without_a_matched_pair_does_not_start(
    sandbox: SandboxControl, settings: Any
) -> None:
    from sync import lifecycle

    source = connect(sandbox, settings)
    connection = source.connection
    Connection.objects.filter(pk=connection.pk).update(state=ConnectionState.DRAFT)
    connection.refresh_from_db()
    connection.mappings.all().delete()
    with pytest.raises(lifecycle.Refused, match="Select one or more matched fields"):
        lifecycle.start(connection)


def test_a_running_sources_mapping_and_userdb_change_only_when_paused(
    sandbox: SandboxControl, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sync import lifecycle, setup

    monkeypatch.setattr("sync.tasks.enqueue_run", lambda *args, **kwargs: None)
    source = connect(sandbox, settings)
    source.run()
    Connection.objects.filter(pk=source.connection.pk).update(state=ConnectionState.ACTIVE)
    connection = Connection.objects.get(pk=source.connection.pk)
    with pytest.raises(setup.Invalid, match="Changing the field mapping needs the connection"):
        setup.check_pair("base.locale", "city", "both", "", setup.side_apps(connection))
    # The userdb of a running source: paused first, and the nodes and userdb empty.
    sandbox.seed("contactsend", source.send["api_key"], 1, seed=8)
    connection.b_scope = "4242"
    errors = setup.check_options(connection, ["b_scope"], setup.side_apps(connection))
    assert "Changing the userdb needs the connection paused" in errors[setup.PROBLEMS]
    assert "holds subscribers" in errors[setup.PROBLEMS]
    lifecycle.pause(Connection.objects.get(pk=connection.pk), by="test")
    connection = Connection.objects.get(pk=connection.pk)
    setup.check_pair("base.locale", "city", "both", "", setup.side_apps(connection))


def test_a_read_only_node_syncs_one_way_from_contacthub(
    sandbox: SandboxControl, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from connectors.base import Change
    from sync import lifecycle

    monkeypatch.setattr("sync.tasks.enqueue_run", lambda *args, **kwargs: None)
    source = connect(sandbox, settings)
    hub_auth = source.connection.a_authorization
    hub_auth.settings = {**hub_auth.settings, "node_access": "read"}
    hub_auth.save()
    Connection.objects.filter(pk=source.connection.pk).update(state=ConnectionState.DRAFT)
    connection = Connection.objects.get(pk=source.connection.pk)
    with pytest.raises(lifecycle.Refused, match="may only read Contacthub node"):
        lifecycle.start(connection)
    connection.direction = "a_to_b"
    connection.save()
    assert lifecycle.start(connection).connection.state == ConnectionState.INITIAL_SYNC
    # And the connector never writes into it, whatever asks.
    connector = open_connector(hub_auth, connection.a_scope)
    [result] = connector.push([Change("create", "k1", fields={"base.contacts.email": "x@y.it"})])
    assert result.error is not None and result.error.permanent
    assert source.customers() == {}


def test_the_api_refuses_a_new_pair_on_a_running_source_until_it_is_paused(
    sandbox: SandboxControl, settings: Any, account: Account, owner: Any
) -> None:
    from sync import lifecycle
    from tests.api.conftest import token_client

    source = connect(sandbox, settings, account)
    Connection.objects.filter(pk=source.connection.pk).update(state=ConnectionState.ACTIVE)
    api = token_client(owner, account)
    url = f"/api/v1/connections/{source.connection.pk}/"
    kept = [
        {"a_field": m.a_field, "b_field": m.b_field}
        for m in source.connection.mappings.filter(is_default=False)
    ]
    body = {"mappings": [*kept, {"a_field": "base.locale", "b_field": "city"}]}
    refused = api.patch(url, body, format="json")
    assert refused.status_code == 400
    assert "Changing the field mapping needs the connection paused" in str(refused.json())
    assert api.patch(url, {"mappings": kept}, format="json").status_code == 200, "no change"
    lifecycle.pause(Connection.objects.get(pk=source.connection.pk), by="test")
    assert api.patch(url, body, format="json").status_code == 200
