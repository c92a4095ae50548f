"""ForceManager ("Sage Sales Management") API v4 over the HTTP seam: the session login,
bare-array listings with ``X-FM-*`` paging headers, typed at the edge, errors classified.

Docs: https://developer.forcemanager.com/ (Getting started, pagination, filters, error
codes). Everything about the wire lives here; connector.py turns it into Records.

UNCONFIRMED / OUR ASSUMPTION (../shared/apis/sellf-wildix-contactlab-forcemanager.md
section 4 and its open question 5), kept in this one place and followed by the sandbox:
- login body ``{"username": <public key>, "password": <private key>}`` answering
  ``{"token": …}``; the session lasts about 24 h and an expired one answers 401;
- the page is asked for with the request header ``X-FM-Page`` (0-based; the vendor's C#
  sample and a TypeScript client do so), the page size with the header ``Count``; the
  answer's ``X-FM-Next-Page`` equals ``X-FM-Page`` on the last page;
- listings are ordered by id ascending unless ``order=`` is given, so a page boundary
  does not move when a record is edited or soft-deleted during a read;
- ``where`` takes dates quoted as ``'2024-05-01T00:00:00.000Z'`` (UTC) and the
  comparison operators ``= != > < >= <=``, ``LIKE``, ``AND``, ``OR`` and parentheses;
- soft-deleted rows are listed unless ``deleted=false`` is in the ``where``; DELETE
  answers ``{"Message": "entity deleted"}``;
- errors are ``{"code": <int>, "message": "…"}``; code 910 (resource does not exist)
  comes with a 400 for an unknown id; a missing required field is a 400;
- users are ``{"id", "name", "email", "branchId": {id, value}, "deleted"}``; a new
  account takes its ``branchId`` from its sales rep's branch;
- extra-field definitions are listed by ``GET /extrafields/{resource}`` as a bare array
  of ``{"id", "fieldName", "type", "description", "valueListName"}``; a ``list`` value
  is ``{id, value}`` in records and a plain id in writes (``multivalue``: lists of those),
  its choices at ``/values?resourcename=<valueListName>``;
- the lookups of contacts use the value lists ``countries`` and ``contactTypes``.
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from connectors.base import AuthError, ConnectorError, RateLimited, RecordGone, clean_message
from connectors.endpoints import vendor_api_url
from connectors.http import Http, decoded, parse_retry_after

DEFAULT_BASE_URL = "https://api.forcemanager.com/api/v4"
PAGE_SIZE = 50  # the API's default page size [doc]
NOT_FOUND = 910  # "resource does not exist" [doc]


def api_url() -> str:
    """ForceManager's API base: the operator's ``FORCEMANAGER_API_URL``, the emulator when
    sandboxes are on, else the vendor's host. Never tenant input."""
    return vendor_api_url("FORCEMANAGER_API_URL", DEFAULT_BASE_URL, "/forcemanager/api/v4")


def parse_time(value: Any) -> datetime | None:
    """A ForceManager date (``2021-12-16T14:05:53.027Z``) as an aware UTC datetime."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConnectorError(f"ForceManager sent an unreadable date {value!r}") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """The wire form of a moment: UTC with milliseconds and ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def quote(value: str) -> str:
    """``value`` as a ``where`` string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def classify(response: requests.Response) -> ConnectorError:
    """ForceManager's status codes and error body (OUR ASSUMPTION above) to a class."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    code = body.get("code")
    text = body.get("message") or body.get("Message") or response.text[:300]
    message = f"ForceManager {status}: {clean_message(str(text), 200)}"
    if status in (401, 403):
        return AuthError(message, status=status)
    if status == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"), 60.0)
        return RateLimited(message, retry_after=wait)
    if status in (404, 410) or code == NOT_FOUND:
        return RecordGone(message, status=status)
    return ConnectorError(message, permanent=status < 500, status=status)


def lookup_id(value: Any) -> int | None:
    """The id of a lookup as read (``{"id": 16, "value": "…"}``) or as a plain id."""
    if isinstance(value, dict):
        value = value.get("id")
    if value in (None, "", -1):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"not a lookup id: {value!r}")
    return int(value)


def lookup_value(value: Any) -> str:
    """The text a lookup carries as read ("" when ForceManager left it blank)."""
    return str(value.get("value") or "") if isinstance(value, dict) else ""


@dataclass(frozen=True)
class Row:
    """One record of any resource as ForceManager answers it, validated at the edge:
    the common fields typed, everything else (its own and its ``Z_`` extra fields) kept
    as sent in ``data``."""

    id: int
    data: dict[str, Any]
    deleted: bool
    created: datetime | None
    updated: datetime | None
    deleted_at: datetime | None

    @property
    def changed(self) -> datetime | None:
        """When it last changed: ``dateUpdated`` is null until a first update."""
        moments = [m for m in (self.updated, self.created, self.deleted_at) if m]
        return max(moments) if moments else None

    @classmethod
    def from_json(cls, data: Any) -> Row:
        if not isinstance(data, dict) or "id" not in data:
            raise ConnectorError(f"ForceManager sent a record of the wrong shape: {data!r:.200}")
        try:
            return cls(
                id=int(data["id"]),
                data=data,
                deleted=bool(data.get("deleted")),
                created=parse_time(data.get("dateCreated")),
                updated=parse_time(data.get("dateUpdated")),
                deleted_at=parse_time(data.get("dateDeleted")),
            )
        except (TypeError, ValueError) as exc:
            raise ConnectorError(f"ForceManager sent an invalid record: {exc}") from exc


@dataclass(frozen=True)
class User:
    """A user (``/users``): the sales reps who own records."""

    id: int
    name: str
    email: str
    branch_id: int | None

    @classmethod
    def from_json(cls, data: Any) -> User:
        if not isinstance(data, dict) or "id" not in data:
            raise ConnectorError(f"ForceManager sent a user of the wrong shape: {data!r:.200}")
        name = " ".join(str(data.get(k) or "").strip() for k in ("name", "surname")).strip()
        return cls(
            id=int(data["id"]),
            name=name or str(data.get("email") or data["id"]),
            email=str(data.get("email") or ""),
            branch_id=lookup_id(data.get("branchId")),
        )


@dataclass(frozen=True)
class ExtraField:
    """An extra-field definition (``/extrafields/{resource}``): a ``Z_`` custom field."""

    name: str
    type: str
    label: str
    value_list: str

    @classmethod
    def from_json(cls, data: Any) -> ExtraField:
        if not isinstance(data, dict) or not str(data.get("fieldName") or "").startswith("Z_"):
            raise ConnectorError(
                f"ForceManager sent an extra field of the wrong shape: {data!r:.200}"
            )
        return cls(
            name=str(data["fieldName"]),
            type=str(data.get("type") or "text"),
            label=str(data.get("description") or data["fieldName"]),
            value_list=str(data.get("valueListName") or ""),
        )


@dataclass(frozen=True)
class Listing:
    """One page of a listing: its rows and whether another page follows."""

    rows: list[Row]
    more: bool


class ForceManagerClient:
    """The calls the connector makes; every one through the seam ``http``.

    The session key of the last login is kept through ``keep`` (the authorization's
    secrets) so that the next run reuses it; a 401 logs in again once and repeats the
    call."""

    def __init__(
        self,
        http: Http,
        public_key: str,
        private_key: str,
        session_key: str = "",
        keep: Any = None,
        page_size: int | None = None,
    ) -> None:
        self.http = http
        http.base_url = api_url()
        http.classify = classify
        http.session.headers["Accept"] = "application/json"
        http.session.headers["X-FM-API-Version"] = "4"
        self.public_key, self.private_key = public_key, private_key
        self.session_key = session_key
        self.keep = keep
        self.page_size = page_size
        self.last_date: datetime | None = None  # the vendor's clock (Date header)
        http.on_response.append(self._remember_date)

    def _remember_date(self, response: requests.Response) -> None:
        try:
            moment = email.utils.parsedate_to_datetime(response.headers.get("Date", ""))
        except (TypeError, ValueError):
            return
        self.last_date = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)

    # https://developer.forcemanager.com/ (Getting started: login)
    def login(self) -> str:
        if not self.public_key or not self.private_key:
            raise AuthError("The ForceManager public and private keys are required")
        body = self.http.json(
            "POST",
            "login",
            json={"username": self.public_key, "password": self.private_key},
            idempotent=True,  # a login changes nothing: safe to repeat after a 5xx
        )
        token = body.get("token") if isinstance(body, dict) else None
        if not token:
            raise ConnectorError("ForceManager login answered without a session token")
        self.session_key = str(token)
        if self.keep is not None:
            self.keep({"session_key": self.session_key})
        return self.session_key

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One call with the session key; a 401 (the session expired) logs in again
        once and repeats the call."""
        if not self.session_key:
            self.login()
        for attempt in (1, 2):
            headers = {**kwargs.pop("headers", {}), "X-Session-Key": self.session_key}
            try:
                return self.http.request(method, path, headers=headers, **kwargs)
            except AuthError as exc:
                if exc.status != 401 or attempt == 2:
                    raise
                kwargs["headers"] = {k: v for k, v in headers.items() if k != "X-Session-Key"}
                self.login()
        raise AssertionError("unreachable")  # pragma: no cover

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """A call whose answer is JSON; an answer that is not is a ConnectorError."""
        return decoded(self.request(method, path, **kwargs), f"ForceManager {method} {path}")

    # https://developer.forcemanager.com/ (Pagination; Filters)
    def page(self, resource: str, number: int, where: str | None = None) -> Listing:
        """Page ``number`` (0-based) of ``resource``, filtered by ``where``."""
        headers = {"X-FM-Page": str(number)}
        if self.page_size:
            headers["Count"] = str(self.page_size)
        response = self.request(
            "GET", resource, params={"where": where} if where else None, headers=headers
        )
        try:
            rows = response.json()
        except ValueError as exc:
            raise ConnectorError(f"ForceManager GET {resource}: response is not JSON") from exc
        if not isinstance(rows, list):
            raise ConnectorError(f"ForceManager GET {resource}: not a list")
        listing = [Row.from_json(r) for r in rows]
        if "X-FM-Next-Page" not in response.headers:
            # No paging headers: a full page may have a next one (an empty page ends it),
            # never stop early, which would make a complete listing lose records.
            return Listing(listing, more=len(rows) >= (self.page_size or PAGE_SIZE))
        try:
            current = int(response.headers.get("X-FM-Page", number))
            following = int(response.headers["X-FM-Next-Page"])
        except ValueError as exc:
            raise ConnectorError(f"ForceManager GET {resource}: unreadable paging headers") from exc
        return Listing(listing, more=bool(rows) and following > current)

    def every(self, resource: str, where: str | None = None) -> Iterator[Row]:
        """Every row of a listing, page by page."""
        number = 0
        while True:
            listing = self.page(resource, number, where)
            yield from listing.rows
            if not listing.more:
                return
            number += 1

    def get(self, resource: str, record_id: int) -> Row:
        return Row.from_json(self.call("GET", f"{resource}/{int(record_id)}"))

    def create(self, resource: str, body: dict[str, Any]) -> int:
        """POST answers ``{"Message": "entity created", "id": 1}`` [3p]. Not retried after
        a 5xx: the engine recognises a lost create by its ``extId`` next run."""
        answer = self.call("POST", resource, json=body)
        if not isinstance(answer, dict) or answer.get("id") in (None, ""):
            raise ConnectorError(f"ForceManager POST {resource}: no id in the answer")
        return int(answer["id"])

    def update(self, resource: str, record_id: int, body: dict[str, Any]) -> None:
        """PUT is a partial update: only the fields sent change [doc]."""
        self.call("PUT", f"{resource}/{int(record_id)}", json=body)

    def delete(self, resource: str, record_id: int) -> None:
        """A soft delete: the row stays, ``deleted`` true and ``dateDeleted`` set."""
        self.call("DELETE", f"{resource}/{int(record_id)}")

    def users(self) -> list[User]:
        return [User.from_json(u.data) for u in self.every("users", "deleted=false")]

    def values(self, resource_name: str) -> dict[int, str]:
        """A list of values (``/values?resourcename=``): id -> text."""
        rows = self.call("GET", "values", params={"resourcename": resource_name})
        if not isinstance(rows, list):
            raise ConnectorError(f"ForceManager GET values {resource_name}: not a list")
        found = {}
        for row in rows:
            if not isinstance(row, dict) or "id" not in row:
                raise ConnectorError(f"ForceManager sent a value of the wrong shape: {row!r:.200}")
            found[int(row["id"])] = str(row.get("value") or "")
        return found

    def extra_fields(self, resource: str) -> list[ExtraField]:
        rows = self.call("GET", f"extrafields/{resource}")
        if not isinstance(rows, list):
            raise ConnectorError(f"ForceManager GET extrafields/{resource}: not a list")
        return [ExtraField.from_json(r) for r in rows]

    def create_extra_field(
        self, resource: str, name: str, kind: str, label: str, value_list: str = ""
    ) -> None:
        """Define an extra field ``Z_<name>`` of ``kind`` (datetime, text, decimal, bit,
        list, multivalue) on ``resource`` [doc]."""
        body = {
            "entity": resource,
            "fieldName": name if name.startswith("Z_") else f"Z_{name}",
            "type": kind,
            "description": label,
        }
        if value_list:
            body["valueListName"] = value_list
        self.call("POST", f"extrafields/{resource}", json=body)
