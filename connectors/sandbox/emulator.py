"""The base class of a vendor emulator, and the request/response types it works with.

An emulator is plain Python (no Django): it holds the vendor's state in memory as
JSON-able dicts, answers requests on the vendor's real paths, and renders errors in the
vendor's own shape. The server (``connectors.sandbox.server``) mounts it under
``/<vendor>/``, counts its requests, injects faults and enforces its rate limits, so an
emulator only describes the vendor.

Adding a vendor's emulator (connectors/<vendor>/sandbox.py)::

    from connectors.sandbox import Emulator, SandboxRequest, SandboxResponse, route

    class AcmeEmulator(Emulator):
        vendor = "acme"

        def reset(self) -> None:
            self.state = {"accounts": {}}

        @route("GET", "/api/contacts/{contact_id}")
        def get_contact(self, request: SandboxRequest, contact_id: str) -> SandboxResponse:
            account = self.authenticate(request)      # your vendor's auth check
            ...
            return SandboxResponse.json({...})

        def error(self, status, message, **extra) -> SandboxResponse:
            return SandboxResponse.json({"error": message}, status=status)

        # plus create_account(), seed() and, optionally, demo() and rate_limit_key()

    EMULATOR = AcmeEmulator

Handlers run one at a time under the emulator's lock, so they need no locking of their
own. ``state`` must stay JSON-able: the server persists it with ``--state-file``.

Strict mode: an emulator answers as its vendor does in every mode, but may let through
some requests its vendor would refuse (a lenient emulator is easier to explore by hand).
With ``strict`` on (``SandboxServer(strict=True)``, ``manage.py sandbox --strict``,
``PUT /_sandbox/strict``, or the ``strict_sandbox`` test fixture) every such check made
with ``refuse_when_strict`` refuses as the vendor would::

    self.refuse_when_strict(len(ids) > 100, 400, "at most 100 ids", code="TOO_MANY")
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qsl

Handler = Callable[..., "SandboxResponse"]


@dataclass
class SandboxRequest:
    """One HTTP request as an emulator sees it; ``path`` is below ``/<vendor>``."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""

    @classmethod
    def build(
        cls, method: str, path: str, query_string: str, headers: dict[str, str], body: bytes
    ) -> SandboxRequest:
        return cls(
            method=method.upper(),
            path=path,
            query=parse_qsl(query_string, keep_blank_values=True),
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
        )

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The last value of query parameter ``name``."""
        found = [v for k, v in self.query if k == name]
        return found[-1] if found else default

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        """The decoded JSON body; ValueError when it is not JSON."""
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))


@dataclass
class SandboxResponse:
    """What an emulator answers. ``drop`` closes the connection without an answer."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False

    @classmethod
    def json(
        cls, data: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> SandboxResponse:
        payload = json.dumps(data, ensure_ascii=False).encode("utf-8")
        return cls(
            status=status,
            body=payload,
            headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        )

    @classmethod
    def empty(cls, status: int = 204, headers: dict[str, str] | None = None) -> SandboxResponse:
        return cls(status=status, headers=dict(headers or {}))


class SandboxHTTPError(Exception):
    """Raised inside a handler to answer with ``response`` (usually a vendor error)."""

    def __init__(self, response: SandboxResponse) -> None:
        super().__init__(response.status)
        self.response = response


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Mark an emulator method as the handler of ``method`` ``pattern``; ``{name}``
    segments become keyword arguments. The pattern is also the endpoint name the
    server counts requests under."""

    def mark(handler: Handler) -> Handler:
        handler._sandbox_route = (method.upper(), pattern)  # type: ignore[attr-defined]
        return handler

    return mark


@dataclass(frozen=True)
class RateLimits:
    """A vendor's real limits, enforced by the server when a test enables them.
    ``window`` calls per ``window_seconds``, ``per_second`` calls per second and
    ``parallel`` requests in flight, each per rate-limit key (account)."""

    window: int | None = None
    window_seconds: float = 600.0
    per_second: int | None = None
    parallel: int | None = None


class Emulator:
    """Base class of a vendor emulator; see the module docstring for a walk-through."""

    vendor: ClassVar[str]
    rate_limits: ClassVar[RateLimits] = RateLimits()
    _routes: ClassVar[list[tuple[str, re.Pattern[str], str, str]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        routes = []
        for name in dir(cls):
            marked = getattr(getattr(cls, name), "_sandbox_route", None)
            if marked:
                method, pattern = marked
                regex = re.compile(
                    "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern.rstrip("/")) + "/?$"
                )
                routes.append((method, regex, pattern, name))
        # Literal segments beat placeholders: longest literal prefix first, then the most
        # literal text (``/sobjects/{o}/describe`` before ``/sobjects/{o}/{id}``).
        routes.sort(key=lambda r: (-len(r[2].split("{")[0]), -len(re.sub(r"\{\w+\}", "", r[2]))))
        cls._routes = routes

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.state: dict[str, Any] = {}
        self.strict = False  # set by the server; see "Strict mode" above
        self.reset()

    # --- To implement per vendor.

    def reset(self) -> None:
        """Forget everything: set ``self.state`` to an empty vendor."""
        self.state = {}

    def create_account(self, **options: Any) -> dict[str, Any]:
        """Create an account (control API); return what a client needs, e.g. its API key."""
        raise NotImplementedError

    def seed(self, account: str, count: int, seed: int = 0, **options: Any) -> dict[str, Any]:
        """Add ``count`` synthetic records, deterministic from ``seed``, to ``account``."""
        raise NotImplementedError

    def demo(self) -> None:
        """Create the demo tenant's accounts if they do not exist yet (idempotent)."""

    def error(self, status: int, message: str, **extra: Any) -> SandboxResponse:
        """An error response in the vendor's own shape (also used for injected faults)."""
        return SandboxResponse.json({"error": message, **extra}, status=status)

    def rate_limited(self, retry_after: float, *, injected: bool) -> SandboxResponse:
        """The vendor's 429. ``injected`` faults always carry ``Retry-After``; the
        vendor's own limits answer as the vendor does."""
        response = self.error(429, "Too many requests")
        response.headers["Retry-After"] = str(max(0, round(retry_after, 3)))
        return response

    def rate_limit_headers(self, limit: int, remaining: int, reset: float) -> dict[str, str]:
        """Headers every answer carries while the real limits are on: ``remaining``
        calls left of the window of ``limit``, which resets in ``reset`` seconds. None by default;
        a vendor that sends them (GetResponse's X-RateLimit-*) overrides this."""
        return {}

    def rate_limit_key(self, request: SandboxRequest) -> str:
        """Who the rate limits apply to (the account); by default the auth header."""
        return request.header("authorization") or request.header("x-auth-token")

    def view(self, account: str | None = None) -> dict[str, Any]:
        """The state as tests read it (control API); by default the raw state."""
        return self.state

    # --- Provided.

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """Route ``request`` to its handler under the lock; unknown paths are 404."""
        handler, params = self.resolve(request)
        if handler is None:
            return self.error(404, f"No such endpoint: {request.method} {request.path}")
        with self.lock:
            try:
                return handler(request, **params)
            except SandboxHTTPError as exc:
                return exc.response

    def resolve(self, request: SandboxRequest) -> tuple[Handler | None, dict[str, str]]:
        for method, regex, _pattern, name in self._routes:
            match = regex.match(request.path)
            if match and method == request.method:
                return getattr(self, name), match.groupdict()
        return None, {}

    def endpoint(self, request: SandboxRequest) -> str:
        """The endpoint name requests are counted under, e.g. ``GET /v3/contacts``."""
        for method, regex, pattern, _name in self._routes:
            if method == request.method and regex.match(request.path):
                return f"{method} {pattern}"
        return f"{request.method} (unknown)"

    def refuse_when_strict(self, refused: bool, status: int, message: str, **extra: Any) -> None:
        """In strict mode, answer the vendor's error ``status`` when ``refused``; in
        lenient mode let the request through."""
        if refused and self.strict:
            raise self.fail(status, message, **extra)

    def fail(self, status: int, message: str, **extra: Any) -> SandboxHTTPError:
        """An exception to ``raise`` from a handler to answer with a vendor error."""
        return SandboxHTTPError(self.error(status, message, **extra))

    def dump(self) -> dict[str, Any]:
        """JSON-able state for ``--state-file``."""
        with self.lock:
            return json.loads(json.dumps(self.state))

    def load(self, data: dict[str, Any]) -> None:
        with self.lock:
            self.state = data
