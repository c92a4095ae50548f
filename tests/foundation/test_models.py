"""Model constraints: what the database and the models' clean() refuse."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from sync.models import (
    Account,
    Connection,
    Direction,
    FieldMapping,
    LinkState,
    RecordLink,
    Rule,
    Tier,
)
from tests.foundation.conftest import make_authorization, make_connection

pytestmark = pytest.mark.django_db


def test_a_record_links_only_once_on_side_a(connection: Connection) -> None:
    RecordLink.objects.create(connection=connection, a_id="17", b_id="x-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        RecordLink.objects.create(connection=connection, a_id="17", b_id="x-2")


def test_a_record_links_only_once_on_side_b(connection: Connection) -> None:
    RecordLink.objects.create(connection=connection, a_id="17", b_id="x-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        RecordLink.objects.create(connection=connection, a_id="18", b_id="x-1")


def test_links_still_waiting_for_their_b_id_do_not_collide(connection: Connection) -> None:
    RecordLink.objects.create(connection=connection, a_id="1", state=LinkState.LINKED)
    RecordLink.objects.create(connection=connection, a_id="2", state=LinkState.LINKED)

    assert connection.links.filter(b_id__isnull=True).count() == 2


def test_the_same_record_may_be_linked_by_two_connections(account: Account) -> None:
    first, second = make_connection(account, "one"), make_connection(account, "two")
    RecordLink.objects.create(connection=first, a_id="17", b_id="x-1")
    RecordLink.objects.create(connection=second, a_id="17", b_id="x-1")

    assert RecordLink.objects.filter(a_id="17").count() == 2


def test_connection_to_another_tenants_authorization_is_rejected(
    connection: Connection, other_account: Account
) -> None:
    connection.b_authorization = make_authorization(other_account, "getresponse", "Globex news")

    with pytest.raises(ValidationError) as caught:
        connection.full_clean()

    assert caught.value.message_dict["b_authorization"] == [
        "Side B's app authorization belongs to another account."
    ]


def test_interval_below_the_plan_minimum_is_rejected(connection: Connection) -> None:
    connection.account.tier = Tier.FREE  # fastest interval: 60 minutes
    connection.interval_minutes = 15

    with pytest.raises(ValidationError) as caught:
        connection.full_clean()

    assert "at least 60 minutes" in caught.value.message_dict["interval_minutes"][0]


def test_account_override_allows_a_faster_interval_than_its_plan(connection: Connection) -> None:
    connection.account.tier = Tier.FREE
    connection.account.min_interval_minutes = 5
    connection.interval_minutes = 5

    connection.full_clean()  # no error

    assert connection.account.limit("min_interval_minutes") == 5


def _add_rules(connection: Connection, count: int) -> None:
    for order in range(count):
        Rule.objects.create(connection=connection, direction=Direction.A_TO_B, order=order)


def test_rule_beyond_the_plan_limit_is_rejected(connection: Connection) -> None:
    Account.objects.filter(pk=connection.account_id).update(tier=Tier.FREE)  # 2 rules
    connection.refresh_from_db()
    _add_rules(connection, 2)

    with pytest.raises(ValidationError, match="allows 2 rules per connection"):
        Rule(connection=connection, direction=Direction.B_TO_A).full_clean()


def test_editing_an_existing_rule_at_the_limit_is_allowed(connection: Connection) -> None:
    Account.objects.filter(pk=connection.account_id).update(tier=Tier.FREE)
    connection.refresh_from_db()
    _add_rules(connection, 2)
    rule = connection.rules.first()
    rule.name = "Customers only"

    rule.full_clean()  # it does not count itself

    assert connection.rules.count() == 2


def test_custom_mapping_is_rejected_on_a_plan_without_them(connection: Connection) -> None:
    Account.objects.filter(pk=connection.account_id).update(tier=Tier.FREE)
    connection.refresh_from_db()

    with pytest.raises(ValidationError, match="does not include custom field mappings"):
        FieldMapping(connection=connection, a_field="cf_shoe", b_field="shoe_size").full_clean()


def test_default_mapping_is_allowed_on_every_plan(connection: Connection) -> None:
    Account.objects.filter(pk=connection.account_id).update(tier=Tier.FREE)
    connection.refresh_from_db()
    mapping = FieldMapping(connection=connection, a_field="email", b_field="email", is_default=True)

    mapping.full_clean()  # no error

    assert mapping.key == "email|email"


def test_custom_mapping_is_allowed_on_the_team_plan(connection: Connection) -> None:
    mapping = FieldMapping(connection=connection, a_field="cf_shoe", b_field="shoe_size")

    mapping.full_clean()  # no error

    assert connection.account.limit("custom_mappings_allowed") is True
