"""What every vendor's OAuth flow shares (connectors/*/oauth.py).

The apps page starts a connect by putting ``oauth_pending`` in the session (the account,
the vendor, where to go afterwards) and handing over to social-auth. The vendor's last
pipeline step resolves that account with :func:`pending_account`, stores the tokens in an
AppAuthorization, and ends with :func:`finish`. :class:`RefusalAsMessage` turns anything
that stops the flow (the user refused at the vendor, a bad state, a step that refuses)
into a message on the apps page instead of an error page; nothing is stored then.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from social_core.exceptions import (
    AuthCanceled,
    AuthException,
    AuthPolicyError,
    SocialAuthBaseException,
)

logger = logging.getLogger(__name__)

PENDING = "oauth_pending"


class AuthorizationRefused(AuthException):
    """A pipeline step will not store this grant; ``detail`` tells the user why."""


def pending_account(backend: Any, strategy: Any, user: Any) -> tuple[dict[str, Any], int]:
    """The pending connect and its account, which the signed-in user must manage (the
    session could be stale, or the user's role changed since the connect began)."""
    from sync.tenancy import can_manage

    pending = strategy.session_get(PENDING) or {}
    account_id = pending.get("account_id")
    if not getattr(user, "is_authenticated", False) or not account_id:
        raise AuthPolicyError(backend, stage="pipeline")
    if not can_manage(user, int(account_id)):
        raise AuthPolicyError(backend, stage="pipeline")
    return pending, int(account_id)


def check_before_storing(backend: Any, authorization: Any) -> None:
    """Try the new grant on the app before it is stored, as the connect form does for an
    API key: the connector's ``check()`` (Salesforce: its REST API; Google Contacts: the
    address book). A grant the app refuses (an org without API access, an unreachable
    address book) stops the connect here with the app's own words, instead of an
    authorization marked OK that fails at the next step."""
    from connectors.base import ConnectorError
    from sync.vendors import open_connector

    try:
        open_connector(authorization).check()
    except ConnectorError as exc:
        raise AuthorizationRefused(backend, str(exc)) from exc


def finish(
    strategy: Any, pending: dict[str, Any], message: str, *session_keys: str
) -> HttpResponse:
    """End the connect: forget its session keys, say ``message``, go back where it began."""
    for key in (PENDING, *session_keys):
        strategy.session_pop(key)
    if strategy.request is not None:
        messages.success(strategy.request, message)
    return redirect(pending.get("next") or reverse("web:apps"))


def refusal_message(label: str, error: SocialAuthBaseException, at: str = "") -> str:
    """What the user reads when the connect stopped; social-auth's reasons are generic
    and safe to show (no provider text), a refusing step's detail is ours."""
    if isinstance(error, AuthorizationRefused) and error.detail:
        return f"{label} was not connected: {error.detail}"
    if isinstance(error, AuthCanceled):
        return f"{label} was not connected: access was not allowed at {at or label}."
    if isinstance(error, AuthPolicyError):
        return (
            f"{label} was not connected: only an owner or admin of the account can connect "
            "apps. Start again from the apps page."
        )
    return f"{label} was not connected: {error} Start again from the apps page."


class RefusalAsMessage:
    """Backend mixin: a failed callback shows a message on the apps page (or the pending
    ``next``) and stores nothing, instead of raising into an error page."""

    connect_label: str = ""  # the app, e.g. "Google Contacts"
    provider_label: str = ""  # where the user signs in, e.g. "Google"

    def auth_complete(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().auth_complete(*args, **kwargs)  # type: ignore[misc]
        except SocialAuthBaseException as exc:
            strategy = self.strategy  # type: ignore[attr-defined]
            pending = strategy.session_get(PENDING) or {}
            strategy.session_pop(PENDING)
            label = self.connect_label or self.name  # type: ignore[attr-defined]
            logger.warning("%s connect stopped: %s (%s, %s)", label, exc.code, exc.stage, exc)
            if strategy.request is not None:
                message = refusal_message(label, exc, self.provider_label)
                messages.error(strategy.request, message)
            return redirect(pending.get("next") or reverse("web:apps"))
