"""A connection between any app's authorization and a fake app, syncing everything both
ways: what the two-way tests of a vendor need before their first run."""

from __future__ import annotations

from connectors.base import FieldSpec
from sync.engine.mapping import ensure_default_mappings
from sync.models import Account, AppAuthorization, Connection, ConnectionState, Rule
from tests.fakes.connector import FakeApp


def connection_with_fake(
    account: Account,
    a: AppAuthorization,
    a_fields: list[FieldSpec],
    fake: FakeApp,
    *,
    a_scope: str = "",
    name: str = "",
) -> Connection:
    """Side A is ``a`` (with scope ``a_scope`` and fields ``a_fields``), side B the fake
    app ``fake``; default mappings and one rule without filters per direction."""
    b = AppAuthorization.objects.create(
        account=account, vendor="fake", label=f"Fake {fake.name}", settings={"store": fake.name}
    )
    connection = Connection.objects.create(
        account=account,
        name=name or f"{a.label} ↔ fake",
        a_authorization=a,
        a_scope=a_scope,
        b_authorization=b,
        state=ConnectionState.ACTIVE,
    )
    ensure_default_mappings(connection, a_fields, fake.field_specs())
    for direction in ("a_to_b", "b_to_a"):
        Rule.objects.create(connection=connection, direction=direction, name="Everyone")
    return connection
