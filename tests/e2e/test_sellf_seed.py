"""The Sellf seed scenario (issue 14) end to end: Sellf's sandbox over HTTP, Google
Contacts played by the CardDAV connector on a real Radicale, GetResponse's sandbox, and
the real engine. Every assertion reads the sandboxes' state or Radicale's cards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from connectors.carddav.tests.test_two_way import cards
from connectors.sandbox.control import SandboxControl
from sync.engine import run_connection
from sync.engine.mapping import ensure_default_mappings
from sync.models import (
    Account,
    AppAuthorization,
    Connection,
    ConnectionState,
    Rule,
    RuleAction,
    RuleFilter,
    RunStatus,
    SyncRun,
    Trigger,
)
from sync.vendors import open_connector
from tests.plugins.radicale import RadicaleServer

BOB = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:bob-1\r\nFN:Bob Stone\r\nN:Stone;Bob;;;\r\n"
    "EMAIL;TYPE=INTERNET:bob@stone.example\r\nORG:Stone Ltd\r\nTITLE:Buyer\r\nEND:VCARD\r\n"
)


@dataclass
class Team:
    """A Sellf sandbox team with two users, Giulia and Marco."""

    sandbox: SandboxControl
    info: dict[str, Any]

    @property
    def giulia(self) -> int:
        return int(self.info["users"][0]["id"])

    @property
    def marco(self) -> int:
        return int(self.info["users"][1]["id"])

    def people(self) -> dict[str, dict[str, Any]]:
        """Sellf people by email."""
        state = self.sandbox.state("sellf", self.info["team_id"])
        found = state["teams"][self.info["team_id"]]["people"]
        return {p["email"]: p for p in found if p["email"]}

    def add(self, **fields: Any) -> str:
        return str(
            self.sandbox.action("sellf", "add", account=self.info["team_id"], **fields)["id"]
        )

    def authorize(self, account: Account, user_id: int, label: str) -> AppAuthorization:
        """An authorization standing for one team user (the same key every time)."""
        auth = AppAuthorization(account=account, vendor="sellf", label=label)
        auth.secrets = {"api_key": self.info["api_key"]}
        auth.settings = {"user_id": user_id}
        auth.save()
        return auth


def make_team(sandbox: SandboxControl, settings: Any) -> Team:
    """A fresh Sellf team, with the API pointed at the sandbox."""
    settings.SELLF_API_URL = sandbox.vendor_url("sellf", "/v2")
    info = sandbox.create_account(
        "sellf",
        name="Rossi & Bianchi",
        users=[
            {"name": "Giulia Rossi", "email": "giulia@rb.example"},
            {"name": "Marco Bianchi", "email": "marco@rb.example"},
        ],
    )
    return Team(sandbox, info)


@pytest.fixture
def team(sandbox: SandboxControl, settings: Any) -> Team:
    return make_team(sandbox, settings)


def connect(
    account: Account, a: AppAuthorization, b: AppAuthorization, b_scope: str, **options: Any
) -> Connection:
    """A two-way connection with default mappings and the two default rules."""
    connection = Connection.objects.create(
        account=account,
        name=f"{a.label} ↔ {b.label}",
        a_authorization=a,
        a_scope="people",
        b_authorization=b,
        b_scope=b_scope,
        state=ConnectionState.ACTIVE,
        avoid_duplicates=True,
        breaker_count=1000,
        **options,
    )
    specs = [
        open_connector(connection.authorization(s), connection.scope(s)).fields() for s in "ab"
    ]
    ensure_default_mappings(connection, specs[0], specs[1])
    for direction in ("a_to_b", "b_to_a"):
        Rule.objects.create(connection=connection, direction=direction, name="All contacts")
    return connection


def run_ok(connection: Connection, **options: Any) -> SyncRun:
    run = run_connection(connection.pk, options.pop("trigger", "manual"), **options)
    assert run.status == RunStatus.SUCCEEDED, (run.status, run.error, run.counts)
    return run


def google(account: Account, radicale: RadicaleServer) -> AppAuthorization:
    auth = AppAuthorization.objects.create(
        account=account,
        vendor="carddav",
        label="Google Contacts",
        settings={"url": f"{radicale.url}/", "username": radicale.username},
    )
    auth.secrets = {"password": radicale.password}
    auth.save()
    return auth


def put_card(radicale: RadicaleServer, addressbook: str, name: str, text: str) -> None:
    session = requests.Session()
    session.auth = (radicale.username, radicale.password)
    session.put(addressbook + name, data=text.encode(), timeout=10).raise_for_status()


def delete_card(radicale: RadicaleServer, addressbook: str, email: str) -> None:
    session = requests.Session()
    session.auth = (radicale.username, radicale.password)
    listing = session.request("PROPFIND", addressbook, headers={"Depth": "1"}, timeout=10)
    import re

    for name in re.findall(r"<(?:\w+:)?href>[^<]*/([^/<]+\.vcf)</", listing.text):
        if email in session.get(addressbook + name, timeout=10).text:
            session.delete(addressbook + name, timeout=10).raise_for_status()
            return
    raise AssertionError(f"no card of {email}")


@pytest.fixture
def sellf_google(
    team: Team, account: Account, radicale: RadicaleServer, addressbook: str
) -> Connection:
    """Giulia's Sellf people ↔ Google Contacts, deletions in Google as the trash tag."""
    team.add(
        first_name="Anna",
        last_name="Verdi",
        email="anna@verdi.example",
        mobile="+39 333 1111111",
        title="CEO",
        tags=["vip"],
        user_id=team.giulia,
        prospect_status=2,
    )
    team.add(first_name="Senza", last_name="Email", user_id=team.giulia)  # no email: skipped
    team.add(first_name="Luca", last_name="Neri", email="luca@neri.example", user_id=team.giulia)
    team.add(first_name="Marco's", last_name="Lead", email="lead@marco.example", user_id=team.marco)
    put_card(radicale, addressbook, "bob-1.vcf", BOB)
    a = team.authorize(account, team.giulia, "Sellf (Giulia)")
    return connect(
        account,
        a,
        google(account, radicale),
        urlsplit(addressbook).path,
        deletions_b_to_a="trash_tag",
        trash_tag="Sync Trash",
    )


def test_sellf_and_google_contacts_sync_both_ways_without_duplicates(
    sellf_google: Connection, team: Team, radicale: RadicaleServer, addressbook: str
) -> None:
    run_ok(sellf_google, trigger=Trigger.INITIAL, initial=True)
    in_google = cards(radicale, addressbook)
    assert set(in_google) == {"anna@verdi.example", "luca@neri.example", "bob@stone.example"}
    anna = in_google["anna@verdi.example"].to_fields()
    assert (anna["first_name"], anna["last_name"], anna["job_title"]) == ("Anna", "Verdi", "CEO")
    assert "vip" in anna["tags"]
    assert anna["full_name"] == "Anna Verdi"  # N and FN both written
    assert anna["mobile"] == "+39 333 1111111" or anna["mobile"].replace(" ", "") == "+393331111111"
    people = team.people()
    bob = people["bob@stone.example"]
    assert (bob["first_name"], bob["last_name"], bob["title"]) == ("Bob", "Stone", "Buyer")
    assert bob["company"] == "Stone Ltd"  # the company was created and linked by name
    assert bob["user_id"] == team.giulia  # created as the authorization's user
    assert "lead@marco.example" not in in_google  # Marco's people are not Giulia's
    # The next run finds nothing to do.
    assert run_ok(sellf_google).writes == 0
    assert len(team.people()) == 4


def test_a_vip_rule_adds_the_google_label_and_syncs_only_vips(
    sellf_google: Connection, team: Team, radicale: RadicaleServer, addressbook: str
) -> None:
    rule = sellf_google.rules.get(direction="a_to_b")
    rule.name = "VIPs to Google"
    rule.save()
    RuleFilter.objects.create(rule=rule, kind="has_tag", value="vip")
    RuleAction.objects.create(rule=rule, kind="add_tag", value="VIP clients")
    run_ok(sellf_google, trigger=Trigger.INITIAL, initial=True)
    in_google = cards(radicale, addressbook)
    assert "luca@neri.example" not in in_google
    assert "VIP clients" in in_google["anna@verdi.example"].to_fields()["tags"]


def test_a_contact_deleted_in_google_gets_the_trash_tag_in_sellf(
    sellf_google: Connection, team: Team, radicale: RadicaleServer, addressbook: str
) -> None:
    run_ok(sellf_google, trigger=Trigger.INITIAL, initial=True)
    delete_card(radicale, addressbook, "luca@neri.example")
    run_ok(sellf_google, trigger=Trigger.RESYNC, initial=True)
    luca = team.people()["luca@neri.example"]
    assert "Sync Trash" in luca["tags"]
    assert "Sync Trash" not in team.people()["anna@verdi.example"]["tags"]


def getresponse(
    sandbox: SandboxControl, account: Account, name: str
) -> tuple[AppAuthorization, str]:
    gr = sandbox.create_account("getresponse", name=name, lists=[f"{name.lower()}_list"])
    auth = AppAuthorization(account=account, vendor="getresponse", label=name)
    auth.secrets = {"api_key": gr["api_key"]}
    auth.settings = {"base_url": sandbox.vendor_url("getresponse", "/v3"), "resolve_timeout": 5}
    auth.save()
    return auth, str(gr["lists"][0]["id"])


def gr_list(sandbox: SandboxControl, auth: AppAuthorization) -> dict[str, dict[str, Any]]:
    state = sandbox.state("getresponse")["accounts"]
    [found] = [a for a in state.values() if a["apiKey"] == auth.secrets["api_key"]]
    return {c["email"]: c for c in found["contacts"]}


def test_an_unsubscribe_in_getresponse_adds_the_unsubscribes_tag_in_sellf(
    team: Team, sandbox: SandboxControl, account: Account
) -> None:
    team.add(first_name="Anna", last_name="Verdi", email="anna@verdi.example", user_id=team.giulia)
    team.add(first_name="Luca", last_name="Neri", email="luca@neri.example", user_id=team.giulia)
    team.add(first_name="Sara", last_name="Bassi", email="sara@bassi.example", user_id=team.giulia)
    gr, list_id = getresponse(sandbox, account, "Newsletter")
    # The unsubscribe handling puts the unsubscribes tag on the Sellf side; a removal
    # from the list (a deletion) gets the trash tag: two different things.
    connection = connect(
        account,
        team.authorize(account, team.giulia, "Sellf (Giulia)"),
        gr,
        list_id,
        deletions_b_to_a="trash_tag",
        trash_tag="Sync Trash",
        unsubscribes="tag",
        unsubscribe_tag="Sync Unsubscribes",
    )
    run_ok(connection, trigger=Trigger.INITIAL, initial=True)
    in_list = gr_list(sandbox, gr)
    assert set(in_list) == {"anna@verdi.example", "luca@neri.example", "sara@bassi.example"}
    sandbox.action(
        "getresponse", "unsubscribe", account=_gr_account(sandbox, gr), contact="luca@neri.example"
    )
    sandbox.action(
        "getresponse", "delete", account=_gr_account(sandbox, gr), contact="sara@bassi.example"
    )
    # One scheduled poll, no complete listing: both cross, each as what it is.
    run = run_ok(connection, trigger=Trigger.SCHEDULE)
    people = team.people()
    assert "Sync Unsubscribes" in people["luca@neri.example"]["tags"]
    assert "Sync Trash" not in people["luca@neri.example"]["tags"]
    assert "Sync Trash" in people["sara@bassi.example"]["tags"]
    assert "Sync Unsubscribes" not in people["sara@bassi.example"]["tags"]
    assert not {"Sync Unsubscribes", "Sync Trash"} & set(people["anna@verdi.example"]["tags"])
    assert run.events.filter(action="unsubscribe").count() == 1
    assert "luca@neri.example" not in gr_list(sandbox, gr)
    # Listed again by every poll, they are not tagged again.
    assert run_ok(connection, trigger=Trigger.SCHEDULE).writes == 0


def _gr_account(sandbox: SandboxControl, auth: AppAuthorization) -> str:
    state = sandbox.state("getresponse")["accounts"]
    return next(k for k, a in state.items() if a["apiKey"] == auth.secrets["api_key"])


def test_two_team_users_each_sync_only_their_own_people(
    team: Team, sandbox: SandboxControl, account: Account
) -> None:
    team.add(first_name="Anna", last_name="Verdi", email="anna@verdi.example", user_id=team.giulia)
    team.add(first_name="Paolo", last_name="Blu", email="paolo@blu.example", user_id=team.marco)
    gr_giulia, list_giulia = getresponse(sandbox, account, "Giulias")
    gr_marco, list_marco = getresponse(sandbox, account, "Marcos")
    # One key, two authorizations: each stands for one Sellf user.
    giulia = connect(
        account, team.authorize(account, team.giulia, "Sellf (Giulia)"), gr_giulia, list_giulia
    )
    marco = connect(
        account, team.authorize(account, team.marco, "Sellf (Marco)"), gr_marco, list_marco
    )
    sandbox.seed("getresponse", _gr_account(sandbox, gr_marco), 1, seed=3)
    run_ok(giulia, trigger=Trigger.INITIAL, initial=True)
    run_ok(marco, trigger=Trigger.INITIAL, initial=True)
    assert set(gr_list(sandbox, gr_giulia)) == {"anna@verdi.example"}
    in_marcos = set(gr_list(sandbox, gr_marco))
    assert "paolo@blu.example" in in_marcos and "anna@verdi.example" not in in_marcos
    [from_gr] = in_marcos - {"paolo@blu.example"}
    people = team.people()
    assert people[from_gr]["user_id"] == team.marco  # created as Marco's
    assert len(people) == 3
    # Neither connection sees the other's new person: the next runs write nothing.
    assert run_ok(giulia).writes == 0
    assert run_ok(marco).writes == 0
