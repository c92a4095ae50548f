"""Tenant scoping through sync.tenancy, with the three personas: alice (owner of Acme),
bob (member of Acme) and charlie (owner of Globex)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.http import Http404

from sync import tenancy
from sync.models import (
    Account,
    ApiToken,
    AppAuthorization,
    Connection,
    FieldMapping,
    Invitation,
    PhoneEntry,
    RecordLink,
    Role,
    Rule,
    RuleAction,
    RuleFilter,
    SyncEvent,
    SyncRun,
    TeamUser,
    UserLink,
)
from tests.foundation.conftest import populate

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme_rows(connection: Connection, owner: Any, member: Any) -> Connection:
    populate(connection, owner)
    return connection


@pytest.fixture
def globex_rows(other_connection: Connection, outsider: Any) -> Connection:
    populate(other_connection, outsider)
    return other_connection


TENANT_MODELS: list[type[models.Model]] = [
    Account,
    TeamUser,
    AppAuthorization,
    Connection,
    Rule,
    RuleFilter,
    RuleAction,
    FieldMapping,
    UserLink,
    RecordLink,
    SyncRun,
    SyncEvent,
    ApiToken,
    Invitation,
    PhoneEntry,
]


def test_every_tenant_model_has_a_path_to_its_account() -> None:
    assert {m.__name__ for m in TENANT_MODELS} == set(tenancy.ACCOUNT_PATH)


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m.__name__)
def test_outsider_sees_none_of_acmes_rows(
    model: type[models.Model], acme_rows: Connection, globex_rows: Connection, outsider: Any
) -> None:
    acme_ids = set(tenancy.scoped(model, acme_rows.account).values_list("pk", flat=True))
    visible = set(tenancy.scoped_for_user(model, outsider).values_list("pk", flat=True))

    assert acme_ids, "the fixture should have made Acme rows"
    assert visible, "charlie should see Globex's own rows"
    assert not acme_ids & visible


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m.__name__)
def test_member_sees_acmes_rows_and_not_globexs(
    model: type[models.Model], acme_rows: Connection, globex_rows: Connection, member: Any
) -> None:
    visible = set(tenancy.scoped_for_user(model, member).values_list("pk", flat=True))

    assert visible == set(tenancy.scoped(model, acme_rows.account).values_list("pk", flat=True))
    assert not visible & set(
        tenancy.scoped(model, globex_rows.account).values_list("pk", flat=True)
    )


def test_outsider_looking_up_acmes_connection_gets_404(
    connection: Connection, other_account: Account, outsider: Any
) -> None:
    with pytest.raises(Http404):
        tenancy.get_scoped_or_404(Connection, other_account, pk=connection.pk)


def test_owner_looks_up_acmes_connection(connection: Connection, owner: Any) -> None:
    found = tenancy.get_scoped_or_404(Connection, connection.account, pk=connection.pk)

    assert found == connection


def test_scoped_lookup_of_a_missing_row_is_404_too(account: Account) -> None:
    with pytest.raises(Http404):
        tenancy.get_scoped_or_404(SyncEvent, account, pk=999_999)


def test_user_of_two_accounts_sees_both(
    owner: Any, other_account: Account, connection: Connection, other_connection: Connection
) -> None:
    TeamUser.objects.create(account=other_account, user=owner, role=Role.MEMBER)

    assert set(tenancy.accounts_for(owner).values_list("slug", flat=True)) == {"acme", "globex"}
    assert set(tenancy.scoped_for_user(Connection, owner)) == {connection, other_connection}


def test_current_account_limits_a_user_of_two_accounts_to_one(
    owner: Any, other_account: Account, connection: Connection, other_connection: Connection
) -> None:
    TeamUser.objects.create(account=other_account, user=owner, role=Role.MEMBER)

    assert list(tenancy.scoped(Connection, connection.account)) == [connection]


def test_anonymous_user_sees_nothing(connection: Connection) -> None:
    assert not tenancy.scoped_for_user(Connection, AnonymousUser()).exists()
    assert tenancy.membership(AnonymousUser(), connection.account) is None


def test_only_owners_and_admins_manage_an_account(
    account: Account, owner: Any, member: Any, outsider: Any
) -> None:
    assert tenancy.can_manage(owner, account)
    assert not tenancy.can_manage(member, account)
    assert not tenancy.can_manage(outsider, account)
