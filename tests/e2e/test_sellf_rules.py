"""The IF filters and THEN actions Sellf users configure (seed 000), on the Sellf side of
a Sellf ↔ GetResponse connection, through both sandboxes and the real engine."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.sandbox.control import SandboxControl
from sync.models import Account, Rule, RuleAction, RuleFilter, Trigger

from .test_sellf_seed import Team, _gr_account, connect, getresponse, gr_list, make_team, run_ok


@pytest.fixture
def team(sandbox: SandboxControl, settings: Any) -> Team:
    return make_team(sandbox, settings)


def only_rule(connection: Any, direction: str) -> Rule:
    rule = connection.rules.get(direction=direction)
    connection.rules.exclude(pk=rule.pk).filter(direction=direction).delete()
    return rule


def test_sellf_filters_owner_status_and_custom_field_values(
    team: Team, sandbox: SandboxControl, account: Account
) -> None:
    energy = {"cf_industry_5f2a": "Energy"}
    team.add(
        first_name="Yes",
        last_name="Match",
        email="yes@x.example",
        user_id=team.giulia,
        prospect_status=2,
        custom_fields=energy,
    )
    team.add(
        first_name="Only",
        last_name="Lead",
        email="lead@x.example",
        user_id=team.giulia,
        prospect_status=0,
        custom_fields=energy,
    )
    team.add(
        first_name="Marco",
        last_name="Owns",
        email="marco@x.example",
        user_id=team.marco,
        prospect_status=2,
        custom_fields=energy,
    )
    team.add(
        first_name="Other",
        last_name="Industry",
        email="retail@x.example",
        user_id=team.giulia,
        prospect_status=2,
        custom_fields={"cf_industry_5f2a": "Retail"},
    )
    gr, list_id = getresponse(sandbox, account, "Filtered")
    auth = team.authorize(account, team.giulia, "Sellf (team)")
    auth.settings = {"user_id": "all"}
    auth.save()
    connection = connect(account, auth, gr, list_id)
    connection.a_scope = "people:all"
    connection.save()
    rule = only_rule(connection, "a_to_b")
    RuleFilter.objects.create(rule=rule, kind="owned_by", value=str(team.giulia))
    RuleFilter.objects.create(rule=rule, kind="status", value="customer")
    RuleFilter.objects.create(
        rule=rule, kind="field", field="custom:cf_industry_5f2a", value="energy"
    )
    run_ok(connection, trigger=Trigger.INITIAL, initial=True)
    assert set(gr_list(sandbox, gr)) == {"yes@x.example"}


def test_sellf_filter_already_exists_in_the_other_app_only_updates(
    team: Team, sandbox: SandboxControl, account: Account
) -> None:
    team.add(
        first_name="Known",
        last_name="Person",
        email="known@x.example",
        user_id=team.giulia,
        tags=["vip"],
    )
    team.add(first_name="New", last_name="Person", email="new@x.example", user_id=team.giulia)
    gr, list_id = getresponse(sandbox, account, "Existing")
    [seeded] = sandbox.seed("getresponse", _gr_account(sandbox, gr), 1, seed=9)["ids"]
    sandbox.action(
        "getresponse",
        "edit",
        account=_gr_account(sandbox, gr),
        contact=seeded,
        email="known@x.example",
        tags=[],
    )
    connection = connect(account, team.authorize(account, team.giulia, "Sellf"), gr, list_id)
    RuleFilter.objects.create(rule=only_rule(connection, "a_to_b"), kind="exists_in_other")
    only_rule(connection, "b_to_a").delete()
    connection.direction = "a_to_b"
    connection.save()
    run_ok(connection, trigger=Trigger.INITIAL, initial=True)
    listed = gr_list(sandbox, gr)
    assert set(listed) == {"known@x.example"}


def test_sellf_actions_tag_owner_status_and_field_values(
    team: Team, sandbox: SandboxControl, account: Account
) -> None:
    team.add(
        first_name="Anna",
        last_name="Verdi",
        email="anna@verdi.example",
        user_id=team.giulia,
        tags=["cold", "keep"],
        prospect_status=0,
    )
    gr, list_id = getresponse(sandbox, account, "Actions")
    account_id = _gr_account(sandbox, gr)
    [first, second] = sandbox.seed("getresponse", account_id, 2, seed=11)["ids"]
    sandbox.action(
        "getresponse",
        "edit",
        account=account_id,
        contact=first,
        email="anna@verdi.example",
        name="Anna Verdi",
        tags=[],
    )
    sandbox.action(
        "getresponse",
        "edit",
        account=account_id,
        contact=second,
        email="nuovo@x.example",
        name="Nuovo Contatto",
        tags=[],
    )
    auth = team.authorize(account, team.giulia, "Sellf (team)")
    connection = connect(account, auth, gr, list_id)
    connection.a_scope = "people:all"
    connection.save()
    rule = only_rule(connection, "b_to_a")
    for kind, field, value in (
        ("add_tag", "", "newsletter"),
        ("remove_tag", "", "cold"),
        ("set_owner", "", str(team.marco)),
        ("set_status", "", "prospect"),
        ("set_field", "custom:cf_industry_5f2a", "Media"),
        ("set_field", "title", "Reader"),
    ):
        RuleAction.objects.create(rule=rule, kind=kind, field=field, value=value)
    run_ok(connection, trigger=Trigger.INITIAL, initial=True)
    people = team.people()
    for email in ("anna@verdi.example", "nuovo@x.example"):
        person = people[email]
        assert "newsletter" in person["tags"] and "cold" not in person["tags"], person
        assert person["user_id"] == team.marco
        assert person["prospect_status"] == 1
        assert person["custom_fields"]["cf_industry_5f2a"] == "Media"
        assert person["title"] == "Reader"
    assert "keep" in people["anna@verdi.example"]["tags"]  # untouched tags stay
    assert run_ok(connection).writes == 0
