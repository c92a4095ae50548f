"""The new-connection wizard: apps → what and which way → rules → options → mapping →
users → preview → start."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from sync.models import (
    Account,
    AppAuthorization,
    Connection,
    FieldMapping,
    Rule,
    RuleAction,
    RuleFilter,
    SyncRun,
    Tier,
    UserLink,
)
from tests.web.conftest import EngineCalls


def step(name: str, connection: Connection) -> str:
    return reverse(f"web:{name}", args=[connection.pk])


def test_first_step_creates_a_draft_between_the_two_apps(
    owner_client: Client, auth_a: AppAuthorization, auth_b: AppAuthorization
) -> None:
    response = owner_client.post(
        reverse("web:connection_new"),
        {"name": "CRM to news", "a_authorization": auth_a.pk, "b_authorization": auth_b.pk},
    )
    connection = Connection.objects.get(name="CRM to news")
    assert response["Location"] == step("setup_scopes", connection)
    assert connection.state == "draft"
    assert (connection.a_authorization, connection.b_authorization) == (auth_a, auth_b)


def test_first_step_without_apps_leads_to_authorizing_one(owner_client: Client) -> None:
    page = owner_client.get(reverse("web:connection_new")).content.decode()
    assert "Authorize the apps first" in page


def test_first_step_refuses_another_tenants_authorization(
    owner_client: Client, auth_a: AppAuthorization, foreign_connection: Connection
) -> None:
    response = owner_client.post(
        reverse("web:connection_new"),
        {
            "name": "x",
            "a_authorization": auth_a.pk,
            "b_authorization": foreign_connection.a_authorization_id,
        },
    )
    assert response.status_code == 400
    assert not Connection.objects.filter(name="x").exists()


def test_scopes_step_lists_the_apps_scopes(owner_client: Client, draft: Connection) -> None:
    page = owner_client.get(step("setup_scopes", draft)).content.decode()
    assert "Newsletter (list)" in page
    assert "One-way: Fake app · Acme CRM → Fake app · Acme newsletter" in page


def test_scopes_step_saves_and_makes_default_rules_and_pairs(
    owner_client: Client, draft: Connection
) -> None:
    response = owner_client.post(
        step("setup_scopes", draft),
        {"a_scope": "", "b_scope": "newsletter", "direction": "two_way", "continue": "1"},
    )
    assert response["Location"] == step("setup_rules", draft)
    draft.refresh_from_db()
    assert (draft.b_scope, draft.direction) == ("newsletter", "two_way")
    assert (draft.a_scope_name, draft.b_scope_name) == ("All contacts", "Newsletter")
    # The dashboard names the list as the app does, not by its id.
    page = owner_client.get(reverse("web:connection", args=[draft.pk])).content.decode()
    assert "Fake app · All contacts · Acme CRM" in page
    assert "Fake app · Newsletter · Acme newsletter" in page
    assert sorted(draft.rules.values_list("direction", flat=True)) == ["a_to_b", "b_to_a"]
    defaults = FieldMapping.objects.filter(connection=draft, is_default=True)
    assert defaults.filter(a_field="email", b_field="email").exists()


def test_one_way_connection_gets_one_rule(owner_client: Client, draft: Connection) -> None:
    owner_client.post(
        step("setup_scopes", draft), {"a_scope": "", "b_scope": "", "direction": "a_to_b"}
    )
    assert list(draft.rules.values_list("direction", flat=True)) == ["a_to_b"]


def test_rules_editor_adds_a_filter_and_an_action(
    owner_client: Client, connection: Connection
) -> None:
    rule = connection.rules.get(direction="a_to_b")
    owner_client.post(
        step("setup_rules", connection),
        {
            "op": "add_filter",
            "rule": rule.pk,
            "kind": "has_tag",
            "operator": "equals",
            "value": "customer",
        },
    )
    owner_client.post(
        step("setup_rules", connection),
        {
            "op": "add_action",
            "rule": rule.pk,
            "kind": "add_tag",
            "value": "from-crm",
            "revert_on_leave": "on",
        },
    )
    assert RuleFilter.objects.get(rule=rule).value == "customer"
    action = RuleAction.objects.get(rule=rule)
    assert (action.kind, action.value, action.revert_on_leave) == ("add_tag", "from-crm", True)
    page = owner_client.get(step("setup_rules", connection)).content.decode()
    assert "“customer”" in page
    assert "reverted on leaving" in page


def test_rules_editor_explains_an_incomplete_filter(
    owner_client: Client, connection: Connection
) -> None:
    rule = connection.rules.get(direction="a_to_b")
    response = owner_client.post(
        step("setup_rules", connection),
        {
            "op": "add_filter",
            "rule": rule.pk,
            "kind": "field",
            "operator": "equals",
        },
    )
    assert response.status_code == 400
    assert "Choose the field to compare." in response.content.decode()
    assert not RuleFilter.objects.exists()


def test_rules_editor_answers_htmx_with_the_page_to_swap(
    owner_client: Client, connection: Connection
) -> None:
    response = owner_client.post(
        step("setup_rules", connection),
        {"op": "add_rule", "direction": "a_to_b", "name": "VIPs"},
        HTTP_HX_REQUEST="true",
        follow=True,
    )
    assert response.status_code == 200
    assert 'id="rules"' in response.content.decode()
    assert connection.rules.filter(name="VIPs").exists()


def test_rules_editor_removes_a_rule(owner_client: Client, connection: Connection) -> None:
    rule = connection.rules.get(direction="b_to_a")
    owner_client.post(step("setup_rules", connection), {"op": "delete_rule", "rule": rule.pk})
    assert not Rule.objects.filter(pk=rule.pk).exists()


def test_plan_limit_blocks_another_rule_and_says_why(
    owner_client: Client, connection: Connection, account: Account
) -> None:
    account.tier = Tier.FREE  # two rules per connection, both used
    account.save()
    response = owner_client.post(
        step("setup_rules", connection), {"op": "add_rule", "direction": "a_to_b"}
    )
    assert response.status_code == 400
    assert "Your plan allows 2 rules per connection" in response.content.decode()
    assert connection.rules.count() == 2


def test_options_are_saved(owner_client: Client, connection: Connection) -> None:
    response = owner_client.post(
        step("setup_options", connection),
        {
            "name": "Renamed",
            "avoid_duplicates": "on",
            "deletions_a_to_b": "trash_tag",
            "deletions_b_to_a": "off",
            "deletion_review": "on",
            "trash_tag": "gone",
            "unsubscribes": "tag",
            "unsubscribe_tag": "unsub",
            "conflict_policy": "a_wins",
            "interval_minutes": "30",
            "default_phone_country": "be",
        },
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    assert (connection.name, connection.deletions_a_to_b, connection.deletion_review) == (
        "Renamed",
        "trash_tag",
        True,
    )
    assert (connection.conflict_policy, connection.default_phone_country) == ("a_wins", "BE")


def test_options_refuse_an_interval_below_the_plan(
    owner_client: Client, connection: Connection, account: Account
) -> None:
    account.tier = Tier.FREE
    account.save()
    response = owner_client.post(
        step("setup_options", connection),
        {
            "name": "x",
            "deletions_a_to_b": "off",
            "deletions_b_to_a": "off",
            "trash_tag": "d",
            "unsubscribes": "off",
            "unsubscribe_tag": "u",
            "conflict_policy": "a_wins",
            "interval_minutes": "5",
        },
    )
    assert response.status_code == 400
    assert "Your plan allows an interval of 60 minutes or more." in response.content.decode()


def add_pair(
    client: Client, connection: Connection, a: str, b: str, direction: str = "both"
) -> Any:
    return client.post(
        step("setup_mapping", connection),
        {"op": "add", "a_field": a, "b_field": b, "direction": direction, "transform": ""},
        follow=True,
    )


def test_mapping_shows_default_pairs_locked(owner_client: Client, connection: Connection) -> None:
    page = owner_client.get(step("setup_mapping", connection)).content.decode()
    assert "default, locked" in page


def test_custom_pair_is_added_and_can_be_disabled_and_removed(
    owner_client: Client, connection: Connection
) -> None:
    add_pair(owner_client, connection, "notes", "company")
    pair = FieldMapping.objects.get(connection=connection, a_field="notes")
    assert (pair.b_field, pair.direction, pair.is_default) == ("company", "both", False)
    owner_client.post(step("setup_mapping", connection), {"op": "toggle", "pair": pair.pk})
    pair.refresh_from_db()
    assert pair.enabled is False
    owner_client.post(step("setup_mapping", connection), {"op": "delete", "pair": pair.pk})
    assert not FieldMapping.objects.filter(pk=pair.pk).exists()


def test_default_pairs_cannot_be_removed(owner_client: Client, connection: Connection) -> None:
    pair = connection.mappings.get(is_default=True)
    owner_client.post(step("setup_mapping", connection), {"op": "delete", "pair": pair.pk})
    assert FieldMapping.objects.filter(pk=pair.pk).exists()


def test_pair_of_incompatible_types_is_refused_with_the_reason(
    owner_client: Client, connection: Connection
) -> None:
    response = add_pair(owner_client, connection, "tags", "deleted_marker")
    assert "the types are incompatible" in response.content.decode()
    assert not FieldMapping.objects.filter(a_field="tags", b_field="deleted_marker").exists()


def test_pair_that_can_flow_one_way_only_is_refused_two_way_and_kept_one_way(
    owner_client: Client, connection: Connection
) -> None:
    """The same refusal as the API's and the ops console's (sync/setup.py check_pair)."""
    response = add_pair(owner_client, connection, "phone", "notes")
    assert "can only flow A → B" in response.content.decode()
    assert not FieldMapping.objects.filter(connection=connection, a_field="phone").exists()
    add_pair(owner_client, connection, "phone", "notes", direction="a_to_b")
    pair = FieldMapping.objects.get(connection=connection, a_field="phone", b_field="notes")
    assert pair.direction == "a_to_b"


def test_plan_without_custom_mappings_refuses_them(
    owner_client: Client, connection: Connection, account: Account
) -> None:
    account.tier = Tier.FREE
    account.save()
    page = owner_client.get(step("setup_mapping", connection)).content.decode()
    assert "Your plan does not include custom field mappings" in page
    add_pair(owner_client, connection, "notes", "company")
    assert not FieldMapping.objects.filter(connection=connection, is_default=False).exists()


def test_users_are_linked_automatically_by_email_then_name(
    owner_client: Client, connection: Connection
) -> None:
    owner_client.post(step("setup_users", connection), {"op": "auto"})
    links = {(link.a_user_id, link.b_user_id, link.auto) for link in UserLink.objects.all()}
    assert links == {("u1", "u1", True), ("u2", "u2", True)}


def test_users_can_be_linked_by_hand(owner_client: Client, connection: Connection) -> None:
    owner_client.post(
        step("setup_users", connection), {"op": "save", "user_u1": "u2", "user_u2": ""}
    )
    link = UserLink.objects.get()
    assert (link.a_user_id, link.b_user_id, link.auto) == ("u1", "u2", False)


def test_default_users_are_saved_and_must_be_users_of_their_side(
    owner_client: Client, connection: Connection
) -> None:
    url = step("setup_users", connection)
    page = owner_client.get(url).content.decode()
    assert "Automatic link" in page and 'name="default_user_b"' in page
    refused = owner_client.post(url, {"op": "save", "default_user_b": "nobody"})
    assert refused.status_code == 400
    owner_client.post(url, {"op": "save", "default_user_b": "u2", "default_user_a": "u1"})
    connection.refresh_from_db()
    assert (connection.default_user_a, connection.default_user_b) == ("u1", "u2")


def test_one_b_user_cannot_be_linked_twice(owner_client: Client, connection: Connection) -> None:
    response = owner_client.post(
        step("setup_users", connection), {"op": "save", "user_u1": "u1", "user_u2": "u1"}
    )
    assert response.status_code == 400
    assert not UserLink.objects.exists()


def test_preview_runs_the_dry_run_and_shows_its_counts_and_samples(
    owner_client: Client, draft: Connection
) -> None:
    owner_client.post(step("setup_preview", draft))  # queued; tasks run inline in tests
    assert draft.runs.filter(trigger="preview", dry_run=True).count() == 1
    draft.refresh_from_db()
    assert draft.state == "previewed"
    SyncRun.objects.create(
        connection=draft,
        trigger="preview",
        dry_run=True,
        status="succeeded",
        preview={
            "counts": {"a_to_b": {"create": 3}, "b_to_a": {"skip": 1}},
            "samples": {
                "a_to_b": {"create": [{"label": "ann@x.test", "changes": {}, "reason": ""}]},
                "b_to_a": {"skip": [{"label": "Bob", "reason": "no email address"}]},
            },
        },
    )
    page = owner_client.get(step("setup_preview", draft)).content.decode()
    assert "ann@x.test" in page
    assert "Fake app · Acme CRM → Fake app · Acme newsletter" in page and "Would create" in page
    assert "Left out" in page and "no email address" in page
    assert "Start syncing" in page


def test_start_begins_the_initial_sync_now(
    owner_client: Client, draft: Connection, engine_calls: EngineCalls
) -> None:
    response = owner_client.post(reverse("web:connection_start", args=[draft.pk]))
    assert response["Location"] == reverse("web:connection", args=[draft.pk])
    draft.refresh_from_db()
    assert draft.state == "initial_sync"
    assert draft.next_run_at is not None
    assert engine_calls.calls == [("enqueue_run", (draft, "initial"), {})]


def test_an_active_connection_is_not_started_again(
    owner_client: Client, connection: Connection, engine_calls: EngineCalls
) -> None:
    owner_client.post(reverse("web:connection_start", args=[connection.pk]))
    assert engine_calls.calls == []
