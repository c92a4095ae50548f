"""Rate limiting of the API, per token (or per user for browser sessions).

The rate is ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api"]`` (env ``API_RATE``, e.g.
``600/minute``), read on every request so that settings overrides apply at once.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from sync.models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    """One bucket per API token; a user's session shares one bucket per user."""

    scope = "api"

    def get_rate(self) -> str | None:
        # SimpleRateThrottle binds THROTTLE_RATES at import time; read the live settings.
        rates: dict[str, str | None] = api_settings.DEFAULT_THROTTLE_RATES
        return rates.get(self.scope)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"anon-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class RunStatusRateThrottle(TokenRateThrottle):
    """The cheap run-status endpoint's own bucket, so that a client polling one run
    does not use up the API's hourly allowance."""

    scope = "run_status"
