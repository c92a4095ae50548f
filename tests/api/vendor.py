"""A tiny connector for the API and webhook tests, registered as vendor ``apitest``.

It stands in for a vendor whose connector is not under test here: ``check`` accepts one
API key, ``scopes`` and ``fields`` are fixed, and ``parse_webhook`` verifies an HMAC-SHA256
of the body (header ``X-Signature``) with the authorization's webhook secret, returning
the lists named in the body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING

from connectors.base import (
    AuthError,
    Capabilities,
    Connector,
    ConnectorError,
    FieldSpec,
    Scope,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

VENDOR = "apitest"
GOOD_KEY = "good-key"
WEBHOOK_SECRET = "hook-secret"


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    """The signature a genuine ``apitest`` callback carries."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class ApiTestConnector(Connector):
    """The test vendor (see the module docstring)."""

    vendor = VENDOR
    label = "API test app"
    description = "A stand-in vendor for the API tests."
    auth_fields = (("api_key", "API key", True), ("webhook_secret", "Webhook secret", True))
    tenant_settings = ("instance",)
    capabilities = Capabilities(webhooks=True, tags=True)

    def check(self) -> None:
        if self.credentials.secrets.get("api_key") != GOOD_KEY:
            raise AuthError("HTTP 401: the API key was rejected")

    def scopes(self) -> list[Scope]:
        return [Scope("list-1", "Newsletter"), Scope("list-2", "Customers")]

    def fields(self) -> list[FieldSpec]:
        return [
            FieldSpec("email", "Email", "email", common="email", required=True),
            FieldSpec("first_name", "First name", common="first_name"),
            FieldSpec("tags", "Tags", "tags", common="tags", multi=True),
            FieldSpec("company", "Company"),
            FieldSpec("organisation", "Organisation"),
        ]

    def parse_webhook(self, request: HttpRequest) -> list[str]:
        if request.method == "GET":
            return []  # the vendor checking that the URL answers, as Mailchimp does
        secret = self.credentials.secrets.get("webhook_secret", "")
        given = request.headers.get("X-Signature", "")
        if not secret or not hmac.compare_digest(given, sign(request.body, secret)):
            raise AuthError("bad webhook signature")
        try:
            payload = json.loads(request.body)
        except ValueError as exc:
            raise ConnectorError("webhook body is not JSON", permanent=True) from exc
        return [str(scope) for scope in payload.get("lists", [])]


class NoWebhooksConnector(ApiTestConnector):
    """The test vendor without webhook support."""

    vendor = "nohooks"
    capabilities = Capabilities(webhooks=False)
