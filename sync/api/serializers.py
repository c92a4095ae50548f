"""Serializers of the REST API.

Credentials go in (write-only) and never come out; a connection is written with its
rules (nested filters and actions) and field mappings in one request; plan limits and
the models' own ``clean()`` rules are enforced here so that errors come back as JSON
keyed by field name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework import serializers

from connectors.registry import VENDORS, connector_class
from sync import setup, tiers
from sync.models import (
    BREAKER_OPTIONS,
    CONNECTION_OPTIONS,
    PRIMARY_ENTITY,
    Account,
    AppAuthorization,
    Connection,
    ConnectionState,
    Direction,
    FieldMapping,
    MappingDirection,
    Rule,
    RuleAction,
    RuleFilter,
    SyncDirection,
    SyncEvent,
    SyncRun,
    UserLink,
)

logger = logging.getLogger(__name__)

# Sides are fixed once records have been linked: changing them would orphan the links.
EDITABLE_SIDE_STATES = (ConnectionState.DRAFT, ConnectionState.PREVIEWED)
SIDE_FIELDS = ("a_authorization", "a_scope", "b_authorization", "b_scope")


def _account(serializer: serializers.BaseSerializer) -> Account:
    return serializer.context["account"]


def _default(name: str) -> Any:
    """The model's default of connection option ``name``."""
    return Connection._meta.get_field(name).get_default()


def _django_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    """A model's ValidationError as DRF's, keeping field names."""
    if hasattr(exc, "error_dict"):
        return serializers.ValidationError(exc.message_dict)
    return serializers.ValidationError({"non_field_errors": exc.messages})


# --- Authorizations


class AuthorizationSerializer(serializers.ModelSerializer):
    """An authorized app account. ``credentials`` (API key, password, tokens) is
    write-only and stored encrypted; ``webhook_url`` is shown to owners and admins only,
    for pasting into the vendor's webhook settings."""

    credentials = serializers.DictField(
        child=serializers.CharField(max_length=4096, trim_whitespace=False),
        write_only=True,
        required=False,
        help_text="Secret values by the connector's auth field names; never returned.",
    )
    settings = serializers.DictField(
        required=False,
        help_text=(
            "Non-secret settings the connector lets a tenant set (see the connector's "
            "auth fields in /api/v1/connectors/); others are written by the platform only."
        ),
    )
    has_credentials = serializers.SerializerMethodField()
    webhook_url = serializers.SerializerMethodField()

    class Meta:
        model = AppAuthorization
        fields = [
            "id",
            "vendor",
            "label",
            "settings",
            "credentials",
            "has_credentials",
            "health",
            "health_message",
            "checked_at",
            "limit_info",
            "webhook_url",
            "created_at",
        ]
        read_only_fields = ["health", "health_message", "checked_at", "limit_info", "created_at"]

    def get_has_credentials(self, obj: AppAuthorization) -> bool:
        return obj.has_secrets

    def get_webhook_url(self, obj: AppAuthorization) -> str | None:
        membership = self.context.get("membership")
        if membership is None or not membership.can_manage:
            return None
        return obj.webhook_url

    def validate_vendor(self, value: str) -> str:
        if value not in VENDORS:
            raise serializers.ValidationError(
                f"Unknown vendor {value!r}; see /api/v1/connectors/ for the catalogue."
            )
        if self.instance is not None and value != self.instance.vendor:
            raise serializers.ValidationError("The vendor of an authorization cannot change.")
        if self.instance is None:
            try:
                tiers.check_vendor(_account(self), value, connector_class(value).label)
            except tiers.NotInPlan as exc:
                raise serializers.ValidationError(str(exc)) from exc
        return value

    def validate_settings(self, value: dict[str, Any]) -> dict[str, Any]:
        for name, setting in value.items():
            if not isinstance(setting, str | int | float | bool) or len(str(setting)) > 500:
                raise serializers.ValidationError(
                    f"{name}: a setting is a text of at most 500 characters, a number or a bool."
                )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        vendor = str(attrs.get("vendor") or getattr(self.instance, "vendor", ""))
        cls = connector_class(vendor)
        credentials = attrs.get("credentials")
        if cls.auth_kind == "oauth" and (self.instance is None or credentials is not None):
            # Tokens come only from the vendor's own sign-in: a tenant who could hand in
            # tokens and an instance address could point the platform's client secret
            # at a host of their choosing.
            raise serializers.ValidationError(
                f"{cls.label} is authorized through its own sign-in on the apps page "
                f"({settings.PUBLIC_URL.rstrip('/')}/apps/), not through the API."
            )
        unknown = sorted(set(attrs.get("settings") or {}) - cls.tenant_setting_names())
        if unknown:
            allowed = ", ".join(sorted(cls.tenant_setting_names())) or "none"
            message = f"{cls.label} has no setting {', '.join(unknown)} (allowed: {allowed})."
            raise serializers.ValidationError({"settings": message})
        if credentials is None:
            if self.instance is None:
                raise serializers.ValidationError({"credentials": "This field is required."})
            return attrs
        # Connectors may read optional secrets beyond their form fields (e.g. a webhook
        # secret), so extra names are kept; the form fields themselves are required
        # unless the connector says one may be left empty.
        expected = [
            name
            for name, _label, _secret in cls.auth_fields
            if name not in cls.optional_auth_fields
        ]
        missing = [name for name in expected if not credentials.get(name)]
        if missing:
            raise serializers.ValidationError(
                {"credentials": f"{cls.label} needs {', '.join(missing)}."}
            )
        return attrs

    def create(self, validated_data: dict[str, Any]) -> AppAuthorization:
        credentials = validated_data.pop("credentials", {})
        authorization = AppAuthorization(
            account=_account(self), owner=self.context["request"].user, **validated_data
        )
        authorization.secrets = credentials
        authorization.save()
        return authorization

    def update(
        self, instance: AppAuthorization, validated_data: dict[str, Any]
    ) -> AppAuthorization:
        credentials = validated_data.pop("credentials", None)
        tenant_settings = validated_data.pop("settings", None)
        if tenant_settings is not None:
            # The tenant's keys are replaced; what the platform wrote (e.g. from a token
            # answer) stays as it is.
            writable = connector_class(instance.vendor).tenant_setting_names()
            kept = {k: v for k, v in instance.settings.items() if k not in writable}
            instance.settings = {**kept, **tenant_settings}
        for name, value in validated_data.items():
            setattr(instance, name, value)
        if credentials is not None:
            # Re-authorizing: new secrets, and the old health no longer says anything.
            instance.secrets = credentials
            instance.health = AppAuthorization._meta.get_field("health").default
            instance.health_message = ""
            instance.checked_at = None
        instance.save()
        return instance


# --- Connections with their rules and mappings


class RuleFilterSerializer(serializers.ModelSerializer):
    class Meta:
        model = RuleFilter
        fields = ["kind", "field", "operator", "value", "negate"]


class RuleActionSerializer(serializers.ModelSerializer):
    class Meta:
        model = RuleAction
        fields = ["kind", "field", "value", "revert_on_leave"]


class RuleSerializer(serializers.ModelSerializer):
    """A rule of one direction: all ``filters`` must hold (IF); ``actions`` apply on the
    other side (THEN)."""

    filters = RuleFilterSerializer(many=True, required=False)
    actions = RuleActionSerializer(many=True, required=False)

    class Meta:
        model = Rule
        fields = ["id", "direction", "name", "order", "enabled", "filters", "actions"]
        read_only_fields = ["id"]


class FieldMappingSerializer(serializers.ModelSerializer):
    """A pair of fields kept equal; default pairs (from common keys) are locked except
    for ``enabled`` and ``value_map``: a choice pair's value translations,
    ``{"a_to_b": {a value: b value}, "b_to_a": {b value: a value}}``, the values not
    listed translated by name (sync/engine/choices.py)."""

    class Meta:
        model = FieldMapping
        fields = [
            "id",
            "a_field",
            "b_field",
            "direction",
            "transform",
            "enabled",
            "is_default",
            "value_map",
        ]
        read_only_fields = ["id", "is_default"]
        # The (connection, a_field, b_field) uniqueness is checked by ConnectionSerializer.
        validators: list[Any] = []


class ScopedAuthorizationField(serializers.PrimaryKeyRelatedField):
    """An authorization id of the caller's account; others' ids are "does not exist"."""

    def get_queryset(self) -> Any:
        return AppAuthorization.objects.filter(account=self.context["account"])


class ConnectionSerializer(serializers.ModelSerializer):
    """A connection: two sides, direction, options, and optionally its rules and field
    mappings. Omitted ``rules`` on create give one rule per synced direction without
    filters; omitted ``mappings`` give the default pairs. Given on update, ``rules``
    replace all rules and ``mappings`` replace the custom pairs."""

    a_authorization = ScopedAuthorizationField()
    b_authorization = ScopedAuthorizationField()
    rules = RuleSerializer(many=True, required=False)
    mappings = FieldMappingSerializer(many=True, required=False)

    class Meta:
        model = Connection
        fields = [
            "id",
            "name",
            "a_authorization",
            "a_scope",
            "b_authorization",
            "b_scope",
            "direction",
            *CONNECTION_OPTIONS,
            *BREAKER_OPTIONS,
            "state",
            "state_reason",
            "next_run_at",
            "last_run_at",
            "rules",
            "mappings",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "state",
            "state_reason",
            "next_run_at",
            "last_run_at",
            "created_at",
            "updated_at",
        ]

    # -- validation

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        account = _account(self)
        plain = {k: v for k, v in attrs.items() if k not in ("rules", "mappings")}
        if self.instance is not None and self.instance.state not in EDITABLE_SIDE_STATES:
            changed = [
                name
                for name in SIDE_FIELDS
                if name in plain and plain[name] != getattr(self.instance, name)
            ]
            if changed:
                raise serializers.ValidationError(
                    {
                        name: "The sides cannot change once the connection has synced; "
                        "create a new connection instead."
                        for name in changed
                    }
                )
        candidate = Connection(account=account)
        if self.instance is not None:
            for field in Connection._meta.concrete_fields:
                setattr(candidate, field.attname, getattr(self.instance, field.attname))
        for name, value in plain.items():
            setattr(candidate, name, value)
        try:
            candidate.clean()
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        if self.instance is None or {"a_authorization", "b_authorization"} & set(plain):
            try:
                setup.check_plan(candidate)  # both apps are in the account's plan
            except setup.Invalid as exc:
                raise serializers.ValidationError({exc.field: exc.message}) from exc
        # What each side's app can do is read from its connector only when needed.
        apps: dict[str, setup.SideApp] = {}

        def side_apps() -> dict[str, setup.SideApp]:
            if not apps:
                apps.update(setup.side_apps(candidate))
            return apps

        changed = [name for name in CONNECTION_OPTIONS if name in plain]
        if self.instance is None:
            # On create only what was given is judged (defaults the app cannot honour
            # are skipped at run time, as the wizard leaves them).
            changed = [name for name in changed if plain[name] != _default(name)]
        if any(name.startswith(("deletions_", "marker_field_", "unsub")) for name in changed):
            problems = setup.check_options(candidate, changed, side_apps())
            if problems:
                raise serializers.ValidationError(problems)
        if "rules" in attrs:
            self._validate_rules(account, candidate, attrs["rules"], side_apps)
        if "mappings" in attrs:
            self._validate_mappings(account, attrs["mappings"], side_apps)
        return attrs

    def _validate_rules(
        self,
        account: Account,
        candidate: Connection,
        rules: list[dict],
        side_apps: Callable[[], dict[str, setup.SideApp]],
    ) -> None:
        limit = account.limit("max_rules_per_connection")
        if len(rules) > limit:
            raise serializers.ValidationError(
                {"rules": f"Your plan allows {limit} rules per connection."}
            )
        errors: dict[int, dict[str, str]] = {}
        for index, rule in enumerate(rules):
            filters = [(f["kind"], f.get("field", "")) for f in rule.get("filters", [])]
            actions = [(a["kind"], a.get("field", "")) for a in rule.get("actions", [])]
            try:
                setup.check_rule(
                    candidate,
                    rule["direction"],
                    filters,
                    actions,
                    side_apps() if filters or actions else {},
                )
            except setup.Invalid as exc:
                errors[index] = {exc.field or "non_field_errors": exc.message}
        if errors:
            raise serializers.ValidationError({"rules": errors})

    def _validate_mappings(
        self,
        account: Account,
        mappings: list[dict],
        side_apps: Callable[[], dict[str, setup.SideApp]],
    ) -> None:
        defaults = set()
        if self.instance is not None:
            defaults = set(
                self.instance.mappings.filter(is_default=True).values_list("a_field", "b_field")
            )
        seen: set[tuple[str, str]] = set()
        errors: dict[int, dict[str, str]] = {}
        custom = False
        for index, mapping in enumerate(mappings):
            missing = [name for name in ("a_field", "b_field") if not mapping.get(name)]
            if missing:
                # A partial update leaves nested fields optional; a pair needs both.
                errors[index] = {name: "This field is required." for name in missing}
                continue
            pair = (mapping["a_field"], mapping["b_field"])
            if pair in seen:
                errors[index] = {"b_field": "This pair of fields is mapped twice."}
            seen.add(pair)
            custom = custom or pair not in defaults
        if errors:
            raise serializers.ValidationError({"mappings": errors})
        if custom and not account.limit("custom_mappings_allowed"):
            raise serializers.ValidationError(
                {"mappings": "Your plan does not include custom field mappings."}
            )
        for index, mapping in enumerate(mappings):
            pair = (mapping["a_field"], mapping["b_field"])
            if mapping.get("value_map"):
                try:
                    mapping["value_map"] = setup.check_value_map(
                        FieldMapping(a_field=pair[0], b_field=pair[1]),
                        mapping["value_map"],
                        side_apps(),
                    )
                except setup.Invalid as exc:
                    errors[index] = {"value_map": exc.message}
                    continue
            if pair in defaults:
                continue
            try:
                mapping["transform"] = setup.check_pair(
                    pair[0],
                    pair[1],
                    mapping.get("direction", MappingDirection.BOTH),
                    mapping.get("transform", ""),
                    side_apps(),
                )
            except setup.Invalid as exc:
                errors[index] = {exc.field or "non_field_errors": exc.message}
        if errors:
            raise serializers.ValidationError({"mappings": errors})

    # -- writing

    @transaction.atomic
    def create(self, validated_data: dict[str, Any]) -> Connection:
        rules = validated_data.pop("rules", None)
        mappings = validated_data.pop("mappings", None)
        connection = Connection(account=_account(self), **validated_data)
        # The pair's defaults (e.g. Salesforce prevails over ForceManager) where the
        # request did not choose.
        setup.apply_pair_defaults(connection, given=self.initial_data.keys())
        connection.save()
        if rules is None:
            rules = [
                {"direction": d, "name": setup.default_rule_name(connection, d)}
                for d in setup.synced_directions(connection)
            ]
        self._write_rules(connection, rules)
        if mappings is not None:
            self._write_mappings(connection, mappings)
        # Without mappings the view adds the default pairs once this transaction commits.
        return connection

    @transaction.atomic
    def update(self, instance: Connection, validated_data: dict[str, Any]) -> Connection:
        rules = validated_data.pop("rules", None)
        mappings = validated_data.pop("mappings", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        instance.save()
        if rules is not None:
            instance.rules.filter(entity=PRIMARY_ENTITY).delete()  # (other entities' stay)
            self._write_rules(instance, rules)
        if mappings is not None:
            self._write_mappings(instance, mappings)
        return instance

    @staticmethod
    def _write_rules(connection: Connection, rules: list[dict[str, Any]]) -> None:
        for order, data in enumerate(rules):
            data = dict(data)
            filters = data.pop("filters", [])
            actions = data.pop("actions", [])
            data.setdefault("order", order)
            rule = Rule.objects.create(connection=connection, **data)
            RuleFilter.objects.bulk_create(RuleFilter(rule=rule, **f) for f in filters)
            RuleAction.objects.bulk_create(RuleAction(rule=rule, **a) for a in actions)

    @staticmethod
    def _write_mappings(connection: Connection, mappings: list[dict[str, Any]]) -> None:
        mine = connection.mappings.filter(entity=PRIMARY_ENTITY)  # other entities' stay
        defaults = {(m.a_field, m.b_field): m for m in mine.filter(is_default=True)}
        mine.filter(is_default=False).delete()
        for order, data in enumerate(mappings):
            locked = defaults.get((data["a_field"], data["b_field"]))
            if locked is not None:
                # Default pairs are locked: only switching them on or off is allowed.
                locked.enabled = data.get("enabled", locked.enabled)
                locked.value_map = data.get("value_map", locked.value_map)
                locked.save(update_fields=["enabled", "value_map"])
                continue
            FieldMapping.objects.create(connection=connection, order=1000 + order, **data)


def add_default_mappings(connection: Connection) -> None:
    """Create the default field pairs from both apps' field schemas (vendor HTTP, so
    called outside any transaction). An app that cannot be read now leaves the
    connection without default pairs; the mapping page or a later call fills them in."""
    setup.ensure_default_mappings(connection)


class StartSerializer(serializers.Serializer):
    """``confirm_replace``: the explicit consent a start needs where the activation
    deletes a side's records and replaces them with the other side's."""

    confirm_replace = serializers.BooleanField(default=False)


class ConnectionStateSerializer(serializers.Serializer):
    """Optional reason given when pausing."""

    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


# --- Runs, events, statistics


class RunSerializer(serializers.ModelSerializer):
    """One execution of a connection with its phase, progress and counts."""

    duration_seconds = serializers.SerializerMethodField()

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "connection",
            "trigger",
            "status",
            "dry_run",
            "phase",
            "progress",
            "counts",
            "match_summary",
            "preview",
            "api_calls",
            "writes",
            "error",
            "undo_of",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
        ]
        read_only_fields = fields

    def get_duration_seconds(self, obj: SyncRun) -> float | None:
        duration = obj.duration
        return duration.total_seconds() if duration is not None else None


class RunStatusSerializer(serializers.ModelSerializer):
    """What a poller needs while a run goes."""

    class Meta:
        model = SyncRun
        fields = ["id", "status", "phase", "progress", "started_at", "finished_at", "error"]
        read_only_fields = fields


class QueuedSerializer(serializers.Serializer):
    """A run put on the task queue; ``run`` is null until a worker has created it."""

    connection = serializers.IntegerField()
    trigger = serializers.CharField()
    run = RunSerializer(allow_null=True)


class EventSerializer(serializers.ModelSerializer):
    """One record-level action with the fields it changed (old and new values)."""

    # Blank for events without a direction (e.g. a record skipped before matching).
    direction = serializers.ChoiceField(choices=Direction.choices, allow_blank=True, read_only=True)

    class Meta:
        model = SyncEvent
        fields = [
            "id",
            "run",
            "entity",
            "action",
            "direction",
            "record_id",
            "source_id",
            "label",
            "changes",
            "status",
            "reason",
            "error",
            "created_at",
        ]
        read_only_fields = fields


class StatSerializer(serializers.Serializer):
    """How many events of one element, action and direction a day saw."""

    day = serializers.DateField()
    entity = serializers.CharField()
    direction = serializers.CharField()
    action = serializers.CharField()
    count = serializers.IntegerField()


class EventIdsSerializer(serializers.Serializer):
    """Events to act on, by id."""

    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=1000
    )


class ConflictResolutionSerializer(serializers.Serializer):
    """How to settle a conflict: ``other`` writes the value that lost to both sides;
    ``kept`` accepts the outcome as it is."""

    use = serializers.ChoiceField(choices=["other", "kept"], default="other")


class ReviewResultSerializer(serializers.Serializer):
    """How many deletions were approved or dismissed."""

    count = serializers.IntegerField()


# --- Connector catalogue


class AuthFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    secret = serializers.BooleanField()


class FieldSpecSerializer(serializers.Serializer):
    """One field of the vendor's records (see connectors.base.FieldSpec)."""

    key = serializers.CharField()
    label = serializers.CharField()
    type = serializers.CharField()
    common = serializers.CharField(allow_null=True)
    required = serializers.BooleanField()
    read_only = serializers.BooleanField()
    custom = serializers.BooleanField()
    multi = serializers.BooleanField()
    choices = serializers.ListField(child=serializers.CharField())
    max_length = serializers.IntegerField(allow_null=True)


class ScopeSerializer(serializers.Serializer):
    id = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.CharField()


class ConnectorSerializer(serializers.Serializer):
    """A connector of the catalogue; ``fields`` and ``scopes`` are read from the vendor
    only when an authorization is given (``?authorization=<id>``)."""

    vendor = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField()
    auth_kind = serializers.CharField()
    auth_fields = AuthFieldSerializer(many=True)
    capabilities = serializers.DictField()
    entities = serializers.ListField(child=serializers.CharField())
    fields = FieldSpecSerializer(many=True, required=False)
    scopes = ScopeSerializer(many=True, required=False)


class UserLinkSerializer(serializers.ModelSerializer):
    """An owner of side A linked to an owner of side B (``auto``: by "Automatic link")."""

    class Meta:
        model = UserLink
        fields = ["a_user_id", "a_user_label", "b_user_id", "b_user_label", "auto"]
        read_only_fields = ["a_user_label", "b_user_label", "auto"]


class VendorUserSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    email = serializers.CharField()


class UsersInputSerializer(serializers.Serializer):
    """Link the users of both sides: ``automatic`` adds the automatic links to those
    made by hand; else ``links`` replaces them all. The default users are each side's
    user for owners of the other side that have no link (blank: none)."""

    automatic = serializers.BooleanField(default=False)
    links = UserLinkSerializer(many=True, required=False)
    default_user_a = serializers.CharField(required=False, allow_blank=True)
    default_user_b = serializers.CharField(required=False, allow_blank=True)


class UsersSerializer(serializers.Serializer):
    """Both sides' users, the links, the automatic suggestions and the default users."""

    users_a = VendorUserSerializer(many=True)
    users_b = VendorUserSerializer(many=True)
    links = UserLinkSerializer(many=True)
    suggested = serializers.DictField(child=serializers.CharField())
    default_user_a = serializers.CharField(allow_blank=True)
    default_user_b = serializers.CharField(allow_blank=True)


# --- Elements (entity types beyond contacts, issue 17)


class EntitySerializer(serializers.Serializer):
    """An entity type both apps offer beyond the contacts: whether the connection syncs
    it (``enabled``) and which way, whether it must (companies, where the plan has them)
    and, where the account's plan lacks it, ``needs`` ("needs the Business plan")."""

    entity = serializers.CharField()
    label = serializers.CharField()
    enabled = serializers.BooleanField(source="synced")
    direction = serializers.ChoiceField(choices=SyncDirection.choices)
    mandatory = serializers.BooleanField()
    needs = serializers.CharField(allow_blank=True)


class EntityInputSerializer(serializers.Serializer):
    """Sync ``entity`` (one the two apps offer) in ``direction``."""

    entity = serializers.CharField(max_length=40)
    direction = serializers.ChoiceField(
        choices=SyncDirection.choices, default=SyncDirection.TWO_WAY
    )


class EntityChangeSerializer(serializers.Serializer):
    """Change an element's direction, or stop (``enabled: false``) or resume syncing it."""

    direction = serializers.ChoiceField(choices=SyncDirection.choices, required=False)
    enabled = serializers.BooleanField(required=False)
