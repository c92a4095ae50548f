"""Forms of the tenant pages. Secrets are entered through password inputs that never
render a value back."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from connectors.base import Connector, FieldSpec
from sync import setup
from sync.models import (
    CONNECTION_OPTIONS,
    ActionKind,
    AppAuthorization,
    Connection,
    FilterKind,
    MappingDirection,
    Operator,
    Role,
    SyncDirection,
    Transform,
    UnsubscribeMode,
)
from sync.setup import SideApp
from sync.web import describe


class AuthorizationForm(forms.Form):
    """Connect (or re-authorize) one app: the fields the connector declares in
    ``auth_fields``; secrets go to the encrypted secrets, the rest to settings."""

    label = forms.CharField(
        max_length=200,
        label=_("Label"),
        help_text=_("A name to recognise this account of the app by."),
    )

    def __init__(
        self,
        *args: Any,
        connector: type[Connector],
        authorization: AppAuthorization | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.connector = connector
        self.reauthorize = authorization is not None
        self.secret_names: list[str] = []
        self.setting_names: list[str] = []
        # No API host among them: hosts come from settings (connectors/endpoints.py).
        declared = list(connector.auth_fields) if connector.auth_kind != "oauth" else []
        settings = dict(authorization.settings) if authorization else {}
        for name, label, secret in declared:
            if secret:
                self.secret_names.append(name)
                self.fields[name] = forms.CharField(
                    label=label,
                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                    strip=True,
                )
            else:
                self.setting_names.append(name)
                self.fields[name] = forms.CharField(
                    label=label,
                    max_length=500,
                    initial=settings.get(name, ""),
                    required=name not in connector.optional_auth_fields,
                )
        if authorization is not None:
            self.fields["label"].initial = authorization.label

    def clean(self) -> dict[str, Any]:
        """No input may carry a line break or control character: values end up in
        request headers, URLs and SOAP bodies, where one would change the request."""
        data = super().clean() or {}
        for name in (*self.secret_names, *self.setting_names):
            value = data.get(name) or ""
            if any(ord(c) < 32 or ord(c) == 127 for c in value):
                self.add_error(
                    name, gettext("Remove the line break or control character from this.")
                )
        return data

    def apply(self, authorization: AppAuthorization) -> AppAuthorization:
        """Copy the cleaned values onto ``authorization`` (not saved). Re-authorizing
        replaces every secret; settings left empty are removed."""
        data = self.cleaned_data
        authorization.label = data["label"]
        authorization.secrets = {name: data[name] for name in self.secret_names}
        settings = dict(authorization.settings or {})
        for name in self.setting_names:
            if data.get(name):
                settings[name] = data[name]
            else:
                settings.pop(name, None)
        authorization.settings = settings
        return authorization


class ConnectionAppsForm(forms.Form):
    """Wizard step 1: a name and the two authorized apps."""

    name = forms.CharField(
        max_length=200, label=_("Name"), help_text=_("For example “CRM ↔ newsletter”.")
    )
    a_authorization = forms.ModelChoiceField(
        queryset=AppAuthorization.objects.none(), label=_("App 1 (side A)")
    )
    b_authorization = forms.ModelChoiceField(
        queryset=AppAuthorization.objects.none(), label=_("App 2 (side B)")
    )

    def __init__(self, *args: Any, authorizations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["a_authorization"].queryset = authorizations
        self.fields["b_authorization"].queryset = authorizations


class ScopesForm(forms.Form):
    """Wizard step 2: what to sync on each side, and which way."""

    a_scope = forms.ChoiceField(label=_("On side A, sync"), required=False)
    b_scope = forms.ChoiceField(label=_("On side B, sync"), required=False)
    direction = forms.ChoiceField(
        choices=SyncDirection.choices,
        widget=forms.RadioSelect,
        initial=SyncDirection.TWO_WAY,
        label=_("Direction"),
    )

    def __init__(
        self,
        *args: Any,
        a_choices: list[tuple[str, str]],
        b_choices: list[tuple[str, str]],
        labels: tuple[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        for side, choices, label in (("a", a_choices, labels[0]), ("b", b_choices, labels[1])):
            field = self.fields[f"{side}_scope"]
            field.label = gettext("In %(app)s (side %(side)s), sync") % {
                "app": label,
                "side": side.upper(),
            }
            if choices:
                field.choices = choices
                # A scope with an empty id means "everything" in that app.
                field.required = all(value for value, _ in choices)
            else:
                # The app offers no scopes to pick (or could not be read): free text.
                self.fields[f"{side}_scope"] = forms.CharField(
                    label=field.label,
                    required=False,
                    help_text=gettext(
                        "This app offers no lists to choose from; leave empty for all."
                    ),
                )
        self.fields["direction"].choices = [
            (SyncDirection.TWO_WAY, gettext("Two-way")),
            (
                SyncDirection.A_TO_B,
                gettext("One-way: %(from)s → %(to)s") % {"from": labels[0], "to": labels[1]},
            ),
            (
                SyncDirection.B_TO_A,
                gettext("One-way: %(from)s → %(to)s") % {"from": labels[1], "to": labels[0]},
            ),
        ]


class OfferedChoiceField(forms.ChoiceField):
    """A choice among the fields offered; whether a key exists on the app is judged by
    sync/setup.py, in the words the API and the ops console use too."""

    def validate(self, value: Any) -> None:
        forms.Field.validate(self, value)


class OptionsForm(forms.ModelForm):
    """Wizard step: how the sync behaves."""

    class Meta:
        model = Connection
        fields = [
            "name",
            *CONNECTION_OPTIONS,
        ]
        labels = {
            "name": _("Name"),
            "avoid_duplicates": _("Avoid duplicates"),
            "deletions_a_to_b": _("When a contact is deleted on A"),
            "deletions_b_to_a": _("When a contact is deleted on B"),
            "deletion_review": _("Review deletions before they apply"),
            "trash_tag": _("Trash tag"),
            "marker_field_a": _("Marker field on A"),
            "marker_field_b": _("Marker field on B"),
            "unsubscribes": _("When a contact unsubscribes"),
            "unsubscribe_tag": _("Unsubscribe tag"),
            "conflict_policy": _("When both sides changed the same field"),
            "interval_minutes": _("Sync every (minutes)"),
            "default_phone_country": _("Default phone country"),
        }
        help_texts = {
            "marker_field_a": _("Field set on A when its contact was deleted on B (marker mode)."),
            "marker_field_b": _("Field set on B when its contact was deleted on A (marker mode)."),
            "default_phone_country": _(
                "Two-letter ISO code, e.g. BE, for numbers without +prefix."
            ),
        }

    def __init__(self, *args: Any, apps: dict[str, SideApp] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if apps is not None:
            self._offer_only_what_the_apps_can_do(apps)
        minimum = self.instance.account.limit("min_interval_minutes")
        self.fields["interval_minutes"].min_value = minimum
        self.fields["interval_minutes"].widget.attrs["min"] = minimum
        self.fields["interval_minutes"].help_text = ngettext(
            "Your plan allows an interval of %(minimum)d minute or more.",
            "Your plan allows an interval of %(minimum)d minutes or more.",
            minimum,
        ) % {"minimum": minimum}

    def _offer_only_what_the_apps_can_do(self, apps: dict[str, SideApp]) -> None:
        """Deletion and unsubscribe modes the target side can carry out (sync/setup.py
        judges; the saved value stays listed so an old setting still shows), and the
        marker fields as a choice among the side's writable fields."""
        connection = self.instance
        unsubscribe_modes = set(UnsubscribeMode.values)
        for direction in setup.synced_directions(connection):
            target = setup.ENDS[direction][1]
            name = f"deletions_{direction}"
            offered = set(setup.offered_deletion_modes(apps[target]))
            self._keep_choices(name, offered, getattr(connection, name))
            unsubscribe_modes &= set(setup.offered_unsubscribe_modes(apps[target]))
        self._keep_choices("unsubscribes", unsubscribe_modes, connection.unsubscribes)
        for side in setup.SIDES:
            app = apps[side]
            if app.error:
                continue  # fields unknown now: free text, judged when saved
            current = getattr(connection, f"marker_field_{side}")
            choices = [("", "—")] + [
                (f.key, f"{f.label} ({describe.field_type_label(f.type)})")
                for f in setup.writable_fields(app)
            ]
            if current and current not in {key for key, _ in choices}:
                choices.append((current, current))
            field = self.fields[f"marker_field_{side}"]
            self.fields[f"marker_field_{side}"] = OfferedChoiceField(
                choices=choices, required=False, label=field.label, help_text=field.help_text
            )

    def _keep_choices(self, name: str, values: set[str], current: str) -> None:
        """Offer only ``values`` in the menu, and the saved value marked as not possible
        when it is not among them; a posted other value is still judged by sync/setup.py
        (check_options), in the words the API uses."""
        field = self.fields[name]
        field.widget.choices = [  # type: ignore[attr-defined]
            (
                v,
                label
                if v in values
                else gettext("%(mode)s (not possible with this app)") % {"mode": label},
            )
            for v, label in field.choices  # type: ignore[attr-defined]
            if v in values or v == current
        ]

    def clean_default_phone_country(self) -> str:
        value: str = (self.cleaned_data.get("default_phone_country") or "").strip().upper()
        if value and not (len(value) == 2 and value.isalpha()):
            raise forms.ValidationError(
                gettext("Use a two-letter ISO country code, e.g. BE or US.")
            )
        return value


class RuleForm(forms.Form):
    """Add a rule in one direction."""

    direction = forms.ChoiceField(
        choices=[("a_to_b", _("A → B")), ("b_to_a", _("B → A"))], label=_("Direction")
    )
    name = forms.CharField(max_length=200, required=False, label=_("Name"))


class FilterForm(forms.Form):
    """Add an IF condition to a rule."""

    kind = forms.ChoiceField(choices=FilterKind.choices, label=_("If"))
    field = forms.CharField(
        max_length=200,
        required=False,
        label=_("Field"),
        help_text=_("Field key (for field filters)."),
    )
    operator = forms.ChoiceField(
        choices=Operator.choices, initial=Operator.EQUALS, label=_("Operator")
    )
    value = forms.CharField(max_length=500, required=False, label=_("Value"))
    negate = forms.BooleanField(required=False, label=_("Not"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        needs_value = data.get("operator") not in (Operator.EMPTY, Operator.NOT_EMPTY)
        if data.get("kind") == FilterKind.FIELD and not data.get("field"):
            self.add_error("field", gettext("Choose the field to compare."))
        if data.get("kind") in (
            FilterKind.HAS_TAG,
            FilterKind.IN_LIST,
            FilterKind.OWNED_BY,
            FilterKind.STATUS,
        ) and not data.get("value"):
            self.add_error("value", gettext("Say which tag, list, owner or status."))
        if data.get("kind") == FilterKind.FIELD and needs_value and not data.get("value"):
            self.add_error("value", gettext("Enter the value to compare with."))
        return data


class ActionForm(forms.Form):
    """Add a THEN action to a rule."""

    kind = forms.ChoiceField(choices=ActionKind.choices, label=_("Then"))
    field = forms.CharField(
        max_length=200, required=False, label=_("Field"), help_text=_("Field key (set field).")
    )
    value = forms.CharField(max_length=500, required=False, label=_("Value"))
    revert_on_leave = forms.BooleanField(
        required=False, label=_("Revert when the contact leaves the segment")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        field_kinds = (ActionKind.SET_FIELD, ActionKind.SET_FIELD_ON_CREATE)
        if data.get("kind") in field_kinds and not data.get("field"):
            self.add_error("field", gettext("Choose the field to set."))
        if data.get("kind") not in field_kinds and not data.get("value"):
            self.add_error("value", gettext("Say which tag, list, owner or status."))
        return data


def field_choices(specs: list[FieldSpec]) -> list[tuple[str, str]]:
    """A select's choices of fields: each by its label and its type in the page's words."""
    return [("", "—")] + [
        (s.key, f"{s.label} ({describe.field_type_label(s.type)})") for s in specs
    ]


class MappingForm(forms.Form):
    """Add a custom field pair."""

    a_field = OfferedChoiceField(label=_("Field on A"))
    b_field = OfferedChoiceField(label=_("Field on B"))
    direction = forms.ChoiceField(
        choices=MappingDirection.choices, initial="both", label=_("Direction")
    )
    transform = forms.ChoiceField(choices=Transform.choices, required=False, label=_("Transform"))

    def __init__(
        self, *args: Any, a_specs: list[FieldSpec], b_specs: list[FieldSpec], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["a_field"].choices = field_choices(a_specs)
        self.fields["b_field"].choices = field_choices(b_specs)


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER, label=_("Role"))


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, label=_("Role"))


class AcceptInvitationForm(forms.Form):
    """A new user's sign-up through an invitation link."""

    username = forms.CharField(max_length=150, label=_("Username"))
    password = forms.CharField(
        widget=forms.PasswordInput,
        label=_("Password"),
        help_text=_("Checked by the server's password rules."),
    )


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, label=_("Name"), help_text=_("What the token is for, e.g. “CRM export”.")
    )
