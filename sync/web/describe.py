"""Words the tenant pages use for what is stored as keys: a side as "Salesforce ·
Contacts · Acme", a rule as a sentence ("contacts that do not have the tag “vip”"),
a field pair by its fields' labels. One place, so the dashboard, the statistics and the
conflicts page say the same thing."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache

from connectors.registry import connector_class
from sync.models import (
    ActionKind,
    AppAuthorization,
    Connection,
    FilterKind,
    Operator,
    Rule,
    RuleAction,
    RuleFilter,
)

# Field labels read from a connector stay this long in the cache: a page shows them
# without one vendor call per view; a renamed custom field shows within minutes.
FIELD_LABELS_SECONDS = 300


def vendor_label(vendor: str) -> str:
    """The connector's display name; the raw key for a vendor no longer registered."""
    try:
        return str(connector_class(vendor).label)
    except (KeyError, ImportError, AttributeError):
        return vendor


def authorization_label(authorization: AppAuthorization) -> str:
    """ "Salesforce · admin@acme": the vendor's name before the label people gave it
    (kept once when the label already starts with it, e.g. "Sellf — Bob")."""
    vendor = vendor_label(authorization.vendor)
    label = authorization.label or ""
    if not label or label.lower() == vendor.lower():
        return vendor
    if label.lower().startswith(vendor.lower()):
        return label
    return f"{vendor} · {label}"


def side_label(connection: Connection, side: str) -> str:
    """ "Salesforce · Contacts · Acme": vendor, what is synced in it, which account."""
    authorization = connection.authorization(side)
    vendor = vendor_label(authorization.vendor)
    parts = [vendor]
    scope = connection.a_scope_label if side == "a" else connection.b_scope_label
    scope = scope or connection.scope(side)
    if scope:
        parts.append(scope)
    label = authorization.label or ""
    if label.lower().startswith(vendor.lower()):
        label = label[len(vendor) :].lstrip(" —-·:")
    if label:
        parts.append(label)
    return " · ".join(parts)


def field_labels(connection: Connection, side: str) -> dict[str, str]:
    """Field key → label of ``side``'s app (cached; empty when the app cannot be read,
    the pages then show the keys)."""
    from sync.web import services  # the connector seam of the pages

    authorization = connection.authorization(side)
    key = f"field-labels:{authorization.pk}:{connection.scope(side)}:{authorization.vendor}"
    labels = cache.get(key)
    if labels is None:
        info = services.side_info(connection, side, fields=True)
        labels = {spec.key: spec.label for spec in info.fields}
        if info.error:
            return labels
        cache.set(key, labels, FIELD_LABELS_SECONDS)
    return dict(labels)


def _field(labels: dict[str, str], key: str) -> str:
    """A field as a person names it; a composite "first+last" by its parts."""
    return " + ".join(labels.get(part, part) for part in key.split("+"))


def pair_labels(
    key: str, labels: dict[str, dict[str, str]], names: dict[str, str]
) -> dict[str, str]:
    """A pair key ("MailingCity|custom:city") as each side's field label."""
    a_field, _, b_field = key.partition("|")
    a, b = _field(labels["a"], a_field), _field(labels["b"], b_field or a_field)
    title = a if a == b else f"{a} ↔ {b}"
    return {"a": a, "b": b, "title": title, "a_app": names["a"], "b_app": names["b"]}


def _quoted(value: str) -> str:
    return f"“{value}”"


def describe_filter(item: RuleFilter, labels: dict[str, str]) -> str:
    """One condition as a sentence's part: "do not have the tag “vip”", "whose City is
    not empty"."""
    kind, value, negate = item.kind, item.value, item.negate
    if kind == FilterKind.HAS_TAG:
        return f"{'do not have' if negate else 'have'} the tag {_quoted(value)}"
    if kind == FilterKind.IN_LIST:
        return f"{'are not' if negate else 'are'} in the list {_quoted(value)}"
    if kind == FilterKind.OWNED_BY:
        return f"{'are not' if negate else 'are'} owned by {_quoted(value)}"
    if kind == FilterKind.STATUS:
        return f"{'do not have' if negate else 'have'} the status {_quoted(value)}"
    if kind == FilterKind.EXISTS_IN_OTHER:
        return f"{'do not exist' if negate else 'already exist'} in the other app"
    field = _field(labels, item.field) if item.field else "the field"
    words = Operator(item.operator).label if item.operator in Operator.values else item.operator
    if negate:
        words = {
            "equals": "does not equal",
            "does not equal": "equals",
            "contains": "does not contain",
            "is empty": "is not empty",
            "is not empty": "is empty",
            "is greater than": "is not greater than",
            "is less than": "is not less than",
        }.get(words, f"not {words}")
    if item.operator in (Operator.EMPTY, Operator.NOT_EMPTY):
        return f"whose {field} {words}"
    return f"whose {field} {words} {_quoted(value)}"


def describe_action(item: RuleAction, labels: dict[str, str], target: str) -> str:
    """One action: "add the tag “from_shop” in GetResponse · News"."""
    kind, value = item.kind, item.value
    field = _field(labels, item.field) if item.field else ""
    words = {
        ActionKind.ADD_TAG: f"add the tag {_quoted(value)}",
        ActionKind.REMOVE_TAG: f"remove the tag {_quoted(value)}",
        ActionKind.ADD_TO_LIST: f"add to the list {_quoted(value)}",
        ActionKind.REMOVE_FROM_LIST: f"remove from the list {_quoted(value)}",
        ActionKind.SET_OWNER: f"set the owner to {_quoted(value)}",
        ActionKind.SET_STATUS: f"set the status to {_quoted(value)}",
        ActionKind.SET_FIELD: f"set {field} to {_quoted(value)}",
        ActionKind.SET_FIELD_ON_CREATE: f"set {field} to {_quoted(value)} when creating",
    }.get(kind, f"{item.get_kind_display()} {field} {value}".strip())
    if item.revert_on_leave:
        words += " (undone when the contact leaves the rule)"
    return f"{words} in {target}"


def describe_rule(rule: Rule, names: dict[str, str], labels: dict[str, dict[str, str]]) -> str:
    """A rule as one sentence: "Contacts of Salesforce · Contacts that have the tag
    “vip” and whose City is not empty go to GetResponse · News; then add the tag …"."""
    source, target = ("a", "b") if rule.direction == "a_to_b" else ("b", "a")
    conditions = [describe_filter(f, labels[source]) for f in rule.filters.all()]
    who = f"Contacts of {names[source]}"
    if conditions:
        who = f"{who} that {' and '.join(conditions)}"
    else:
        who = f"Every contact of {names[source]}"
    sentence = f"{who} go to {names[target]}"
    actions = [describe_action(a, labels[target], names[target]) for a in rule.actions.all()]
    if actions:
        sentence += "; then " + ", ".join(actions)
    return sentence + "."


def describe_rules(connection: Connection) -> list[dict[str, Any]]:
    """The connection's rules for the dashboard: name, sentence, enabled."""
    names = {side: side_label(connection, side) for side in ("a", "b")}
    rules = list(connection.rules.prefetch_related("filters", "actions"))
    needs_fields = any(
        f.field for rule in rules for f in [*rule.filters.all(), *rule.actions.all()]
    )
    labels = (
        {side: field_labels(connection, side) for side in ("a", "b")}
        if needs_fields
        else {"a": {}, "b": {}}
    )
    return [
        {"name": str(rule), "text": describe_rule(rule, names, labels), "enabled": rule.enabled}
        for rule in rules
    ]


def describe_configuration(connection: Connection) -> dict[str, Any]:
    """The dashboard's configuration summary, in words and with the apps' names:
    direction, conflicts, duplicates, deletions and unsubscribes, rules, field pairs."""
    names = {side: side_label(connection, side) for side in ("a", "b")}
    direction = {
        "two_way": f"Both ways between {names['a']} and {names['b']}",
        "a_to_b": f"One way, from {names['a']} to {names['b']}",
        "b_to_a": f"One way, from {names['b']} to {names['a']}",
    }.get(connection.direction, connection.get_direction_display())
    conflicts = {
        "a_wins": f"the value in {names['a']} wins",
        "b_wins": f"the value in {names['b']} wins",
        "most_recent": "the most recent change wins",
    }.get(connection.conflict_policy, connection.get_conflict_policy_display())
    deletions = []
    for source, target, mode in (
        ("a", "b", connection.deletions_a_to_b),
        ("b", "a", connection.deletions_b_to_a),
    ):
        if not connection.syncs(f"{source}_to_{target}"):
            continue
        what = {
            "off": f"nothing happens in {names[target]}",
            "trash_tag": f"it gets the tag “{connection.trash_tag}” in {names[target]}",
            "delete": f"it is deleted in {names[target]} too",
            "remove_from_list": f"it is removed from the list in {names[target]}",
            "marker_field": f"its marker field is set in {names[target]}",
        }.get(mode, mode)
        if mode != "off" and connection.deletion_review:
            what += ", once you approve it"
        deletions.append(f"A contact deleted in {names[source]}: {what}.")
    unsubscribes = {
        "off": "An unsubscribe is not passed on.",
        "tag": f"An unsubscribe adds the tag “{connection.unsubscribe_tag}” on the other side.",
        "opt_out": "An unsubscribe sets the other side's opt-out field.",
    }.get(connection.unsubscribes, "")
    mappings = list(connection.mappings.all())
    labels = (
        {side: field_labels(connection, side) for side in ("a", "b")}
        if mappings
        else {"a": {}, "b": {}}
    )
    arrows = {"both": "↔", "a_to_b": "→", "b_to_a": "←"}
    pairs = [
        {
            "a": _field(labels["a"], m.a_field),
            "b": _field(labels["b"], m.b_field),
            "arrow": arrows.get(m.direction, "↔"),
            "enabled": m.enabled,
        }
        for m in mappings
    ]
    return {
        "names": names,
        "direction": direction,
        "conflicts": conflicts,
        "duplicates": (
            "only contacts with an email address sync (no duplicates)"
            if connection.avoid_duplicates
            else "contacts without an email address sync too"
        ),
        "deletions": deletions,
        "unsubscribes": unsubscribes,
        "rules": describe_rules(connection),
        "pairs": pairs,
    }
