"""Salesforce REST over the HTTP seam: typed at the edge, errors classified, sessions
refreshed, API usage tracked.

Why not simple-salesforce (the field's standard client): it builds every URL as
``https://{instance}/services/data/…`` (no plain-HTTP loopback sandbox), raises its own
exception hierarchy, and does not refresh OAuth sessions; wrapping it so that its calls
still went through ``Http.request`` (retries, Retry-After, call counting, classification)
would leave little of it. This thin client keeps all of that in the seam.

Docs: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote as url_quote

import requests
from django.conf import settings

from connectors.base import AuthError, ConnectorError, RateLimited, RecordGone
from connectors.endpoints import host_in_domains, is_sandbox_url
from connectors.http import Http, parse_retry_after

API_VERSION = "62.0"
DEFAULT_LOGIN_URL = "https://login.salesforce.com"
DEFAULT_SANDBOX_LOGIN_URL = "https://test.salesforce.com"
MAX_BATCH = 200  # records per sObject Collections call
# REQUEST_LIMIT_EXCEEDED carries no Retry-After; the allowance is a rolling 24 hours.
LIMIT_BACKOFF = 3600.0
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


def parse_time(value: str | None) -> datetime | None:
    """Salesforce's ``2024-01-31T10:00:00.000+0000`` (or ``Z``) as an aware datetime."""
    if not value:
        return None
    text = value.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def format_time(moment: datetime) -> str:
    """An ISO datetime in UTC as Salesforce writes them (milliseconds, ``+0000``)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


class SessionExpired(AuthError):
    """401 INVALID_SESSION_ID: the access token expired; a refresh may fix it."""


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def classify(response: requests.Response) -> ConnectorError:
    """Salesforce's error bodies to error classes: REST answers a JSON array
    ``[{"message", "errorCode", "fields"}]``, the OAuth endpoints ``{"error",
    "error_description"}``."""
    status = response.status_code
    body = _body(response)
    if isinstance(body, dict) and "error" in body:
        message = f"Salesforce OAuth {status}: {body.get('error')}: {body.get('error_description')}"
        if body.get("error") in ("invalid_grant", "invalid_client", "invalid_client_id"):
            return AuthError(message, status=status)
        return ConnectorError(message, permanent=status < 500, status=status)
    first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
    code = str(first.get("errorCode") or "")
    message = f"Salesforce {status} {code}: {first.get('message') or response.text[:300]}"
    if status == 401 or code == "INVALID_SESSION_ID":
        return SessionExpired(message, status=status)
    if status == 429:
        # Salesforce does not send 429 itself; a proxy in front of it may.
        wait = parse_retry_after(response.headers.get("Retry-After"), 60.0)
        return RateLimited(message, retry_after=wait)
    if code == "REQUEST_LIMIT_EXCEEDED":
        return RateLimited(message, retry_after=LIMIT_BACKOFF, status=status)
    if status == 403:
        return AuthError(message, status=status)
    if status == 404 or code in ("NOT_FOUND", "ENTITY_IS_DELETED"):
        return RecordGone(message, status=status)
    return ConnectorError(message, permanent=status < 500, status=status)


# Per-record error codes that will not change on retry are permanent; these few are not.
TRANSIENT_CODES = frozenset(
    {"UNABLE_TO_LOCK_ROW", "REQUEST_RUNNING_TOO_LONG", "SERVER_UNAVAILABLE"}
)
GONE_CODES = frozenset({"ENTITY_IS_DELETED"})


@dataclass(frozen=True)
class RecordError:
    """One entry of a per-record ``errors`` list (sObject Collections)."""

    code: str
    message: str
    fields: tuple[str, ...] = ()

    def exception(self) -> ConnectorError:
        text = f"Salesforce {self.code}: {self.message}"
        if self.fields:
            text += f" ({', '.join(self.fields)})"
        if self.code in GONE_CODES:
            return RecordGone(text)
        return ConnectorError(text, permanent=self.code not in TRANSIENT_CODES)


@dataclass(frozen=True)
class SaveResult:
    """One entry of a Collections answer: the id, or the errors."""

    id: str | None
    success: bool
    errors: tuple[RecordError, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SaveResult:
        return cls(
            id=str(data["id"]) if data.get("id") else None,
            success=bool(data.get("success")),
            errors=tuple(
                RecordError(
                    code=str(e.get("statusCode") or e.get("errorCode") or "UNKNOWN"),
                    message=str(e.get("message") or ""),
                    fields=tuple(e.get("fields") or ()),
                )
                for e in data.get("errors") or []
            ),
        )


@dataclass(frozen=True)
class Describe:
    """``GET /sobjects/{Obj}/describe``: the fields of an object, as sent."""

    name: str
    fields: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Deleted:
    """``GET /sobjects/{Obj}/deleted``."""

    ids: tuple[str, ...]
    earliest: datetime | None
    latest: datetime | None


@dataclass
class Usage:
    """The org's API usage as last reported by ``Sforce-Limit-Info``."""

    used: int = 0
    max: int = 0
    seen_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "api_usage": {"used": self.used, "max": self.max},
            "checked_at": self.seen_at.isoformat() if self.seen_at else None,
        }


def trusted_instance_url(url: str) -> bool:
    """Whether ``url`` may be an org's instance: https on a Salesforce domain
    (``SALESFORCE_INSTANCE_DOMAINS``), or the emulator when sandboxes are on. Only
    Salesforce's own token answer names an instance, and even that is checked, because the
    access token is sent there."""
    domains = list(getattr(settings, "SALESFORCE_INSTANCE_DOMAINS", []))
    return host_in_domains(url, domains) or is_sandbox_url(url)


@dataclass
class Session:
    """What the client authenticates with; ``on_refresh`` hears of a new access token."""

    instance_url: str
    access_token: str
    refresh_token: str = ""
    login_url: str = DEFAULT_LOGIN_URL
    client_id: str = ""
    client_secret: str = ""
    on_refresh: Callable[[str], None] | None = None
    refreshed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class SalesforceClient:
    """The calls the connector makes. Every call: budget check, then the seam; a 401
    refreshes the session once and repeats the call."""

    def __init__(
        self,
        http: Http,
        session: Session,
        *,
        budget_share: float = 0.5,
        page_size: int = 2000,
        version: str = API_VERSION,
    ) -> None:
        self.http = http
        self.session = session
        self.budget_share = budget_share
        self.page_size = page_size
        self.usage = Usage()
        self.version = version
        # Calls go out in parallel (connectors.base.parallel): one refresh for all of
        # those a session's expiry fails at once.
        self._refreshing = threading.Lock()
        self._check_instance(session.instance_url)
        self.base = f"{session.instance_url.rstrip('/')}/services/data/v{version}"
        http.classify = classify
        http.on_response.append(self._track_usage)
        self._authorize_session()

    # --- Plumbing.

    @staticmethod
    def _check_instance(url: str) -> None:
        if url and not trusted_instance_url(url):
            raise AuthError(
                "The stored Salesforce instance address is not a Salesforce host; "
                "authorize Salesforce again."
            )

    def _authorize_session(self) -> None:
        self.http.session.headers["Authorization"] = f"Bearer {self.session.access_token}"

    def _track_usage(self, response: requests.Response) -> None:
        # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
        match = _USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
        if match:
            self.usage.used, self.usage.max = int(match.group(1)), int(match.group(2))
            self.usage.seen_at = datetime.now(UTC)
            # Pace our share of the rolling 24 hours before _check_budget stops the run.
            share = int(self.usage.max * self.budget_share)
            self.http.observe(share - self.usage.used, 86_400.0, share)

    def _check_budget(self) -> None:
        """Stop before the org's daily allowance is spent past our share of it: other
        integrations of the same org need the rest."""
        usage = self.usage
        if usage.max and usage.used >= usage.max * self.budget_share:
            raise RateLimited(
                f"Salesforce API budget reached: {usage.used} of {usage.max} daily calls used "
                f"(this authorization may use {self.budget_share:.0%}).",
                retry_after=LIMIT_BACKOFF,
                status=None,
            )

    def call(self, method: str, url: str, **kwargs: Any) -> Any:
        """One REST call, JSON in and out."""
        self._check_budget()
        if not url.startswith(("http://", "https://")):
            url = f"{self.session.instance_url.rstrip('/')}{url}"
        token = self.session.access_token
        try:
            return self.http.json(method, url, **kwargs)
        except SessionExpired:
            if not self.session.refresh_token:
                raise
            with self._refreshing:
                if self.session.access_token == token:  # not renewed meanwhile by another
                    self.refresh()
            return self.http.json(method, url, **kwargs)

    def refresh(self) -> None:
        """New access token from the refresh token (no new refresh token comes back
        unless rotation is on, which we then keep). A revoked refresh token is an
        AuthError: the tenant must authorize again.
        https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm"""
        data = {
            "grant_type": "refresh_token",
            "refresh_token": self.session.refresh_token,
            "client_id": self.session.client_id,
        }
        if self.session.client_secret:
            data["client_secret"] = self.session.client_secret
        url = f"{self.session.login_url.rstrip('/')}/services/oauth2/token"
        try:
            # The expired bearer header must not travel to the login host.
            answer = self.http.json(
                "POST", url, data=data, headers={"Authorization": None}, idempotent=True
            )
        except AuthError as exc:
            raise AuthError(
                f"Salesforce refused to renew the session ({exc}); authorize the app again.",
                status=exc.status,
            ) from exc
        token = (answer or {}).get("access_token")
        if not token:
            raise ConnectorError("Salesforce token refresh answered without a token")
        self.session.access_token = str(token)
        if answer.get("refresh_token"):
            self.session.refresh_token = str(answer["refresh_token"])
        if answer.get("instance_url"):
            self._check_instance(str(answer["instance_url"]))
            self.session.instance_url = str(answer["instance_url"])
            self.base = f"{self.session.instance_url.rstrip('/')}/services/data/v{self.version}"
        self.session.refreshed = True
        self._authorize_session()
        if self.session.on_refresh is not None:
            self.session.on_refresh(self.session.access_token)

    # --- Reads.

    def sobjects(self) -> list[dict[str, Any]]:
        """Global describe: the org's objects."""
        answer = self.call("GET", f"{self.base}/sobjects/")
        return [s for s in (answer or {}).get("sobjects") or [] if isinstance(s, dict)]

    def describe(self, sobject: str) -> Describe:
        answer = self.call("GET", f"{self.base}/sobjects/{sobject}/describe/") or {}
        return Describe(
            name=str(answer.get("name") or sobject),
            fields=tuple(f for f in answer.get("fields") or [] if isinstance(f, dict)),
        )

    def query_pages(self, soql_text: str) -> Iterator[list[dict[str, Any]]]:
        """Batches of a SOQL query, following ``nextRecordsUrl`` until ``done``."""
        headers = {"Sforce-Query-Options": f"batchSize={self.page_size}"}
        answer = self.call("GET", f"{self.base}/query/", params={"q": soql_text}, headers=headers)
        while True:
            answer = answer or {}
            yield [r for r in answer.get("records") or [] if isinstance(r, dict)]
            next_url = answer.get("nextRecordsUrl")
            if answer.get("done", True) or not next_url:
                return
            answer = self.call("GET", str(next_url), headers=headers)

    def query(self, soql_text: str) -> list[dict[str, Any]]:
        return [row for page in self.query_pages(soql_text) for row in page]

    def deleted(self, sobject: str, start: datetime, end: datetime) -> Deleted:
        """Ids deleted between ``start`` and ``end`` (the vendor truncates to minutes)."""
        params = {"start": format_time(start), "end": format_time(end)}
        answer = self.call("GET", f"{self.base}/sobjects/{sobject}/deleted/", params=params) or {}
        return Deleted(
            ids=tuple(str(d["id"]) for d in answer.get("deletedRecords") or [] if d.get("id")),
            earliest=parse_time(answer.get("earliestDateAvailable")),
            latest=parse_time(answer.get("latestDateCovered")),
        )

    # --- Writes (sObject Collections, up to 200 records a call, allOrNone=false).

    def create(self, sobject: str, records: list[dict[str, Any]]) -> list[SaveResult]:
        body = {
            "allOrNone": False,
            "records": [{"attributes": {"type": sobject}, **r} for r in records],
        }
        answer = self.call("POST", f"{self.base}/composite/sobjects", json=body)
        return self._results(answer, len(records))

    def update(self, sobject: str, records: list[dict[str, Any]]) -> list[SaveResult]:
        body = {
            "allOrNone": False,
            "records": [{"attributes": {"type": sobject}, **r} for r in records],
        }
        # An update sets values; repeating it after a lost answer does no harm.
        answer = self.call("PATCH", f"{self.base}/composite/sobjects", json=body, idempotent=True)
        return self._results(answer, len(records))

    def delete(self, ids: list[str]) -> list[SaveResult]:
        joined = ",".join(url_quote(i, safe="") for i in ids)
        answer = self.call("DELETE", f"{self.base}/composite/sobjects?ids={joined}&allOrNone=false")
        return self._results(answer, len(ids))

    def _results(self, answer: Any, expected: int) -> list[SaveResult]:
        if not isinstance(answer, list) or len(answer) != expected:
            raise ConnectorError("Salesforce answered a Collections call with the wrong shape")
        return [SaveResult.from_json(item) for item in answer]
