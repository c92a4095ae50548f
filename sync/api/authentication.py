"""API authentication: per-user bearer tokens (``Authorization: Bearer cs_…``).

A token acts as its user *within its account*: the account is fixed by the token, not
by the session's account switcher. Browsers use the session (DRF's SessionAuthentication,
with its CSRF check) and act within the session's current account.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from sync.models import ApiToken, hash_token

TOKEN_PREFIX = "cs_"  # noqa: S105 - the public prefix of every token, not a secret
# last_used_at is informative; writing it on every request would turn each read into a
# write, so it is refreshed at most this often.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """Authenticate ``Authorization: Bearer cs_…`` against the hashed ApiToken keys.

    Sets ``request.auth`` to the ApiToken. A revoked, unknown or malformed token, or one
    whose user is inactive or no longer a member of the token's account, is refused with
    401 (never silently treated as anonymous)."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, raw = header.partition(" ")
        if keyword.lower() != self.keyword.lower():
            return None  # another scheme (e.g. Basic): not ours to judge
        raw = raw.strip()
        if not raw.startswith(TOKEN_PREFIX) or " " in raw:
            raise exceptions.AuthenticationFailed("Malformed API token.")
        token = (
            ApiToken.objects.select_related("user", "account")
            .filter(key_hash=hash_token(raw))
            .first()
        )
        if token is None or token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        user = token.user
        if not user.is_active or not token.account.members.filter(user=user).exists():
            raise exceptions.AuthenticationFailed("The token's user no longer has access.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (with WWW-Authenticate) rather than 403 when unauthenticated.
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Describes the bearer token in the OpenAPI schema."""

    target_class = "sync.api.authentication.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A per-user API token (cs_…), issued on the API tokens page.",
        }
