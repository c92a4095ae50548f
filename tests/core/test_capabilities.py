"""What an app cannot do is refused once (sync/setup.py), in the same words, by the
wizard, the REST API and the ops console: every filter, action, deletion mode and
unsubscribe mode on an app that lacks what it needs, a field that does not exist, and a
one-way-only pair stored two-way."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse

from sync.models import CONNECTION_OPTIONS, Connection, FieldMapping, RuleAction, RuleFilter
from tests.api.conftest import token_client
from tests.fakes.connector import FakeApp, FakeConnector
from tests.plugins.fake import make_fake_connection

INTERFACES = ["pages", "api", "admin"]
BARE = "Fake bare"  # the label of side B's authorization


@pytest.fixture
def connection(account: Any, fake_vendor: type[FakeConnector]) -> Connection:
    """Side A has everything; side B ("bare") has no tags, lists, subscription, owner or
    status field."""
    full = fake_vendor.make_app("full")
    bare: FakeApp = fake_vendor.make_app("bare", tags=False, lists=False, subscription=False)
    specs = bare.field_specs
    bare.field_specs = lambda: [  # type: ignore[method-assign]
        s for s in specs() if s.common not in ("owner", "status")
    ]
    connection = make_fake_connection(account, full, bare)
    connection.b_authorization.label = BARE
    connection.b_authorization.save()
    return connection


def no(what: str) -> str:
    return f"{BARE} has no {what}"


# (id, what is asked, its values, the refusal)
CASES: list[tuple[str, str, dict[str, Any], str]] = [
    # Filters read the source side: B in a B → A rule.
    ("filter-has-tag", "filter", {"kind": "has_tag", "value": "vip"}, no("tags, so “Has tag”")),
    ("filter-in-list", "filter", {"kind": "in_list", "value": "x"}, no("lists, so “Is in list”")),
    (
        "filter-owned-by",
        "filter",
        {"kind": "owned_by", "value": "u1"},
        no("owner field, so “Is owned by”"),
    ),
    ("filter-status", "filter", {"kind": "status", "value": "lead"}, no("status field")),
    (
        "filter-missing-field",
        "filter",
        {"kind": "field", "field": "shoe_size", "value": "42"},
        no("field “shoe_size”"),
    ),
    # Actions write on the target side: B in an A → B rule.
    ("action-add-tag", "action", {"kind": "add_tag", "value": "x"}, no("tags, so “Add tag”")),
    ("action-remove-tag", "action", {"kind": "remove_tag", "value": "x"}, no("tags")),
    ("action-add-to-list", "action", {"kind": "add_to_list", "value": "x"}, no("lists")),
    ("action-remove-from-list", "action", {"kind": "remove_from_list", "value": "x"}, no("lists")),
    ("action-set-owner", "action", {"kind": "set_owner", "value": "u1"}, no("owner field")),
    ("action-set-status", "action", {"kind": "set_status", "value": "lead"}, no("status field")),
    (
        "action-set-missing-field",
        "action",
        {"kind": "set_field", "field": "shoe_size", "value": "42"},
        no("field “shoe_size”"),
    ),
    (
        "action-set-on-create-missing-field",
        "action",
        {"kind": "set_field_on_create", "field": "shoe_size", "value": "42"},
        no("field “shoe_size”"),
    ),
    # Deletions on A act on B.
    (
        "deletion-trash-tag",
        "options",
        {"deletions_a_to_b": "trash_tag"},
        no("tags, so “Add the trash tag”"),
    ),
    (
        "deletion-remove-from-list",
        "options",
        {"deletions_a_to_b": "remove_from_list"},
        no("lists, so “Remove from the list”"),
    ),
    (
        "deletion-missing-marker-field",
        "options",
        {"deletions_a_to_b": "marker_field", "marker_field_b": "shoe_size"},
        no("field “shoe_size”"),
    ),
    ("unsubscribe-tag", "options", {"unsubscribes": "tag"}, no("tags, so “Add the unsubscribe")),
    (
        "unsubscribe-opt-out",
        "options",
        {"unsubscribes": "opt_out"},
        no("subscription status"),
    ),
    # Pairs: phone → text can only flow A → B; a field B does not have.
    (
        "pair-one-way-only-stored-two-way",
        "pair",
        {"a_field": "phone", "b_field": "notes", "direction": "both"},
        "can only flow A → B",
    ),
    (
        "pair-missing-field",
        "pair",
        {"a_field": "email", "b_field": "shoe_size", "direction": "both"},
        no("field “shoe_size”"),
    ),
]


def rule_of(connection: Connection, what: str) -> Any:
    """Filters are judged on a B → A rule (B is the source), actions on A → B."""
    return connection.rules.get(direction="b_to_a" if what == "filter" else "a_to_b")


def texts(value: Any) -> str:
    """All strings of a JSON error body, joined."""
    return json.dumps(value, ensure_ascii=False)


def through_pages(client: Client, connection: Connection, what: str, values: dict) -> str:
    if what in ("filter", "action"):
        data = {"op": f"add_{what}", "rule": rule_of(connection, what).pk, "operator": "equals"}
        response = client.post(reverse("web:setup_rules", args=[connection.pk]), data | values)
    elif what == "options":
        data = model_to_dict(connection, fields=["name", *CONNECTION_OPTIONS])
        data = {k: v for k, v in data.items() if v is not False}
        response = client.post(reverse("web:setup_options", args=[connection.pk]), data | values)
    else:
        data = {"op": "add", "transform": ""} | values
        response = client.post(reverse("web:setup_mapping", args=[connection.pk]), data)
    assert response.status_code == 400
    return response.content.decode()


def through_api(api: Any, connection: Connection, what: str, values: dict) -> str:
    url = f"/api/v1/connections/{connection.pk}/"
    if what in ("filter", "action"):
        rule = rule_of(connection, what)
        body: dict[str, Any] = {
            "rules": [{"direction": rule.direction, f"{what}s": [{"operator": "equals"} | values]}]
        }
        if what == "action":
            body["rules"][0].pop("actions")
            body["rules"][0]["actions"] = [values]
    elif what == "options":
        body = values
    else:
        body = {"mappings": [values]}
    response = api.patch(url, body, format="json")
    assert response.status_code == 400, response.content
    return texts(response.json())


def admin_form_data(response: Any) -> dict[str, Any]:
    """The POST an unchanged save of an admin change page sends: every form's values
    and the inline formsets' management forms."""
    data: dict[str, Any] = {}

    def add(form: Any) -> None:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, field in formset.management_form.fields.items():
            value = formset.management_form[name].value()
            data[formset.management_form.add_prefix(name)] = value if value is not None else ""
            del field
        for form in formset.forms:
            add(form)
    return data


def through_admin(client: Client, connection: Connection, what: str, values: dict) -> str:
    if what in ("filter", "action"):
        model = "rulefilter" if what == "filter" else "ruleaction"
        data = {"rule": rule_of(connection, what).pk, "operator": "equals"} | values
        response = client.post(reverse(f"admin:sync_{model}_add"), data)
    elif what == "options":
        url = reverse("admin:sync_connection_change", args=[connection.pk])
        data = admin_form_data(client.get(url)) | values
        response = client.post(url, data)
    else:
        data = {"connection": connection.pk, "order": 0, "transform": "", "enabled": "on"}
        response = client.post(reverse("admin:sync_fieldmapping_add"), data | values)
    assert response.status_code == 200  # the form again, with the refusal
    return response.content.decode()


def stored(connection: Connection) -> dict[str, Any]:
    """What could have been written by a refusal that let something through."""
    connection.refresh_from_db()
    return {
        "filters": RuleFilter.objects.filter(rule__connection=connection).count(),
        "actions": RuleAction.objects.filter(rule__connection=connection).count(),
        "custom pairs": FieldMapping.objects.filter(connection=connection, is_default=False)
        .values_list("a_field", "b_field", "direction")
        .count(),
        "options": {name: getattr(connection, name) for name in CONNECTION_OPTIONS},
    }


@pytest.mark.parametrize("interface", INTERFACES)
@pytest.mark.parametrize(
    ("what", "values", "refusal"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_what_the_app_cannot_do_is_refused_everywhere_alike(
    interface: str,
    what: str,
    values: dict[str, Any],
    refusal: str,
    connection: Connection,
    owner: Any,
    owner_client: Client,
    admin_client: Client,
) -> None:
    if what == "options" and "unsubscribes" in values:
        # The default (the unsubscribe tag) is judged only when changed: start elsewhere.
        other = "off" if values["unsubscribes"] != "off" else "tag"
        Connection.objects.filter(pk=connection.pk).update(unsubscribes=other)
    before = stored(connection)

    if interface == "pages":
        answer = through_pages(owner_client, connection, what, values)
    elif interface == "api":
        answer = through_api(token_client(owner, connection.account), connection, what, values)
    else:
        answer = through_admin(admin_client, connection, what, values)

    assert refusal in answer
    assert stored(connection) == before


def test_the_same_app_and_list_on_both_sides_is_refused(
    connection: Connection, owner: Any, owner_client: Client, admin_client: Client
) -> None:
    """A connection to itself, in the wizard's scopes step, the API and the ops console."""
    words = "Both sides are the same list of the same app"
    Connection.objects.filter(pk=connection.pk).update(
        b_authorization=connection.a_authorization, state="draft"
    )
    page = owner_client.post(
        reverse("web:setup_scopes", args=[connection.pk]),
        {"a_scope": "newsletter", "b_scope": "newsletter", "direction": "two_way"},
    )
    assert page.status_code == 400 and words in page.content.decode()
    api = token_client(owner, connection.account)
    answer = api.patch(
        f"/api/v1/connections/{connection.pk}/",
        {"a_scope": "newsletter", "b_scope": "newsletter"},
        format="json",
    )
    assert answer.status_code == 400 and words in texts(answer.json())
    url = reverse("admin:sync_connection_change", args=[connection.pk])
    data = admin_form_data(admin_client.get(url)) | {"a_scope": "x", "b_scope": "x"}
    assert words in admin_client.post(url, data).content.decode()
    connection.refresh_from_db()
    assert (connection.a_scope, connection.b_scope) == ("", "")


def test_a_pair_without_b_field_in_a_patch_is_a_400(connection: Connection, owner: Any) -> None:
    api = token_client(owner, connection.account)
    response = api.patch(
        f"/api/v1/connections/{connection.pk}/",
        {"mappings": [{"a_field": "notes"}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["mappings"]["0"]["b_field"] in (
        "This field is required.",
        ["This field is required."],
    )
