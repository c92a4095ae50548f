"""Sellf API v2 over the HTTP seam: typed at the edge, errors classified. Its 20 requests
a second per key are kept by the seam's gate (connectors/limits.py), not here.

Docs: http://developers.sellfcrm.com/ (source: https://github.com/Sellf/docs, 2018; API v2).
Everything vendor-specific about the wire lives here; connector.py turns what this
returns into Records.

UNCONFIRMED / OUR ASSUMPTION (../shared/apis/sellf-wildix-contactlab-forcemanager.md
section 1), kept in this one place:
- the error body is ``{"message": ..., "errors": {field: [...]}}``;
- a create answers 201, an update 200 (any 2xx is accepted here);
- filters take dates in the same UTC ISO form as responses (no ``Z``);
- no rate-limit headers: a 429 carries no Retry-After, so we back off ``RATE_LIMIT_WAIT``;
- ``name:eq=`` filters companies by exact name.
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from connectors.base import AuthError, ConnectorError, RateLimited, RecordGone
from connectors.http import Http, parse_retry_after

DEFAULT_BASE_URL = "https://api.sellf.io/v2"
PAGE_SIZE = 50  # fixed by Sellf since May 2018 [doc]
RATE_LIMIT_WAIT = 1.0  # seconds to wait on a 429 without Retry-After (OUR ASSUMPTION)
STATUSES = ("lead", "prospect", "customer")  # prospect_status 0, 1, 2 [doc]


def parse_time(value: Any) -> datetime | None:
    """A Sellf date (UTC, ISO 8601, usually without ``Z`` and with 0 to 6 fraction
    digits: ``2016-09-08T16:36:52``, ``2015-11-27T14:57:54.707662``) as an aware UTC
    datetime. Other zones are converted; "other time zones will be skipped" by Sellf."""
    if value in (None, ""):
        return None
    text = str(value).strip().replace(" ", "T")
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    if "." in text:
        # fromisoformat wants 3 or 6 fraction digits before Python 3.11's relaxations;
        # normalise to 6 so 1, 2, 4, 5 or 7+ digits parse too.
        head, _, tail = text.partition(".")
        digits = ""
        while tail and tail[0].isdigit():
            digits, tail = digits + tail[0], tail[1:]
        text = f"{head}.{(digits + '000000')[:6]}{tail}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConnectorError(f"Sellf sent an unreadable date {value!r}", permanent=True) from exc
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """The wire form of a moment: UTC, no zone suffix, microseconds when any."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat()


def classify(response: requests.Response) -> ConnectorError:
    """Sellf's status codes [doc] (and the assumed error body) to an error class."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    message = f"Sellf {status}: {body.get('message') or response.text[:300]}"
    errors = body.get("errors")
    if isinstance(errors, dict) and errors:
        details = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in errors.items())
        message += f" ({details})"
    if status == 401:
        return AuthError(message, status=status)
    if status == 402:
        return AuthError(message + " — the Sellf subscription needs payment", status=status)
    if status == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"), RATE_LIMIT_WAIT)
        return RateLimited(message, retry_after=wait)
    if status == 404:
        return RecordGone(message, status=status)
    # 403 (hierarchy/permissions) is about one record, not the key: a permanent error.
    return ConnectorError(message, permanent=status < 500 and status != 409, status=status)


def _int(value: Any) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"not an integer id: {value!r}")
    return int(value)


def _text(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, dict | list):
        raise ValueError(f"not a text value: {value!r}")
    return str(value)


PERSON_TEXT = (
    "code",
    "first_name",
    "last_name",
    "title",
    "vat",
    "website",
    "email",
    "email_secondary",
    "phone",
    "mobile",
    "fax",
    "skype",
    "address",
    "description",
)


@dataclass(frozen=True)
class Person:
    """A person (``/people``) as Sellf answers it, validated."""

    id: int
    user_id: int | None
    company_id: int | None
    prospect_status: int | None
    text: dict[str, str | None]
    birthday: datetime | None
    tags: tuple[str, ...]
    custom_fields: dict[str, Any]
    created_at: datetime | None
    updated_at: datetime | None
    updated_at_raw: str

    @classmethod
    def from_json(cls, data: Any) -> Person:
        if not isinstance(data, dict) or "id" not in data:
            raise ConnectorError(f"Sellf sent a person of the wrong shape: {data!r:.200}")
        try:
            tags = data.get("tags") or []
            custom = data.get("custom_fields") or {}
            if not isinstance(tags, list) or not isinstance(custom, dict):
                raise ValueError("tags must be a list and custom_fields an object")
            status = _int(data.get("prospect_status"))
            return cls(
                id=int(data["id"]),
                user_id=_int(data.get("user_id")),
                company_id=_int(data.get("company_id")),
                prospect_status=status,
                text={key: _text(data.get(key)) for key in PERSON_TEXT},
                birthday=parse_time(data.get("birthday")),
                tags=tuple(str(t) for t in tags),
                custom_fields=dict(custom),
                created_at=parse_time(data.get("created_at")),
                updated_at=parse_time(data.get("updated_at")),
                updated_at_raw=str(data.get("updated_at") or ""),
            )
        except (TypeError, ValueError) as exc:
            raise ConnectorError(f"Sellf sent an invalid person: {exc}") from exc


@dataclass(frozen=True)
class Company:
    """A company (``/companies``): only what a person's company name needs."""

    id: int
    name: str

    @classmethod
    def from_json(cls, data: Any) -> Company:
        if not isinstance(data, dict) or "id" not in data:
            raise ConnectorError(f"Sellf sent a company of the wrong shape: {data!r:.200}")
        return cls(id=int(data["id"]), name=str(data.get("name") or ""))


@dataclass(frozen=True)
class User:
    """A team user (``/users``): the owners."""

    id: int
    name: str
    email: str

    @classmethod
    def from_json(cls, data: Any) -> User:
        if not isinstance(data, dict) or "id" not in data:
            raise ConnectorError(f"Sellf sent a user of the wrong shape: {data!r:.200}")
        return cls(
            id=int(data["id"]), name=str(data.get("name") or ""), email=data.get("email") or ""
        )


@dataclass(frozen=True)
class CustomField:
    """A custom field definition (``/custom_fields?entity_type=contact``)."""

    key: str
    label: str
    type: str
    is_multiple: bool = False
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any) -> CustomField:
        if not isinstance(data, dict) or not data.get("key"):
            raise ConnectorError(f"Sellf sent a custom field of the wrong shape: {data!r:.200}")
        extras = data.get("extras")
        return cls(
            key=str(data["key"]),
            label=str(data.get("label") or data["key"]),
            type=str(data.get("type") or "text"),
            is_multiple=bool(data.get("is_multiple")),
            extras=extras if isinstance(extras, dict) else {},
        )


class SellfClient:
    """The calls the connector makes; every one through the seam ``http``."""

    def __init__(self, http: Http, base_url: str, api_key: str) -> None:
        self.http = http
        http.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        http.classify = classify
        # http://developers.sellfcrm.com/#authentication
        http.session.headers["Api-Key"] = api_key
        http.session.headers["Accept"] = "application/json"
        http.session.headers["Content-Type"] = "application/json"
        # The vendor's clock at its last answer (the Date header), for read cursors.
        self.last_date: datetime | None = None
        http.on_response.append(self._remember_date)

    def _remember_date(self, response: requests.Response) -> None:
        try:
            moment = email.utils.parsedate_to_datetime(response.headers.get("Date", ""))
        except (TypeError, ValueError):
            return
        self.last_date = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.http.json(method, path, **kwargs)

    def page(self, path: str, params: dict[str, Any]) -> tuple[list[Any], bool]:
        """One page of a list: (data, meta.has_more), envelope validated."""
        body = self.call("GET", path, params=params)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise ConnectorError(f"Sellf GET {path}: not a list envelope")
        meta = body.get("meta") or {}
        return body["data"], bool(isinstance(meta, dict) and meta.get("has_more"))

    def every(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        """Every item of a small list (users, custom fields, companies), page by page."""
        number = 1
        while True:
            rows, more = self.page(path, {**(params or {}), "page": number})
            yield from rows
            if not more or not rows:
                return
            number += 1

    # http://developers.sellfcrm.com/#list-all-users
    def users(self) -> list[User]:
        return [User.from_json(u) for u in self.every("users")]

    # http://developers.sellfcrm.com/#list-all-custom-fields
    def custom_fields(self) -> list[CustomField]:
        return [
            CustomField.from_json(f)
            for f in self.every("custom_fields", {"entity_type": "contact"})
        ]

    # http://developers.sellfcrm.com/#list-all-companies
    def companies(self) -> list[Company]:
        return [Company.from_json(c) for c in self.every("companies")]

    def find_company(self, name: str) -> Company | None:
        rows = [Company.from_json(c) for c in self.every("companies", {"name:eq": name})]
        return next((c for c in rows if c.name.casefold() == name.casefold()), None)

    # http://developers.sellfcrm.com/#create-a-company
    def create_company(self, name: str, user_id: int) -> Company:
        return Company.from_json(
            self.call("POST", "companies", json={"name": name, "user_id": user_id})
        )

    # http://developers.sellfcrm.com/#list-all-people
    def people_page(self, params: dict[str, Any]) -> tuple[list[Person], bool]:
        rows, more = self.page("people", params)
        return [Person.from_json(p) for p in rows], more

    # http://developers.sellfcrm.com/#retrieve-a-person
    def person(self, person_id: str) -> Person:
        return Person.from_json(self.call("GET", f"people/{int(person_id)}"))

    # http://developers.sellfcrm.com/#create-a-person
    def create_person(self, body: dict[str, Any]) -> Person:
        # Not retried after a 5xx (POST): the engine re-matches it next run by code/email.
        return Person.from_json(self.call("POST", "people", json=body))

    # http://developers.sellfcrm.com/#update-a-person (partial: only sent fields change)
    def update_person(self, person_id: str, body: dict[str, Any]) -> Person:
        return Person.from_json(self.call("PUT", f"people/{int(person_id)}", json=body))

    # http://developers.sellfcrm.com/#delete-a-person
    def delete_person(self, person_id: str) -> None:
        self.call("DELETE", f"people/{int(person_id)}")
