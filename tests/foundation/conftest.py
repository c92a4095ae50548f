"""Data for the foundation tests: two authorizations of Acme and a connection between
them (the personas come from tests/plugins/personas.py)."""

from __future__ import annotations

from typing import Any

import pytest

from sync.models import (
    Account,
    ApiToken,
    AppAuthorization,
    Connection,
    Direction,
    FieldMapping,
    Invitation,
    PhoneEntry,
    RecordLink,
    Rule,
    RuleAction,
    RuleFilter,
    SyncEvent,
    SyncRun,
    Trigger,
    UserLink,
)

# A secret value distinctive enough that finding it anywhere means it leaked.
SECRET = "sk-live-Vx7Q-PLAINTEXT-should-never-leak-93"


def make_authorization(account: Account, vendor: str, label: str, **extra: Any) -> AppAuthorization:
    """An authorization of ``account`` holding ``SECRET`` as its API key."""
    authorization = AppAuthorization(account=account, vendor=vendor, label=label, **extra)
    authorization.secrets = {"api_key": SECRET}
    authorization.save()
    return authorization


def make_connection(account: Account, name: str = "CRM ↔ newsletter") -> Connection:
    """A two-way connection of ``account`` between two fresh authorizations."""
    return Connection.objects.create(
        account=account,
        name=name,
        a_authorization=make_authorization(account, "sellf", f"{account.name} CRM"),
        b_authorization=make_authorization(account, "getresponse", f"{account.name} news"),
        b_scope="list-1",
    )


def populate(connection: Connection, user: Any) -> None:
    """One row of every tenant-owned model under ``connection``'s account."""
    rule = Rule.objects.create(connection=connection, direction=Direction.A_TO_B)
    RuleFilter.objects.create(rule=rule, kind="has_tag", value="customer")
    RuleAction.objects.create(rule=rule, kind="add_tag", value="from-crm")
    FieldMapping.objects.create(connection=connection, a_field="email", b_field="email")
    UserLink.objects.create(connection=connection, a_user_id="u1", b_user_id="v1")
    link = RecordLink.objects.create(connection=connection, a_id="1", b_id="2")
    run = SyncRun.objects.create(connection=connection, trigger=Trigger.MANUAL)
    SyncEvent.objects.create(connection=connection, run=run, link=link, action="create")
    PhoneEntry.objects.create(
        account=connection.account,
        link=link,
        authorization=connection.a_authorization,
        side="a",
        vendor=connection.a_authorization.vendor,
        record_id="1",
        phone="+390212345678",
    )
    ApiToken.issue(user, connection.account, "ci")
    Invitation.objects.create(
        account=connection.account, email="new@example.com", token_hash=f"h{connection.pk}"
    )


@pytest.fixture
def connection(account: Account) -> Connection:
    """A two-way connection of Acme."""
    return make_connection(account)


@pytest.fixture
def other_connection(other_account: Account) -> Connection:
    """A two-way connection of Globex."""
    return make_connection(other_account, "Globex sync")
