"""The ops console: the Django admin over every tenant (DESIGN.md section 1).

Ops staff see all accounts; tenant users never reach it (only staff log in here). Two
things differ from a stock admin: secrets are never rendered (authorizations show
"set" / "not set" and accept a write-only replacement), and the journal tables
(events, runs, record links) use a paginator that never counts millions of rows.
django-q2 registers its own task and schedule admin ("Task queue").
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import ShowFacets
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext, ngettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _
from social_django.admin import UserSocialAuthOption
from social_django.models import UserSocialAuth

from sync import lifecycle, setup
from sync.models import (
    BREAKER_OPTIONS,
    CONNECTION_OPTIONS,
    PRIMARY_ENTITY,
    Account,
    ApiToken,
    AppAuthorization,
    Connection,
    ConnectionEntity,
    FieldMapping,
    Invitation,
    RecordLink,
    Rule,
    RuleAction,
    RuleFilter,
    SyncEvent,
    SyncRun,
    TeamUser,
    UserLink,
)
from sync.paginators import EstimatedCountPaginator

logger = logging.getLogger(__name__)

admin.site.site_header = _("Contact sync — ops console")
admin.site.site_title = _("Contact sync ops")
admin.site.index_title = _("All tenants")


class JournalAdmin(admin.ModelAdmin):
    """Base for tables that grow without bound: no exact counts, no facet counts."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    list_per_page = 50


class ReadOnlyAdmin(JournalAdmin):
    """The journal is history: ops read it, nobody edits it by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- Accounts and members


class TeamUserInline(admin.TabularInline):
    model = TeamUser
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    """Tenants, with their plan and any per-account limit overrides."""

    list_display = ["name", "slug", "tier", "member_count", "connection_count", "created_at"]
    list_filter = ["tier"]
    search_fields = ["name", "slug", "members__user__username", "members__user__email"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TeamUserInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "tier"]}),
        (
            _("Limit overrides (empty = as the plan says)"),
            {
                "fields": [
                    "max_rules_per_connection",
                    "custom_mappings_allowed",
                    "min_interval_minutes",
                    "max_contacts",
                ]
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Account]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _members=Count("members", distinct=True),
                _connections=Count("connections", distinct=True),
            )
        )

    @admin.display(description=_("Members"), ordering="_members")
    def member_count(self, obj: Account) -> int:
        return obj._members  # type: ignore[attr-defined]

    @admin.display(description=_("Connections"), ordering="_connections")
    def connection_count(self, obj: Account) -> int:
        return obj._connections  # type: ignore[attr-defined]


@admin.register(TeamUser)
class TeamUserAdmin(admin.ModelAdmin):
    """Who belongs to which account, with which role."""

    list_display = ["user", "account", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "account__name"]
    list_select_related = ["user", "account"]
    raw_id_fields = ["user", "account"]


# --- App authorizations: secrets are write-only here.


class AppAuthorizationForm(forms.ModelForm):
    """Edits everything but the secrets, which can only be replaced, never read back."""

    new_secrets = forms.CharField(
        label=_("Replace secrets"),
        required=False,
        strip=True,
        # render_value=False: a secret typed here is never sent back to the browser,
        # not even when the form is redisplayed with errors.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            'A JSON object, e.g. {"api_key": "…"}. Replaces all secrets; '
            "leave empty to keep the current ones."
        ),
    )

    class Meta:
        model = AppAuthorization
        # Never secrets_json: the admin reads the plaintext nowhere.
        fields = [
            "account",
            "vendor",
            "label",
            "owner",
            "settings",
            "health",
            "health_message",
            "checked_at",
            "limit_info",
        ]

    def clean_new_secrets(self) -> dict[str, Any] | None:
        raw = self.cleaned_data.get("new_secrets")
        if not raw:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            # Say nothing about the content: it is a secret.
            raise forms.ValidationError(gettext("Not valid JSON.")) from None
        if not isinstance(value, dict):
            raise forms.ValidationError(gettext("Must be a JSON object."))
        return value

    def save(self, commit: bool = True) -> AppAuthorization:
        new_secrets = self.cleaned_data.get("new_secrets")
        if new_secrets is not None:
            self.instance.secrets = new_secrets
        return super().save(commit=commit)


@admin.register(AppAuthorization)
class AppAuthorizationAdmin(admin.ModelAdmin):
    """Authorized app accounts. Their secrets show only as set / not set."""

    form = AppAuthorizationForm
    list_display = ["label", "vendor", "account", "owner", "health", "secrets_status", "checked_at"]
    list_filter = ["vendor", "health"]
    search_fields = ["label", "vendor", "account__name", "owner__username"]
    list_select_related = ["account", "owner"]
    raw_id_fields = ["account", "owner"]
    readonly_fields = ["secrets_status", "webhook_token_hint", "created_at"]
    fields = [
        "account",
        "vendor",
        "label",
        "owner",
        "secrets_status",
        "new_secrets",
        "settings",
        "health",
        "health_message",
        "checked_at",
        "limit_info",
        "webhook_token_hint",
        "created_at",
    ]

    @admin.display(description=_("Secrets"))
    def secrets_status(self, obj: AppAuthorization) -> str:
        if obj.pk is None:
            return gettext("not set")
        return gettext("set") if obj.has_secrets else gettext("not set")

    @admin.display(description=_("Webhook token"))
    def webhook_token_hint(self, obj: AppAuthorization) -> str:
        # Enough to tell two tokens apart in a log, not enough to forge a callback.
        return f"{obj.webhook_token[:4]}…" if obj.webhook_token else ""


# social-auth's own admin renders ``extra_data``, which holds OAuth access and refresh
# tokens; show the same "set / not set" there instead.
admin.site.unregister(UserSocialAuth)


@admin.register(UserSocialAuth)
class UserSocialAuthAdmin(UserSocialAuthOption):
    """social-auth's admin without the token-bearing ``extra_data``."""

    exclude = ["extra_data"]
    # social_django's class attribute is typed as a 2-tuple; this one has three names.
    readonly_fields = (*UserSocialAuthOption.readonly_fields, "tokens_status")  # type: ignore[assignment]

    @admin.display(description=_("Tokens"))
    def tokens_status(self, obj: UserSocialAuth) -> str:
        return gettext("set") if obj.extra_data else gettext("not set")


# --- Connections, with rules and mappings nested.


# --- What the apps can do (sync/setup.py), judged as the wizard and the API judge it.


class SetupCheckedForm(forms.ModelForm):
    """A model form whose changed rows are also checked against what each side's app
    can do (sync/setup.py), after the model's own validation; refusals are form errors
    in the words the wizard and the API use."""

    def _post_clean(self) -> None:
        super()._post_clean()
        if self.errors or not self.has_changed():
            return
        try:
            self.check_setup(self.instance)
        except setup.Invalid as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)

    def check_setup(self, instance: Any) -> None:
        raise NotImplementedError


class ConnectionForm(SetupCheckedForm):
    """Deletion and unsubscribe modes must be possible on the side they act on."""

    def check_setup(self, instance: Connection) -> None:
        if not (instance.a_authorization_id and instance.b_authorization_id):
            return
        if instance.pk is None or {"a_authorization", "b_authorization"} & set(self.changed_data):
            setup.check_plan(instance)  # both apps in the account's plan
        problems = setup.check_options(instance, self.changed_data, setup.side_apps(instance))
        for name, words in problems.items():
            self.add_error(name if name in self.fields else None, words)
        defaults = [side for side in "ab" if f"default_user_{side}" in self.changed_data]
        if defaults:
            from sync import users

            team = users.read_team(instance)
            for side in defaults:
                try:
                    users.check_default_user(getattr(instance, f"default_user_{side}"), side, team)
                except users.Invalid as exc:
                    self.add_error(f"default_user_{side}", str(exc))


class EntityDefaultForm(forms.ModelForm):
    """A row of one entity (issue 17): left empty, the connection's primary entity."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "entity" in self.fields:
            self.fields["entity"].required = False

    def clean_entity(self) -> str:
        return self.cleaned_data.get("entity") or PRIMARY_ENTITY


class FieldMappingForm(EntityDefaultForm, SetupCheckedForm):
    """A custom pair: both fields exist and values may flow in its direction."""

    def check_setup(self, instance: FieldMapping) -> None:
        if instance.is_default or not instance.connection_id:
            return
        instance.transform = setup.check_pair(
            instance.a_field,
            instance.b_field,
            instance.direction,
            instance.transform,
            setup.side_apps(instance.connection, instance.entity),
            instance.entity,
        )


class RuleFilterForm(SetupCheckedForm):
    """A filter must be possible on its rule's source side."""

    def check_setup(self, instance: RuleFilter) -> None:
        if instance.rule_id:
            rule = instance.rule
            apps = setup.side_apps(rule.connection, rule.entity)
            setup.check_filter(instance.kind, instance.field, rule.direction, apps)


class RuleActionForm(SetupCheckedForm):
    """An action must be possible on its rule's target side."""

    def check_setup(self, instance: RuleAction) -> None:
        if instance.rule_id:
            rule = instance.rule
            apps = setup.side_apps(rule.connection, rule.entity)
            setup.check_action(instance.kind, instance.field, rule.direction, apps)


class RuleForm(EntityDefaultForm):
    pass


class RuleInline(admin.TabularInline):
    """Rules of a connection; filters and actions are edited on the rule's own page."""

    model = Rule
    form = RuleForm
    extra = 0
    fields = ["entity", "direction", "name", "order", "enabled", "filter_count", "action_count"]
    readonly_fields = ["filter_count", "action_count"]
    show_change_link = True

    @admin.display(description=_("Filters"))
    def filter_count(self, obj: Rule) -> int:
        return obj.filters.count() if obj.pk else 0

    @admin.display(description=_("Actions"))
    def action_count(self, obj: Rule) -> int:
        return obj.actions.count() if obj.pk else 0


class FieldMappingInline(admin.TabularInline):
    model = FieldMapping
    form = FieldMappingForm
    extra = 0
    fields = [
        "entity",
        "a_field",
        "b_field",
        "direction",
        "transform",
        "enabled",
        "is_default",
        "order",
    ]


class ConnectionEntityForm(SetupCheckedForm):
    """An element synced beyond the contacts: the account's plan must have it, companies
    must share a direction with the contacts and cannot be stopped while both apps have
    them, as in the wizard and the API (sync/setup.py)."""

    def check_setup(self, instance: ConnectionEntity) -> None:
        if not instance.connection_id:
            return
        connection = instance.connection
        if instance.enabled:
            setup.check_entity(connection, instance.entity, instance.direction)
        elif self.initial.get("enabled"):  # it synced, and is to stop
            setup.check_drop(connection, instance.entity)


class ConnectionEntityInline(admin.TabularInline):
    """The entity types the connection syncs beyond its primary one (issue 17); checked
    by ``ConnectionEntityForm`` and, once saved, set up through ``sync.setup.add_entity``
    (scopes left blank: those the apps list; the default mapping and rules)."""

    model = ConnectionEntity
    form = ConnectionEntityForm
    extra = 0
    fields = ["entity", "a_scope", "b_scope", "direction", "enabled", "position"]


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    """Connections of every tenant, with ops actions: pause, resume, start, run now,
    resync, confirm a mass change (sync/lifecycle.py)."""

    form = ConnectionForm

    list_display = [
        "name",
        "account",
        "a_authorization",
        "b_authorization",
        "direction",
        "state",
        "interval_minutes",
        "next_run_at",
        "last_run_at",
        "consecutive_failures",
    ]
    list_filter = ["state", "direction", "conflict_policy", "account__tier"]
    search_fields = [
        "name",
        "account__name",
        "a_authorization__label",
        "b_authorization__label",
        "a_authorization__vendor",
        "b_authorization__vendor",
    ]
    list_select_related = ["account", "a_authorization", "b_authorization"]
    raw_id_fields = ["account", "a_authorization", "b_authorization", "current_run"]
    readonly_fields = [
        "cursor_a",
        "cursor_b",
        "last_run_at",
        "current_run",
        "claimed_by",
        "claimed_until",
        "created_at",
        "updated_at",
    ]
    inlines = [ConnectionEntityInline, RuleInline, FieldMappingInline]
    actions = [
        "pause",
        "resume",
        "start",
        "run_now",
        "full_resync",
        "confirm_mass_change",
        "link_users",
    ]
    fieldsets = [
        (None, {"fields": ["account", "name", "direction"]}),
        (_("Side A"), {"fields": ["a_authorization", "a_scope", "a_scope_label"]}),
        (_("Side B"), {"fields": ["b_authorization", "b_scope", "b_scope_label"]}),
        (
            _("Options"),
            {"fields": [*CONNECTION_OPTIONS, *BREAKER_OPTIONS]},
        ),
        ("Users", {"fields": ["default_user_a", "default_user_b"]}),
        (
            _("State"),
            {
                "fields": [
                    "state",
                    "state_reason",
                    "next_run_at",
                    "last_run_at",
                    "consecutive_failures",
                    "current_run",
                    "cursor_a",
                    "cursor_b",
                    "claimed_by",
                    "claimed_until",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]

    @admin.action(description=_("Pause selected connections"))
    def pause(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        by = gettext("%(user)s from the ops console") % {"user": request.user}
        done = ngettext_lazy(
            "Paused %(count)d connection.", "Paused %(count)d connections.", "count"
        )
        self._transition(request, queryset, done, lambda c: lifecycle.pause(c, by=by))

    @admin.action(description=_("Resume selected connections"))
    def resume(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        done = ngettext_lazy(
            "Resumed %(count)d connection.", "Resumed %(count)d connections.", "count"
        )
        self._transition(request, queryset, done, lifecycle.resume)

    @admin.action(description=_("Start selected connections (initial sync)"))
    def start(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        done = ngettext_lazy(
            "Started %(count)d connection.", "Started %(count)d connections.", "count"
        )
        self._transition(request, queryset, done, lifecycle.start)

    @admin.action(description=_("Run selected connections now"))
    def run_now(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        done = ngettext_lazy(
            "Queued %(count)d connection.", "Queued %(count)d connections.", "count"
        )
        self._transition(request, queryset, done, lifecycle.run_now)

    @admin.action(description=_("Full resync (forget cursors, re-read everything)"))
    def full_resync(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        done = ngettext_lazy(
            "Resyncing %(count)d connection.", "Resyncing %(count)d connections.", "count"
        )
        self._transition(request, queryset, done, lifecycle.request_full_resync)

    @admin.action(description=_("Confirm the mass change (run once through the circuit breaker)"))
    def confirm_mass_change(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        done = ngettext_lazy(
            "Confirmed %(count)d connection.", "Confirmed %(count)d connections.", "count"
        )
        self._transition(request, queryset, done, lifecycle.confirm_mass_change)

    def save_model(self, request: HttpRequest, obj: Connection, form: Any, change: bool) -> None:
        if not change:
            # The pair's defaults (Salesforce prevails over ForceManager) unless chosen.
            setup.apply_pair_defaults(obj, given=form.changed_data)
        super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        if formset.model is not ConnectionEntity:
            return
        for row in formset.new_objects + [changed for changed, _fields in formset.changed_objects]:
            if not row.enabled:
                continue
            try:
                # Its scopes (blank: those the apps list), default mapping and rules.
                setup.add_entity(
                    row.connection,
                    row.entity,
                    a_scope=row.a_scope or None,
                    b_scope=row.b_scope or None,
                    direction=row.direction,
                )
            except setup.Invalid as exc:
                self.message_user(request, f"{row}: {exc.message}", messages.WARNING)

    @admin.action(description=_("Link users automatically (same email or name)"))
    def link_users(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        from sync import users

        for connection in queryset:
            try:
                saved = users.link_automatically(connection)
            except users.Invalid as exc:
                self.message_user(request, f"{connection}: {exc}", messages.WARNING)
                continue
            done = ngettext(
                "%(connection)s: %(count)d user link.",
                "%(connection)s: %(count)d user links.",
                len(saved),
            )
            self.message_user(request, done % {"connection": connection, "count": len(saved)})

    def _transition(
        self,
        request: HttpRequest,
        queryset: QuerySet[Connection],
        done_message: Any,
        transition: Callable[[Connection], lifecycle.Outcome],
    ) -> None:
        """Apply one lifecycle transition (sync/lifecycle.py) to each selected connection;
        refusals are reported with the lifecycle's words, grouped."""
        done, unqueued = 0, 0
        refused: dict[str, int] = {}
        for connection in queryset:
            try:
                outcome = transition(connection)
            except lifecycle.Refused as exc:
                refused[str(exc)] = refused.get(str(exc), 0) + 1
                continue
            done += 1
            if outcome.trigger and not outcome.queued:
                unqueued += 1
        self.message_user(request, done_message % {"count": done})
        if unqueued:
            self.message_user(
                request,
                ngettext(
                    "%(count)d run could not be queued at once; it will run at the next dispatch.",
                    "%(count)d runs could not be queued at once; they run at the next dispatch.",
                    unqueued,
                )
                % {"count": unqueued},
                messages.WARNING,
            )
        for reason, count in refused.items():
            skipped = ngettext(
                "Skipped %(count)d connection: %(reason)s",
                "Skipped %(count)d connections: %(reason)s",
                count,
            )
            self.message_user(request, skipped % {"count": count, "reason": reason}, messages.INFO)


# --- Rules, with their filters and actions nested.


class RuleFilterInline(admin.TabularInline):
    model = RuleFilter
    form = RuleFilterForm
    extra = 0


class RuleActionInline(admin.TabularInline):
    model = RuleAction
    form = RuleActionForm
    extra = 0


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    """A rule (IF filters THEN actions) of one connection and direction."""

    form = RuleForm
    list_display = ["__str__", "connection", "direction", "order", "enabled"]
    list_filter = ["direction", "enabled"]
    search_fields = ["name", "connection__name", "connection__account__name"]
    list_select_related = ["connection"]
    raw_id_fields = ["connection"]
    inlines = [RuleFilterInline, RuleActionInline]


@admin.register(RuleFilter)
class RuleFilterAdmin(admin.ModelAdmin):
    form = RuleFilterForm
    list_display = ["__str__", "rule", "kind", "field", "operator", "value", "negate"]
    list_filter = ["kind", "operator", "negate"]
    search_fields = ["field", "value", "rule__name", "rule__connection__name"]
    list_select_related = ["rule"]
    raw_id_fields = ["rule"]


@admin.register(RuleAction)
class RuleActionAdmin(admin.ModelAdmin):
    form = RuleActionForm
    list_display = ["__str__", "rule", "kind", "field", "value", "revert_on_leave"]
    list_filter = ["kind", "revert_on_leave"]
    search_fields = ["field", "value", "rule__name", "rule__connection__name"]
    list_select_related = ["rule"]
    raw_id_fields = ["rule"]


@admin.register(FieldMapping)
class FieldMappingAdmin(admin.ModelAdmin):
    form = FieldMappingForm
    list_display = [
        "__str__",
        "connection",
        "direction",
        "transform",
        "enabled",
        "is_default",
        "order",
    ]
    list_filter = ["direction", "transform", "enabled", "is_default"]
    search_fields = ["a_field", "b_field", "connection__name"]
    list_select_related = ["connection"]
    raw_id_fields = ["connection"]


@admin.register(UserLink)
class UserLinkAdmin(admin.ModelAdmin):
    list_display = ["__str__", "connection", "a_user_id", "b_user_id", "auto"]
    list_filter = ["auto"]
    search_fields = ["a_user_id", "a_user_label", "b_user_id", "b_user_label", "connection__name"]
    list_select_related = ["connection"]
    raw_id_fields = ["connection"]


# --- The sync's memory and journal.


@admin.register(RecordLink)
class RecordLinkAdmin(JournalAdmin):
    """The sync's memory. Editable for repairs (e.g. unlinking a wrong match)."""

    list_display = ["__str__", "connection", "entity", "a_id", "b_id", "state", "updated_at"]
    list_filter = ["state", "entity", "dirty"]
    search_fields = ["=a_id", "=b_id", "match_key"]
    list_select_related = ["connection"]
    raw_id_fields = ["connection"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "connection",
        "trigger",
        "status",
        "dry_run",
        "phase",
        "api_calls",
        "writes",
        "created_at",
        "duration",
    ]
    list_filter = ["status", "trigger", "dry_run"]
    search_fields = ["=connection__id", "connection__name", "error"]
    list_select_related = ["connection"]


@admin.register(SyncEvent)
class SyncEventAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "connection",
        "action",
        "direction",
        "label",
        "record_id",
        "status",
        "reason",
    ]
    list_filter = ["action", "status", "direction", "entity"]
    search_fields = ["=record_id", "=source_id", "label", "=connection__id"]
    list_select_related = ["connection"]


# --- Access: API tokens and invitations (their secret parts are stored hashed only).


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """REST API tokens. Only revocation is done here; tenants issue tokens themselves."""

    list_display = ["name", "prefix", "user", "account", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "user__username", "account__name"]
    list_select_related = ["user", "account"]
    exclude = ["key_hash"]
    readonly_fields = ["user", "account", "prefix", "created_at", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A token's raw key is shown once at issue time, on the tenant pages.
        return False

    @admin.action(description=_("Revoke selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        revoked = ngettext("Revoked %(count)d token.", "Revoked %(count)d tokens.", count)
        self.message_user(request, revoked % {"count": count})


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "account", "role", "invited_by", "created_at", "accepted_at"]
    list_filter = ["role"]
    search_fields = ["email", "account__name"]
    list_select_related = ["account", "invited_by"]
    exclude = ["token_hash"]
    readonly_fields = ["invited_by", "created_at", "accepted_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # The one-time link is made and mailed by the tenant pages.
        return False
