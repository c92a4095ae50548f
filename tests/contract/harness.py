"""What the contract suite needs from a connector: a ``Harness``.

A harness builds the connector against a live server (its sandbox, or a real server such
as Radicale) and knows the few vendor-specific things the shared tests cannot guess: how
to seed records, what a valid and an invalid create look like, which fields it must list.
Faults (429, 5xx) are injected by default with a requests adapter on the connector's
session, so any connector works; a harness whose server can inject them itself (the
sandbox's control API) overrides ``fault`` to use the server's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import requests
from requests.adapters import HTTPAdapter

from connectors.base import Connector
from connectors.http import Http

FaultKind = Literal["throttle", "server_error"]


@dataclass
class Served:
    """How many injected faults a server actually answered with (filled on exit)."""

    count: int = 0


def fast_http() -> Http:
    """A seam that retries quickly: contract tests wait out short faults, not long ones."""
    return Http(retries=3, backoff=0.01, max_wait=5.0, timeout=(3.0, 10.0))


class Harness:
    """Base harness; subclass per connector and register it in tests/contract/harnesses.py.

    ``page_size``: the connector must be built to page at this size, so that a listing
    of ``3 * page_size`` records takes several pages. ``expected_common``: common keys
    fields() must declare; ``expected_custom``: a custom field key it must list (None for
    apps without custom fields).
    """

    vendor: ClassVar[str]
    page_size: ClassVar[int] = 4
    expected_common: ClassVar[frozenset[str]] = frozenset({"email"})
    expected_custom: ClassVar[str | None] = None

    def connector(self, http: Http | None = None) -> Connector:
        """A connector with good credentials on the harness's scope."""
        raise NotImplementedError

    def bad_connector(self) -> Connector:
        """The same connector with credentials the server rejects."""
        raise NotImplementedError

    @property
    def scope(self) -> str:
        raise NotImplementedError

    def seed(self, count: int) -> list[str]:
        """Put ``count`` records in the scope (outside the connector); their ids."""
        raise NotImplementedError

    def new_fields(self, index: int) -> dict[str, Any]:
        """Fields of a valid create, distinct per ``index``."""
        raise NotImplementedError

    def changed_fields(self) -> dict[str, Any]:
        """Fields of an update; the stored record then holds exactly these values."""
        raise NotImplementedError

    def invalid_fields(self) -> dict[str, Any]:
        """Fields of a create the vendor refuses permanently (e.g. no email)."""
        raise NotImplementedError

    @contextmanager
    def fault(
        self, connector: Connector, kind: FaultKind, count: int = 1, retry_after: float = 0.1
    ) -> Iterator[Served]:
        """The next ``count`` requests of ``connector`` fail with a 429 (Retry-After
        ``retry_after``) or a 503."""
        served = Served()
        adapter = _FaultAdapter(kind, count, retry_after, served)
        session = connector.http.session
        saved = dict(session.adapters)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        try:
            yield served
        finally:
            session.adapters.clear()
            session.adapters.update(saved)


class _FaultAdapter(HTTPAdapter):
    """Answers the first requests with a fault, then sends the rest for real."""

    def __init__(self, kind: FaultKind, count: int, retry_after: float, served: Served) -> None:
        super().__init__()
        self.kind, self.remaining, self.retry_after, self.served = kind, count, retry_after, served

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        if self.remaining <= 0:
            return super().send(request, *args, **kwargs)
        self.remaining -= 1
        self.served.count += 1
        response = requests.Response()
        response.request = request
        response.url = request.url or ""
        response._content = b'{"error": "injected by the contract suite"}'
        if self.kind == "throttle":
            response.status_code = 429
            response.headers["Retry-After"] = str(self.retry_after)
        else:
            response.status_code = 503
        return response


@contextmanager
def sandbox_fault(
    sandbox: Any, vendor: str, kind: FaultKind, count: int, retry_after: float
) -> Iterator[Served]:
    """Inject ``count`` faults of ``kind`` into ``vendor``'s emulator on the sandbox
    server, count how many it served, and clear the faults afterwards. Harnesses of
    sandbox-backed connectors implement ``fault`` with this."""
    served = Served()
    if kind == "throttle":
        sandbox.faults(vendor, throttle_count=count, retry_after=retry_after)
    else:
        sandbox.faults(vendor, error_count=count, error_status=503)
    try:
        yield served
    finally:
        counts = sandbox.requests(vendor)["faults"]
        served.count = counts["throttle" if kind == "throttle" else "error"]
        sandbox.faults(vendor)
