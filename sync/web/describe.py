"""Words the tenant pages use for what is stored as keys: a side as "Salesforce ·
Contacts · Acme", a rule as a sentence ("contacts that do not have the tag “vip”"),
a field pair by its fields' labels. One place, so the dashboard, the statistics and the
conflicts page say the same thing."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from connectors.registry import connector_class
from sync.engine import match
from sync.models import (
    ActionKind,
    AppAuthorization,
    Connection,
    DeletionMode,
    EventAction,
    FilterKind,
    Operator,
    Rule,
    RuleAction,
    RuleFilter,
)
from sync.vocabulary import entity_label

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
    a_field, _bar, b_field = key.partition("|")
    a, b = _field(labels["a"], a_field), _field(labels["b"], b_field or a_field)
    title = a if a == b else f"{a} ↔ {b}"
    return {"a": a, "b": b, "title": title, "a_app": names["a"], "b_app": names["b"]}


def _quoted(value: str) -> str:
    return gettext("“%(value)s”") % {"value": value}


# A condition as the end of "Contacts of … that …": (as is, negated), whole phrases with
# the value as %(value)s, so that a language words the negation its own way.
CONDITIONS = {
    FilterKind.HAS_TAG: (_("have the tag %(value)s"), _("do not have the tag %(value)s")),
    FilterKind.IN_LIST: (_("are in the list %(value)s"), _("are not in the list %(value)s")),
    FilterKind.OWNED_BY: (_("are owned by %(value)s"), _("are not owned by %(value)s")),
    FilterKind.STATUS: (_("have the status %(value)s"), _("do not have the status %(value)s")),
    FilterKind.EXISTS_IN_OTHER: (
        _("already exist in the other app"),
        _("do not exist in the other app"),
    ),
}
# A field condition, "whose City is not empty": (as is, negated) for each operator.
FIELD_CONDITIONS = {
    Operator.EQUALS: (
        _("whose %(field)s equals %(value)s"),
        _("whose %(field)s does not equal %(value)s"),
    ),
    Operator.NOT_EQUALS: (
        _("whose %(field)s does not equal %(value)s"),
        _("whose %(field)s equals %(value)s"),
    ),
    Operator.CONTAINS: (
        _("whose %(field)s contains %(value)s"),
        _("whose %(field)s does not contain %(value)s"),
    ),
    Operator.EMPTY: (_("whose %(field)s is empty"), _("whose %(field)s is not empty")),
    Operator.NOT_EMPTY: (_("whose %(field)s is not empty"), _("whose %(field)s is empty")),
    Operator.GREATER: (
        _("whose %(field)s is greater than %(value)s"),
        _("whose %(field)s is not greater than %(value)s"),
    ),
    Operator.LESS: (
        _("whose %(field)s is less than %(value)s"),
        _("whose %(field)s is not less than %(value)s"),
    ),
}
# An action, "add the tag “from_shop” in GetResponse · News", with the app as %(app)s.
ACTIONS = {
    ActionKind.ADD_TAG: _("add the tag %(value)s in %(app)s"),
    ActionKind.REMOVE_TAG: _("remove the tag %(value)s in %(app)s"),
    ActionKind.ADD_TO_LIST: _("add to the list %(value)s in %(app)s"),
    ActionKind.REMOVE_FROM_LIST: _("remove from the list %(value)s in %(app)s"),
    ActionKind.SET_OWNER: _("set the owner to %(value)s in %(app)s"),
    ActionKind.SET_STATUS: _("set the status to %(value)s in %(app)s"),
    ActionKind.SET_FIELD: _("set %(field)s to %(value)s in %(app)s"),
    ActionKind.SET_FIELD_ON_CREATE: _("set %(field)s to %(value)s when creating in %(app)s"),
}
ACTIONS_REVERTED = {
    ActionKind.ADD_TAG: _(
        "add the tag %(value)s (undone when the contact leaves the rule) in %(app)s"
    ),
    ActionKind.REMOVE_TAG: _(
        "remove the tag %(value)s (undone when the contact leaves the rule) in %(app)s"
    ),
    ActionKind.ADD_TO_LIST: _(
        "add to the list %(value)s (undone when the contact leaves the rule) in %(app)s"
    ),
    ActionKind.REMOVE_FROM_LIST: _(
        "remove from the list %(value)s (undone when the contact leaves the rule) in %(app)s"
    ),
    ActionKind.SET_OWNER: _(
        "set the owner to %(value)s (undone when the contact leaves the rule) in %(app)s"
    ),
    ActionKind.SET_STATUS: _(
        "set the status to %(value)s (undone when the contact leaves the rule) in %(app)s"
    ),
    ActionKind.SET_FIELD: _(
        "set %(field)s to %(value)s (undone when the contact leaves the rule) in %(app)s"
    ),
    ActionKind.SET_FIELD_ON_CREATE: _(
        "set %(field)s to %(value)s when creating (undone when the contact leaves the rule) "
        "in %(app)s"
    ),
}


def _and(items: list[str]) -> str:
    """ "a and b and c" in the current language (a rule's conditions hold together)."""
    joined = items[0] if items else ""
    for item in items[1:]:
        # Translators: joins two conditions of a rule; %(first)s may be joined already.
        joined = gettext("%(first)s and %(last)s") % {"first": joined, "last": item}
    return joined


def describe_filter(item: RuleFilter, labels: dict[str, str]) -> str:
    """One condition as a sentence's part: "do not have the tag “vip”", "whose City is
    not empty"."""
    value = _quoted(item.value)
    words = CONDITIONS.get(item.kind)
    if words is not None:
        return words[item.negate] % {"value": value}
    field = _field(labels, item.field) if item.field else gettext("the field")
    phrases = FIELD_CONDITIONS.get(item.operator)
    if phrases is None:  # an operator no longer offered: its key, as stored
        if item.negate:
            template = gettext("whose %(field)s not %(operator)s %(value)s")
        else:
            template = gettext("whose %(field)s %(operator)s %(value)s")
        return template % {"field": field, "operator": item.operator, "value": value}
    return phrases[item.negate] % {"field": field, "value": value}


def describe_action(item: RuleAction, labels: dict[str, str], target: str) -> str:
    """One action: "add the tag “from_shop” in GetResponse · News"."""
    field = _field(labels, item.field) if item.field else ""
    values = {"field": field, "value": _quoted(item.value), "app": target}
    words = (ACTIONS_REVERTED if item.revert_on_leave else ACTIONS).get(item.kind)
    if words is not None:
        return words % values
    # A kind no longer offered: its label, field and value as stored.
    other = f"{item.get_kind_display()} {field} {item.value}".strip()
    return gettext("%(action)s in %(app)s") % {"action": other, "app": target}


def describe_rule(rule: Rule, names: dict[str, str], labels: dict[str, dict[str, str]]) -> str:
    """A rule as one sentence: "Contacts of Salesforce · Contacts that have the tag
    “vip” and whose City is not empty go to GetResponse · News; then add the tag …"."""
    source, target = ("a", "b") if rule.direction == "a_to_b" else ("b", "a")
    conditions = [describe_filter(f, labels[source]) for f in rule.filters.all()]
    values = {"source": names[source], "target": names[target], "conditions": _and(conditions)}
    if conditions:
        sentence = gettext("Contacts of %(source)s that %(conditions)s go to %(target)s") % values
    else:
        sentence = gettext("Every contact of %(source)s goes to %(target)s") % values
    actions = [describe_action(a, labels[target], names[target]) for a in rule.actions.all()]
    if actions:
        # Translators: a rule's sentence, then what it does in the other app.
        return gettext("%(sentence)s; then %(actions)s.") % {
            "sentence": sentence,
            "actions": ", ".join(actions),
        }
    return gettext("%(sentence)s.") % {"sentence": sentence}


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
        "two_way": gettext("Both ways between %(a)s and %(b)s") % names,
        "a_to_b": gettext("One way, from %(from)s to %(to)s")
        % {"from": names["a"], "to": names["b"]},
        "b_to_a": gettext("One way, from %(from)s to %(to)s")
        % {"from": names["b"], "to": names["a"]},
    }.get(connection.direction, connection.get_direction_display())
    conflicts = {
        "a_wins": gettext("the value in %(app)s wins") % {"app": names["a"]},
        "b_wins": gettext("the value in %(app)s wins") % {"app": names["b"]},
        "most_recent": gettext("the most recent change wins"),
    }.get(connection.conflict_policy, connection.get_conflict_policy_display())
    deletions = []
    for source, target, mode in (
        ("a", "b", connection.deletions_a_to_b),
        ("b", "a", connection.deletions_b_to_a),
    ):
        if not connection.syncs(f"{source}_to_{target}"):
            continue
        values = {
            "source": names[source],
            "target": names[target],
            "tag": _quoted(connection.trash_tag),
        }
        what = {
            "off": gettext("nothing happens in %(target)s"),
            "trash_tag": gettext("it gets the tag %(tag)s in %(target)s"),
            "delete": gettext("it is deleted in %(target)s too"),
            "remove_from_list": gettext("it is removed from the list in %(target)s"),
            "marker_field": gettext("its marker field is set in %(target)s"),
        }.get(mode)
        values["what"] = what % values if what is not None else mode
        if mode != "off" and connection.deletion_review:
            sentence = gettext("A contact deleted in %(source)s: %(what)s, once you approve it.")
        else:
            sentence = gettext("A contact deleted in %(source)s: %(what)s.")
        deletions.append(sentence % values)
    unsubscribes = {
        "off": gettext("An unsubscribe is not passed on."),
        "tag": gettext("An unsubscribe adds the tag %(tag)s on the other side.")
        % {"tag": _quoted(connection.unsubscribe_tag)},
        "opt_out": gettext("An unsubscribe sets the other side's opt-out field."),
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
            gettext("only contacts with an email address sync (no duplicates)")
            if connection.avoid_duplicates
            else gettext("contacts without an email address sync too")
        ),
        "deletions": deletions,
        "unsubscribes": unsubscribes,
        "rules": describe_rules(connection),
        "pairs": pairs,
    }


# --- Vocabularies: codes the engine and the connectors store, in the page's words ------

# The entity types' names live with the core (sync/vocabulary.py), which setup and the
# plan gates use too; the pages take them from there.

# Each field type of connectors/base.py FieldType, as the mapping and options pages
# show it next to a field's label.
FIELD_TYPES: dict[str, Promise] = {
    "text": _("text"),
    "email": _("email"),
    "phone": _("phone"),
    "number": _("number"),
    "date": _("date"),
    "datetime": _("date and time"),
    "bool": _("yes / no"),
    "choice": _("choice"),
    "url": _("web address"),
    "country": _("country"),
    "tags": _("tags"),
    "lists": _("lists"),
    "owner": _("owner"),
    "status": _("status"),
    "subscription": _("subscription"),
}

# Each kind of scope the connectors offer (connectors/base.py Scope.kind): what the
# thing a tenant picks to sync is in that app.
SCOPE_KINDS: dict[str, Promise] = {
    "all": _("everything"),
    "list": _("list"),
    "object": _("object"),
    "node": _("node"),
    "people": _("people"),
    "userdb": _("user database"),
    "addressbook": _("address book"),
    "phonebook": _("phonebook"),
}

# The run summary's skip reasons (sync/engine/match.py), as the dashboard counts them.
SKIP_REASONS: dict[str, Promise] = {
    match.NO_EMAIL: _("no email"),
    match.OUT_OF_SCOPE: _("out of scope"),
    match.DUPLICATE_EMAIL: _("duplicate email"),
    match.AMBIGUOUS: _("ambiguous group"),
    "other": _("other"),
}


def field_type_label(field_type: str) -> str:
    """A field type's name; its key for a type not listed."""
    return str(FIELD_TYPES.get(field_type, field_type))


def scope_kind_label(kind: str) -> str:
    """A scope kind's name; its key for a kind not listed."""
    return str(SCOPE_KINDS.get(kind, kind))


def _deletion_mode(value: str) -> str:
    return str(DeletionMode(value).label) if value in DeletionMode.values else value


def _entity(value: str) -> str:
    return entity_label(value)


# The engine stores why it skipped, held or stopped as English text (SyncEvent.reason,
# SyncRun.error, Connection.state_reason, RecordLink.held), written in a worker where no
# tenant's language is active and kept so for the ops console and the logs. The pages
# translate those texts when they show them: each known phrase of the engine is a
# pattern here with the same words marked for translation, its variable parts named; a
# part whose value is itself a code is named through the function given for it. Text
# that matches none (a vendor's own error message) is shown as stored.
_REASONS: list[tuple[str, Promise]] = [
    # sync/engine/match.py: the summary's reasons and a held record's reason.
    (re.escape(match.NO_EMAIL), _("no email")),
    (re.escape(match.OUT_OF_SCOPE), _("out of scope")),
    (re.escape(match.DUPLICATE_EMAIL), _("duplicate email")),
    (re.escape(match.AMBIGUOUS), _("ambiguous group")),
    (
        r"ambiguous group: (?P<key>.*) \((?P<mine>\d+) in (?P<side>[AB]), (?P<theirs>\d+) in "
        r"(?P<other>[AB]) not told apart by name or phone\)",
        _(
            "ambiguous group: %(key)s (%(mine)s in %(side)s, %(theirs)s in %(other)s not "
            "told apart by name or phone)"
        ),
    ),
    # sync/engine/planner.py: deletions and what survives them.
    (r"deleted in (?P<side>[AB])", _("deleted in %(side)s")),
    (r"deleted in (?P<side>[AB]); not synced", _("deleted in %(side)s; not synced")),
    (
        r"unsubscribed, then removed in (?P<side>[AB])",
        _("unsubscribed, then removed in %(side)s"),
    ),
    (r"changed after the deletion; kept", _("changed after the deletion; kept")),
    (
        r"modified in (?P<side>[AB]) after the deletion",
        _("modified in %(side)s after the deletion"),
    ),
    (
        r"cannot apply '(?P<mode>\w+)' on this app",
        _("cannot apply “%(mode)s” on this app"),
    ),
    # sync/engine/references.py and run.py: references.
    (r"waiting for (?P<entity>\w+) (?P<record>.+)", _("waiting for %(entity)s %(record)s")),
    (
        r"(?P<field>[^:]+): the record it referred to was deleted",
        _("%(field)s: the record it referred to was deleted"),
    ),
    # sync/engine/choices.py: a choice value with no translation into the other field.
    (
        r"(?P<source>.+?) “(?P<value>.+?)” has no value in (?P<target>.+?) \((?P<field>[^()]+)\): "
        r"choose one in the value table of the pair (?P<a>.+?) ↔ (?P<b>.+?) on the "
        r"connection's field mapping page \((?P<entity>\w+) element\)",
        _(
            "%(source)s “%(value)s” has no value in %(target)s (%(field)s): choose one in the "
            "value table of the pair %(a)s ↔ %(b)s on the connection's field mapping page "
            "(%(entity)s element)"
        ),
    ),
    # sync/engine/run.py, claim.py and stage.py: runs that were stopped.
    (
        r"Its worker stopped before the run finished \(killed, or past the task timeout\); run "
        r"(?P<run>\d+) took over from where it had got to\.",
        _(
            "Its worker stopped before the run finished (killed, or past the task timeout); "
            "run %(run)s took over from where it had got to."
        ),
    ),
    (
        r"Its worker stopped before the run finished \(killed, or past the task timeout\)\.",
        _("Its worker stopped before the run finished (killed, or past the task timeout)."),
    ),
    # sync/engine/outcome.py and apply.py: the connection's state, a write that failed.
    (
        r"The sync continues in the next run, from where this one stopped\.",
        _("The sync continues in the next run, from where this one stopped."),
    ),
    (r"Authorization failed: (?P<error>.*)", _("Authorization failed: %(error)s")),
    (r"outcome unknown or failed: (?P<error>.*)", _("outcome unknown or failed: %(error)s")),
    (
        r"Another run of this connection is in progress\.",
        _("Another run of this connection is in progress."),
    ),
    (
        r"This run stalled past its lease and another run took the connection over; it "
        r"stopped before writing again\.",
        _(
            "This run stalled past its lease and another run took the connection over; it "
            "stopped before writing again."
        ),
    ),
    (
        r"This run would delete, unsubscribe or overwrite (?P<count>\d+) of (?P<linked>\d+) "
        r"synced contacts, so the connection was paused\. Check the apps, then run it again "
        r"confirming the change\.",
        ngettext_lazy(
            "This run would delete, unsubscribe or overwrite %(count)s of %(linked)s synced "
            "contact, so the connection was paused. Check the apps, then run it again "
            "confirming the change.",
            "This run would delete, unsubscribe or overwrite %(count)s of %(linked)s synced "
            "contacts, so the connection was paused. Check the apps, then run it again "
            "confirming the change.",
            "linked",
        ),
    ),
    (
        r"Side (?P<side>[AB]) listed no contacts while (?P<count>\d+) are linked; the run was "
        r"stopped so that nothing is deleted\. Check the app's scope and access\.",
        ngettext_lazy(
            "Side %(side)s listed no contacts while %(count)s is linked; the run was stopped "
            "so that nothing is deleted. Check the app's scope and access.",
            "Side %(side)s listed no contacts while %(count)s are linked; the run was stopped "
            "so that nothing is deleted. Check the app's scope and access.",
            "count",
        ),
    ),
]
_REASON_PATTERNS = [(re.compile(pattern, re.S), words) for pattern, words in _REASONS]
# What a named part holds when it is a code rather than data.
_REASON_PARTS: dict[str, Callable[[str], str]] = {
    "mode": _deletion_mode,
    "entity": _entity,
}


def reason_words(text: str) -> str:
    """A reason or error the engine stored in English, in the page's language: a known
    phrase translated with its values kept, a deletion mode or an event's action (the
    reasons of deletions and undos) by its label, anything else as stored. A side's
    letter (A, B) reads the same in every language and is kept."""
    if not text:
        return text
    if text in DeletionMode.values:
        return str(DeletionMode(text).label)
    if text in EventAction.values:
        return str(EventAction(text).label)
    for pattern, words in _REASON_PATTERNS:
        found = pattern.fullmatch(text)
        if found is None:
            continue
        values: dict[str, Any] = {}
        for name, value in found.groupdict().items():
            part = _REASON_PARTS.get(name)
            values[name] = part(value) if part else int(value) if value.isdigit() else value
        return str(words % values) if values else str(words)
    return text
