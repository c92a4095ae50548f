"""The new-connection wizard, also used to edit a running connection's configuration:
apps → what and which way → elements → rules → options → field mapping → users →
preview → start.

The connection exists as a *draft* from the first step on, so every step saves to the
database and the user can leave and come back; starting it switches it to initial sync.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from connectors.base import ConnectorError, VendorUser
from sync import lifecycle, setup, users
from sync.models import (
    PRIMARY_ENTITY,
    ActionKind,
    AppAuthorization,
    Connection,
    FieldMapping,
    FilterKind,
    Operator,
    Rule,
    RuleAction,
    RuleFilter,
    RunStatus,
    SyncRun,
)
from sync.tenancy import get_scoped_or_404, scoped
from sync.web import describe, services
from sync.web.forms import (
    ActionForm,
    ConnectionAppsForm,
    FilterForm,
    MappingForm,
    OptionsForm,
    RuleForm,
    ScopesForm,
)
from sync.web.tenant import require_manager, tenant_required
from sync.web.views.common import form_status, get_connection, side_labels, steps_context
from sync.web.views.connections import PHASES, transition

logger = logging.getLogger(__name__)

DIRECTIONS = (("a_to_b", "A → B"), ("b_to_a", "B → A"))


def direction_titles(connection: Connection) -> dict[str, str]:
    a_label, b_label = side_labels(connection)
    return {"a_to_b": f"{a_label} → {b_label}", "b_to_a": f"{b_label} → {a_label}"}


def synced_directions(connection: Connection) -> list[str]:
    return [d for d, _ in DIRECTIONS if connection.syncs(d)]


def _page(
    request: HttpRequest,
    connection: Connection,
    step: str,
    template: str,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    a_label, b_label = side_labels(connection)
    base = {"connection": connection, "a_label": a_label, "b_label": b_label}
    base.update(steps_context(connection, step, skip=skipped_steps(connection)))
    base.update(context)
    return render(request, template, base, status=status)


def _after_save(request: HttpRequest, connection: Connection, step: str) -> HttpResponse:
    """Go on to the next step ("Save and continue") or stay ("Save")."""
    context = steps_context(connection, step, skip=skipped_steps(connection))
    if request.POST.get("continue") and context["next_step"]:
        return redirect(f"web:{context['next_step']}", pk=connection.pk)
    return redirect(f"web:{step}", pk=connection.pk)


# --- Step 1: the two apps -------------------------------------------------------------


@tenant_required
def connection_new(request: HttpRequest) -> HttpResponse:
    """Choose app 1 and app 2 among the account's authorizations (or authorize one)."""
    require_manager(request)
    account = request.tenant.account
    authorizations = scoped(AppAuthorization, account).order_by("label")
    initial = {
        k: request.GET[k] for k in ("a_authorization", "b_authorization") if k in request.GET
    }
    form = ConnectionAppsForm(request.POST or None, authorizations=authorizations, initial=initial)
    if request.method == "POST" and form.is_valid():
        minimum = account.limit("min_interval_minutes")
        connection = Connection(
            account=account,
            name=form.cleaned_data["name"],
            a_authorization=form.cleaned_data["a_authorization"],
            b_authorization=form.cleaned_data["b_authorization"],
            interval_minutes=max(15, minimum),
        )
        setup.apply_pair_defaults(connection)  # e.g. Salesforce prevails over ForceManager
        try:
            setup.check_plan(connection)
        except setup.Invalid as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            try:
                connection.full_clean()
            except ValidationError as exc:
                # One app on both sides is fine if two different lists are chosen next.
                problems = {k: v for k, v in exc.message_dict.items() if k != "b_scope"}
                if problems:
                    raise ValidationError(problems) from exc
            connection.save()
            return redirect("web:setup_scopes", pk=connection.pk)
    return render(
        request,
        "web/wizard/apps.html",
        {
            "form": form,
            "has_authorizations": authorizations.exists(),
            "next_here": reverse("web:connection_new"),
        },
        status=400 if request.method == "POST" else 200,
    )


# --- Step 2: scopes and direction -----------------------------------------------------


@tenant_required
def setup_scopes(request: HttpRequest, pk: int) -> HttpResponse:
    """What to sync on each side (connector.scopes()) and in which direction."""
    connection = get_connection(request, pk)
    require_manager(request)
    errors: list[str] = []
    choices: dict[str, list[tuple[str, str]]] = {}
    names: dict[str, dict[str, str]] = {}
    for side in ("a", "b"):
        scopes, error = services.authorization_scopes(connection.authorization(side))
        if error:
            errors.append(f"{connection.authorization(side).label}: {error}")
        choices[side] = [(s.id, f"{s.label} ({describe.scope_kind_label(s.kind)})") for s in scopes]
        names[side] = {s.id: s.label for s in scopes}
    form = ScopesForm(
        request.POST or None,
        a_choices=choices["a"],
        b_choices=choices["b"],
        labels=side_labels(connection),
        initial={
            "a_scope": connection.a_scope,
            "b_scope": connection.b_scope,
            "direction": connection.direction,
        },
    )
    if request.method == "POST" and form.is_valid():
        connection.a_scope = form.cleaned_data["a_scope"] or ""
        connection.b_scope = form.cleaned_data["b_scope"] or ""
        connection.a_scope_label = names["a"].get(connection.a_scope, "")[:200]
        connection.b_scope_label = names["b"].get(connection.b_scope, "")[:200]
        connection.direction = form.cleaned_data["direction"]
        try:
            connection.full_clean()
        except ValidationError as exc:
            for name, words in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, words)
            return _page(
                request,
                connection,
                "setup_scopes",
                "web/wizard/scopes.html",
                {"form": form, "vendor_errors": errors},
                status=400,
            )
        connection.save()
        setup.ensure_default_rules(connection)
        error = setup.ensure_default_mappings(connection)
        if error:
            messages.warning(
                request,
                gettext("The default field pairs could not be made: %(error)s") % {"error": error},
            )
        return _after_save(request, connection, "setup_scopes")
    return _page(
        request,
        connection,
        "setup_scopes",
        "web/wizard/scopes.html",
        {"form": form, "vendor_errors": errors},
        status=400 if request.method == "POST" else 200,
    )


# --- Step 2b: elements (entity types beyond contacts, issue 17) -----------------------


def entities_offered(connection: Connection) -> bool:
    """Whether both apps offer an entity type beyond contacts, so the Elements step has
    something to choose; remembered a few minutes per connection and scopes, as
    ``owners_on_both_sides`` is (every wizard page's step list asks)."""
    key = (
        f"sync:entities-offered:{connection.pk}:{connection.a_authorization_id}:"
        f"{connection.b_authorization_id}:{connection.a_scope}:{connection.b_scope}:"
        f"{connection.updated_at.timestamp() if connection.updated_at else ''}"
    )
    known = cache.get(key)
    if known is None:
        try:
            known = bool(setup.entity_choices(connection))
        except ConnectorError:
            known = connection.entities.exists()  # the page says what went wrong
        cache.set(key, known, timeout=300)
    return bool(known)


def _entity_rows(
    choices: list[setup.EntityChoice], posted: Any, errors: dict[str, str]
) -> list[dict[str, Any]]:
    """The Elements step's rows: each choice with what the form shows checked, which
    direction is selected (as posted when the page comes back with errors) and what is
    wrong with it."""
    rows = []
    for choice in choices:
        checked, direction = choice.synced or choice.mandatory, choice.direction
        if posted is not None:
            checked = choice.mandatory or bool(posted.get(f"entity_{choice.entity}"))
            direction = posted.get(f"direction_{choice.entity}") or direction
        rows.append(
            {
                "choice": choice,
                "checked": checked and choice.allowed,
                "direction": direction,
                "error": errors.get(choice.entity, ""),
            }
        )
    return rows


@tenant_required
def setup_entities(request: HttpRequest, pk: int) -> HttpResponse:
    """Which elements sync besides the contacts, each two-way or one way: those both apps
    offer, companies mandatory where both have them, those the plan lacks greyed and
    refused. Saving goes through sync/setup.py (``choose_entity``, ``drop_entity``),
    which the API and the ops console use too."""
    connection = get_connection(request, pk)
    require_manager(request)
    errors: dict[str, str] = {}
    vendor_error = ""
    try:
        choices = setup.entity_choices(connection)
    except ConnectorError as exc:
        choices, vendor_error = [], str(exc)
    posted = request.POST if request.method == "POST" else None
    if posted is not None and not vendor_error:
        chosen: dict[str, str] = {}
        for choice in choices:
            if choice.mandatory or posted.get(f"entity_{choice.entity}"):
                direction = posted.get(f"direction_{choice.entity}") or choice.direction
                try:
                    setup.check_entity(connection, choice.entity, direction)
                except setup.Invalid as exc:
                    errors[choice.entity] = exc.message
                chosen[choice.entity] = direction
        if not errors:
            for choice in choices:
                try:
                    if choice.entity in chosen:
                        setup.choose_entity(connection, choice.entity, chosen[choice.entity])
                    elif choice.synced:
                        setup.drop_entity(connection, choice.entity)
                except setup.Invalid as exc:
                    errors[choice.entity] = exc.message
        if not errors:
            messages.success(request, gettext("Elements saved."))
            return _after_save(request, connection, "setup_entities")
    return _page(
        request,
        connection,
        "setup_entities",
        "web/wizard/entities.html",
        {
            "rows": _entity_rows(choices, posted if errors else None, errors),
            "directions": setup.direction_choices(connection),
            "contacts_direction": direction_titles(connection).get(
                connection.direction, connection.get_direction_display()
            ),
            "vendor_error": vendor_error,
            "errors": errors,
        },
        status=400 if errors else 200,
    )


# --- Per element: the mapping and rules steps show one entity at a time -----------------


def entity_of(request: HttpRequest, connection: Connection) -> str:
    """The element a mapping or rules page is about (``?entity=company``): the contacts
    by default, else one the connection syncs (404 for any other)."""
    entity = request.GET.get("entity") or PRIMARY_ENTITY
    if entity != PRIMARY_ENTITY and not connection.entities.filter(entity=entity).exists():
        raise Http404("This connection does not sync that element.")
    return entity


def entity_syncs(connection: Connection, entity: str, direction: str) -> bool:
    """Whether ``entity`` of ``connection`` syncs in ``direction`` (its own direction for
    an element beyond the contacts)."""
    if entity == PRIMARY_ENTITY:
        return connection.syncs(direction)
    row = connection.entities.filter(entity=entity).first()
    return row is not None and row.syncs(direction)


def _entity_switch(connection: Connection, step: str, entity: str) -> dict[str, Any]:
    """The element switcher of a mapping or rules page, and ``here``, the page's own
    address for its forms (the element kept in the query)."""

    def url(name: str) -> str:
        base = reverse(f"web:{step}", args=[connection.pk])
        return base if name == PRIMARY_ENTITY else f"{base}?{urlencode({'entity': name})}"

    names = [
        PRIMARY_ENTITY,
        *connection.entities.filter(enabled=True).values_list("entity", flat=True),
    ]
    if entity not in names:
        names.append(entity)  # a disabled element opened by its address
    tabs = [
        {"label": setup.entity_label(name), "url": url(name), "current": name == entity}
        for name in names
    ]
    return {
        "entity": entity,
        "entity_label": setup.entity_label(entity),
        "entity_tabs": tabs if len(tabs) > 1 else [],
        "here": url(entity),
    }


# --- Step 3: rules ----------------------------------------------------------------------


def _owners(connection: Connection, side: str, app: setup.SideApp) -> list[VendorUser] | None:
    """The users of ``side`` where its app has an owner field (None where it has none,
    or they could not be read: then owner kinds are judged without them)."""
    if app.error or app.common("owner") is None:
        return None
    info = services.side_info(connection, side, fields=False, users=True)
    return None if info.error else info.users


def _statuses(app: setup.SideApp) -> list[str]:
    spec = None if app.error else app.common("status")
    return list(spec.choices) if spec is not None and spec.choices else []


@dataclass
class RulesSides:
    """What the rules editor offers on each side, read once per request."""

    apps: dict[str, setup.SideApp]
    owners: dict[str, list[VendorUser] | None]

    @classmethod
    def read(cls, connection: Connection, entity: str = PRIMARY_ENTITY) -> RulesSides:
        apps = setup.side_apps(connection, entity)
        return cls(apps, {side: _owners(connection, side, apps[side]) for side in setup.SIDES})


def _rules_context(
    connection: Connection, sides: RulesSides | None = None, entity: str = PRIMARY_ENTITY
) -> dict[str, Any]:
    limit = connection.account.limit("max_rules_per_connection")
    count = connection.rules.count()
    sides = sides or RulesSides.read(connection, entity)
    apps = sides.apps
    a_label, b_label = side_labels(connection)
    filter_words, action_words = dict(FilterKind.choices), dict(ActionKind.choices)
    groups = []
    for direction, _arrow in DIRECTIONS:
        if not entity_syncs(connection, entity, direction):
            continue
        source, target = setup.ENDS[direction]
        title = f"{a_label} → {b_label}" if direction == "a_to_b" else f"{b_label} → {a_label}"
        filter_kinds, action_kinds = setup.offered_kinds(direction, apps)
        rules = list(
            connection.rules.filter(direction=direction, entity=entity).prefetch_related(
                "filters", "actions"
            )
        )
        _name_owners(rules, sides.owners[source], sides.owners[target])
        groups.append(
            {
                "direction": direction,
                "title": title,
                "rules": rules,
                "source_list": f"fields-{source}",
                "target_list": f"fields-{target}",
                # Only what the side's app can do (sync/setup.py decides).
                "filter_kinds": [(k, filter_words[k]) for k in filter_kinds],
                "action_kinds": [(k, action_words[k]) for k in action_kinds],
                "source_owners": sides.owners[source] or [],
                "target_owners": sides.owners[target] or [],
                "source_statuses": _statuses(apps[source]),
                "target_statuses": _statuses(apps[target]),
            }
        )
    return {
        "groups": groups,
        "rule_limit": limit,
        "rule_count": count,
        "at_limit": count >= limit,
        "a_fields": apps["a"].fields,
        "b_fields": apps["b"].fields,
        "operators": Operator.choices,
        "vendor_error": apps["a"].error or apps["b"].error,
        "kept": {},
        **_entity_switch(connection, "setup_rules", entity),
    }


def _name_owners(
    rules: list[Rule], source: list[VendorUser] | None, target: list[VendorUser] | None
) -> None:
    """Give each owner filter and action a ``shown_value``: the user's name, not its id."""
    source_names = {u.id: u.name for u in source or []}
    target_names = {u.id: u.name for u in target or []}
    for rule in rules:
        for item in rule.filters.all():
            names = source_names if item.kind == FilterKind.OWNED_BY else {}
            item.shown_value = names.get(item.value, item.value)  # type: ignore[attr-defined]
        for action in rule.actions.all():
            names = target_names if action.kind == ActionKind.SET_OWNER else {}
            action.shown_value = names.get(action.value, action.value)  # type: ignore[attr-defined]


# Which input carries the value of a filter or action kind (owner and status values are
# picked from lists; tags, lists and field values are typed).
PICKED_VALUE = {
    FilterKind.OWNED_BY: "owner",
    ActionKind.SET_OWNER: "owner",
    FilterKind.STATUS: "status",
    ActionKind.SET_STATUS: "status",
}


def _posted_item(request: HttpRequest) -> Any:
    """The POSTed filter or action with its value taken from the input its kind uses."""
    data = request.POST.copy()
    picked = PICKED_VALUE.get(data.get("kind", ""))
    if picked and picked in data:
        data["value"] = data.get(picked, "")
    return data


@tenant_required
def setup_rules(request: HttpRequest, pk: int) -> HttpResponse:
    """The rules editor: IF filters / THEN actions per direction, within the plan's limit.
    Every change is one POST naming its ``op``; htmx swaps the editor in place."""
    connection = get_connection(request, pk)
    require_manager(request)
    entity = entity_of(request, connection)
    if request.method != "POST":
        return _page(
            request,
            connection,
            "setup_rules",
            "web/wizard/rules.html",
            _rules_context(connection, entity=entity),
        )
    op = request.POST.get("op", "")
    problem: dict[str, Any] = {}
    sides: RulesSides | None = None
    if op == "add_rule":
        form = RuleForm(request.POST)
        if form.is_valid() and entity_syncs(connection, entity, form.cleaned_data["direction"]):
            rule = Rule(
                connection=connection,
                entity=entity,
                direction=form.cleaned_data["direction"],
                name=form.cleaned_data["name"],
                order=connection.rules.count(),
            )
            try:
                rule.full_clean()
                rule.save()
            except ValidationError as exc:
                problem = {"rule_error": " ".join(exc.messages)}
        else:
            problem = {"rule_error": gettext("Choose a direction this connection syncs.")}
    elif op == "delete_rule":
        get_scoped_or_404(
            Rule.objects.filter(connection=connection),
            connection.account,
            pk=request.POST.get("rule"),
        ).delete()
    elif op in ("add_filter", "add_action"):
        rule = get_scoped_or_404(
            Rule.objects.filter(connection=connection),
            connection.account,
            pk=request.POST.get("rule"),
        )
        data = _posted_item(request)
        form = (FilterForm if op == "add_filter" else ActionForm)(data)
        if form.is_valid():
            sides = RulesSides.read(connection, rule.entity)
            source, target = setup.ENDS[rule.direction]
            check = setup.check_filter if op == "add_filter" else setup.check_action
            try:
                check(
                    form.cleaned_data["kind"],
                    form.cleaned_data["field"],
                    rule.direction,
                    sides.apps,
                    form.cleaned_data["value"],
                    sides.owners[source if op == "add_filter" else target],
                )
            except setup.Invalid as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        if form.is_valid():
            model = RuleFilter if op == "add_filter" else RuleAction
            model.objects.create(rule=rule, **form.cleaned_data)
        else:
            # The form comes back with what was chosen, and says what is wrong.
            problem = {
                "error_rule": rule.pk,
                "error_form": form,
                "error_op": op,
                "kept": data.dict(),
            }
    elif op in ("delete_filter", "delete_action"):
        model = RuleFilter if op == "delete_filter" else RuleAction
        get_scoped_or_404(
            model.objects.filter(rule__connection=connection),
            connection.account,
            pk=request.POST.get("item"),
        ).delete()
    elif op == "continue":
        return _after_save(request, connection, "setup_rules")
    if problem:
        context = _rules_context(connection, sides, entity)
        context.update(problem)
        return _page(
            request,
            connection,
            "setup_rules",
            "web/wizard/rules.html",
            context,
            status=form_status(request),
        )
    return redirect(_entity_switch(connection, "setup_rules", entity)["here"])


# --- Step 4: options --------------------------------------------------------------------


@tenant_required
def setup_options(request: HttpRequest, pk: int) -> HttpResponse:
    """Duplicates, deletions and review, unsubscribes, conflicts, interval, phones."""
    connection = get_connection(request, pk)
    require_manager(request)
    apps = setup.side_apps(connection)
    form = OptionsForm(request.POST or None, instance=connection, apps=apps)
    if request.method == "POST" and form.is_valid():
        # form.instance holds the posted values (unsaved): judge the changed ones.
        problems = setup.check_options(form.instance, form.changed_data, apps)
        for name, words in problems.items():
            form.add_error(name, words)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, gettext("Options saved."))
        return _after_save(request, connection, "setup_options")
    return _page(
        request,
        connection,
        "setup_options",
        "web/wizard/options.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


# --- Step 5: field mapping --------------------------------------------------------------


def _mapping_context(
    connection: Connection, form: MappingForm | None = None, entity: str = PRIMARY_ENTITY
) -> dict[str, Any]:
    apps = setup.side_apps(connection, entity)
    a_info, b_info = apps["a"], apps["b"]
    pairs = list(connection.mappings.filter(entity=entity))
    rows = []
    for pair in pairs:
        rows.append(
            {
                "pair": pair,
                "a_spec": a_info.spec(pair.a_field),
                "b_spec": b_info.spec(pair.b_field),
                # A pair made one-way says why (the types, or a read-only side).
                "one_way": setup.one_way_reason(pair, apps),
                "values": _value_tables(pair, apps),
            }
        )
    mapped_a = {p.a_field for p in pairs}
    mapped_b = {p.b_field for p in pairs}
    return {
        "rows": rows,
        "form": form or MappingForm(a_specs=a_info.fields, b_specs=b_info.fields),
        "custom_allowed": connection.account.limit("custom_mappings_allowed"),
        "unmapped_a": [f for f in a_info.fields if f.key not in mapped_a],
        "unmapped_b": [f for f in b_info.fields if f.key not in mapped_b],
        "vendor_error": a_info.error or b_info.error,
        "warnings": setup.mapping_warnings(connection, entity, apps),
        **_entity_switch(connection, "setup_mapping", entity),
    }


def _value_tables(pair: FieldMapping, apps: dict[str, setup.SideApp]) -> list[dict[str, Any]]:
    """A choice pair's value tables, one per direction it flows (its values by name, the
    tenant's choices, and the values each may become); none for a pair that copies."""
    values = setup.pair_value_map(pair, apps)
    if values is None:
        return []
    tables = []
    for side, direction in (("a", "a_to_b"), ("b", "b_to_a")):
        if pair.direction not in ("both", direction):
            continue
        target = "b" if side == "a" else "a"
        tables.append(
            {
                "direction": direction,
                "source": apps[side].label,
                "target": apps[target].label,
                "rows": values.rows(side),
                "targets": values.b_choices if side == "a" else values.a_choices,
            }
        )
    return tables


def _save_values(request: HttpRequest, connection: Connection, entity: str) -> None:
    """Store a choice pair's value tables as posted (``<direction>-<n>``: the value the
    n-th value of the direction's side becomes; blank: by name) through sync/setup.py."""
    pair = get_scoped_or_404(
        FieldMapping.objects.filter(connection=connection, entity=entity),
        connection.account,
        pk=request.POST.get("pair"),
    )
    apps = setup.side_apps(connection, entity)
    values = setup.pair_value_map(pair, apps)
    sources = {"a_to_b": values.a_choices, "b_to_a": values.b_choices} if values else {}
    posted = {
        direction: {
            value: request.POST.get(f"{direction}-{index}", "")
            for index, value in enumerate(choices)
            if f"{direction}-{index}" in request.POST
        }
        for direction, choices in sources.items()
    }
    # A direction not posted (the pair flows the other way only) keeps its choices.
    kept = {d: m for d, m in (pair.value_map or {}).items() if not posted.get(d)}
    try:
        setup.save_value_map(pair, {**kept, **{d: m for d, m in posted.items() if m}}, apps)
    except setup.Invalid as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Value translations saved."))


def _add_mapping(request: HttpRequest, connection: Connection, entity: str) -> MappingForm:
    """Validate and store a custom pair of ``entity`` through sync/setup.py; the form
    carries the refusal, in the words the API and the ops console use too."""
    apps = setup.side_apps(connection, entity)
    form = MappingForm(request.POST, a_specs=apps["a"].fields, b_specs=apps["b"].fields)
    if not connection.account.limit("custom_mappings_allowed"):
        form.add_error(
            None,
            gettext("Your plan does not include custom field mappings; upgrade to add them."),
        )
        return form
    if not form.is_valid():
        return form
    try:
        setup.add_pair(
            connection,
            form.cleaned_data["a_field"],
            form.cleaned_data["b_field"],
            form.cleaned_data["direction"],
            form.cleaned_data["transform"],
            apps,
            entity,
        )
    except setup.Invalid as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    return form


@tenant_required
def setup_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    """Default pairs (locked) and custom pairs: add, remove, enable, disable."""
    connection = get_connection(request, pk)
    require_manager(request)
    entity = entity_of(request, connection)
    if request.method != "POST":
        return _page(
            request,
            connection,
            "setup_mapping",
            "web/wizard/mapping.html",
            _mapping_context(connection, entity=entity),
        )
    op = request.POST.get("op", "")
    if op == "add":
        with transaction.atomic():
            form = _add_mapping(request, connection, entity)
        if form.errors:
            return _page(
                request,
                connection,
                "setup_mapping",
                "web/wizard/mapping.html",
                _mapping_context(connection, form, entity),
                status=form_status(request),
            )
    elif op in ("delete", "toggle"):
        pair = get_scoped_or_404(
            FieldMapping.objects.filter(connection=connection),
            connection.account,
            pk=request.POST.get("pair"),
        )
        if pair.is_default:
            messages.error(request, gettext("Default pairs are locked."))
        elif op == "delete":
            pair.delete()
        else:
            pair.enabled = not pair.enabled
            pair.save(update_fields=["enabled"])
    elif op == "values":
        _save_values(request, connection, entity)
    elif op == "defaults":
        error = setup.ensure_default_mappings(connection, entity=entity)
        if error:
            messages.error(
                request,
                gettext("The default pairs could not be made: %(error)s") % {"error": error},
            )
    elif op == "continue":
        return _after_save(request, connection, "setup_mapping")
    return redirect(_entity_switch(connection, "setup_mapping", entity)["here"])


# --- Step 6: user linking ---------------------------------------------------------------


def owners_on_both_sides(connection: Connection) -> bool:
    """Whether both sides' apps have an owner field, so the Users step has something to
    link; remembered a few minutes per connection and scopes (it costs two vendor calls,
    and every wizard page's step list asks)."""
    key = (
        f"sync:owners-both:{connection.pk}:{connection.a_authorization_id}:"
        f"{connection.b_authorization_id}:{connection.a_scope}:{connection.b_scope}:"
        f"{connection.updated_at.timestamp() if connection.updated_at else ''}"
    )
    known = cache.get(key)
    if known is None:
        apps = setup.side_apps(connection)
        known = all(apps[side].error or apps[side].common("owner") for side in setup.SIDES)
        cache.set(key, bool(known), timeout=300)
    return bool(known)


def skipped_steps(connection: Connection) -> set[str]:
    """Wizard steps with nothing to do for this connection."""
    skipped = set() if owners_on_both_sides(connection) else {"setup_users"}
    if not entities_offered(connection):
        skipped.add("setup_entities")
    return skipped


@tenant_required
def setup_users(request: HttpRequest, pk: int) -> HttpResponse:
    """Link owners of side A to owners of side B, automatically or by hand."""
    connection = get_connection(request, pk)
    require_manager(request)
    if not owners_on_both_sides(connection):
        # Nothing to link: the step is left out of the wizard; its page says why.
        if request.method == "POST":
            return _after_save(request, connection, "setup_users")
        return _page(
            request,
            connection,
            "setup_users",
            "web/wizard/users.html",
            {"rows": [], "no_owners": True},
        )
    team = users.read_team(connection)
    b_by_id = team.by_id("b")
    current = {link.a_user_id: link for link in connection.user_links.all()}
    suggested = users.suggest_links(team.users["a"], team.users["b"])
    error = ""
    if request.method == "POST":
        op = request.POST.get("op", "save")
        defaults = {side: request.POST.get(f"default_user_{side}", "") for side in users.SIDES}
        try:
            for side, user_id in defaults.items():
                users.check_default_user(user_id, side, team)
            if op == "auto":
                saved = users.link_automatically(connection, team)
            else:
                chosen = {u.id: request.POST.get(f"user_{u.id}", "") for u in team.users["a"]}
                chosen = {a: b for a, b in chosen.items() if b in b_by_id}
                saved = users.save_links(connection, chosen, team, suggested)
        except users.Invalid as exc:
            error = str(exc)
        else:
            connection.default_user_a, connection.default_user_b = defaults["a"], defaults["b"]
            connection.save(update_fields=["default_user_a", "default_user_b", "updated_at"])
            messages.success(
                request,
                ngettext("%(count)d user link saved.", "%(count)d user links saved.", len(saved))
                % {"count": len(saved)},
            )
            return _after_save(request, connection, "setup_users")
    rows = []
    for user in team.users["a"]:
        link = current.get(user.id)
        rows.append(
            {
                "user": user,
                "linked": link.b_user_id if link else "",
                "auto": link.auto if link else False,
                "suggested": suggested.get(user.id, ""),
            }
        )
    return _page(
        request,
        connection,
        "setup_users",
        "web/wizard/users.html",
        {
            "rows": rows,
            "a_users": team.users["a"],
            "b_users": team.users["b"],
            "default_user_a": connection.default_user_a,
            "default_user_b": connection.default_user_b,
            "error": error,
            "vendor_error": team.error,
        },
        status=400 if error else 200,
    )


# --- Step 7: preview and start ----------------------------------------------------------


def latest_preview(connection: Connection) -> SyncRun | None:
    return connection.runs.filter(dry_run=True).order_by("-created_at", "-pk").first()


def _queued_key(connection: Connection, latest: SyncRun | None) -> str:
    """Cache key saying "a preview was queued after ``latest``". The worker creates the
    run only when it takes the task, so until then only this marker says one is on its
    way. Keyed by the latest run, so ``cache.add`` lets one of two simultaneous POSTs
    through, and the marker stops mattering once the new run exists."""
    return f"sync:preview-queued:{connection.pk}:{latest.pk if latest else 0}"


@dataclass
class PreviewStatus:
    """Where the connection's preview stands. ``state``: "none" (never run), "queued",
    "running", "stale" (queued or running for longer than the lease: its worker died)
    or "done"; ``run``: the dry run in question (None while only queued); ``elapsed``:
    seconds since it was queued or started."""

    state: str
    run: SyncRun | None = None
    elapsed: float = 0.0

    @property
    def live(self) -> bool:
        return self.state in ("queued", "running")


def preview_status(connection: Connection) -> PreviewStatus:
    """The latest dry run decides, unless a newer one is queued and no worker has made
    its run yet (the cache marker). A running dry run records its phase and progress
    as a real run does (``preview_phase`` words them)."""
    now = timezone.now()
    lease = settings.SYNC_LEASE_SECONDS
    run = latest_preview(connection)
    if run is not None and run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
        elapsed = (now - (run.started_at or run.created_at)).total_seconds()
        return PreviewStatus("stale" if elapsed > lease else run.status, run, elapsed)
    queued_at = cache.get(_queued_key(connection, run))
    if queued_at is not None:
        elapsed = max(0.0, now.timestamp() - queued_at)
        return PreviewStatus("stale" if elapsed > lease else "queued", None, elapsed)
    return PreviewStatus("done" if run else "none", run)


def preview_phase(run: SyncRun | None) -> str:
    """What a running preview is doing, in words: its phase and how far it got."""
    if run is None or not run.phase:
        return ""
    title = dict(PHASES).get(run.phase, run.phase)
    if run.phase == "write":
        title = gettext("Counting the changes")  # a dry run writes nothing: it tallies
    done = int(((run.progress or {}).get(run.phase) or {}).get("done") or 0)
    if not done:
        return str(title)
    so_far = ngettext(
        "%(phase)s: %(count)d contact so far", "%(phase)s: %(count)d contacts so far", done
    )
    return so_far % {"phase": title, "count": done}


def elapsed_words(seconds: float) -> str:
    """How long a preview has been going, in words: 42 s, 3 min 05 s, 1 h 02 min."""
    whole = int(seconds)
    if whole < 60:
        return gettext("%(seconds)d s") % {"seconds": whole}
    if whole < 3600:
        return gettext("%(minutes)d min %(seconds)02d s") % {
            "minutes": whole // 60,
            "seconds": whole % 60,
        }
    return gettext("%(hours)d h %(minutes)02d min") % {
        "hours": whole // 3600,
        "minutes": whole % 3600 // 60,
    }


def _preview_context(connection: Connection) -> dict[str, Any]:
    status = preview_status(connection)
    ended = status.run if status.state == "done" else None
    return {
        "status": status,
        "run": status.run,
        "elapsed": elapsed_words(status.elapsed),
        "phase": preview_phase(status.run) if status.state == "running" else "",
        "preview": preview_rows(ended.preview if ended else {}, direction_titles(connection)),
        "can_start": ended is not None and ended.status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL),
        # Its activation replaces a side's records: said, with the count, and consented to.
        "replacement": lifecycle.replacement(connection, count_live=False),
    }


def _queue_preview(request: HttpRequest, connection: Connection) -> None:
    """Queue a dry run unless one is already on its way; a message says which."""
    busy = gettext(
        "A preview of this connection is already queued or running; its result appears here."
    )
    status = preview_status(connection)
    if status.live:
        messages.info(request, busy)
        return
    key = _queued_key(connection, latest_preview(connection))
    if status.state == "stale":
        cache.delete(key)  # the lost one's marker: the new preview replaces it
    if not cache.add(key, timezone.now().timestamp(), timeout=2 * settings.SYNC_LEASE_SECONDS):
        messages.info(request, busy)
        return
    from sync.tasks import queue_preview

    try:
        queued = queue_preview(connection)
    except Exception as exc:  # the queue's failure is shown, not a server error
        cache.delete(key)
        logger.exception("could not queue a preview of connection %s", connection.pk)
        messages.error(
            request, gettext("The preview could not be started: %(error)s") % {"error": exc}
        )
        return
    if queued["run"] is not None:
        cache.delete(key)  # the run exists (tasks run inline): it says the rest
    messages.success(
        request, gettext("The preview has started; its result appears here when it is ready.")
    )


@tenant_required
def setup_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The dry run: what would be created, merged and updated on each side, with
    samples and the reasons for exclusions. POST queues a new one: with many contacts
    it takes minutes, longer than a request may."""
    connection = get_connection(request, pk)
    require_manager(request)
    if request.method == "POST":
        _queue_preview(request, connection)
        return redirect("web:setup_preview", pk=connection.pk)
    return _page(
        request,
        connection,
        "setup_preview",
        "web/wizard/preview.html",
        _preview_context(connection),
    )


@tenant_required
def setup_preview_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The preview step's live part, polled by htmx while the dry run is queued or
    running; the last poll brings the result."""
    connection = get_connection(request, pk)
    require_manager(request)
    return _page(
        request,
        connection,
        "setup_preview",
        "web/wizard/_preview_status.html",
        _preview_context(connection),
    )


# How the preview names what a run would do.
PREVIEW_WORDS = {
    "create": _("Would create"),
    "update": _("Would update"),
    "delete": _("Would delete"),
    "trash": _("Would tag as deleted"),
    "remove_from_list": _("Would remove from the list"),
    "mark": _("Would mark as deleted"),
    "tag": _("Would tag"),
    "unsubscribe": _("Would unsubscribe"),
    "skip": _("Left out"),
    "conflict": _("Conflicts (settled by the policy)"),
    "error": _("Would fail"),
}


def preview_rows(preview: dict[str, Any], titles: dict[str, str]) -> list[dict[str, Any]]:
    """SyncRun.preview as rows: the engine stores ``{"counts": {direction: {action: n}},
    "samples": {direction: {action: [{label, record_id, changes, reason}]}}}``; each row
    is one direction and action, with up to 20 samples (their reasons explain what is
    left out)."""
    counts = (preview or {}).get("counts") or {}
    samples = (preview or {}).get("samples") or {}
    rows = []
    for direction, actions in counts.items():
        for action, count in (actions or {}).items():
            found = (samples.get(direction) or {}).get(action) or []
            rows.append(
                {
                    "group": titles.get(direction, direction),
                    "action": PREVIEW_WORDS.get(action, action),
                    "count": count,
                    "samples": [s if isinstance(s, dict) else {"label": s} for s in found][:20],
                }
            )
    return rows


@tenant_required
@require_POST
def connection_start(request: HttpRequest, pk: int) -> HttpResponse:
    """Start syncing: initial sync now, then on the interval (sync/lifecycle.py)."""
    return transition(request, pk, "start")
