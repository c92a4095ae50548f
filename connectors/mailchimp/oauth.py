"""Mailchimp OAuth 2.0 through social-auth, ending in an AppAuthorization.

https://mailchimp.com/developer/marketing/guides/access-user-data-oauth-2/

The backend ``mailchimp`` is social-core's MailChimpOAuth2 with its three endpoints from
settings (``MAILCHIMP_AUTH_URL``, ``MAILCHIMP_TOKEN_URL``, ``MAILCHIMP_METADATA_URL``) so
the sandbox emulator can stand in for login.mailchimp.com. The metadata call gives the
account's data centre (``dc``), which the connector turns into its API host; the host
itself is never taken from the answer. Mailchimp tokens do not expire and come without a
refresh token, so nothing is refreshed.

Its pipeline (``SOCIAL_AUTH_MAILCHIMP_PIPELINE`` in config/settings.py) has no
``social_user``/``associate_user``/``load_extra_data`` step, so the token is **never
stored in social_django's extra_data**; ``store_authorization`` puts it, encrypted, in the
AppAuthorization of the account the connect began in.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from social_core.backends.mailchimp import MailChimpOAuth2

from connectors.mailchimp.client import DC_RE
from connectors.oauth_common import AuthorizationRefused, RefusalAsMessage, finish, pending_account

logger = logging.getLogger(__name__)

VENDOR = "mailchimp"
LABEL = "Mailchimp"


def endpoint(setting: str, default: str) -> str:
    return str(getattr(settings, setting, "") or default)


class MailchimpOAuth(RefusalAsMessage, MailChimpOAuth2):  # type: ignore[misc]
    """Mailchimp, for the audiences of the account that signs in."""

    name = VENDOR
    connect_label = LABEL
    provider_label = "Mailchimp"

    def authorization_url(self) -> str:
        return endpoint("MAILCHIMP_AUTH_URL", MailChimpOAuth2.AUTHORIZATION_URL)

    def access_token_url(self) -> str:
        return endpoint("MAILCHIMP_TOKEN_URL", MailChimpOAuth2.ACCESS_TOKEN_URL)

    def user_data(self, access_token: str, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        # social-core reads METADATA_URL from the class: point it at the setting first.
        self.METADATA_URL = endpoint("MAILCHIMP_METADATA_URL", MailChimpOAuth2.METADATA_URL)
        data: dict[str, Any] | None = super().user_data(access_token, *args, **kwargs)
        return data


def store_authorization(
    backend: Any, response: dict[str, Any], strategy: Any, user: Any = None, **_: Any
) -> HttpResponse:
    """Last pipeline step: the token becomes an AppAuthorization of the account the
    connect began in; the same Mailchimp login there is re-authorized in place."""
    from sync.models import AppAuthorization, Health

    pending, account_id = pending_account(backend, strategy, user)
    dc = str(response.get("dc") or "")
    if not DC_RE.match(dc):
        raise AuthorizationRefused(backend, "Mailchimp did not say which data centre holds it.")
    login = response.get("login") or {}
    email = str(login.get("email") or login.get("login_email") or "").strip().lower()
    identity = str(response.get("mailchimp_identity") or response.get("user_id") or "")
    found = AppAuthorization.objects.filter(
        account_id=account_id, vendor=VENDOR, settings__identity=identity
    ).first()
    auth = found or AppAuthorization(account_id=account_id, vendor=VENDOR, owner=user)
    name = str(response.get("accountname") or email or "Mailchimp")
    auth.label = auth.label or f"{LABEL} ({name})"
    auth.secrets = {"access_token": str(response["access_token"])}
    auth.settings = {**(auth.settings or {}), "dc": dc, "identity": identity, "email": email}
    auth.health, auth.health_message, auth.checked_at = Health.OK, "", timezone.now()
    auth.save()
    logger.info("Mailchimp authorized for account %s (%s, %s)", account_id, name, dc)
    verb = "re-authorized" if found else "connected"
    return finish(strategy, pending, f"{LABEL} is {verb} for {name}.")
