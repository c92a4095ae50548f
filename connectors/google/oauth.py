"""Google OAuth 2.0 web-server flow through social-auth, ending in an AppAuthorization.

https://developers.google.com/identity/protocols/oauth2/web-server

The backend ``google`` is social-core's GoogleOAuth2 with three changes: its endpoints
come from settings (``GOOGLE_AUTH_URL``, ``GOOGLE_TOKEN_URL``, ``GOOGLE_USERINFO_URL``) so
the sandbox emulator can stand in for Google; it asks for the CardDAV scope (plus
``openid email``, to learn which account signed in); and it asks for offline access with
a fresh consent, which is what makes Google issue a refresh token every time.

Its pipeline (``SOCIAL_AUTH_GOOGLE_PIPELINE`` in config/settings.py) has no
``social_user``/``associate_user``/``load_extra_data`` step, so the tokens are **never
stored in social_django's extra_data**; ``store_authorization`` puts them, encrypted, in
the AppAuthorization of the account the connect began in.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from social_core.backends.google import GoogleOAuth2

from connectors.oauth_common import (
    AuthorizationRefused,
    RefusalAsMessage,
    check_before_storing,
    finish,
    pending_account,
)

logger = logging.getLogger(__name__)

VENDOR = "google"
LABEL = "Google Contacts"
CARDDAV_SCOPE = "https://www.googleapis.com/auth/carddav"
DEFAULT_AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL)
DEFAULT_USERINFO_URL = "https://openidconnect.googleapis.com/v1/userinfo"


def endpoint(setting: str, default: str) -> str:
    return str(getattr(settings, setting, "") or default)


class GoogleContactsOAuth(RefusalAsMessage, GoogleOAuth2):  # type: ignore[misc]
    """Google, for the contacts of the account that signs in."""

    name = VENDOR
    connect_label = LABEL
    provider_label = "Google"
    # https://developers.google.com/people/carddav (the only scope CardDAV accepts)
    DEFAULT_SCOPE = ["openid", "email", CARDDAV_SCOPE]

    def authorization_url(self) -> str:
        return endpoint("GOOGLE_AUTH_URL", DEFAULT_AUTH_URL)

    def access_token_url(self) -> str:
        return endpoint("GOOGLE_TOKEN_URL", DEFAULT_TOKEN_URL)

    def auth_extra_arguments(self) -> dict[str, str]:
        # A refresh token comes only with offline access, and after the first grant only
        # when consent is asked again; without one the sync would stop within the hour.
        return {**super().auth_extra_arguments(), "access_type": "offline", "prompt": "consent"}

    def user_data(self, access_token: str, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        """The OpenID Connect userinfo (``sub``, ``email``), the email verified."""
        # https://developers.google.com/identity/openid-connect/openid-connect#obtainuserinfo
        response = self.get_json(
            endpoint("GOOGLE_USERINFO_URL", DEFAULT_USERINFO_URL),
            headers={"Authorization": f"Bearer {access_token}"},
        )
        self.validate_email_verified(response)
        return response


def store_authorization(
    backend: Any, response: dict[str, Any], strategy: Any, user: Any = None, **_: Any
) -> HttpResponse:
    """Last pipeline step: the tokens become an AppAuthorization of the account the
    connect began in. The same Google account in that account is re-authorized in place;
    a grant that could not keep syncing (no contacts scope, no refresh token) is refused."""
    from sync.models import AppAuthorization, Health

    pending, account_id = pending_account(backend, strategy, user)
    email = str(response.get("email") or "").strip().lower()
    if not email:
        raise AuthorizationRefused(backend, "Google did not say which account signed in.")
    granted = str(response.get("scope") or "").split()
    if granted and CARDDAV_SCOPE not in granted:
        # Google lets the user untick scopes on the consent screen.
        raise AuthorizationRefused(
            backend, "access to the contacts was not allowed. Connect again and allow it."
        )
    found = AppAuthorization.objects.filter(
        account_id=account_id, vendor=VENDOR, settings__email=email
    ).first()
    refresh_token = str(response.get("refresh_token") or "")
    if not refresh_token and found is None:
        raise AuthorizationRefused(
            backend,
            "Google sent no refresh token, so the sync could not renew its access. "
            "Connect again and allow offline access; if it persists, remove this app under "
            "“Third-party apps” in your Google Account first.",
        )
    auth = found or AppAuthorization(account_id=account_id, vendor=VENDOR, owner=user)
    auth.label = auth.label or f"{LABEL} ({email})"
    secrets: dict[str, Any] = {
        "access_token": str(response["access_token"]),
        # Re-authorized without a new refresh token: the one already held stays valid.
        "refresh_token": refresh_token or str(auth.secrets.get("refresh_token") or ""),
    }
    if str(response.get("expires_in") or "").isdigit():
        secrets["expires_at"] = int(time.time()) + int(response["expires_in"])
    auth.secrets = secrets
    auth.settings = {**(auth.settings or {}), "email": email}
    check_before_storing(backend, auth)  # the app answers before it counts as OK
    auth.health, auth.health_message, auth.checked_at = Health.OK, "", timezone.now()
    auth.save()
    logger.info("Google Contacts authorized for account %s as %s", account_id, email)
    verb = "re-authorized" if found else "connected"
    return finish(strategy, pending, f"{LABEL} is {verb} for {email}.")
