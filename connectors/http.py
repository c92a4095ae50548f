"""The one HTTP seam every connector uses (STYLE.md habit 1).

A requests session with connect/read timeouts; retries with exponential backoff on 5xx
and connection errors; 429 waited out honouring ``Retry-After``; every call counted; and
failures turned into the contract's error classes. Vendor modules never build sessions.

Every request passes the seam's ``Gate`` (connectors/limits.py) once limits are set:
the vendor's parallel and rate limits, its account shared with other runs, and pacing
from its rate-limit headers before a 429. The seam is thread-safe for the pool of
``Connector.parallel``; one run still owns it.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from connectors.base import AuthError, ConnectorError, RateLimited, RecordGone, clean_message
from connectors.limits import Gate, HolderStore, Limits, parse_seconds

logger = logging.getLogger(__name__)

# Headers whose values must never reach a log line.
_SECRET_HEADERS = {
    "authorization",
    "x-auth-token",
    "x-api-key",
    "api-key",
    "x-session-key",
    "cookie",
}


def parse_retry_after(value: str | None, default: float) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def default_classify(response: requests.Response) -> ConnectorError:
    """Map a failed response to an error class; vendors may pass their own classifier
    for error bodies that say more than the status code."""
    status = response.status_code
    text = clean_message(response.text[:1000], 120)
    if status in (401, 403):
        return AuthError(f"HTTP {status}: {text}", status=status)
    if status == 429:
        return RateLimited(
            f"HTTP 429: {text}",
            retry_after=parse_retry_after(response.headers.get("Retry-After"), 60.0),
        )
    if status in (404, 410):
        return RecordGone(f"HTTP {status}: {text}", status=status)
    return ConnectorError(f"HTTP {status}: {text}", permanent=status < 500, status=status)


class Http:
    """HTTP for one connector instance during one run.

    ``calls`` counts every request sent (retries included), for the run's API-call
    figure and the vendors' budgets. ``max_wait`` caps how long one 429 is waited out
    inside a call; a longer Retry-After surfaces as ``RateLimited`` to the engine.
    """

    def __init__(
        self,
        *,
        base_url: str = "",
        headers: dict[str, str] | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        retries: int = 4,
        backoff: float = 0.5,
        max_wait: float = 30.0,
        classify: Callable[[requests.Response], ConnectorError] = default_classify,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        if headers:
            self.session.headers.update(headers)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.classify = classify
        self.sleep = sleep
        self.calls = 0
        self._count = threading.Lock()
        self.on_response: list[Callable[[requests.Response], None]] = []
        self.gate: Gate | None = None

    # --- Limits (connectors/limits.py).

    def limit(self, limits: Limits) -> None:
        """Keep to ``limits`` from now on (Connector.__init__ sets its vendor's); the
        connection pool holds as many connections as requests may be in flight."""
        self.gate = Gate(limits)
        if limits.parallel > 10:  # requests' default pool keeps 10 per host
            adapter = HTTPAdapter(pool_connections=10, pool_maxsize=limits.parallel)
            self.session.mount("https://", adapter)
            self.session.mount("http://", adapter)

    def share(self, key: str, store: HolderStore) -> None:
        """Share the limits with every other run on account ``key`` (sync/vendors.py);
        this seam registers in ``store`` at its first request."""
        if self.gate is None:
            self.limit(Limits())
        assert self.gate is not None
        self.gate.key, self.gate.store = key, store

    def release(self) -> None:
        """Give this seam's share of the account's limits back at once (its run or page
        is done), instead of holding it until the registration expires (HOLDER_TTL):
        a run starting right after would otherwise take half the limits meanwhile."""
        if self.gate is not None:
            self.gate.close()

    @property
    def parallel(self) -> int:
        """Requests this seam may have in flight now (its share of the account's)."""
        return max(1, self.gate.current.parallel) if self.gate else 1

    def observe(self, remaining: int, reset_seconds: float, limit: int = 0) -> None:
        """The vendor's count of calls left in its window: pace before its 429."""
        if self.gate is not None:
            self.gate.observe(remaining, reset_seconds, limit)

    def _observe_headers(self, response: requests.Response) -> None:
        # The common X-RateLimit-* headers (GetResponse: Reset as "432 seconds"; others
        # send seconds, or an epoch time, which is turned into seconds from now).
        headers = response.headers
        remaining = headers.get("X-RateLimit-Remaining")
        reset = parse_seconds(headers.get("X-RateLimit-Reset"))
        if remaining is None or reset is None or not remaining.strip().isdigit():
            return
        if reset > 1_000_000_000:
            reset = max(0.0, reset - time.time())
        limit = headers.get("X-RateLimit-Limit", "").strip()
        self.observe(int(remaining), reset, int(limit) if limit.isdigit() else 0)

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self, method: str, path: str, *, idempotent: bool | None = None, **kwargs: Any
    ) -> requests.Response:
        """Send a request; return a 2xx/3xx response or raise a ConnectorError.

        A request that may have reached the vendor (read timeout, dropped connection,
        5xx) is retried only when it is idempotent (by default: not POST or PATCH), so a
        create is never sent twice here; the engine re-matches it on the next run.
        """
        kwargs.setdefault("timeout", self.timeout)
        url = self.url(path)
        if idempotent is None:
            idempotent = method.upper() not in ("POST", "PATCH")
        attempt = 0
        while True:
            attempt += 1
            with self._count:
                self.calls += 1
            ticket = self.gate.enter() if self.gate is not None else None
            try:
                response = self.session.request(method, url, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                failure: Exception | None = exc
            else:
                failure = None
            finally:
                if self.gate is not None:
                    self.gate.leave(ticket)
            if failure is not None:
                never_sent = isinstance(failure, requests.ConnectTimeout)
                if attempt > self.retries or not (idempotent or never_sent):
                    raise ConnectorError(f"{method} {url}: {type(failure).__name__}") from failure
                self._pause(attempt, None)
                continue
            if self.gate is not None:
                self._observe_headers(response)
            for hook in self.on_response:
                hook(response)
            if response.status_code < 400:
                return response
            error = self.classify(response)
            if attempt <= self.retries and self._worth_retrying(error, idempotent):
                if isinstance(error, RateLimited):
                    logger.info("%s %s rate-limited; waiting %.1fs", method, url, error.retry_after)
                    self.sleep(error.retry_after)
                else:
                    self._pause(attempt, response)
                continue
            raise error

    def _worth_retrying(self, error: ConnectorError, idempotent: bool) -> bool:
        # A 429 was refused before any work was done, so it is safe to repeat any call;
        # a 5xx may have half-happened, so only idempotent calls are repeated.
        if isinstance(error, RateLimited):
            return error.retry_after <= self.max_wait
        return not error.permanent and idempotent

    def _pause(self, attempt: int, response: requests.Response | None) -> None:
        delay = self.backoff * (2 ** (attempt - 1)) * (1 + random.random() / 4)
        if response is not None:
            delay = parse_retry_after(response.headers.get("Retry-After"), delay)
        self.sleep(min(delay, self.max_wait))

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send and decode a JSON body; a body that is not JSON is a transient error."""
        return decoded(self.request(method, path, **kwargs), f"{method} {self.url(path)}")


def decoded(response: requests.Response, what: str) -> Any:
    """The JSON body of ``response`` (None when empty); a body that is not JSON is a
    transient error naming ``what`` was asked."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise ConnectorError(f"{what}: response is not JSON", status=response.status_code) from exc


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """A copy of ``headers`` safe to log."""
    return {k: ("***" if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}
