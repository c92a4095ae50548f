"""Fault injection and rate limits, applied by the server in front of every emulator.

Faults are set per vendor through the control API (``PUT /_sandbox/<vendor>/faults``).
Shares (``*_rate``) draw from a random generator seeded by ``seed``, so a run is
repeatable; counts (``*_count``) hit exactly the next N matching requests, which is what
tests use. ``only`` restricts faults to endpoints matching a regular expression such as
``"^GET /v3/contacts$"`` or ``"^POST "``.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, fields
from typing import Any

from connectors.sandbox.emulator import RateLimits

# Upper bound of injected latency: a test must never hang on a typo.
MAX_LATENCY_MS = 30_000


@dataclass
class Faults:
    """What goes wrong for one vendor. All zero: nothing does."""

    error_rate: float = 0.0  # share of requests answered with ``error_status``
    error_count: int = 0  # the next N requests answered with ``error_status``
    error_status: int = 503
    throttle_rate: float = 0.0  # share of requests answered 429 with Retry-After
    throttle_count: int = 0  # the next N requests answered 429
    retry_after: float = 1.0  # seconds, sent in Retry-After of injected 429s
    latency_ms: int = 0  # added before every answer
    drop_rate: float = 0.0  # share of connections closed without an answer
    drop_count: int = 0
    fail_after_writes: int | None = None  # writes beyond the Nth answer ``error_status``
    rate_limits: bool | dict[str, Any] = False  # True: the vendor's real limits; a dict overrides
    only: str = ""  # regex on "METHOD /pattern"; empty: every endpoint
    seed: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Faults:
        """Faults from a control-API body; unknown keys are a ValueError, not ignored."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        faults = cls(**data)
        faults.latency_ms = max(0, min(int(faults.latency_ms), MAX_LATENCY_MS))
        return faults

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Decision:
    """What the injector decided for one request."""

    kind: str = ""  # "", "error", "throttle", "drop"
    latency: float = 0.0


class Injector:
    """Applies one vendor's Faults to the stream of its requests (thread-safe)."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.lock = threading.Lock()
        self.set(faults or Faults())

    def set(self, faults: Faults) -> None:
        with self.lock:
            self.faults = faults
            self.random = random.Random(faults.seed)
            self.writes = 0
            self.only = re.compile(faults.only) if faults.only else None
            # What was served: injected faults, and 429s from the vendor's real limits.
            self.served: dict[str, int] = {"error": 0, "throttle": 0, "drop": 0, "limited": 0}

    def decide(self, endpoint: str, is_write: bool) -> Decision:
        with self.lock:
            f = self.faults
            decision = Decision(latency=f.latency_ms / 1000)
            if self.only and not self.only.search(endpoint):
                return decision
            if is_write:
                self.writes += 1
            if f.drop_count > 0:
                f.drop_count -= 1
                decision.kind = "drop"
            elif f.throttle_count > 0:
                f.throttle_count -= 1
                decision.kind = "throttle"
            elif f.error_count > 0:
                f.error_count -= 1
                decision.kind = "error"
            elif is_write and f.fail_after_writes is not None and self.writes > f.fail_after_writes:
                decision.kind = "error"
            elif f.drop_rate and self.random.random() < f.drop_rate:
                decision.kind = "drop"
            elif f.throttle_rate and self.random.random() < f.throttle_rate:
                decision.kind = "throttle"
            elif f.error_rate and self.random.random() < f.error_rate:
                decision.kind = "error"
            if decision.kind:
                self.served[decision.kind] += 1
            return decision


class Limiter:
    """A vendor's real rate limits per key: a sliding window, a per-second window and
    a count of requests in flight. ``admit`` returns 0 or the seconds to wait."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self.lock = threading.Lock()
        self.window: dict[str, deque[float]] = {}
        self.second: dict[str, deque[float]] = {}
        self.in_flight: dict[str, int] = {}

    def admit(self, key: str) -> tuple[float, str, int]:
        """(seconds to wait, which limit, its size); (0, "", 0) admits the request,
        which must then be ended with ``release``."""
        limits = self.limits
        now = time.monotonic()
        with self.lock:
            window = self.window.setdefault(key, deque())
            second = self.second.setdefault(key, deque())
            while window and window[0] <= now - limits.window_seconds:
                window.popleft()
            while second and second[0] <= now - 1.0:
                second.popleft()
            if limits.parallel and self.in_flight.get(key, 0) >= limits.parallel:
                return 1.0, "parallel", limits.parallel
            if limits.per_second and len(second) >= limits.per_second:
                return max(0.001, second[0] + 1.0 - now), "per_second", limits.per_second
            if limits.window and len(window) >= limits.window:
                wait = window[0] + limits.window_seconds - now
                return max(0.001, wait), "window", limits.window
            window.append(now)
            second.append(now)
            self.in_flight[key] = self.in_flight.get(key, 0) + 1
            return 0.0, "", 0

    def release(self, key: str) -> None:
        with self.lock:
            self.in_flight[key] = max(0, self.in_flight.get(key, 0) - 1)

    def status(self, key: str) -> tuple[int, int, float] | None:
        """(window size, calls left in ``key``'s window, seconds until its oldest call
        leaves it), for the vendor's rate-limit headers; None without a window limit."""
        limits = self.limits
        if not limits.window:
            return None
        now = time.monotonic()
        with self.lock:
            window = self.window.get(key) or deque()
            left = max(0, limits.window - len(window))
            reset = window[0] + limits.window_seconds - now if window else limits.window_seconds
            return limits.window, left, max(0.0, reset)


def limits_from(setting: bool | dict[str, Any], defaults: RateLimits) -> RateLimits | None:
    """The limits a Faults.rate_limits setting enables, or None when off."""
    if not setting:
        return None
    if setting is True:
        return defaults
    return RateLimits(**{**asdict(defaults), **setting})
