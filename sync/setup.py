"""Setting a connection up, decided in one place: the default rules and field pairs,
adding a pair, and whether a rule's filters and actions, a deletion or unsubscribe mode,
or a field pair is possible on the side it acts on.

The wizard (sync/web/views/wizard.py), the REST API (sync/api/serializers.py) and the ops
console (sync/admin.py) call these functions, so they refuse the same things in the same
words. What an app itself refuses in a connection (Contactlab's "one source : one node :
one userdb") comes from its connector's ``connection_problems`` hook, asked by
``connection_problems`` below: on saving options (``check_options``), on adding a field pair
(``check_pair``) and, through sync/lifecycle.py, before a connection starts or resumes.
What an app can do comes from its connector: the class's ``Capabilities`` (tags, lists,
subscription) and ``fields()`` of the chosen scope (owner and status fields, the
marker field, any field a filter or action names). Filters act on the source side of a
rule's direction, actions and deletion / unsubscribe modes on its target side.

The elements a connection syncs beyond its contacts (issue 17) are chosen here too:
``entity_choices`` says what both apps offer and what the plan lacks, ``choose_entity``
and ``drop_entity`` change the set after ``check_entity`` / ``check_drop`` (the plan, in
sync/tiers.py; companies mandatory where both apps have them).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from connectors.base import (
    Capabilities,
    ConnectionSetup,
    Connector,
    ConnectorError,
    Credentials,
    FieldSpec,
    Hooks,
    Scope,
    SetupReview,
    VendorUser,
)
from connectors.registry import connector_class
from sync.models import (
    PRIMARY_ENTITY,
    ActionKind,
    ConflictPolicy,
    Connection,
    ConnectionEntity,
    DeletionMode,
    FieldMapping,
    FilterKind,
    MappingDirection,
    Rule,
    SyncDirection,
    UnsubscribeMode,
)

logger = logging.getLogger(__name__)

SIDES = ("a", "b")
# direction -> (source side, target side)
ENDS = {"a_to_b": ("a", "b"), "b_to_a": ("b", "a")}

# What a filter or action kind needs of its side: a capability flag of the connector
# class, or a field with a common key (when the filter or action names no field).
NEEDS_CAPABILITY: dict[str, str] = {
    FilterKind.HAS_TAG: "tags",
    ActionKind.ADD_TAG: "tags",
    ActionKind.REMOVE_TAG: "tags",
    FilterKind.IN_LIST: "lists",
    ActionKind.ADD_TO_LIST: "lists",
    ActionKind.REMOVE_FROM_LIST: "lists",
}
NEEDS_COMMON_FIELD: dict[str, str] = {
    FilterKind.OWNED_BY: "owner",
    ActionKind.SET_OWNER: "owner",
    FilterKind.STATUS: "status",
    ActionKind.SET_STATUS: "status",
}
NEEDS_NAMED_FIELD: tuple[str, ...] = (
    FilterKind.FIELD,
    ActionKind.SET_FIELD,
    ActionKind.SET_FIELD_ON_CREATE,
)
# Why a kind cannot work without a capability or a common field, as whole sentences.
MISSING_CAPABILITY = {
    "tags": _("%(app)s has no tags, so “%(title)s” cannot work there."),
    "lists": _("%(app)s has no lists, so “%(title)s” cannot work there."),
    "subscription": _("%(app)s has no subscription status, so “%(title)s” cannot work there."),
}
MISSING_COMMON_FIELD = {
    "owner": _("%(app)s has no owner field, so “%(title)s” cannot work there."),
    "status": _("%(app)s has no status field, so “%(title)s” cannot work there."),
}


class Invalid(ValueError):
    """What was asked is not possible on the app; ``field`` names the input at fault
    (e.g. "kind", "field", "deletions_a_to_b") for the form or JSON error."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class SideApp:
    """What one side's app offers: its label, capabilities and fields (``error`` is the
    vendor's message when the fields could not be read; then only capabilities are
    checked, and pairs cannot be)."""

    label: str
    capabilities: Capabilities
    fields: list[FieldSpec] = field(default_factory=list)
    error: str = ""
    # The connection read, so that a pair checked against these apps is also judged by
    # the apps' own rules (connection_problems).
    connection: Connection | None = None

    def spec(self, key: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.key == key), None)

    def common(self, common: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.common == common), None)


def side_app(connection: Connection, side: str, entity: str = PRIMARY_ENTITY) -> SideApp:
    """Read what ``side`` of ``connection`` offers from its connector (for ``entity``:
    opened on that entity's scope, issue 17)."""
    from sync.vendors import open_connector

    authorization = connection.authorization(side)
    try:
        capabilities = connector_class(authorization.vendor).capabilities
    except (KeyError, ImportError, AttributeError):
        return SideApp(
            authorization.label, Capabilities(), error=gettext("This app is not installed.")
        )
    app = SideApp(authorization.label, capabilities, connection=connection)
    try:
        with open_connector(authorization, _entity_scope(connection, side, entity)) as connector:
            # The instance's: a connector may know its capabilities only once opened.
            app.capabilities = connector.capabilities
            app.fields = list(connector.fields())
    except ConnectorError as exc:
        app.error = str(exc)
    return app


def side_apps(connection: Connection, entity: str = PRIMARY_ENTITY) -> dict[str, SideApp]:
    return {side: side_app(connection, side, entity) for side in SIDES}


def _entity_scope(connection: Connection, side: str, entity: str) -> str:
    if entity == PRIMARY_ENTITY:
        return connection.scope(side)
    return ConnectionEntity.objects.get(connection=connection, entity=entity).scope(side)


# --- Entities (issue 17) -------------------------------------------------------------------


def offered_entities(connection: Connection, side: str) -> dict[str, Scope]:
    """The entity types ``side``'s app offers, with the scope holding each (the first
    scope its connector lists per entity)."""
    from sync.vendors import open_connector

    offered: dict[str, Scope] = {}
    with open_connector(connection.authorization(side), connection.scope(side)) as connector:
        for scope in connector.scopes():
            offered.setdefault(scope.entity, scope)
    return offered


def add_entity(
    connection: Connection,
    entity: str,
    *,
    a_scope: str | None = None,
    b_scope: str | None = None,
    direction: str = SyncDirection.TWO_WAY,
) -> ConnectionEntity:
    """Sync ``entity`` on ``connection`` too (or enable it again): its scopes (by default
    the scope each app lists for that entity), its direction and its default mapping,
    reference fields included (pairs of fields referring to the same entity). Refused
    (``Invalid``) when an app does not offer the entity or it is the primary one."""
    from sync.engine import mapping
    from sync.engine.context import entity_order

    if entity == PRIMARY_ENTITY:
        raise Invalid(_("Contacts are the connection's own entity."), "entity")
    scopes = {"a": a_scope, "b": b_scope}
    for side in SIDES:
        if scopes[side] is None:
            offered = offered_entities(connection, side).get(entity)
            if offered is None:
                from sync.vocabulary import entity_label

                label = connection.authorization(side).label
                raise Invalid(
                    _("%(app)s offers no %(entity)s records.")
                    % {"app": label, "entity": entity_label(entity)},
                    "entity",
                )
            scopes[side] = offered.id
    row, _created = ConnectionEntity.objects.update_or_create(
        connection=connection,
        entity=entity,
        defaults={
            "a_scope": scopes["a"] or "",
            "b_scope": scopes["b"] or "",
            "direction": direction,
            "enabled": True,
            "position": entity_order(entity),
        },
    )
    apps = side_apps(connection, entity)
    error = apps["a"].error or apps["b"].error
    if error:
        raise Invalid(error, "entity")
    mapping.ensure_default_mappings(connection, apps["a"].fields, apps["b"].fields, entity)
    settle_shadowed_defaults(connection, {entity: apps})
    for rule_direction in ENDS:
        if row.syncs(rule_direction):
            Rule.objects.get_or_create(
                connection=connection,
                entity=entity,
                direction=rule_direction,
                defaults={"name": default_rule_name(connection, rule_direction, entity)},
            )
    return row


# Why companies cannot be left out (entity_problems, and drop_entity refusing it).
COMPANIES_MANDATORY = _("Both apps have companies: sync them with the contacts.")


def declared_entities(connection: Connection, side: str) -> tuple[str, ...]:
    """The entity types ``side``'s connector class declares (``Connector.entities``):
    only where it declares more than contacts are its scopes asked which entity holds
    what, so that an app of contacts alone costs the pages no vendor call."""
    try:
        return tuple(connector_class(connection.authorization(side).vendor).entities)
    except (KeyError, ImportError, AttributeError):
        return ()


def _beyond_contacts(connection: Connection) -> bool:
    return all(set(declared_entities(connection, side)) - {PRIMARY_ENTITY} for side in SIDES)


def companies_mandatory(connection: Connection) -> bool:
    """Whether both apps offer companies, which then sync with the contacts ("company
    synchronisation is mandatory", issue 17); False when an app cannot say now."""
    if not all("company" in declared_entities(connection, side) for side in SIDES):
        return False
    try:
        return all("company" in offered_entities(connection, side) for side in SIDES)
    except ConnectorError:
        return False


def entity_problems(connection: Connection) -> list[str]:
    """What is wrong with the connection's set of entities: companies are mandatory
    when contacts sync and both apps offer companies ("company synchronisation is
    mandatory", issue 17), so that a contact's company is never lost on the way."""
    problems = []
    synced = set(connection.entities.filter(enabled=True).values_list("entity", flat=True))
    if "company" not in synced and companies_mandatory(connection):
        problems.append(str(COMPANIES_MANDATORY))
    return problems


def add_mandatory_entities(connection: Connection) -> None:
    """Sync companies too where they are mandatory (``companies_mandatory``), as the
    wizard's Elements step does, for a connection made without it (the REST API). An app
    that cannot be read now leaves the set as it is: starting then says what is missing
    (``entity_problems``)."""
    if "company" in set(connection.entities.filter(enabled=True).values_list("entity", flat=True)):
        return
    if not companies_mandatory(connection):
        return
    try:
        add_entity(connection, "company")
    except (Invalid, ConnectorError) as exc:
        logger.warning("Connection %s: companies could not be added: %s", connection.pk, exc)


# How the pages name each entity type (the wizard's Elements step, the statistics).
def entity_label(entity: str) -> str:
    """ "Companies" for ``company`` (the vocabulary of sync/vocabulary.py, capitalized
    as a heading); an entity type without a label shows its own name."""
    from django.utils.text import capfirst

    from sync.vocabulary import entity_label as name

    return str(capfirst(name(entity, plural=True)))


@dataclass
class EntityChoice:
    """One entity type both apps offer beyond contacts, as a user chooses it: whether
    the connection syncs it and which way, whether it must (companies, where the plan
    has them), and what the account's plan says (``needs``: "needs the Business plan",
    empty when it has it)."""

    entity: str
    label: str
    synced: bool
    direction: str
    mandatory: bool
    needs: str

    @property
    def allowed(self) -> bool:
        return not self.needs


def entity_choices(connection: Connection) -> list[EntityChoice]:
    """The entity types both of ``connection``'s apps offer beyond its contacts, in
    reference order (companies first): those both connectors declare, held by a scope
    each app lists. Raises ConnectorError when an app cannot list what it offers."""
    from sync import tiers
    from sync.engine.context import entity_order

    if not _beyond_contacts(connection):
        return []
    offered = {side: offered_entities(connection, side) for side in SIDES}
    common = sorted(
        (e for e in offered["a"] if e in offered["b"] and e != PRIMARY_ENTITY), key=entity_order
    )
    rows = {row.entity: row for row in connection.entities.all()}
    choices = []
    for entity in common:
        row = rows.get(entity)
        allowed = tiers.entity_allowed(connection.account.tier, entity)
        choices.append(
            EntityChoice(
                entity=entity,
                label=entity_label(entity),
                synced=bool(row and row.enabled),
                direction=row.direction if row else SyncDirection.TWO_WAY,
                mandatory=entity == "company" and allowed,
                needs="" if allowed else tiers.needs_words(tiers.tier_for_entity(entity)),
            )
        )
    return choices


def direction_choices(connection: Connection) -> list[tuple[str, str]]:
    """The directions an entity may sync, in words naming the apps; a one-way direction
    whose deletions are off says it carries "new and updated only" (the engine passes
    a deletion on in a direction only where that direction's deletion mode says so)."""
    labels = {side: connection.authorization(side).label for side in SIDES}
    choices = [(str(SyncDirection.TWO_WAY), gettext("Two-way"))]
    for direction in ENDS:
        source, target = ENDS[direction]
        words = f"{labels[source]} → {labels[target]}"
        if getattr(connection, f"deletions_{direction}") == DeletionMode.OFF:
            words = gettext("%(direction)s, new and updated only") % {"direction": words}
        choices.append((direction, words))
    return choices


def check_entity(connection: Connection, entity: str, direction: str) -> None:
    """Whether ``connection`` may sync ``entity`` in ``direction``: the account's plan
    has it (sync/tiers.py) and, for companies, they share a direction with the contacts
    (a contact is written after its company, so a company never synced its way would
    hold the contact back for ever). Raises Invalid."""
    from sync import tiers

    if direction not in SyncDirection.values:
        raise Invalid(gettext("Choose two-way or one of the two directions."), "direction")
    try:
        tiers.check_entities(connection.account, [entity])
    except tiers.NotInPlan as exc:
        raise Invalid(str(exc), "entity") from exc
    shared = [d for d in ENDS if connection.syncs(d) and direction in (SyncDirection.TWO_WAY, d)]
    if entity == "company" and not shared:
        raise Invalid(
            gettext(
                "Contacts sync the other way: companies must sync at least the way the "
                "contacts do, since a contact is written after its company."
            ),
            "direction",
        )


def choose_entity(
    connection: Connection, entity: str, direction: str = SyncDirection.TWO_WAY
) -> ConnectionEntity:
    """Sync ``entity`` in ``direction`` on ``connection`` (or change its direction), as
    the wizard, the API and the ops console ask: checked (``check_entity``), then set up
    by ``add_entity`` in the scopes it already has, if any."""
    check_entity(connection, entity, direction)
    row = connection.entities.filter(entity=entity).first()
    scopes = {"a_scope": row.a_scope, "b_scope": row.b_scope} if row else {}
    return add_entity(connection, entity, direction=direction, **scopes)


def check_drop(connection: Connection, entity: str) -> None:
    """Whether ``connection`` may stop syncing ``entity``: not its contacts, and not
    companies while both apps offer them (and the plan has them: after a downgrade they
    may go). Raises Invalid."""
    from sync import tiers

    if entity == PRIMARY_ENTITY:
        raise Invalid(_("Contacts are the connection's own entity."), "entity")
    in_plan = tiers.entity_allowed(connection.account.tier, entity)
    if entity == "company" and in_plan and companies_mandatory(connection):
        raise Invalid(str(COMPANIES_MANDATORY), "entity")


def drop_entity(connection: Connection, entity: str) -> None:
    """Stop syncing ``entity`` on ``connection`` (``check_drop`` first); its links,
    mapping and rules stay, for the day it is chosen again."""
    check_drop(connection, entity)
    connection.entities.filter(entity=entity).update(enabled=False)
    settle_shadowed_defaults(connection)


def preview_options(connection: Connection) -> dict[str, bool]:
    """How a preview of ``connection`` runs (``run_connection`` options): before the first
    sync it lists both sides whole, as the initial sync will, and where the activation
    replaces a side's records it runs in replace mode, so that it counts what would go."""
    from sync.lifecycle import IN_SETUP

    initial = connection.state in IN_SETUP
    options = {"dry_run": True, "initial": initial}
    if initial and replaced_side(connection):
        options.update(replace_destination=True, confirm_replace=True)
    return options


def replaced_side(connection: Connection) -> str | None:
    """The side whose records the activation replaces with the other side's: the one
    side whose app is ``replaced_at_activation`` (its connector says so) and that the
    connection writes into; None when neither or both are."""
    found = []
    for side in SIDES:
        try:
            cls = connector_class(connection.authorization(side).vendor)
        except (KeyError, ImportError, AttributeError):
            continue
        into = "b_to_a" if side == "a" else "a_to_b"
        if cls.replaced_at_activation and connection.syncs(into):
            found.append(side)
    return found[0] if len(found) == 1 else None


# --- The plan ---------------------------------------------------------------------------------


def check_plan(connection: Connection) -> None:
    """Both sides' apps are in the account's plan (sync/tiers.py); raises Invalid naming
    the side's authorization field."""
    from sync import tiers

    for side in SIDES:
        vendor = connection.authorization(side).vendor
        try:
            label = connector_class(vendor).label
        except (KeyError, ImportError, AttributeError):
            label = vendor
        try:
            tiers.check_vendor(connection.account, vendor, label)
        except tiers.NotInPlan as exc:
            raise Invalid(str(exc), f"{side}_authorization") from exc


# --- Defaults per pair of apps ---------------------------------------------------------------

# What a connection between two apps starts with, by its two vendors: ``prevails``, the
# vendor whose side wins when both changed the same field (conflict policy); and
# ``interval_minutes``. ForceManager's Salesforce integration (issue 17's seed):
# Salesforce always prevails, updates every 15 minutes.
# ``creates_fields``: the vendor whose side gets, at start, a field for each custom field
# of the other side that it lacks (``create_missing_fields``).
PAIR_DEFAULTS: dict[frozenset[str], dict[str, str | int]] = {
    frozenset({"salesforce", "forcemanager"}): {
        "prevails": "salesforce",
        "interval_minutes": 15,
        "creates_fields": "forcemanager",
    },
}


def apply_pair_defaults(connection: Connection, given: Iterable[str] = ()) -> None:
    """Set (unsaved) the defaults of ``connection``'s pair of apps (``PAIR_DEFAULTS``)
    on the options not in ``given`` (what the user chose explicitly); the interval is
    never below the plan's minimum. The wizard, the API and the admin call it when a
    connection is created."""
    vendors = {side: connection.authorization(side).vendor for side in SIDES}
    defaults = PAIR_DEFAULTS.get(frozenset(vendors.values()))
    if not defaults:
        return
    given = set(given)
    prevails = defaults.get("prevails")
    if "conflict_policy" not in given and prevails and vendors["a"] != vendors["b"]:
        winner = "a" if vendors["a"] == prevails else "b"
        connection.conflict_policy = (
            ConflictPolicy.A_WINS if winner == "a" else ConflictPolicy.B_WINS
        )
    if "interval_minutes" not in given and "interval_minutes" in defaults:
        minimum = connection.account.limit("min_interval_minutes")
        connection.interval_minutes = max(int(defaults["interval_minutes"]), minimum)


def create_missing_fields(connection: Connection) -> list[str]:
    """The other app's custom fields, made on the side whose vendor ``creates_fields``
    (PAIR_DEFAULTS; ForceManager's Salesforce integration: Salesforce's ``__c`` fields
    become ForceManager extra fields of the matching type) and paired with them, for
    every entity the connection syncs (contacts' fields on the contacts' resource,
    companies' on the companies', …). Every custom field of the other side's scope not
    paired yet in that entity's mapping is one the seed transfers: made where that side
    has no field of its name, then paired; a field already paired is left alone, so this
    is idempotent. Runs when the connection starts (sync/lifecycle.py), not in a preview,
    which writes nothing. Answers the names of the fields it made; a vendor error is
    raised (ConnectorError) for the caller to say."""
    vendors = {side: connection.authorization(side).vendor for side in SIDES}
    defaults = PAIR_DEFAULTS.get(frozenset(vendors.values())) or {}
    maker = next((s for s in SIDES if vendors[s] == defaults.get("creates_fields")), None)
    if maker is None or vendors["a"] == vendors["b"]:
        return []
    entities = [PRIMARY_ENTITY]
    entities += connection.entities.filter(enabled=True).values_list("entity", flat=True)
    made: list[str] = []
    for entity in entities:
        made += _create_missing_fields_of(connection, entity, maker)
    return made


def _create_missing_fields_of(connection: Connection, entity: str, maker: str) -> list[str]:
    """``create_missing_fields`` for one entity, made on side ``maker``."""
    from sync.engine.mapping import allowed_direction
    from sync.vendors import open_connector

    source = "b" if maker == "a" else "a"
    mappings = connection.mappings.filter(entity=entity)
    paired = {m.a_field if source == "a" else m.b_field for m in mappings}
    made: list[str] = []
    with (
        open_connector(
            connection.authorization(maker), _entity_scope(connection, maker, entity)
        ) as target,
        open_connector(
            connection.authorization(source), _entity_scope(connection, source, entity)
        ) as origin,
    ):
        create = getattr(target, "create_extra_field", None)
        name_of = getattr(target, "extra_field_name", None)
        if create is None or name_of is None:
            return []
        wanted = [f for f in origin.fields() if f.custom and f.key not in paired]
        have = {f.key.casefold(): f for f in target.fields()}
        for spec in wanted:
            name = name_of(spec.key)
            created = have.get(name.casefold())
            if created is None:
                created = create(spec)
                have[created.key.casefold()] = created
                made.append(created.key)
            a_spec, b_spec = (spec, created) if source == "a" else (created, spec)
            direction = allowed_direction(a_spec, b_spec, transform=guess_transform(a_spec, b_spec))
            if direction is None:
                logger.info("No pair for %s: %s and %s do not mix", spec.key, a_spec, b_spec)
                continue
            FieldMapping.objects.get_or_create(
                connection=connection,
                entity=entity,
                a_field=a_spec.key,
                b_field=b_spec.key,
                defaults={
                    "direction": direction,
                    "transform": guess_transform(a_spec, b_spec),
                    "order": mappings.count(),
                },
            )
    return made


# --- Rules -------------------------------------------------------------------------------


def default_rule_name(connection: Connection, direction: str, entity: str = PRIMARY_ENTITY) -> str:
    """ "All contacts <source> → <target>", the same in the wizard and the API; another
    entity's rule names its entity ("Companies: all records <source> → <target>")."""
    source, target = ENDS[direction]
    labels = {side: connection.authorization(side).label for side in SIDES}
    words = {"source": labels[source], "target": labels[target]}
    if entity != PRIMARY_ENTITY:
        words["entities"] = entity_label(entity)
        return gettext("%(entities)s: all records %(source)s → %(target)s") % words
    return gettext("All contacts %(source)s → %(target)s") % words


def synced_directions(connection: Connection) -> list[str]:
    return [d for d in ENDS if connection.syncs(d)]


def ensure_default_rules(connection: Connection) -> None:
    """A connection starts with one filterless rule per synced direction."""
    for direction in synced_directions(connection):
        if not connection.rules.filter(direction=direction, entity=PRIMARY_ENTITY).exists():
            Rule.objects.create(
                connection=connection,
                direction=direction,
                name=default_rule_name(connection, direction),
            )


def _check_kind(kind: str, name: str, app: SideApp, *, setting: bool) -> None:
    """Whether a filter (``setting=False``) or an action of ``kind`` on field ``name``
    can work on ``app``; raises Invalid."""
    title = _kind_title(kind)
    capability = NEEDS_CAPABILITY.get(kind)
    if capability and not getattr(app.capabilities, capability):
        raise Invalid(MISSING_CAPABILITY[capability] % {"app": app.label, "title": title}, "kind")
    if app.error:
        return  # fields unknown now: the capability check is all that can be said
    spec: FieldSpec | None = None
    if name:
        spec = app.spec(name)
        if spec is None:
            raise Invalid(_no_field(app.label, name), "field")
    elif kind in NEEDS_COMMON_FIELD:
        spec = app.common(NEEDS_COMMON_FIELD[kind])
        if spec is None:
            raise Invalid(
                MISSING_COMMON_FIELD[NEEDS_COMMON_FIELD[kind]] % {"app": app.label, "title": title},
                "kind",
            )
    elif kind in NEEDS_NAMED_FIELD:
        raise Invalid(gettext("“%(title)s” needs a field.") % {"title": title}, "field")
    if setting and spec is not None and spec.read_only:
        raise Invalid(_read_only(spec.label, app.label), "field")


def _no_field(app: str, key: str) -> str:
    return gettext("%(app)s has no field “%(field)s”.") % {"app": app, "field": key}


def _read_only(field: str, app: str) -> str:
    return gettext("“%(field)s” is read-only in %(app)s.") % {"field": field, "app": app}


def _kind_title(kind: str) -> str:
    for choices in (FilterKind, ActionKind):
        if kind in choices.values:
            return str(choices(kind).label)
    return kind


def _check_value(kind: str, value: str, app: SideApp, users: list[VendorUser] | None) -> None:
    """An owner is one of the app's users (``users``, when the caller read them); a
    status one of the status field's choices, where the app declares them. Free text
    there is what the vendor refuses later, record by record."""
    if NEEDS_COMMON_FIELD.get(kind) == "owner" and users is not None:
        if not users:
            raise Invalid(
                gettext("%(app)s does not list its users, so no owner can be chosen.")
                % {"app": app.label}
            )
        if value not in {u.id for u in users}:
            raise Invalid(
                gettext("Choose one of the users of %(app)s.") % {"app": app.label}, "value"
            )
    if NEEDS_COMMON_FIELD.get(kind) == "status" and not app.error:
        spec = app.common("status")
        if spec is not None and spec.choices and value not in spec.choices:
            words = ", ".join(f"“{c}”" for c in spec.choices)
            raise Invalid(
                gettext("Choose a status %(app)s knows: %(statuses)s.")
                % {"app": app.label, "statuses": words},
                "value",
            )


def check_filter(
    kind: str,
    name: str,
    direction: str,
    apps: dict[str, SideApp],
    value: str = "",
    users: list[VendorUser] | None = None,
) -> None:
    """A filter of a ``direction`` rule reads the source side's record; ``users`` are
    that side's owners when the caller read them (then an owner must be one of them)."""
    if kind == FilterKind.EXISTS_IN_OTHER:
        return
    source = apps[ENDS[direction][0]]
    _check_kind(kind, name, source, setting=False)
    _check_value(kind, value, source, users)


def check_action(
    kind: str,
    name: str,
    direction: str,
    apps: dict[str, SideApp],
    value: str = "",
    users: list[VendorUser] | None = None,
) -> None:
    """An action of a ``direction`` rule writes on the target side's record; ``users``
    are the target side's owners when the caller read them."""
    target = apps[ENDS[direction][1]]
    _check_kind(kind, name, target, setting=True)
    _check_value(kind, value, target, users)


def _offered(kind: str, direction: str, apps: dict[str, SideApp], *, action: bool) -> bool:
    if kind in NEEDS_NAMED_FIELD:
        # Offered where a field can be named: any field to read, a writable one to set.
        app = apps[ENDS[direction][1 if action else 0]]
        return bool(app.error) or bool(writable_fields(app) if action else app.fields)
    try:
        (check_action if action else check_filter)(kind, "", direction, apps)
    except Invalid:
        return False
    return True


def offered_kinds(direction: str, apps: dict[str, SideApp]) -> tuple[list[str], list[str]]:
    """The filter kinds and action kinds a ``direction`` rule can use on these apps (the
    same judgement as check_filter / check_action, before any field or value is named)."""
    filters = [k for k in FilterKind.values if _offered(k, direction, apps, action=False)]
    actions = [k for k in ActionKind.values if _offered(k, direction, apps, action=True)]
    return filters, actions


def check_rule(
    connection: Connection,
    direction: str,
    filters: Iterable[tuple[str, str]],
    actions: Iterable[tuple[str, str]],
    apps: dict[str, SideApp],
) -> None:
    """A whole rule: its direction is synced, and each (kind, field) filter and action is
    possible on its side."""
    if not connection.syncs(direction):
        raise Invalid(
            gettext("This connection only syncs %(synced)s; a %(direction)s rule would never run.")
            % {"synced": connection.direction, "direction": direction},
            "direction",
        )
    for kind, name in filters:
        check_filter(kind, name, direction, apps)
    for kind, name in actions:
        check_action(kind, name, direction, apps)


# --- Options -------------------------------------------------------------------------------


def check_deletion_mode(mode: str, marker_field: str, target: SideApp) -> None:
    """A deletion mode acts on the target side: the other side's contact is trashed,
    removed from its list or marked there."""
    if mode == DeletionMode.TRASH_TAG and not target.capabilities.tags:
        raise Invalid(
            MISSING_CAPABILITY["tags"] % {"app": target.label, "title": DeletionMode(mode).label}
        )
    if mode == DeletionMode.REMOVE_FROM_LIST and not target.capabilities.lists:
        raise Invalid(
            MISSING_CAPABILITY["lists"] % {"app": target.label, "title": DeletionMode(mode).label}
        )
    if mode == DeletionMode.MARKER_FIELD:
        if not marker_field:
            raise Invalid(gettext("Choose the marker field on %(app)s.") % {"app": target.label})
        if not target.error:
            spec = target.spec(marker_field)
            if spec is None:
                raise Invalid(_no_field(target.label, marker_field))
            if spec.read_only:
                raise Invalid(_read_only(spec.label, target.label))


def check_unsubscribe_mode(mode: str, target: SideApp) -> None:
    """An unsubscribe is passed on to the target side as a tag or its opt-out state."""
    if mode == UnsubscribeMode.TAG and not target.capabilities.tags:
        raise Invalid(
            MISSING_CAPABILITY["tags"] % {"app": target.label, "title": UnsubscribeMode(mode).label}
        )
    if mode == UnsubscribeMode.OPT_OUT and not target.capabilities.subscription:
        raise Invalid(
            MISSING_CAPABILITY["subscription"]
            % {"app": target.label, "title": UnsubscribeMode(mode).label}
        )


def offered_deletion_modes(target: SideApp) -> list[str]:
    """The deletion modes ``target`` can carry out (a marker field is named later)."""
    offered = []
    for mode in DeletionMode.values:
        try:
            check_deletion_mode(mode, "", target)
        except Invalid:
            if mode != DeletionMode.MARKER_FIELD or not writable_fields(target):
                continue
        offered.append(mode)
    return offered


def offered_unsubscribe_modes(target: SideApp) -> list[str]:
    """The unsubscribe modes ``target`` can carry out."""
    offered = []
    for mode in UnsubscribeMode.values:
        try:
            check_unsubscribe_mode(mode, target)
        except Invalid:
            continue
        offered.append(mode)
    return offered


def writable_fields(app: SideApp) -> list[FieldSpec]:
    """Fields a value can be written to (a marker field, a set-field action)."""
    return [f for f in app.fields if not f.read_only and not f.multi]


def check_options(
    connection: Connection, changed: Iterable[str], apps: dict[str, SideApp]
) -> dict[str, str]:
    """Errors by option name for the options in ``changed`` (as ``connection`` holds them
    now, unsaved): deletion modes, marker fields and the unsubscribe mode. Only changed
    options are judged, so a default the app cannot honour (the unsubscribe tag on an
    app without tags: skipped at run time, as before) never blocks saving another. What
    the apps refuse in the connection as a whole is under ``PROBLEMS``."""
    changed = set(changed)
    errors: dict[str, str] = {}
    for direction in synced_directions(connection):
        target = ENDS[direction][1]
        mode_name, marker_name = f"deletions_{direction}", f"marker_field_{target}"
        if {mode_name, marker_name} & changed:
            try:
                check_deletion_mode(
                    getattr(connection, mode_name), getattr(connection, marker_name), apps[target]
                )
            except Invalid as exc:
                errors[mode_name] = exc.message
        if "unsubscribes" in changed and "unsubscribes" not in errors:
            try:
                check_unsubscribe_mode(connection.unsubscribes, apps[target])
            except Invalid as exc:
                errors["unsubscribes"] = exc.message
    problems = connection_problems(connection)
    if problems:
        errors[PROBLEMS] = " ".join(problems)
    return errors


# --- Field pairs -----------------------------------------------------------------------------


def ensure_default_mappings(
    connection: Connection,
    apps: dict[str, SideApp] | None = None,
    entity: str = PRIMARY_ENTITY,
) -> str:
    """Create the locked default pairs of ``entity`` from both sides' common keys; the
    vendor's error message if a side's fields could not be read ("" when done)."""
    from sync.engine import mapping

    apps = apps or side_apps(connection, entity)
    error = apps["a"].error or apps["b"].error
    if error:
        logger.info("No default mappings for connection %s yet: %s", connection.pk, error)
        return error
    mapping.ensure_default_mappings(connection, apps["a"].fields, apps["b"].fields, entity)
    return ""


def guess_transform(a_spec: FieldSpec, b_spec: FieldSpec) -> str:
    """The transform a custom pair of two fields of the same kind needs. Mixed types get
    none: a parsing transform (e.g. text → phone) is the user's explicit choice."""
    if a_spec.multi and b_spec.multi:
        return "set"
    if a_spec.type == b_spec.type and a_spec.type in ("email", "phone", "country"):
        return a_spec.type
    return ""


ARROWS = {"a_to_b": "A → B", "b_to_a": "B → A"}


def check_pair(
    a_field: str,
    b_field: str,
    direction: str,
    transform: str,
    apps: dict[str, SideApp],
    entity: str = PRIMARY_ENTITY,
) -> str:
    """Whether values may flow between ``a_field`` and ``b_field`` in ``direction``
    (mapping.allowed_direction on both FieldSpecs, ``apps`` read for ``entity``);
    returns the transform to store (``transform`` or the guessed one). Raises Invalid."""
    from sync.engine.mapping import allowed_direction

    specs: dict[str, FieldSpec] = {}
    for side, key in (("a", a_field), ("b", b_field)):
        app = apps[side]
        if app.error:
            raise Invalid(
                gettext("The fields of %(app)s could not be read: %(error)s")
                % {"app": app.label, "error": app.error}
            )
        spec = app.spec(key)
        if spec is None:
            raise Invalid(_no_field(app.label, key), f"{side}_field")
        specs[side] = spec
    a_spec, b_spec = specs["a"], specs["b"]
    connection = apps["a"].connection
    judged = entity == PRIMARY_ENTITY  # the apps judge the pairs of the contacts
    if judged and connection is not None and connection.pk and _judging_classes(connection):
        pairs = {*enabled_pairs(connection), (a_field, b_field)}
        problems = connection_problems(connection, pairs=pairs)
        if problems:
            raise Invalid(" ".join(problems))
    transform = transform or guess_transform(a_spec, b_spec)
    allowed = allowed_direction(a_spec, b_spec, transform=transform)
    types = {"a": a_spec.label, "a_type": a_spec.type, "b": b_spec.label, "b_type": b_spec.type}
    if allowed is None:
        raise Invalid(
            gettext(
                "“%(a)s” (%(a_type)s) and “%(b)s” (%(b_type)s) cannot be kept in sync: the "
                "types are incompatible."
            )
            % types
        )
    if allowed != MappingDirection.BOTH and direction != allowed:
        raise Invalid(
            gettext(
                "“%(a)s” (%(a_type)s) ↔ “%(b)s” (%(b_type)s) can only flow %(arrow)s: a value "
                "of one type cannot always be written as the other. Choose “%(arrow)s only”."
            )
            % {**types, "arrow": ARROWS[allowed]},
            "direction",
        )
    return transform


def add_pair(
    connection: Connection,
    a_field: str,
    b_field: str,
    direction: str = MappingDirection.BOTH,
    transform: str = "",
    apps: dict[str, SideApp] | None = None,
    entity: str = PRIMARY_ENTITY,
) -> FieldMapping:
    """Validate and store a custom pair of ``entity`` (the tier must allow custom
    pairs); raises Invalid."""
    if not connection.account.limit("custom_mappings_allowed"):
        raise Invalid(
            gettext("Your plan does not include custom field mappings; upgrade to add them.")
        )
    apps = apps or side_apps(connection, entity)
    transform = check_pair(a_field, b_field, direction, transform, apps, entity)
    if connection.mappings.filter(a_field=a_field, b_field=b_field, entity=entity).exists():
        raise Invalid(gettext("These two fields are already paired."))
    _refuse_mapped(connection, a_field, b_field, apps, entity)
    return FieldMapping.objects.create(
        connection=connection,
        entity=entity,
        a_field=a_field,
        b_field=b_field,
        direction=direction,
        transform=transform,
        order=connection.mappings.count(),
    )


# --- What the apps refuse (their connectors' ``connection_problems`` hook) -----------------

# The key of the apps' messages among check_options' errors: a form's non-field errors.
PROBLEMS = NON_FIELD_ERRORS


def enabled_pairs(connection: Connection) -> set[tuple[str, str]]:
    """(a field, b field) of ``connection``'s enabled pairs of its primary entity, the
    one in its own scopes (prefetched ones are reused)."""
    if not connection.pk:
        return set()
    return {
        (m.a_field, m.b_field)
        for m in connection.mappings.all()
        if m.enabled and m.entity == PRIMARY_ENTITY
    }


def setup_of(
    connection: Connection, pairs: Iterable[tuple[str, str]] | None = None
) -> ConnectionSetup:
    """``connection`` (saved or not) in plain values; ``pairs`` replaces its stored
    enabled pairs (a pending change of the mapping)."""
    from sync.lifecycle import IN_SETUP
    from sync.models import ConnectionState

    authorizations = {side: connection.authorization(side) for side in SIDES}
    return ConnectionSetup(
        id=connection.pk,
        vendors={side: a.vendor for side, a in authorizations.items()},
        scopes={side: connection.scope(side) for side in SIDES},
        credentials={
            side: Credentials(secrets=dict(a.secrets), settings=dict(a.settings))
            for side, a in authorizations.items()
        },
        direction=connection.direction,
        started=connection.state not in IN_SETUP,
        paused=connection.state == ConnectionState.PAUSED,
        pairs=frozenset(enabled_pairs(connection) if pairs is None else pairs),
    )


def _judging_classes(connection: Connection) -> list[type[Connector]]:
    """The connector classes of ``connection``'s sides that judge connections."""
    classes: list[type[Connector]] = []
    for side in SIDES:
        try:
            cls = connector_class(connection.authorization(side).vendor)
        except (KeyError, ImportError, AttributeError):
            continue
        judges = cls.connection_problems.__func__ is not Hooks.connection_problems.__func__  # type: ignore[attr-defined]
        if judges and cls not in classes:
            classes.append(cls)
    return classes


def connection_problems(
    connection: Connection,
    *,
    starting: bool = False,
    pairs: Iterable[tuple[str, str]] | None = None,
) -> list[str]:
    """What the apps on ``connection``'s sides refuse in it as it would be saved (unsaved
    changes included; ``pairs``: its enabled pairs after a pending change), each message
    saying what to do first; ``starting``: it is about to sync. Empty: allowed."""
    from sync.vendors import open_connector

    classes = _judging_classes(connection)
    if not classes:
        return []
    stored = (
        Connection.objects.filter(pk=connection.pk)
        .select_related("a_authorization", "b_authorization")
        .prefetch_related("mappings")
        .first()
        if connection.pk
        else None
    )
    others = (
        Connection.objects.filter(account_id=connection.account_id)
        .exclude(pk=connection.pk)
        .select_related("a_authorization", "b_authorization")
        .prefetch_related("mappings")
    )
    review = SetupReview(
        new=setup_of(connection, pairs),
        old=setup_of(stored) if stored is not None else None,
        others=tuple(setup_of(other) for other in others),
        open=lambda side, scope: open_connector(connection.authorization(side), scope),
        starting=starting,
    )
    problems: list[str] = []
    for cls in classes:
        try:
            problems.extend(cls.connection_problems(review))
        except ConnectorError as exc:
            problems.append(
                gettext("%(app)s could not check this connection now (%(error)s); try again.")
                % {"app": cls.label, "error": exc}
            )
    return list(dict.fromkeys(problems))


def _refuse_mapped(
    connection: Connection,
    a_field: str,
    b_field: str,
    apps: dict[str, SideApp],
    entity: str = PRIMARY_ENTITY,
) -> None:
    """A field already in a pair of ``entity`` (alone or as part of a composite name) is
    not paired again: two pairs writing one field would overwrite each other every run."""
    for pair in connection.mappings.filter(entity=entity):
        for side, key, theirs, partner in (
            ("a", a_field, pair.a_field, pair.b_field),
            ("b", b_field, pair.b_field, pair.a_field),
        ):
            if set(key.split("+")) & set(theirs.split("+")):
                app, other_app = apps[side], apps["b" if side == "a" else "a"]
                spec, partner_spec = app.spec(key), other_app.spec(partner)
                raise Invalid(
                    gettext(
                        "“%(field)s” in %(app)s is already paired with “%(partner)s”; remove "
                        "that pair first."
                    )
                    % {
                        "field": spec.label if spec else key,
                        "app": app.label,
                        "partner": partner_spec.label if partner_spec else partner,
                    },
                    f"{side}_field",
                )


def one_way_reason(pair: FieldMapping, apps: dict[str, SideApp]) -> str:
    """Why ``pair`` flows one way only ("" for a two-way pair): a read-only side, or a
    value of one type that cannot always be written as the other's."""
    from sync.engine.mapping import allowed_direction

    if pair.direction == MappingDirection.BOTH:
        return ""
    a_spec, b_spec = apps["a"].spec(pair.a_field), apps["b"].spec(pair.b_field)
    if a_spec is None or b_spec is None:
        return ""
    allowed = allowed_direction(a_spec, b_spec, transform=pair.transform)
    source, target = (a_spec, b_spec) if pair.direction == "a_to_b" else (b_spec, a_spec)
    target_app = apps["b" if pair.direction == "a_to_b" else "a"]
    if pair.is_default and (source.common, target.common) == ("mobile", "phone"):
        # The default mobile → phone pair (mapping._mobile_fallback).
        return gettext(
            "%(app)s has no mobile field, so mobile numbers go to its “%(field)s”; "
            "that phone is not written back as a mobile, since it may be a landline"
        ) % {"app": target_app.label, "field": target.label}
    if allowed == MappingDirection.BOTH:
        return gettext("one-way by choice")
    if target.read_only:
        return gettext("“%(field)s” is read-only in %(app)s") % {
            "field": target.label,
            "app": target_app.label,
        }
    return gettext("a %(target)s value cannot always be written as %(source)s") % {
        "target": target.type,
        "source": source.type,
    }


# --- A contact's company twice (issue 17) ------------------------------------------------


def _common_rows(
    connection: Connection, entity: str, apps: dict[str, SideApp], common: str
) -> list[FieldMapping]:
    """``entity``'s mapping rows pairing two fields of the common key ``common``."""
    return [
        row
        for row in connection.mappings.filter(entity=entity)
        if (a := apps["a"].spec(row.a_field)) is not None
        and (b := apps["b"].spec(row.b_field)) is not None
        and a.common == common == b.common
    ]


def settle_shadowed_defaults(connection: Connection, apps_of: dict[str, Any] | None = None) -> None:
    """After the set of synced entities changed: a default pair of a plain company name
    is enabled only while no company reference pair carries the company
    (mapping.shadowed_commons); custom pairs are the tenant's and stay as they are."""
    from sync.engine import mapping

    synced = mapping.synced_entities(connection)
    for entity in synced:
        apps = (apps_of or {}).get(entity) or side_apps(connection, entity)
        if apps["a"].error or apps["b"].error:
            continue
        shadowed = mapping.shadowed_commons(apps["a"].fields, apps["b"].fields, synced)
        for plain in mapping.NAMED_BY_REFERENCE.values():
            for row in _common_rows(connection, entity, apps, plain):
                wanted = plain not in shadowed
                if row.is_default and row.enabled != wanted:
                    row.enabled = wanted
                    row.save(update_fields=["enabled"])


def mapping_warnings(connection: Connection, entity: str, apps: dict[str, SideApp]) -> list[str]:
    """What the tenant should know about ``entity``'s pairs: the company mapped both by
    its reference and by its name while companies sync (the name pair writes the
    company a second time, by name)."""
    from sync.engine import mapping

    synced = mapping.synced_entities(connection)
    if apps["a"].error or apps["b"].error:
        return []
    warnings = []
    for reference, plain in mapping.NAMED_BY_REFERENCE.items():
        if plain not in mapping.shadowed_commons(apps["a"].fields, apps["b"].fields, synced):
            continue
        references = [r for r in _common_rows(connection, entity, apps, reference) if r.enabled]
        names = [r for r in _common_rows(connection, entity, apps, plain) if r.enabled]
        for row in names if references else []:
            warnings.append(
                gettext(
                    "“%(a)s” ↔ “%(b)s” pairs the company's name while the company itself "
                    "is synced and paired (“%(ref_a)s” ↔ “%(ref_b)s”): the name pair writes "
                    "the company a second time, by name, and may link to another company "
                    "of that name. Remove or disable the name pair."
                )
                % {
                    "a": _label_of(apps["a"], row.a_field),
                    "b": _label_of(apps["b"], row.b_field),
                    "ref_a": _label_of(apps["a"], references[0].a_field),
                    "ref_b": _label_of(apps["b"], references[0].b_field),
                }
            )
    return warnings


def _label_of(app: SideApp, key: str) -> str:
    spec = app.spec(key)
    return spec.label if spec is not None else key


# --- Value translation of choice pairs (issue 17) ------------------------------------------


def pair_value_map(row: FieldMapping, apps: dict[str, SideApp]) -> Any:
    """The ValueMap of ``row`` (sync/engine/choices.py), None when its values are
    copied (not both fields declare their values)."""
    from sync.engine import mapping

    a_spec, b_spec = apps["a"].spec(row.a_field), apps["b"].spec(row.b_field)
    if a_spec is None or b_spec is None:
        return None
    return mapping.value_map(a_spec, b_spec, row.value_map or {}, row.entity)


def check_value_map(
    row: FieldMapping, posted: Any, apps: dict[str, SideApp]
) -> dict[str, dict[str, str]]:
    """The stored form of the tenant's value translations of ``row`` (blank entries:
    by name). Raises Invalid for a pair whose values are copied, a map of the wrong
    shape or a value an app does not declare."""
    from sync.engine.choices import DIRECTIONS, clean_value_map

    if not posted or (isinstance(posted, dict) and not any(posted.values())):
        return {}  # no entry: every value by name
    values = pair_value_map(row, apps)
    if values is None:
        raise Invalid(
            gettext("The values of this pair are copied: not both fields list their values."),
            "value_map",
        )
    shaped = isinstance(posted, dict) and all(
        isinstance(posted.get(d) or {}, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in (posted.get(d) or {}).items())
        for d in DIRECTIONS
    )
    if not shaped or set(posted) - set(DIRECTIONS):
        raise Invalid(
            gettext("A value map holds “a_to_b” and “b_to_a”, each from values to values."),
            "value_map",
        )
    try:
        return clean_value_map(posted, values.a_choices, values.b_choices)
    except ValueError as exc:
        raise Invalid(
            gettext("%(values)s: not a value of these fields.") % {"values": exc}, "value_map"
        ) from exc


def save_value_map(row: FieldMapping, posted: Any, apps: dict[str, SideApp]) -> FieldMapping:
    """Store the tenant's value translations of a choice pair (``check_value_map``)."""
    row.value_map = check_value_map(row, posted, apps)
    row.save(update_fields=["value_map"])
    return row
