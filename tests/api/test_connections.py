"""The connections resource: sides, options, nested rules and mappings; pause, resume."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from sync.models import (
    Account,
    AppAuthorization,
    Connection,
    ConnectionState,
    FieldMapping,
    Role,
    Rule,
    TeamUser,
    Tier,
)
from tests.api.conftest import make_authorization, token_client

URL = "/api/v1/connections/"


def new_connection(a: AppAuthorization, b: AppAuthorization, **extra: Any) -> dict[str, Any]:
    return {
        "name": "Shop ↔ CRM",
        "a_authorization": a.pk,
        "a_scope": "list-1",
        "b_authorization": b.pk,
        "b_scope": "list-2",
        **extra,
    }


def test_owner_creates_a_connection_with_rules_and_mappings(
    owner_api: APIClient, authorization: AppAuthorization, second_authorization: AppAuthorization
) -> None:
    body = new_connection(
        authorization,
        second_authorization,
        direction="a_to_b",
        conflict_policy="a_wins",
        rules=[
            {
                "direction": "a_to_b",
                "name": "Customers only",
                "filters": [{"kind": "has_tag", "value": "customer"}],
                "actions": [{"kind": "add_tag", "value": "from-shop", "revert_on_leave": True}],
            }
        ],
        mappings=[{"a_field": "company", "b_field": "organisation", "direction": "a_to_b"}],
    )
    response = owner_api.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    connection = Connection.objects.get(pk=response.json()["id"])
    rule = connection.rules.get()
    assert (rule.name, rule.filters.get().value, rule.actions.get().revert_on_leave) == (
        "Customers only",
        "customer",
        True,
    )
    assert list(connection.mappings.values_list("a_field", "b_field")) == [
        ("company", "organisation")
    ]
    assert connection.state == ConnectionState.DRAFT


def test_new_two_way_connection_gets_one_rule_per_direction_and_default_mappings(
    owner_api: APIClient, authorization: AppAuthorization, second_authorization: AppAuthorization
) -> None:
    response = owner_api.post(
        URL, new_connection(authorization, second_authorization), format="json"
    )
    data = response.json()
    assert sorted(rule["direction"] for rule in data["rules"]) == ["a_to_b", "b_to_a"]
    assert all(rule["filters"] == [] for rule in data["rules"])
    # The test vendor's fields share the common keys email, first_name and tags.
    assert {(m["a_field"], m["is_default"]) for m in data["mappings"]} == {
        ("email", True),
        ("first_name", True),
        ("tags", True),
    }


def test_member_reads_connections(member_api: APIClient, connection: Connection) -> None:
    data = member_api.get(f"{URL}{connection.pk}/").json()
    assert data["name"] == connection.name
    assert len(data["rules"]) == 2


def test_member_cannot_create_a_connection(
    member_api: APIClient, authorization: AppAuthorization, second_authorization: AppAuthorization
) -> None:
    body = new_connection(authorization, second_authorization)
    assert member_api.post(URL, body, format="json").status_code == 403
    assert not Connection.objects.exists()


def test_member_cannot_update_a_connection(member_api: APIClient, connection: Connection) -> None:
    response = member_api.patch(f"{URL}{connection.pk}/", {"name": "Renamed"}, format="json")
    assert response.status_code == 403
    connection.refresh_from_db()
    assert connection.name == "Newsletter ↔ CRM"


def test_outsider_cannot_see_acmes_connection(
    outsider_api: APIClient, connection: Connection
) -> None:
    assert outsider_api.get(f"{URL}{connection.pk}/").status_code == 404
    assert outsider_api.get(URL).json()["count"] == 0


def test_outsider_cannot_pause_acmes_connection(
    outsider_api: APIClient, connection: Connection
) -> None:
    assert outsider_api.post(f"{URL}{connection.pk}/pause/").status_code == 404
    connection.refresh_from_db()
    assert connection.state == ConnectionState.ACTIVE


def test_outsider_cannot_use_acmes_authorization(
    outsider_api: APIClient, other_account: Account, authorization: AppAuthorization
) -> None:
    own = make_authorization(other_account, "Globex app")
    response = outsider_api.post(URL, new_connection(authorization, own), format="json")
    assert response.status_code == 400
    assert "does not exist" in response.json()["a_authorization"][0]


def test_owner_updates_options_and_replaces_rules(
    owner_api: APIClient, connection: Connection
) -> None:
    response = owner_api.patch(
        f"{URL}{connection.pk}/",
        {
            "deletions_a_to_b": "trash_tag",
            "deletion_review": True,
            "rules": [{"direction": "b_to_a", "filters": [{"kind": "has_tag", "value": "vip"}]}],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    connection.refresh_from_db()
    assert (connection.deletions_a_to_b, connection.deletion_review) == ("trash_tag", True)
    assert [r.direction for r in connection.rules.all()] == ["b_to_a"]


def test_interval_below_the_plan_minimum_is_a_field_error(
    owner_api: APIClient, connection: Connection
) -> None:
    response = owner_api.patch(f"{URL}{connection.pk}/", {"interval_minutes": 1}, format="json")
    assert response.status_code == 400
    assert "at least 5 minutes" in response.json()["interval_minutes"][0]


def test_rules_beyond_the_plan_limit_are_refused(
    owner_api: APIClient, account: Account, connection: Connection
) -> None:
    account.tier = Tier.FREE
    account.save()
    Connection.objects.filter(pk=connection.pk).update(interval_minutes=60)
    rules = [{"direction": "a_to_b"}] * 3
    response = owner_api.patch(f"{URL}{connection.pk}/", {"rules": rules}, format="json")
    assert response.status_code == 400
    assert "2 rules" in response.json()["rules"][0]


def test_custom_mappings_need_a_plan_that_allows_them(
    owner_api: APIClient, account: Account, connection: Connection
) -> None:
    account.tier = Tier.FREE
    account.save()
    Connection.objects.filter(pk=connection.pk).update(interval_minutes=60)
    mappings = [{"a_field": "company", "b_field": "org"}]
    response = owner_api.patch(f"{URL}{connection.pk}/", {"mappings": mappings}, format="json")
    assert response.status_code == 400
    assert "custom field mappings" in response.json()["mappings"][0]


def test_default_mappings_stay_and_can_only_be_switched_off(
    owner_api: APIClient, connection: Connection
) -> None:
    FieldMapping.objects.create(
        connection=connection, a_field="email", b_field="email", is_default=True
    )
    mappings = [{"a_field": "email", "b_field": "email", "enabled": False, "direction": "a_to_b"}]
    response = owner_api.patch(f"{URL}{connection.pk}/", {"mappings": mappings}, format="json")
    assert response.status_code == 200
    default = connection.mappings.get()
    assert (default.enabled, default.direction, default.is_default) == (False, "both", True)


def test_rule_for_a_direction_the_connection_does_not_sync_is_refused(
    owner_api: APIClient, authorization: AppAuthorization, second_authorization: AppAuthorization
) -> None:
    body = new_connection(
        authorization, second_authorization, direction="a_to_b", rules=[{"direction": "b_to_a"}]
    )
    response = owner_api.post(URL, body, format="json")
    assert response.status_code == 400
    assert "only syncs a_to_b" in response.json()["rules"]["0"]["direction"]


def test_sides_cannot_change_after_the_first_sync(
    owner_api: APIClient, connection: Connection
) -> None:
    response = owner_api.patch(f"{URL}{connection.pk}/", {"a_scope": "list-2"}, format="json")
    assert response.status_code == 400
    assert "cannot change" in response.json()["a_scope"][0]


def test_owner_pauses_a_connection(owner_api: APIClient, connection: Connection) -> None:
    response = owner_api.post(f"{URL}{connection.pk}/pause/", {"reason": "Holidays"}, format="json")
    assert response.status_code == 200
    connection.refresh_from_db()
    assert (connection.state, connection.state_reason) == (ConnectionState.PAUSED, "Holidays")


def test_member_cannot_pause_a_connection(member_api: APIClient, connection: Connection) -> None:
    assert member_api.post(f"{URL}{connection.pk}/pause/").status_code == 403
    connection.refresh_from_db()
    assert connection.state == ConnectionState.ACTIVE


def test_resume_schedules_the_next_run_now(owner_api: APIClient, connection: Connection) -> None:
    connection.state = ConnectionState.PAUSED
    connection.last_run_at = connection.created_at
    connection.save()
    connection.runs.create(trigger="initial", status="succeeded")  # its initial sync is done
    response = owner_api.post(f"{URL}{connection.pk}/resume/")
    assert response.status_code == 200
    connection.refresh_from_db()
    assert connection.state == ConnectionState.ACTIVE
    assert connection.next_run_at is not None


def test_resume_of_a_connection_that_is_not_paused_conflicts(
    owner_api: APIClient, connection: Connection
) -> None:
    response = owner_api.post(f"{URL}{connection.pk}/resume/")
    assert response.status_code == 409
    assert "paused" in response.json()["detail"]


def test_owner_deletes_a_connection(owner_api: APIClient, connection: Connection) -> None:
    assert owner_api.delete(f"{URL}{connection.pk}/").status_code == 204
    assert not Connection.objects.filter(pk=connection.pk).exists()


def test_member_cannot_delete_a_connection(member_api: APIClient, connection: Connection) -> None:
    assert member_api.delete(f"{URL}{connection.pk}/").status_code == 403
    assert Connection.objects.filter(pk=connection.pk).exists()


def test_admin_manages_connections_like_an_owner(
    django_user_model: Any, account: Account, connection: Connection
) -> None:
    admin = django_user_model.objects.create_user("dana", "dana@acme.test", "pw")
    TeamUser.objects.create(account=account, user=admin, role=Role.ADMIN)
    response = token_client(admin, account).post(f"{URL}{connection.pk}/pause/")
    assert response.status_code == 200
    connection.refresh_from_db()
    assert connection.state == ConnectionState.PAUSED


def test_writing_the_rules_and_mappings_leaves_other_entities_alone(
    owner_api: APIClient, connection: Connection
) -> None:
    # Another entity's rows (issue 17): the API writes the primary entity's only.
    Rule.objects.create(connection=connection, entity="company", direction="a_to_b")
    FieldMapping.objects.create(connection=connection, entity="company", a_field="n", b_field="n")
    FieldMapping.objects.create(
        connection=connection, a_field="email", b_field="email", is_default=True
    )
    rules = [{"direction": "a_to_b"}]
    mappings = [{"a_field": "email", "b_field": "email", "enabled": False}]
    for body in ({"rules": rules}, {"mappings": mappings}):
        response = owner_api.patch(f"{URL}{connection.pk}/", body, format="json")
        assert response.status_code == 200, response.content
    assert Rule.objects.filter(connection=connection, entity="company").count() == 1
    assert FieldMapping.objects.filter(connection=connection, entity="company").count() == 1
    assert Rule.objects.filter(connection=connection, entity="contact").count() == 1


# --- A choice pair's value translations (issue 17)


def test_a_choice_pairs_value_map_is_stored_and_shown(
    owner_api: APIClient, connection: Connection, monkeypatch: Any
) -> None:
    from connectors.base import FieldSpec
    from tests.api.vendor import ApiTestConnector

    stage = FieldSpec("stage", "Stage", "choice", choices=("New", "Won", "Lost"))
    plain = ApiTestConnector.fields
    monkeypatch.setattr(ApiTestConnector, "fields", lambda self: [*plain(self), stage])
    mappings = [{"a_field": "stage", "b_field": "stage", "value_map": {"a_to_b": {"Lost": "New"}}}]
    response = owner_api.patch(f"{URL}{connection.pk}/", {"mappings": mappings}, format="json")
    assert response.status_code == 200, response.json()
    assert connection.mappings.get(a_field="stage").value_map == {"a_to_b": {"Lost": "New"}}
    [shown] = owner_api.get(f"{URL}{connection.pk}/").json()["mappings"]
    assert shown["value_map"] == {"a_to_b": {"Lost": "New"}}


def test_a_value_map_naming_an_unknown_value_is_refused(
    owner_api: APIClient, connection: Connection, monkeypatch: Any
) -> None:
    from connectors.base import FieldSpec
    from tests.api.vendor import ApiTestConnector

    stage = FieldSpec("stage", "Stage", "choice", choices=("New", "Won"))
    plain = ApiTestConnector.fields
    monkeypatch.setattr(ApiTestConnector, "fields", lambda self: [*plain(self), stage])
    mappings = [
        {"a_field": "stage", "b_field": "stage", "value_map": {"a_to_b": {"Won": "Gewonnen"}}}
    ]
    response = owner_api.patch(f"{URL}{connection.pk}/", {"mappings": mappings}, format="json")
    assert response.status_code == 400
    assert "not a value of these fields" in str(response.json()["mappings"])


def test_a_value_map_on_a_pair_that_copies_is_refused(
    owner_api: APIClient, connection: Connection
) -> None:
    mappings = [{"a_field": "company", "b_field": "organisation", "value_map": {"a_to_b": {}}}]
    response = owner_api.patch(f"{URL}{connection.pk}/", {"mappings": mappings}, format="json")
    assert response.status_code == 200, response.json()  # an empty map is no map
    mappings[0]["value_map"] = {"a_to_b": {"x": "y"}}
    response = owner_api.patch(f"{URL}{connection.pk}/", {"mappings": mappings}, format="json")
    assert response.status_code == 400
    assert "copied" in str(response.json()["mappings"])
