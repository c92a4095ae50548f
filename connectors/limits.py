"""Vendors' published limits, and the gate every call of the HTTP seam passes through.

One place (issue 18 point 1): ``VENDOR_LIMITS`` holds each vendor's limits per account
(requests a second, calls per window, requests in flight); a connector's ``limits`` is
its line here. The seam (connectors/http.py) sends every request through a ``Gate``:

- in flight: at most ``parallel`` requests at once (a semaphore);
- rate: at most ``per_second`` in any second and ``window`` in any ``window_seconds``
  (sliding logs of send times, as the vendors count);
- pacing before the 429: what the vendor last said remains of its window
  (``X-RateLimit-Remaining``/``Reset``, ``Sforce-Limit-Info``) is spread over the time
  left once it runs low, instead of being spent until a 429 stops the run;
- sharing (issue 18 point 1, "two connections on one account"): runs on one account
  register as holders of its key in a ``HolderStore`` (Redis when ``REDIS_URL`` is set,
  the database otherwise) and each takes an equal share of every limit. The key names
  the authorization (``<vendor>:<pk>``, set by sync/vendors.py), never tenant input, or
  what the connector's ``limits_key`` says the vendor counts against (Sellf: a digest of
  the API key, which a team's authorizations share).

A share is re-read at most every ``REFRESH_SECONDS`` and only by the thread that owns
the seam (the run's thread; the pool threads of ``Connector.each`` only pass the local
gate), so no database connection is opened by a pool thread. A run that joins an
account already in use takes its share at once; the one already running learns of it
within ``REFRESH_SECONDS``.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

logger = logging.getLogger(__name__)

# How long a holder's registration lasts without renewal, and how often it is renewed
# (and the number of holders re-read).
HOLDER_TTL = 10.0
REFRESH_SECONDS = 1.0
# How long a join of the database store waits for a holder row another transaction holds.
LOCK_TIMEOUT_MS = 1000
# A call reaches the vendor a little after it is started here, by a delay that varies:
# windows are measured this much longer than the vendor's, so that calls spread over
# a window here never crowd into a shorter one there (a second: 200 ms more; 100 ms was
# crowded now and then on a loaded machine). A call has surely reached the vendor once
# its answer is back: a call also leaves the second's log one second after its answer
# when that comes sooner (any answer within the margin), which no delay on the way can
# crowd: at 50 ms a call, 80 calls a second take 1.06 s, not 1.2 s.
WINDOW_MARGIN = 1.02
SECOND_SPAN = 1.2
# Pacing starts when what remains of a window falls under this share of its size.
LOW_WATER = 0.1
# Never pause one call longer than this for pacing; a longer wait is the vendor's 429.
MAX_PACE = 30.0


@dataclass(frozen=True)
class Limits:
    """One vendor's limits per account; 0 means none published.

    ``parallel`` requests in flight, ``per_second`` requests in any second, ``window``
    calls in any ``window_seconds``."""

    parallel: int = 1
    per_second: float = 0.0
    window: int = 0
    window_seconds: float = 0.0

    def share(self, holders: int) -> Limits:
        """Each of ``holders`` runs' equal part (at least one request in flight)."""
        if holders <= 1:
            return self
        return Limits(
            parallel=max(1, self.parallel // holders),
            per_second=self.per_second / holders,
            window=max(1, self.window // holders) if self.window else 0,
            window_seconds=self.window_seconds,
        )


# Published limits per account. Sources: ../shared/apis (the notes' section in brackets).
VENDOR_LIMITS: dict[str, Limits] = {
    # 30,000 calls per 10 minutes, 80 a second, 10 in parallel per user [2.7].
    "getresponse": Limits(parallel=10, per_second=80, window=30_000, window_seconds=600),
    # 25 concurrent long-running requests per org [1.9]; the daily allowance is paced
    # through Sforce-Limit-Info (connectors/salesforce/client.py), not declared here.
    "salesforce": Limits(parallel=25),
    # 10 simultaneous connections per key; no per-second quota published [3].
    "mailchimp": Limits(parallel=10),
    # 20 requests a second per token on the Performance plan [1.3]. UNCONFIRMED: no
    # concurrency limit is published; 4 keeps 20/s reachable at 200 ms a call.
    "sellf": Limits(parallel=4, per_second=20),
    # Google Contacts (CardDAV on Google's address book): quotas are per project and per
    # user per minute, shown in the Cloud console; defaults UNCONFIRMED (60-90/min/user
    # for People), so none is declared and a 429 is waited out. UNCONFIRMED: 4 in flight.
    "google": Limits(parallel=4),
    # A CardDAV server of the tenant's (Radicale, Nextcloud...): none published.
    # UNCONFIRMED: 4 in flight, gentle on a small self-hosted server.
    "carddav": Limits(parallel=4),
    # Wildix PBX: none documented [2]. UNCONFIRMED: 4 in flight.
    "wildix": Limits(parallel=4),
    # Contactlab Contacthub and ContactSend: none documented [3]. UNCONFIRMED: 4 / 1
    # (ContactSend is SOAP with a session per call sequence).
    "contacthub": Limits(parallel=4),
    "contactsend": Limits(parallel=1),
    # ForceManager: rate limits are an open question in the vendor notes [open questions, 5].
    # UNCONFIRMED: 1 in flight, so that a renewed session key is never raced.
    "forcemanager": Limits(parallel=1),
}


def limits_of(vendor: str) -> Limits:
    """``vendor``'s published limits; one request at a time for a vendor not listed."""
    return VENDOR_LIMITS.get(vendor, Limits())


_SECONDS = re.compile(r"\d+(?:\.\d+)?")


def parse_seconds(value: str | None) -> float | None:
    """Seconds from a header such as GetResponse's ``X-RateLimit-Reset: 432 seconds``."""
    match = _SECONDS.search(value or "")
    return float(match.group(0)) if match else None


# --- Holders of one account's limits across processes.


class HolderStore(Protocol):
    """Where runs register as holders of an account's limits."""

    def join(self, key: str, holder: str, ttl: float) -> int:
        """Register or renew ``holder`` of ``key`` for ``ttl`` seconds; the number of
        live holders of ``key``, this one included."""
        ...

    def leave(self, key: str, holder: str) -> None: ...


class MemoryStore:
    """Holders in this process only (no Django: tests, tools)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holders: dict[str, dict[str, float]] = {}

    def join(self, key: str, holder: str, ttl: float) -> int:
        now = time.time()
        with self.lock:
            live = {h: t for h, t in self.holders.get(key, {}).items() if t > now}
            live[holder] = now + ttl
            self.holders[key] = live
            return len(live)

    def leave(self, key: str, holder: str) -> None:
        with self.lock:
            self.holders.get(key, {}).pop(holder, None)


class RedisStore:
    """Holders in a Redis sorted set per key, scored by expiry."""

    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url)

    def join(self, key: str, holder: str, ttl: float) -> int:
        name, now = f"contactsync:limits:{key}", time.time()
        pipe = self.redis.pipeline()
        pipe.zremrangebyscore(name, "-inf", now)
        pipe.zadd(name, {holder: now + ttl})
        pipe.zcard(name)
        pipe.expire(name, int(ttl) + 1)
        return int(pipe.execute()[2])

    def leave(self, key: str, holder: str) -> None:
        self.redis.zrem(f"contactsync:limits:{key}", holder)


class DatabaseStore:
    """Holders as rows of ``sync.LimitHolder`` (the embedded default without Redis).
    SQLite answers "locked" rather than waiting when another thread writes the same
    table through a shared cache: such a join is tried again a few times."""

    def join(self, key: str, holder: str, ttl: float) -> int:
        from django.db import OperationalError, connection

        for attempt in range(5):
            try:
                return self._join(key, holder, ttl)
            except OperationalError:
                if attempt == 4 or connection.vendor != "sqlite":
                    raise  # (PostgreSQL's lock timeout: waiting again would not help)
                time.sleep(0.02 * (attempt + 1))
        raise AssertionError("unreachable")

    def _join(self, key: str, holder: str, ttl: float) -> int:
        from datetime import timedelta

        from django.db import connection, transaction
        from django.utils import timezone

        from sync.models import LimitHolder

        now = timezone.now()
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # A holder row locked by a transaction that does not end (a thread of the
                # run waiting on this one) must not hang the run: the join fails instead,
                # and the gate keeps its last share (Gate.refresh).
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'")
            LimitHolder.objects.filter(key=key, expires_at__lte=now).delete()
            LimitHolder.objects.update_or_create(
                key=key, holder=holder, defaults={"expires_at": now + timedelta(seconds=ttl)}
            )
            return LimitHolder.objects.filter(key=key, expires_at__gt=now).count()

    def leave(self, key: str, holder: str) -> None:
        from sync.models import LimitHolder

        LimitHolder.objects.filter(key=key, holder=holder).delete()


_default_store: HolderStore | None = None


def default_store() -> HolderStore:
    """Redis when ``REDIS_URL`` is configured, the database otherwise; in-process memory
    where Django is not set up."""
    global _default_store
    if _default_store is None:
        from django.conf import settings

        if not settings.configured:
            _default_store = MemoryStore()
        else:
            redis_url = str(getattr(settings, "REDIS_URL", "") or "")
            _default_store = RedisStore(redis_url) if redis_url else DatabaseStore()
    return _default_store


# --- The gate.


class Gate:
    """The limits of one seam (one connector in one run), thread-safe.

    ``enter`` blocks until a request may go out and returns; ``leave`` ends it.
    ``observe`` takes what the vendor said remains of its window."""

    def __init__(
        self,
        limits: Limits,
        *,
        key: str = "",
        store: HolderStore | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = limits
        self.key = key
        self.store = store
        self.sleep = sleep
        self.holder = uuid.uuid4().hex
        self.owner = threading.get_ident()
        self.cond = threading.Condition()
        self.in_flight = 0
        # Calls of the last second or so: [started, answered] (answered: inf until then).
        self.second: deque[list[float]] = deque()
        self.window: deque[float] = deque()
        self.holders = 1
        self.refreshed = 0.0
        self.current = limits
        # Pacing from the vendor's own counters: (remaining, monotonic reset time, size).
        self.remaining: tuple[int, float, int] | None = None
        self.next_paced = 0.0

    def adopt(self) -> None:
        """The calling thread owns the seam from now on (renews the registration): the
        run hands a side's reads to a thread of its own (sync/engine/run.py), and takes
        the seam back after."""
        self.owner = threading.get_ident()

    def refresh(self, *, force: bool = False) -> None:
        """Renew this run's registration and re-read its share (owner thread only)."""
        if not (self.key and self.store) or threading.get_ident() != self.owner:
            return
        now = time.monotonic()
        if not force and now - self.refreshed < REFRESH_SECONDS:
            return
        self.refreshed = now
        try:
            holders = self.store.join(self.key, self.holder, HOLDER_TTL)
        except Exception:  # a store outage must not stop the sync
            logger.warning("Limit store unavailable; keeping the last share", exc_info=True)
            return
        with self.cond:
            self.holders = max(1, holders)
            self.current = self.limits.share(self.holders)
            self.cond.notify_all()

    def close(self) -> None:
        """Give this run's share back (the others take it at their next refresh)."""
        if self.key and self.store and threading.get_ident() == self.owner:
            try:
                self.store.leave(self.key, self.holder)
            except Exception:  # the store is best effort
                logger.warning("Limit store unavailable on leave", exc_info=True)
            self.refreshed = 0.0

    def enter(self) -> list[float] | None:
        """Wait until a request may go out; the ticket to hand back to ``leave``."""
        self.refresh()
        while True:
            with self.cond:
                wait, ticket = self._admit(time.monotonic())
                if wait == 0.0:
                    return ticket
                if wait < 0:  # no slot in flight: woken by a leave
                    self.cond.wait(timeout=1.0)
                    continue
            self.sleep(min(wait, MAX_PACE))

    def _admit(self, now: float) -> tuple[float, list[float] | None]:
        """0 and the request counted (with its entry of the second's log, if any); -1
        to wait for a slot; else seconds to wait."""
        limits = self.current
        if self.in_flight >= max(1, limits.parallel):
            return -1.0, None
        if limits.per_second:
            # Under one a second (a share of a slow vendor): one call per 1/rate seconds.
            count = int(limits.per_second) if limits.per_second >= 1 else 1
            span = count / limits.per_second
            while self.second and self._leaves_second(self.second[0], span) <= now:
                self.second.popleft()
            if len(self.second) >= count:
                return max(0.001, self._leaves_second(self.second[0], span) - now), None
        if limits.window:
            span = limits.window_seconds * WINDOW_MARGIN
            while self.window and self.window[0] <= now - span:
                self.window.popleft()
            if len(self.window) >= limits.window:
                return max(0.001, self.window[0] + span - now), None
        if self.next_paced > now:
            return self.next_paced - now, None
        self.in_flight += 1
        ticket = None
        if limits.per_second:
            ticket = [now, math.inf]
            self.second.append(ticket)
        if limits.window:
            self.window.append(now)
        self.next_paced = now + self._pace(now)
        return 0.0, ticket

    @staticmethod
    def _leaves_second(entry: list[float], span: float) -> float:
        """When a call stops counting against the per-second rate: ``span`` (the
        vendor's second) with the margin after it started, or ``span`` after its
        answer, whichever comes first (the order of the log is kept: a later call
        that leaves sooner still waits for those before it, which is only safer)."""
        started, answered = entry
        return min(started + SECOND_SPAN * span, answered + span)

    def _pace(self, now: float) -> float:
        """Seconds before the next call may start, from the vendor's own counters: the
        remaining calls spread evenly over the time to their reset once they run low
        (under LOW_WATER of the window, or of twice the parallel calls if its size is
        not known)."""
        if self.remaining is None:
            return 0.0
        remaining, reset_at, size = self.remaining
        if reset_at <= now:
            self.remaining = None
            return 0.0
        size = size or self.limits.window
        low = size * LOW_WATER if size else 2 * max(1, self.limits.parallel)
        if remaining > low:
            return 0.0
        # Other holders of the account spend the same remainder: count on our share.
        mine = remaining / self.holders - self.in_flight
        if mine <= 0:
            return min(reset_at - now, MAX_PACE)
        return min((reset_at - now) / mine, MAX_PACE)

    def leave(self, ticket: list[float] | None = None) -> None:
        """End a request; ``ticket`` (what ``enter`` returned) marks when its answer
        came."""
        with self.cond:
            if ticket is not None:
                ticket[1] = time.monotonic()
            self.in_flight = max(0, self.in_flight - 1)
            self.cond.notify()

    def observe(self, remaining: int, reset_seconds: float, limit: int = 0) -> None:
        """The vendor says ``remaining`` calls (of ``limit``) are left of a window that
        resets in ``reset_seconds``: pace the next calls by it."""
        with self.cond:
            now = time.monotonic()
            self.remaining = (max(0, remaining), now + max(0.0, reset_seconds), limit)
            self.next_paced = max(self.next_paced, now + self._pace(now))
