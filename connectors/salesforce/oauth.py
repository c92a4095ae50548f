"""Salesforce OAuth 2.0 web-server flow through social-auth, ending in an AppAuthorization.

Two social-auth backends, subclasses of social-core's Salesforce ones whose hosts come
from settings (``SALESFORCE_LOGIN_URL``, ``SALESFORCE_SANDBOX_LOGIN_URL``) so the sandbox
emulator can stand in for login.salesforce.com and test.salesforce.com:

- ``salesforce``: a production org, or a sandbox org when the begin URL carries
  ``?instance=sandbox`` (or the pending connect in the session says so);
- ``salesforce-sandbox``: always a sandbox org.

Their pipeline (``SOCIAL_AUTH_SALESFORCE_PIPELINE``, set in config/settings.py) has no
``social_user``/``associate_user``/``load_extra_data`` step: no UserSocialAuth row is
made, so the tokens are **never stored in social_django's extra_data**. The last step,
``store_authorization``, creates or updates the AppAuthorization of the user's current
account (tokens encrypted in its secrets) and redirects back to the apps page.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from social_core.backends.salesforce import SalesforceOAuth2, SalesforceOAuth2Sandbox

from connectors.oauth_common import (
    AuthorizationRefused,
    RefusalAsMessage,
    check_before_storing,
    finish,
    pending_account,
)
from connectors.salesforce.client import (
    DEFAULT_LOGIN_URL,
    DEFAULT_SANDBOX_LOGIN_URL,
    trusted_instance_url,
)

logger = logging.getLogger(__name__)

VENDOR = "salesforce"
INSTANCES = ("production", "sandbox")
SESSION_INSTANCE = "salesforce_instance"


def login_url(instance: str | None) -> str:
    """The login host of ``instance`` ("production" or "sandbox")."""
    if instance == "sandbox":
        return str(getattr(settings, "SALESFORCE_SANDBOX_LOGIN_URL", DEFAULT_SANDBOX_LOGIN_URL))
    return str(getattr(settings, "SALESFORCE_LOGIN_URL", DEFAULT_LOGIN_URL))


def app_credentials(instance: str | None) -> tuple[str, str]:
    """The connected app's consumer key and secret (the sandbox may have its own)."""
    key = str(getattr(settings, "SOCIAL_AUTH_SALESFORCE_KEY", "") or "")
    secret = str(getattr(settings, "SOCIAL_AUTH_SALESFORCE_SECRET", "") or "")
    if instance == "sandbox":
        key = str(getattr(settings, "SOCIAL_AUTH_SALESFORCE_SANDBOX_KEY", "") or key)
        secret = str(getattr(settings, "SOCIAL_AUTH_SALESFORCE_SANDBOX_SECRET", "") or secret)
    return key, secret


class _Hosts:
    """Hosts from settings instead of class attributes; the sandbox/production choice."""

    name: str
    # The state parameter is enough; Salesforce matches redirect_uri exactly, so it must
    # not carry social-auth's redirect_state.
    REDIRECT_STATE = False
    DEFAULT_SCOPE = ["api", "refresh_token", "id"]
    fixed_instance: str | None = None

    def instance(self) -> str:
        """The instance chosen when the flow began (kept in the session until the
        callback); "production" unless the user chose a sandbox."""
        if self.fixed_instance:
            return self.fixed_instance
        stored = self.strategy.session_get(SESSION_INSTANCE)  # type: ignore[attr-defined]
        return str(stored) if stored in INSTANCES else "production"

    def auth_url(self) -> str:
        """Begin: remember the choice (``?instance=`` or the pending connect's)."""
        if not self.fixed_instance:
            strategy = self.strategy  # type: ignore[attr-defined]
            pending = strategy.session_get("oauth_pending") or {}
            chosen = (self.data or {}).get("instance") or pending.get("instance")  # type: ignore[attr-defined]
            strategy.session_set(SESSION_INSTANCE, chosen if chosen in INSTANCES else "production")
        return str(super().auth_url())  # type: ignore[misc]

    def host(self) -> str:
        return login_url(self.instance()).rstrip("/")

    def authorization_url(self) -> str:
        return f"{self.host()}/services/oauth2/authorize"

    def access_token_url(self) -> str:
        return f"{self.host()}/services/oauth2/token"

    def revoke_token_url(self, token: str, uid: str) -> str:
        return f"{self.host()}/services/oauth2/revoke"

    def get_key_and_secret(self) -> tuple[str, str]:
        return app_credentials(self.instance())


class SalesforceOAuth(RefusalAsMessage, _Hosts, SalesforceOAuth2):  # type: ignore[misc]
    """Salesforce, production or (``?instance=sandbox``) sandbox org."""

    name = "salesforce"
    connect_label = provider_label = "Salesforce"


class SalesforceSandboxOAuth(RefusalAsMessage, _Hosts, SalesforceOAuth2Sandbox):  # type: ignore[misc]
    """Salesforce sandbox orgs (test.salesforce.com)."""

    name = "salesforce-sandbox"
    connect_label = provider_label = "Salesforce"
    fixed_instance = "sandbox"


def store_authorization(
    backend: Any, response: dict[str, Any], strategy: Any, user: Any = None, **_: Any
) -> HttpResponse:
    """Last pipeline step: the tokens become an AppAuthorization of the account the
    connect started in (``oauth_pending`` in the session, set by the apps page). The
    same Salesforce user of the same org in that account is re-authorized in place."""
    from sync.models import AppAuthorization, Health

    pending, account_id = pending_account(backend, strategy, user)
    instance = backend.instance()
    identity_url = str(response.get("id") or "")
    org_id, _, user_id = identity_url.rstrip("/").rpartition("/")
    org_id = org_id.rpartition("/")[2]
    username = str(response.get("username") or response.get("email") or user_id)
    found = AppAuthorization.objects.filter(
        account_id=account_id,
        vendor=VENDOR,
        settings__org_id=org_id,
        settings__user_id=user_id,
    ).first()
    auth = found or AppAuthorization(account_id=account_id, vendor=VENDOR, owner=user)
    auth.label = auth.label or (f"{username} (sandbox)" if instance == "sandbox" else username)
    auth.secrets = {
        "access_token": str(response["access_token"]),
        "refresh_token": str(
            response.get("refresh_token") or auth.secrets.get("refresh_token") or ""
        ),
    }
    instance_url = str(response.get("instance_url") or "")
    if not trusted_instance_url(instance_url):
        raise AuthorizationRefused(
            backend, "the sign-in answered an instance address outside Salesforce."
        )
    auth.settings = {
        # Earlier platform-written keys that are no longer used are dropped.
        **{k: v for k, v in (auth.settings or {}).items() if k not in ("login_url", "grant_id")},
        "instance_url": instance_url,
        "instance": instance,
        "org_id": org_id,
        "user_id": user_id,
        "username": username,
    }
    check_before_storing(backend, auth)  # the app answers before it counts as OK
    auth.health, auth.health_message, auth.checked_at = Health.OK, "", timezone.now()
    auth.save()
    logger.info("Salesforce authorized for account %s as %s", account_id, auth.label)
    verb = "re-authorized" if found else "connected"
    return finish(strategy, pending, f"Salesforce is {verb} as “{auth.label}”.", SESSION_INSTANCE)
