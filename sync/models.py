"""Domain model of the sync platform (DESIGN.md section 3).

Accounts (tenants) own authorizations of apps and connections between two of them. A
connection's rules, field mappings and user links say what syncs and how; record links
remember what was synced (the base of the three-way merge); runs and events journal
every execution and every record-level action.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from encrypted_model_fields.fields import EncryptedTextField

from sync.tiers import TIER_LIMITS

if TYPE_CHECKING:
    # Without django-stubs mypy would read a member (Trigger.MANUAL) as the tuple its class
    # body assigns; to mypy the choices are string enums with Django's extras.
    class TextChoices(StrEnum):
        choices: ClassVar[list[tuple[str, str]]]
        values: ClassVar[list[str]]
        labels: ClassVar[list[str]]
        label: str

        def __init__(self, *args: Any) -> None: ...
else:
    TextChoices = models.TextChoices


class Side(TextChoices):
    A = "a", _("Side A")
    B = "b", _("Side B")


class Direction(TextChoices):
    A_TO_B = "a_to_b", _("A → B")
    B_TO_A = "b_to_a", _("B → A")


class Tier(TextChoices):
    """The pricing tier of an account (what tenants read as their "plan"; called a tier
    in code so that it is never confused with the planner's plan of a run)."""

    FREE = "free", _("Free")
    TEAM = "team", _("Team")
    BUSINESS = "business", _("Business")


# What each tier allows (limits, connectors, entity types): sync/tiers.py.


class Account(models.Model):
    """A tenant: a company whose apps are kept in sync. Its tier sets the limits."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.TEAM)
    # Overrides of the tier's limits; empty means "as the tier says".
    max_rules_per_connection = models.PositiveIntegerField(null=True, blank=True)
    custom_mappings_allowed = models.BooleanField(null=True, blank=True)
    min_interval_minutes = models.PositiveIntegerField(null=True, blank=True)
    max_contacts = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def limit(self, name: str) -> Any:
        """The limit ``name`` in force: the account's override, else the tier's value."""
        override = getattr(self, name)
        return TIER_LIMITS[self.tier][name] if override is None else override


class Role(TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MEMBER = "member", _("Member")


class TeamUser(models.Model):
    """A Django user's membership in an account. Owners and admins change settings;
    members watch."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("team user")
        verbose_name_plural = _("team users")
        constraints = [
            models.UniqueConstraint(fields=["account", "user"], name="one_membership_per_account")
        ]

    def __str__(self) -> str:
        return gettext("%(user)s in %(account)s (%(role)s)") % {
            "user": self.user,
            "account": self.account,
            "role": self.role,
        }

    @property
    def can_manage(self) -> bool:
        return self.role in (Role.OWNER, Role.ADMIN)


class UserPreference(models.Model):
    """What a person chose for themselves, whatever the account they work in: the
    language of the pages (one of ``settings.LANGUAGES``), applied at every request
    they make signed in (sync/language.py)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference"
    )
    language = models.CharField(max_length=10)

    def __str__(self) -> str:
        return f"{self.user}: {self.language}"


class Health(TextChoices):
    UNKNOWN = "unknown", _("Not checked yet")
    OK = "ok", _("OK")
    AUTH_FAILED = "auth_failed", _("Authentication failed")
    RATE_LIMITED = "rate_limited", _("Rate-limited")
    ERROR = "error", _("Error")


def _new_token() -> str:
    return secrets.token_urlsafe(24)


class AppAuthorization(models.Model):
    """One authorized account of one app, reusable by many connections.

    Secrets (API keys, OAuth tokens, passwords) live encrypted in ``secrets_json``;
    everything else the connector needs (base URL, instance URL, PBX host, sandbox or
    production) lives in ``settings``.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="authorizations")
    vendor = models.CharField(max_length=40, db_index=True)
    label = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="authorizations",
    )
    secrets_json = EncryptedTextField(default="{}", blank=True)
    settings = models.JSONField(default=dict, blank=True)
    health = models.CharField(max_length=20, choices=Health.choices, default=Health.UNKNOWN)
    health_message = models.TextField(blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    # The vendor's API usage as last reported (e.g. Salesforce's Sforce-Limit-Info).
    limit_info = models.JSONField(default=dict, blank=True)
    # Secret part of this authorization's webhook URL (/hooks/<vendor>/<token>/).
    webhook_token = models.CharField(max_length=64, unique=True, default=_new_token)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("app authorization")
        verbose_name_plural = _("app authorizations")
        ordering = ["label"]

    def __str__(self) -> str:
        return f"{self.label} ({self.vendor})"

    @property
    def secrets(self) -> dict[str, Any]:
        return json.loads(self.secrets_json or "{}")

    @secrets.setter
    def secrets(self, value: dict[str, Any]) -> None:
        self.secrets_json = json.dumps(value)

    @property
    def has_secrets(self) -> bool:
        return bool(self.secrets)

    @property
    def webhook_url(self) -> str:
        """Where this account of the app sends its callbacks (PUBLIC_URL/hooks/…/)."""
        return self.callback_url()

    def callback_url(self, base: str | None = None) -> str:
        """The callback address under ``base``, or the product's PUBLIC_URL (sync/hooks.py
        answers it)."""
        path = reverse("webhook", args=[self.vendor, self.webhook_token])
        return f"{(base or settings.PUBLIC_URL).rstrip('/')}{path}"


class ConnectionState(TextChoices):
    DRAFT = "draft", _("Draft")
    PREVIEWED = "previewed", _("Previewed")
    INITIAL_SYNC = "initial_sync", _("Initial sync")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    ERROR = "error", _("Error")


class SyncDirection(TextChoices):
    TWO_WAY = "two_way", _("Two-way")
    A_TO_B = "a_to_b", _("One-way A → B")
    B_TO_A = "b_to_a", _("One-way B → A")


class DeletionMode(TextChoices):
    OFF = "off", _("Do nothing")
    TRASH_TAG = "trash_tag", _("Add the trash tag")
    DELETE = "delete", _("Delete")
    REMOVE_FROM_LIST = "remove_from_list", _("Remove from the list")
    MARKER_FIELD = "marker_field", _("Set the marker field")


class UnsubscribeMode(TextChoices):
    OFF = "off", _("Do nothing")
    TAG = "tag", _("Add the unsubscribe tag")
    OPT_OUT = "opt_out", _("Set the opt-out field")


class ConflictPolicy(TextChoices):
    A_WINS = "a_wins", _("Side A wins")
    B_WINS = "b_wins", _("Side B wins")
    MOST_RECENT = "most_recent", _("Most recent change wins")


class ConnectionQuerySet(models.QuerySet["Connection"]):
    def due(self, now: Any = None) -> ConnectionQuerySet:
        """Connections whose next run time has passed and that are not paused."""
        now = now or timezone.now()
        return self.filter(
            state__in=[ConnectionState.INITIAL_SYNC, ConnectionState.ACTIVE],
            next_run_at__lte=now,
        )

    def claim(self, pk: int, worker: str, lease_seconds: int | None = None) -> bool:
        """Claim connection ``pk`` for ``worker`` with one conditional UPDATE.

        Succeeds when nobody holds it or the holder's lease has gone stale; exactly one
        of several racing claimants sees a row count of 1.
        """
        now = timezone.now()
        lease = timedelta(seconds=lease_seconds or settings.SYNC_LEASE_SECONDS)
        updated = self.filter(
            Q(claimed_by="") | Q(claimed_until__lt=now) | Q(claimed_until__isnull=True),
            pk=pk,
        ).update(claimed_by=worker, claimed_until=now + lease)
        return updated == 1

    def renew(self, pk: int, worker: str, lease_seconds: float | None = None) -> bool:
        """Extend ``worker``'s claim by a lease from now; False when it no longer holds
        it (it went stale and another worker claimed the connection)."""
        lease = timedelta(seconds=lease_seconds or settings.SYNC_LEASE_SECONDS)
        return (
            self.filter(pk=pk, claimed_by=worker).update(claimed_until=timezone.now() + lease) == 1
        )

    def release(self, pk: int, worker: str) -> bool:
        """Give up the claim, only if ``worker`` still holds it."""
        return self.filter(pk=pk, claimed_by=worker).update(claimed_by="", claimed_until=None) == 1


# The options a tenant sets on a connection, in the order pages and the API show them.
CONNECTION_OPTIONS = (
    "avoid_duplicates",
    "deletions_a_to_b",
    "deletions_b_to_a",
    "deletion_review",
    "trash_tag",
    "marker_field_a",
    "marker_field_b",
    "unsubscribes",
    "unsubscribe_tag",
    "conflict_policy",
    "interval_minutes",
    "default_phone_country",
)
# The circuit breaker's thresholds (ops and the API set them; the pages leave defaults).
BREAKER_OPTIONS = ("breaker_share", "breaker_count")


class Connection(models.Model):
    """Two sides (an authorization plus a scope in that app each) kept in sync."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="connections")
    name = models.CharField(max_length=200)
    a_authorization = models.ForeignKey(
        AppAuthorization, on_delete=models.PROTECT, related_name="connections_as_a"
    )
    a_scope = models.CharField(max_length=200, blank=True, help_text=_("List, phonebook, object…"))
    # The scope's name in the app when it was chosen (ids like "Xk3p" mean nothing to
    # people); blank when unknown, e.g. set through the API.
    a_scope_label = models.CharField(max_length=200, blank=True)
    b_authorization = models.ForeignKey(
        AppAuthorization, on_delete=models.PROTECT, related_name="connections_as_b"
    )
    b_scope = models.CharField(max_length=200, blank=True)
    b_scope_label = models.CharField(max_length=200, blank=True)
    direction = models.CharField(
        max_length=10, choices=SyncDirection.choices, default=SyncDirection.TWO_WAY
    )

    # Options.
    avoid_duplicates = models.BooleanField(
        default=True, help_text=_("Only sync contacts that have an email address.")
    )
    deletions_a_to_b = models.CharField(
        max_length=20,
        choices=DeletionMode.choices,
        default=DeletionMode.OFF,
        help_text=_("What happens on B when a synced contact is deleted on A."),
    )
    deletions_b_to_a = models.CharField(
        max_length=20,
        choices=DeletionMode.choices,
        default=DeletionMode.OFF,
        help_text=_("What happens on A when a synced contact is deleted on B."),
    )
    deletion_review = models.BooleanField(
        default=False, help_text=_("Queue deletions for review instead of applying them.")
    )
    trash_tag = models.CharField(max_length=100, default="deleted")
    marker_field_a = models.CharField(max_length=200, blank=True)
    marker_field_b = models.CharField(max_length=200, blank=True)
    unsubscribes = models.CharField(
        max_length=10, choices=UnsubscribeMode.choices, default=UnsubscribeMode.TAG
    )
    unsubscribe_tag = models.CharField(max_length=100, default="unsubscribed")
    conflict_policy = models.CharField(
        max_length=20, choices=ConflictPolicy.choices, default=ConflictPolicy.MOST_RECENT
    )
    interval_minutes = models.PositiveIntegerField(default=15)
    # The user an owner of the other side becomes here when that owner has no user link
    # (a user id of this side's app; blank: the owner is left as it is). sync/users.py.
    default_user_a = models.CharField(max_length=200, blank=True)
    default_user_b = models.CharField(max_length=200, blank=True)
    default_phone_country = models.CharField(
        max_length=2, blank=True, help_text=_("ISO country for phone numbers without a prefix.")
    )
    # Circuit breaker: a run that would delete, unsubscribe or overwrite at least
    # breaker_count records AND at least breaker_share of the linked ones pauses instead.
    breaker_share = models.FloatField(default=0.3)
    breaker_count = models.PositiveIntegerField(default=20)

    # State and scheduling.
    state = models.CharField(
        max_length=20, choices=ConnectionState.choices, default=ConnectionState.DRAFT
    )
    state_reason = models.TextField(blank=True)
    cursor_a = models.JSONField(null=True, blank=True)
    cursor_b = models.JSONField(null=True, blank=True)
    # When each side was last listed completely (deletion detection without a feed).
    a_listed_at = models.DateTimeField(null=True, blank=True)
    b_listed_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    current_run = models.ForeignKey(
        "SyncRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Claim / lease: who runs it now, and until when the claim holds.
    claimed_by = models.CharField(max_length=100, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ConnectionQuerySet.as_manager()

    class Meta:
        verbose_name = _("connection")
        verbose_name_plural = _("connections")
        ordering = ["name"]
        indexes = [models.Index(fields=["state", "next_run_at"], name="connection_due")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        for side in ("a", "b"):
            if not (self.account_id and getattr(self, f"{side}_authorization_id")):
                continue
            if self.authorization(side).account_id != self.account_id:
                errors[f"{side}_authorization"] = gettext(
                    "Side %(side)s's app authorization belongs to another account."
                ) % {"side": side.upper()}
        if (
            self.a_authorization_id
            and self.a_authorization_id == self.b_authorization_id
            and self.a_scope == self.b_scope
        ):
            # A connection to itself would echo every change back onto the same record;
            # an empty scope is the whole app, so two empty scopes are the same too. The
            # wizard's first step picks only apps and ignores this error until its
            # scopes step (sync/web/views/wizard.py).
            errors["b_scope"] = gettext(
                "Both sides are the same list of the same app; choose another for one side."
            )
        if self.account_id:
            minimum = self.account.limit("min_interval_minutes")
            if self.interval_minutes < minimum:
                errors["interval_minutes"] = ngettext(
                    "Your plan allows an interval of at least %(minimum)d minute.",
                    "Your plan allows an interval of at least %(minimum)d minutes.",
                    minimum,
                ) % {"minimum": minimum}
        if not 0 < self.breaker_share <= 1:
            errors["breaker_share"] = gettext("The circuit-breaker share must be between 0 and 1.")
        if errors:
            raise ValidationError(errors)

    def authorization(self, side: str) -> AppAuthorization:
        return self.a_authorization if side == Side.A else self.b_authorization

    def scope(self, side: str) -> str:
        return self.a_scope if side == Side.A else self.b_scope

    def scope_name(self, side: str) -> str:
        """The scope as people call it: its name in the app, else its id, else "all"."""
        label = self.a_scope_label if side == Side.A else self.b_scope_label
        return label or self.scope(side) or gettext("all")

    @property
    def a_scope_name(self) -> str:
        return self.scope_name(Side.A)

    @property
    def b_scope_name(self) -> str:
        return self.scope_name(Side.B)

    def syncs(self, direction: str) -> bool:
        """Whether records flow in ``direction`` (a_to_b or b_to_a)."""
        return self.direction in (SyncDirection.TWO_WAY, direction)


# The entity a connection's own scopes (a_scope, b_scope) hold.
PRIMARY_ENTITY = "contact"


class ConnectionEntity(models.Model):
    """One more entity type a connection syncs beyond its primary one (contacts, in the
    connection's own scopes, cursors and direction): the scope holding it on each side,
    its own direction, cursors and last complete listings (issue 17). Its mapping and
    rules are the connection's FieldMapping and Rule rows of the same ``entity``."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="entities")
    entity = models.CharField(max_length=40)
    a_scope = models.CharField(max_length=200, blank=True)
    b_scope = models.CharField(max_length=200, blank=True)
    direction = models.CharField(
        max_length=10, choices=SyncDirection.choices, default=SyncDirection.TWO_WAY
    )
    enabled = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    cursor_a = models.JSONField(null=True, blank=True)
    cursor_b = models.JSONField(null=True, blank=True)
    a_listed_at = models.DateTimeField(null=True, blank=True)
    b_listed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["connection", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "entity"], name="one_connection_entity")
        ]

    def __str__(self) -> str:
        return f"{self.entity} of connection {self.connection_id}"

    def scope(self, side: str) -> str:
        return self.a_scope if side == Side.A else self.b_scope

    def syncs(self, direction: str) -> bool:
        return self.direction in (SyncDirection.TWO_WAY, direction)


class Rule(models.Model):
    """IF all filters hold for a record on the source side THEN sync it to the other side
    and apply the actions. A record syncs if any enabled rule of its direction matches."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="rules")
    entity = models.CharField(max_length=40, default=PRIMARY_ENTITY)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    name = models.CharField(max_length=200, blank=True)
    order = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("rule")
        verbose_name_plural = _("rules")
        ordering = ["connection", "direction", "order", "pk"]

    def __str__(self) -> str:
        return self.name or gettext("Rule %(id)s (%(direction)s)") % {
            "id": self.pk,
            "direction": self.get_direction_display(),
        }

    def clean(self) -> None:
        if not self.connection_id:
            return
        limit = self.connection.account.limit("max_rules_per_connection")
        others = Rule.objects.filter(connection_id=self.connection_id).exclude(pk=self.pk)
        if others.count() >= limit:
            raise ValidationError(
                ngettext(
                    "Your plan allows %(limit)d rule per connection; remove one or upgrade "
                    "the plan.",
                    "Your plan allows %(limit)d rules per connection; remove one or upgrade "
                    "the plan.",
                    limit,
                )
                % {"limit": limit}
            )


class FilterKind(TextChoices):
    HAS_TAG = "has_tag", _("Has tag")
    IN_LIST = "in_list", _("Is in list")
    OWNED_BY = "owned_by", _("Is owned by")
    STATUS = "status", _("Has status")
    FIELD = "field", _("Field value")
    EXISTS_IN_OTHER = "exists_in_other", _("Already exists in the other app")


class Operator(TextChoices):
    EQUALS = "equals", _("equals")
    NOT_EQUALS = "not_equals", _("does not equal")
    CONTAINS = "contains", _("contains")
    EMPTY = "empty", _("is empty")
    NOT_EMPTY = "not_empty", _("is not empty")
    GREATER = "greater", _("is greater than")
    LESS = "less", _("is less than")


class RuleFilter(models.Model):
    """One IF condition. ``negate`` turns e.g. "has tag" into "does not have tag"."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="filters")
    kind = models.CharField(max_length=20, choices=FilterKind.choices)
    field = models.CharField(max_length=200, blank=True, help_text=_("Field key for field filters"))
    operator = models.CharField(max_length=20, choices=Operator.choices, default=Operator.EQUALS)
    value = models.CharField(max_length=500, blank=True)
    negate = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("rule filter")
        verbose_name_plural = _("rule filters")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.field} {self.operator} {self.value}".strip()


class ActionKind(TextChoices):
    ADD_TAG = "add_tag", _("Add tag")
    REMOVE_TAG = "remove_tag", _("Remove tag")
    ADD_TO_LIST = "add_to_list", _("Add to list")
    REMOVE_FROM_LIST = "remove_from_list", _("Remove from list")
    SET_OWNER = "set_owner", _("Set owner")
    SET_STATUS = "set_status", _("Set status")
    SET_FIELD = "set_field", _("Set field value")
    SET_FIELD_ON_CREATE = "set_field_on_create", _("Set field value on create only")


class RuleAction(models.Model):
    """One THEN action applied on the target side; may be reverted when the record
    leaves the rule's segment."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=30, choices=ActionKind.choices)
    field = models.CharField(max_length=200, blank=True)
    value = models.CharField(max_length=500, blank=True)
    revert_on_leave = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("rule action")
        verbose_name_plural = _("rule actions")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.field} {self.value}".strip()


class MappingDirection(TextChoices):
    BOTH = "both", _("Both ways")
    A_TO_B = "a_to_b", _("A → B only")
    B_TO_A = "b_to_a", _("B → A only")


class Transform(TextChoices):
    NONE = "", _("As is")
    EMAIL = "email", _("Email (normalized)")
    PHONE = "phone", _("Phone (E.164)")
    COUNTRY = "country", _("Country name ↔ ISO code")
    SET = "set", _("Set (tags, lists)")
    FULL_NAME = "full_name", _("First + last name ↔ full name")
    TEXT = "text", _("As text")


class FieldMapping(models.Model):
    """A pair of fields kept equal. For the composite ``full_name`` transform the side
    with two fields names them joined by ``+`` (e.g. ``first_name+last_name``)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="mappings")
    entity = models.CharField(max_length=40, default=PRIMARY_ENTITY)
    a_field = models.CharField(max_length=200)
    b_field = models.CharField(max_length=200)
    direction = models.CharField(
        max_length=10, choices=MappingDirection.choices, default=MappingDirection.BOTH
    )
    transform = models.CharField(
        max_length=20, choices=Transform.choices, default=Transform.NONE, blank=True
    )
    enabled = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False, help_text=_("From common keys; locked."))
    order = models.PositiveIntegerField(default=0)
    # The tenant's value translations of a choice pair (sync/engine/choices.py):
    # {"a_to_b": {a value: b value}, "b_to_a": {b value: a value}}; the rest by name.
    value_map = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("field mapping")
        verbose_name_plural = _("field mappings")
        ordering = ["connection", "order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "entity", "a_field", "b_field"],
                name="one_mapping_per_pair",
            )
        ]

    def __str__(self) -> str:
        arrow = {"both": "↔", "a_to_b": "→", "b_to_a": "←"}[self.direction]
        return f"{self.a_field} {arrow} {self.b_field}"

    @property
    def key(self) -> str:
        """Stable name of the pair, used as the key of link bases."""
        return f"{self.a_field}|{self.b_field}"

    def clean(self) -> None:
        if self.is_default or not self.connection_id:
            return
        if not self.connection.account.limit("custom_mappings_allowed"):
            raise ValidationError(
                gettext("Your plan does not include custom field mappings; upgrade to add them.")
            )


class UserLink(models.Model):
    """Owner on side A ↔ owner on side B, for owner filters and set-owner actions."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="user_links")
    a_user_id = models.CharField(max_length=200)
    a_user_label = models.CharField(max_length=200, blank=True)
    b_user_id = models.CharField(max_length=200)
    b_user_label = models.CharField(max_length=200, blank=True)
    auto = models.BooleanField(default=True, help_text=_("Linked automatically by email or name"))

    class Meta:
        verbose_name = _("user link")
        verbose_name_plural = _("user links")
        constraints = [
            models.UniqueConstraint(fields=["connection", "a_user_id"], name="one_link_per_a_user"),
            models.UniqueConstraint(fields=["connection", "b_user_id"], name="one_link_per_b_user"),
        ]

    def __str__(self) -> str:
        return f"{self.a_user_label or self.a_user_id} ↔ {self.b_user_label or self.b_user_id}"


class LinkState(TextChoices):
    LINKED = "linked", _("Linked")
    PENDING_DELETE = "pending_delete", _("Deletion awaiting review")
    TRASHED = "trashed", _("Trashed")
    DELETED = "deleted", _("Deleted")


class RecordLink(models.Model):
    """The memory of the sync for one record pair: ids on each side, the match key, the
    content hash of each side's mapped values as last seen, and each side's vendor fields
    as last synced (``a_fields``/``b_fields``: the bases of the three-way merge; the
    last synced value of a mapped field is computed from them, sync/web/views/stats.py)."""

    # No index of its own: every index of the table starts with the connection, and a
    # run rewrites hundreds of thousands of links (each index costs on every write).
    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="links", db_index=False
    )
    entity = models.CharField(max_length=40, default="contact")
    a_id = models.CharField(max_length=255, null=True, blank=True)
    b_id = models.CharField(max_length=255, null=True, blank=True)
    match_key = models.CharField(max_length=320, blank=True, help_text=_("Normalized email"))
    # The value of the identity both connectors declare (FieldSpec.identity), matched
    # before the email; and why the link is held out of the sync (an ambiguous group of
    # records sharing an email, sync/engine/match.py), "" when it is not.
    identity_key = models.CharField(max_length=255, blank=True, default="")
    held = models.CharField(max_length=40, blank=True, default="")
    a_hash = models.CharField(max_length=64, blank=True)
    b_hash = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=20, choices=LinkState.choices, default=LinkState.LINKED)
    # A create whose answer was lost, on an app that neither keeps our key nor lets the
    # record be found by email: the hash of the mapped values it was sent with, so that
    # the record, when it shows up, is recognised as ours instead of synced back.
    create_signature = models.CharField(max_length=64, blank=True, default="")
    # Ids of the rules whose segment the record was in at the last run (for reverts).
    rules_matched = models.JSONField(default=list, blank=True)
    # Run that last saw each side in a complete listing (mark and sweep for deletions).
    a_seen_run = models.BigIntegerField(null=True, blank=True)
    b_seen_run = models.BigIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Engine staging (sync/engine/stage.py). Each side's vendor fields as last synced (after
    # our own writes): the per-side base of the three-way merge and the "current" a write
    # is computed against. ``*_pending`` holds what this run read and has not planned yet
    # (durable, so the cursor can advance as soon as a page is staged); ``*_gone`` marks a
    # deletion detected on that side; ``dirty`` says the link needs planning.
    a_fields = models.JSONField(null=True, blank=True)
    b_fields = models.JSONField(null=True, blank=True)
    a_pending = models.JSONField(null=True, blank=True)
    b_pending = models.JSONField(null=True, blank=True)
    a_updated_at = models.DateTimeField(null=True, blank=True)
    b_updated_at = models.DateTimeField(null=True, blank=True)
    a_gone = models.BooleanField(default=False)
    b_gone = models.BooleanField(default=False)
    dirty = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("record link")
        verbose_name_plural = _("record links")
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "entity", "a_id"],
                condition=Q(a_id__isnull=False),
                name="one_link_per_a_record",
            ),
            models.UniqueConstraint(
                fields=["connection", "entity", "b_id"],
                condition=Q(b_id__isnull=False),
                name="one_link_per_b_record",
            ),
        ]
        indexes = [
            models.Index(fields=["connection", "entity", "match_key"], name="link_match_key"),
            models.Index(fields=["connection", "state"], name="link_state"),
            # The links a run still has to plan, walked in primary-key order in chunks:
            # partial, so it holds only the dirty few, and ordered for the walk.
            models.Index(fields=["connection", "id"], condition=Q(dirty=True), name="link_dirty"),
            models.Index(
                fields=["connection", "create_signature"],
                condition=~Q(create_signature=""),
                name="link_create_signature",
            ),
            models.Index(
                fields=["connection", "identity_key"],
                condition=~Q(identity_key=""),
                name="link_identity_key",
            ),
            models.Index(fields=["connection", "id"], condition=~Q(held=""), name="link_held"),
        ]

    def __str__(self) -> str:
        return f"{self.a_id or '—'} ↔ {self.b_id or '—'} ({self.match_key})"

    def side_id(self, side: str) -> str | None:
        return self.side(side).id

    def side(self, side: str) -> LinkSide:
        """The view of one side's columns (``link.side("a")`` is ``link.a``)."""
        return LinkSide(self, side)

    @property
    def a(self) -> LinkSide:
        return LinkSide(self, "a")

    @property
    def b(self) -> LinkSide:
        return LinkSide(self, "b")


def link_column(side: str, name: str) -> str:
    """The RecordLink column of ``side`` named ``name`` (``"a", "id"`` -> ``"a_id"``),
    for queries; lookups may follow (``link_column("a", "id__in")``)."""
    return f"{side}_{name}"


def _side_attribute(name: str) -> property:
    """A property of LinkSide reading and writing the link's ``<side>_<name>`` column."""
    names = {side: link_column(side, name) for side in ("a", "b")}

    def get(view: LinkSide) -> Any:
        return getattr(view.link, names[view.name])

    def set_(view: LinkSide, value: Any) -> None:
        setattr(view.link, names[view.name], value)

    return property(get, set_, doc=f"The side's ``{name}`` column.")


class LinkSide:
    """One side of a RecordLink, read and written as a unit (vdirsyncer's ``SubStatus``):
    the side's record id, its vendor fields as last synced, their content hash, the fields
    this run read and has not planned yet (``pending``), and whether a deletion was
    detected (``gone``). A view: reads and writes go to the link's columns."""

    __slots__ = ("link", "name")

    id = _side_attribute("id")
    fields = _side_attribute("fields")
    hash = _side_attribute("hash")
    pending = _side_attribute("pending")
    gone = _side_attribute("gone")
    updated_at = _side_attribute("updated_at")
    seen_run = _side_attribute("seen_run")

    def __init__(self, link: RecordLink, name: str) -> None:
        self.link = link
        self.name = name

    @property
    def current(self) -> dict[str, Any] | None:
        """The side's fields now: what this run read, else what was last synced."""
        pending = self.pending
        return pending if pending is not None else self.fields

    def stage(self, fields: dict[str, Any], updated_at: Any) -> None:
        """Hold ``fields``, read this run, until the link is planned."""
        self.pending = fields
        self.updated_at = updated_at
        self.gone = False
        self.link.dirty = True

    def settle(self, fields: dict[str, Any] | None, content_hash: str) -> None:
        """The side holds ``fields`` after a sync (our write or an accepted read)."""
        self.fields = fields
        self.pending = None
        self.gone = False
        self.hash = content_hash

    def forget(self) -> None:
        """The side's record is no more: the link keeps no id or fields of it."""
        self.id = None
        self.fields = None
        self.gone = False


class Trigger(TextChoices):
    PREVIEW = "preview", _("Preview (dry run)")
    INITIAL = "initial", _("Initial sync")
    SCHEDULE = "schedule", _("Schedule")
    WEBHOOK = "webhook", _("Webhook")
    MANUAL = "manual", _("Run now")
    RESYNC = "resync", _("Full resync")
    UNDO = "undo", _("Undo")
    # A person's decision applied later: a conflict settled the other way, deletions
    # approved. Its own run, so undoing the run that found them leaves it alone.
    REVIEW = "review", _("Review decision")


class RunStatus(TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    PARTIAL = "partial", _("Succeeded with record errors")
    FAILED = "failed", _("Failed")
    ABORTED = "aborted", _("Aborted by a safety check")


class SyncRun(models.Model):
    """One execution of a connection: what triggered it, its phase and progress, counts
    per action and direction, API calls made, and the error if it failed."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    dry_run = models.BooleanField(default=False)
    phase = models.CharField(max_length=40, blank=True)
    # {"list_a": {"done": 1200, "total": 5000}, "check": {...}, "write": {...}}
    progress = models.JSONField(default=dict, blank=True)
    # {"a_to_b": {"create": 3, "update": 1}, "b_to_a": {...}}
    counts = models.JSONField(default=dict, blank=True)
    # Records skipped and held by reason, duplicate-email groups and how they were paired
    # (sync/engine/match.py summary; issue 13).
    match_summary = models.JSONField(default=dict, blank=True)
    # Dry run: counts per action per side and up to 20 samples each.
    preview = models.JSONField(default=dict, blank=True)
    api_calls = models.PositiveIntegerField(default=0)
    writes = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    undo_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="undone_by"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["connection", "-created_at"], name="run_recent")]

    def __str__(self) -> str:
        return gettext("Run %(run)s of %(connection)s (%(trigger)s, %(status)s)") % {
            "run": self.pk,
            "connection": self.connection_id,
            "trigger": self.trigger,
            "status": self.status,
        }

    @property
    def duration(self) -> timedelta | None:
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class EventAction(TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    DELETE = "delete", _("Deleted")
    TRASH = "trash", _("Trashed")
    REMOVE_FROM_LIST = "remove_from_list", _("Removed from list")
    MARK = "mark", _("Marked deleted")
    TAG = "tag", _("Tagged")
    UNSUBSCRIBE = "unsubscribe", _("Unsubscribed")
    SKIP = "skip", _("Skipped")
    CONFLICT = "conflict", _("Conflict")
    ERROR = "error", _("Error")
    UNDO = "undo", _("Undone")


class EventStatus(TextChoices):
    OK = "ok", _("OK")
    ERROR = "error", _("Error")
    SKIPPED = "skipped", _("Skipped")
    PREVIEW = "preview", _("Preview only")
    PENDING_REVIEW = "pending_review", _("Awaiting review")
    APPROVED = "approved", _("Approved")
    DISMISSED = "dismissed", _("Dismissed")
    RESOLVED = "resolved", _("Resolved")
    UNDONE = "undone", _("Undone")


class SyncEvent(models.Model):
    """One record-level action with the fields it changed, old and new values.

    The journal that feeds the activity monitor, the statistics tab (last 100), the
    conflicts view, deletions awaiting review, per-record explain, and undo.
    """

    # Indexed by the composite indexes below (event_recent, event_run) that start with
    # them: events are written in bulk, and every index costs on each insert.
    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    run = models.ForeignKey(
        SyncRun,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )
    link = models.ForeignKey(
        RecordLink, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    entity = models.CharField(max_length=40, default="contact")
    action = models.CharField(max_length=20, choices=EventAction.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices, blank=True)
    record_id = models.CharField(max_length=255, blank=True, help_text=_("Id on the target side"))
    source_id = models.CharField(max_length=255, blank=True, help_text=_("Id on the source side"))
    label = models.CharField(max_length=320, blank=True, help_text=_("Email or name"))
    # {"field": {"old": ..., "new": ...}}; for conflicts also {"lost": ...}.
    changes = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=EventStatus.choices, default=EventStatus.OK)
    reason = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("sync event")
        verbose_name_plural = _("sync events")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["connection", "-created_at", "-id"], name="event_recent"),
            models.Index(fields=["connection", "status", "-created_at"], name="event_status"),
            models.Index(
                fields=["connection", "action", "direction", "created_at"], name="event_counts"
            ),
            models.Index(fields=["run", "action"], name="event_run"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.label or self.record_id}"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A per-user REST API token. Only its hash is stored; the raw token is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text=_("First characters, to recognise it"))
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("api token")
        verbose_name_plural = _("api tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, user: Any, account: Account, name: str) -> tuple[ApiToken, str]:
        """Create a token; returns it with the raw key, which is never stored."""
        raw = "cs_" + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, account=account, name=name, prefix=raw[:10], key_hash=hash_token(raw)
        )
        return token, raw


class Invitation(models.Model):
    """An invitation to join an account with a role, accepted through a one-time link."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return f"{self.email} → {self.account} ({self.role})"


class PhoneEntry(models.Model):
    """One phone number (E.164) of one synced record: the caller-ID index. Kept by the
    engine whenever a link is settled (sync/lookup.py), so that a lookup is one indexed
    query over the tenant's numbers, never a scan of link fields."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    link = models.ForeignKey(
        RecordLink, on_delete=models.CASCADE, related_name="phones", db_index=False
    )
    authorization = models.ForeignKey(
        AppAuthorization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    side = models.CharField(max_length=1)
    vendor = models.CharField(max_length=40)
    record_id = models.CharField(max_length=255)
    phone = models.CharField(max_length=32, help_text=_("E.164"))
    name = models.CharField(max_length=255, blank=True)
    company = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("phone entry")
        verbose_name_plural = _("phone entries")
        indexes = [
            models.Index(fields=["account", "phone"], name="phone_entry_lookup"),
            models.Index(fields=["link"], name="phone_entry_link"),
        ]

    def __str__(self) -> str:
        return f"{self.phone} → {self.vendor}:{self.record_id}"


class LimitHolder(models.Model):
    """A run sharing one vendor account's limits (connectors/limits.py): the runs live
    on a key at once split its parallel and rate limits equally. Used where Redis is not
    configured; a row lapses at ``expires_at`` unless its run renews it."""

    key = models.CharField(max_length=120, help_text=_("<vendor>:<authorization id>"))
    holder = models.CharField(max_length=32)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("limit holder")
        verbose_name_plural = _("limit holders")
        constraints = [
            models.UniqueConstraint(fields=["key", "holder"], name="limit_holder_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ← {self.holder}"


class CallbackStatus(TextChoices):
    QUEUED = "queued", _("being registered")
    REGISTERED = "registered", _("registered")
    FAILED = "failed", _("not registered")


class AppCallback(models.Model):
    """Whether a side's app was asked to call back once its connection started (the
    connector's ``on_start``: Mailchimp's audience webhook). The request runs as a task
    (sync/tasks.py), since the vendor checks our address while it is asked; the dashboard
    shows what became of it (sync/lifecycle.py)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="callbacks")
    side = models.CharField(max_length=1, choices=Side.choices)
    status = models.CharField(
        max_length=12, choices=CallbackStatus.choices, default=CallbackStatus.QUEUED
    )
    message = models.TextField(blank=True, help_text=_("The app's refusal, when it refused"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "side"], name="app_callback_per_side"),
        ]

    def __str__(self) -> str:
        return f"{self.connection_id}{self.side}: {self.status}"
