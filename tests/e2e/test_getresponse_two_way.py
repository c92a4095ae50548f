"""GetResponse ↔ GetResponse, end to end: a two-way connection between the lists of two
sandbox accounts, run by the real engine over real HTTP. Every assertion reads the
sandboxes' final state through the control API, not the engine's own view of it."""

from __future__ import annotations

import time
from typing import Any

import pytest

from connectors.sandbox.control import SandboxControl
from sync.engine import run_connection
from sync.models import (
    Account,
    AppAuthorization,
    ConflictPolicy,
    Connection,
    ConnectionState,
    DeletionMode,
    Rule,
    SyncRun,
    Trigger,
    UnsubscribeMode,
)

VENDOR = "getresponse"
pytestmark = pytest.mark.django_db(transaction=True)


class Side:
    """One sandbox account and its list, as the test sees it."""

    def __init__(self, sandbox: SandboxControl, name: str) -> None:
        self.sandbox = sandbox
        created = sandbox.create_account(VENDOR, name=name)
        self.id = created["account_id"]
        self.key = created["api_key"]
        self.list = created["lists"][0]["id"]

    def contacts(self) -> dict[str, dict[str, Any]]:
        """Contacts listed now, by email; fails on a duplicate email."""
        state = self.sandbox.state(VENDOR, self.id)["accounts"][self.id]
        listed = [c for c in state["contacts"] if c["campaignId"] == self.list]
        by_email = {c["email"].lower(): c for c in listed}
        assert len(by_email) == len(listed), "duplicate contacts"
        return by_email

    def edit(self, email: str, **changes: Any) -> None:
        self.sandbox.action(VENDOR, "edit", account=self.id, contact=email, **changes)


@pytest.fixture
def sides(sandbox: SandboxControl) -> tuple[Side, Side]:
    a, b = Side(sandbox, "Shop"), Side(sandbox, "Newsletter")
    sandbox.seed(VENDOR, a.id, 6, seed=1, start=0)
    # The first two people of seed 1 are in both lists: the initial sync must match them.
    sandbox.seed(VENDOR, b.id, 2, seed=1, start=0)
    sandbox.seed(VENDOR, b.id, 4, seed=2, start=50)
    return a, b


@pytest.fixture
def connection(sandbox: SandboxControl, sides: tuple[Side, Side]) -> Connection:
    account = Account.objects.create(name="E2E", slug="e2e")
    authorizations = []
    for side in sides:
        authorization = AppAuthorization(account=account, vendor=VENDOR, label=side.id)
        authorization.secrets = {"api_key": side.key}
        authorization.settings = {
            "page_size": 3,  # several pages even for a few contacts
            "resolve_timeout": 5,
        }
        authorization.save()
        authorizations.append(authorization)
    connection = Connection.objects.create(
        account=account,
        name="Shop ↔ Newsletter",
        a_authorization=authorizations[0],
        a_scope=sides[0].list,
        b_authorization=authorizations[1],
        b_scope=sides[1].list,
        deletions_a_to_b=DeletionMode.TRASH_TAG,
        deletions_b_to_a=DeletionMode.REMOVE_FROM_LIST,
        unsubscribes=UnsubscribeMode.OPT_OUT,
        conflict_policy=ConflictPolicy.A_WINS,
        interval_minutes=15,
        state=ConnectionState.INITIAL_SYNC,
    )
    for direction in ("a_to_b", "b_to_a"):
        Rule.objects.create(connection=connection, direction=direction)
    return connection


def run(connection: Connection, **options: Any) -> SyncRun:
    done = run_connection(connection.pk, options.pop("trigger", Trigger.MANUAL), **options)
    assert done.status in ("succeeded", "partial"), (done.status, done.error)
    return done


def test_two_lists_converge_and_follow_edits_conflicts_deletions_and_unsubscribes(
    sandbox: SandboxControl, sides: tuple[Side, Side], connection: Connection
) -> None:
    a, b = sides
    seeded_a, seeded_b = a.contacts(), b.contacts()
    everyone = set(seeded_a) | set(seeded_b)
    assert len(everyone) == 10  # 6 + 6 with 2 in both

    # Initial sync: the union on both sides, the two shared people not duplicated.
    run(connection, trigger=Trigger.INITIAL, initial=True)
    after_a, after_b = a.contacts(), b.contacts()
    assert set(after_a) == set(after_b) == everyone
    for email in everyone:
        assert after_a[email]["name"] == after_b[email]["name"]
        assert after_a[email]["tags"] == after_b[email]["tags"]
        assert after_a[email]["custom"].get("company") == after_b[email]["custom"].get("company")

    # A second run with no edits writes nothing to either sandbox.
    writes_before = _write_count(sandbox)
    run(connection)
    assert _write_count(sandbox) == writes_before

    # Edits on both sides travel to the other side.
    only_a, only_b = sorted(set(seeded_a) - set(seeded_b)), sorted(set(seeded_b) - set(seeded_a))
    a.edit(only_a[0], name="Renamed In Shop")
    b.edit(only_b[0], tags=["newsletter", "vip"])
    # A conflict: both change one person's company; side A wins by the policy.
    shared = sorted(set(seeded_a) & set(seeded_b))[0]
    a.edit(shared, custom={"company": ["Shop Corp"]})
    b.edit(shared, custom={"company": ["Letter Corp"]})
    run(connection)
    after_a, after_b = a.contacts(), b.contacts()
    assert after_b[only_a[0]]["name"] == "Renamed In Shop"
    assert after_a[only_b[0]]["tags"] == ["newsletter", "vip"]
    assert (
        after_a[shared]["custom"]["company"]
        == after_b[shared]["custom"]["company"]
        == ["Shop Corp"]
    )

    # A deletion in A puts the trash tag on B's copy; an unsubscribe in B unsubscribes
    # them from A's list (opt-out: GetResponse removes them from it). The removed
    # segment that every read ends with notices both, without a complete listing.
    deleted, unsubscribed = only_a[1], only_b[1]
    sandbox.action(VENDOR, "delete", account=a.id, contact=deleted)
    sandbox.action(VENDOR, "unsubscribe", account=b.id, contact=unsubscribed)
    connection.refresh_from_db()
    listed_at = (connection.a_listed_at, connection.b_listed_at)
    run(connection, trigger=Trigger.SCHEDULE)
    connection.refresh_from_db()
    assert (connection.a_listed_at, connection.b_listed_at) == listed_at
    after_a, after_b = a.contacts(), b.contacts()
    assert deleted not in after_a
    assert "deleted" in after_b[deleted]["tags"]
    assert unsubscribed not in after_b
    assert unsubscribed not in after_a
    assert set(after_a) == everyone - {deleted, unsubscribed}

    # And then all is quiet: nothing more is written.
    writes_before = _write_count(sandbox)
    run(connection)
    assert _write_count(sandbox) == writes_before


def _write_count(sandbox: SandboxControl) -> int:
    endpoints = sandbox.requests(VENDOR)["endpoints"]
    # A search of contacts is a POST that reads (the removed segment of every poll).
    reads = ("GET ", "POST /v3/search-contacts/")
    return sum(n for name, n in endpoints.items() if not name.startswith(reads))


def _details_read(sandbox: SandboxControl) -> int:
    return int(sandbox.requests(VENDOR)["endpoints"].get("GET /v3/contacts/{contact_id}", 0))


def test_only_contacts_whose_change_date_moved_cost_a_detail_call(
    sandbox: SandboxControl, sides: tuple[Side, Side], connection: Connection
) -> None:
    # List rows lack tags and custom fields; the detail has them. A complete listing of
    # unchanged contacts must not read each one's detail again.
    a, _b = sides
    run(connection, trigger=Trigger.INITIAL, initial=True)
    time.sleep(2.1)  # changedOn has whole seconds: a read in the same second is re-read
    run(connection)  # reads the echoes of the initial writes once more, now settled
    before = _details_read(sandbox)
    run(connection, trigger=Trigger.RESYNC, initial=True)
    assert _details_read(sandbox) == before  # both lists listed whole, no detail read
    edited = sorted(a.contacts())[0]
    a.edit(edited, name="Edited Once")
    time.sleep(2.1)  # read once settled, so that re-reading A before writing skips it
    before = _details_read(sandbox)
    run(connection, trigger=Trigger.RESYNC, initial=True)
    assert _details_read(sandbox) - before == 1
    assert _b.contacts()[edited]["name"] == "Edited Once"
