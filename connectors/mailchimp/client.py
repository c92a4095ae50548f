"""Mailchimp Marketing API v3 over the HTTP seam: typed at the edge, errors classified.

Docs: https://mailchimp.com/developer/marketing/api/. The host is the account's data
centre's, ``https://{dc}.api.mailchimp.com/3.0``; ``dc`` comes from the API key's suffix
or from OAuth's metadata call and is validated, and the template comes from the Django
setting ``MAILCHIMP_API_URL_TEMPLATE`` (tests and the demo point it at the sandbox),
never from an authorization's settings, which tenants can write.
"""

from __future__ import annotations

import email.utils
import hashlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from connectors.base import AuthError, ConnectorError, RateLimited, RecordGone
from connectors.http import Http, parse_retry_after

DEFAULT_API_URL_TEMPLATE = "https://{dc}.api.mailchimp.com/3.0"
DC_RE = re.compile(r"^[a-z]+[0-9]+$")
MAX_PAGE_SIZE = 1000  # count's maximum
BATCH_LIMIT = 500  # members per batch subscribe
# https://mailchimp.com/developer/marketing/docs/fundamentals/#throttling: calls time out
# after 120 s, so our read timeout waits that long and no longer.
TIMEOUT = (5.0, 120.0)
# UNCONFIRMED: Mailchimp's 429 (over 10 simultaneous connections) has no Retry-After;
# a short wait lets the other connections finish.
DEFAULT_RETRY_AFTER = 10.0
# https://mailchimp.com/developer/marketing/docs/fundamentals/#throttling: at most 10
# simultaneous connections per user (a key or a token); an 11th is refused with 429. No
# thread of this process opens more (``slots_for``); other processes sharing a key are
# held off by those 429s, which the seam waits out.
MAX_CONNECTIONS = 10
_slots: dict[str, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def slots_for(credential: str) -> threading.BoundedSemaphore:
    """The process-wide connection slots of one Mailchimp user (keyed by a digest: the
    credential itself is not kept twice in memory)."""
    key = hashlib.sha256(credential.encode()).hexdigest()
    with _slots_lock:
        return _slots.setdefault(key, threading.BoundedSemaphore(MAX_CONNECTIONS))


# What a member read asks for (``fields=``): what the connector turns into Records.
MEMBER_FIELDS = (
    "contact_id",
    "email_address",
    "status",
    "merge_fields",
    "tags",
    "last_changed",
    "timestamp_signup",
)


def subscriber_hash(email_address: str) -> str:
    """Mailchimp's member id: the MD5 of the lowercased email."""
    return hashlib.md5(email_address.strip().lower().encode()).hexdigest()  # noqa: S324


def dc_from_key(api_key: str) -> str:
    """The data centre of an API key (``…-us14`` → ``us14``); AuthError when it has none."""
    _, dash, dc = api_key.strip().rpartition("-")
    if not dash or not DC_RE.match(dc):
        raise AuthError(
            "This is not a Mailchimp API key: it must end in its data centre, e.g. -us14"
        )
    return dc


def api_url(dc: str) -> str:
    """The API base URL of data centre ``dc`` (validated, so no tenant text makes a host)."""
    from django.conf import settings

    if not DC_RE.match(dc or ""):
        raise AuthError(f"Invalid Mailchimp data centre {dc!r}")
    template = str(getattr(settings, "MAILCHIMP_API_URL_TEMPLATE", "") or DEFAULT_API_URL_TEMPLATE)
    return template.format(dc=dc).rstrip("/")


def parse_wire_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def format_wire_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def classify(response: requests.Response) -> ConnectorError:
    """Mailchimp's ``application/problem+json`` (``type, title, status, detail,
    instance``, validation ``errors``) to an error class.
    https://mailchimp.com/developer/marketing/docs/errors/"""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    title = str(body.get("title") or "")
    message = f"Mailchimp {status} {title}: {body.get('detail') or response.text[:300]}"
    for item in body.get("errors") or []:
        if isinstance(item, dict):
            message += f" — {item.get('field')}: {item.get('message')}"
    if status == 401:
        return AuthError(message, status=status)
    if status == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"), DEFAULT_RETRY_AFTER)
        return RateLimited(message, retry_after=wait)
    if status == 403:
        return AuthError(message, status=status)
    if status == 404:
        return RecordGone(message, status=status)
    error = ConnectorError(message, permanent=status < 500, status=status)
    error.title = title  # type: ignore[attr-defined]
    return error


def title_of(error: ConnectorError) -> str:
    """The problem's title ("Member Exists", "Forgotten Email Not Subscribed", …)."""
    return str(getattr(error, "title", ""))


@dataclass(frozen=True)
class MergeField:
    """A merge field of the audience (``GET /lists/{id}/merge-fields``)."""

    tag: str
    name: str
    type: str
    required: bool = False
    choices: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MergeField:
        options = data.get("options") or {}
        return cls(
            tag=str(data["tag"]),
            name=str(data.get("name") or data["tag"]),
            type=str(data.get("type") or "text"),
            required=bool(data.get("required")),
            choices=tuple(str(c) for c in options.get("choices") or []),
        )


@dataclass(frozen=True)
class Member:
    """A list member, as far as the connector reads it."""

    contact_id: str
    email: str
    status: str
    merge_fields: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    last_changed: datetime | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Member:
        if not isinstance(data, dict) or not data.get("email_address"):
            raise ConnectorError("Mailchimp answered a member without email_address")
        merges = data.get("merge_fields") or {}
        return cls(
            # contact_id survives an email change (the hash id does not); fall back to
            # the hash where an answer lacks it.
            contact_id=str(data.get("contact_id") or data.get("id") or ""),
            email=str(data["email_address"]),
            status=str(data.get("status") or ""),
            merge_fields=dict(merges) if isinstance(merges, dict) else {},
            tags=tuple(str(t.get("name")) for t in data.get("tags") or [] if isinstance(t, dict)),
            last_changed=parse_wire_time(data.get("last_changed")),
        )


@dataclass
class MemberPage:
    members: list[Member]
    total: int
    answered_at: datetime | None


class MailchimpClient:
    """The calls the connector makes; every one through the seam ``http``."""

    def __init__(self, http: Http, dc: str, *, api_key: str = "", access_token: str = "") -> None:
        self.http = http
        http.base_url = api_url(dc)
        http.classify = classify
        http.timeout = (http.timeout[0], max(http.timeout[1], TIMEOUT[1]))
        if access_token:
            http.session.headers["Authorization"] = f"Bearer {access_token}"
        else:
            # https://mailchimp.com/developer/marketing/docs/fundamentals/#api-structure
            http.session.auth = ("anystring", api_key)
        slots, send = slots_for(access_token or api_key), http.session.request

        def request_in_a_slot(*args: Any, **kwargs: Any) -> requests.Response:
            with slots:  # one of the user's 10 connections, for this request only
                return send(*args, **kwargs)

        http.session.request = request_in_a_slot  # type: ignore[method-assign]

    # https://mailchimp.com/developer/marketing/api/ping/
    def ping(self) -> None:
        self.http.json("GET", "ping")

    # https://mailchimp.com/developer/marketing/api/lists/get-lists-info/
    def lists(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        offset = 0
        while True:
            data = self.http.json(
                "GET",
                "lists",
                params={
                    "count": MAX_PAGE_SIZE,
                    "offset": offset,
                    "fields": "lists.id,lists.name,total_items",
                },
            )
            rows = (data or {}).get("lists") or []
            found.extend(r for r in rows if isinstance(r, dict) and r.get("id"))
            offset += len(rows)
            if not rows or offset >= int((data or {}).get("total_items") or 0):
                return found

    # https://mailchimp.com/developer/marketing/api/list-merges/list-merge-fields/
    def merge_fields(self, list_id: str) -> list[MergeField]:
        data = self.http.json(
            "GET", f"lists/{list_id}/merge-fields", params={"count": MAX_PAGE_SIZE}
        )
        return [MergeField.from_json(f) for f in (data or {}).get("merge_fields") or []]

    # https://mailchimp.com/developer/marketing/api/list-members/list-members-info/
    def member_pages(
        self, list_id: str, params: dict[str, Any], count: int
    ) -> Iterator[MemberPage]:
        """Pages of members (count/offset), each with total_items and the time of its
        answer by Mailchimp's clock (the ``Date`` header)."""
        fields = ",".join(["total_items", *(f"members.{f}" for f in MEMBER_FIELDS)])
        offset = 0
        while True:
            response = self.http.get(
                f"lists/{list_id}/members",
                params={**params, "count": count, "offset": offset, "fields": fields},
            )
            try:
                data = response.json()
                rows = data["members"]
                total = int(data.get("total_items") or 0)
            except (ValueError, KeyError, TypeError) as exc:
                raise ConnectorError(
                    "Mailchimp answered a member listing of the wrong shape"
                ) from exc
            yield MemberPage([Member.from_json(r) for r in rows], total, _date(response))
            offset += len(rows)
            if len(rows) < count or offset >= total:
                return

    # https://mailchimp.com/developer/marketing/api/list-members/get-member-info/
    def member(self, list_id: str, ref: str) -> Member:
        fields = ",".join(MEMBER_FIELDS)
        return Member.from_json(
            self.http.json("GET", f"lists/{list_id}/members/{ref}", params={"fields": fields})
        )

    # https://mailchimp.com/developer/marketing/api/list-members/add-or-update-list-member/
    def upsert(self, list_id: str, ref: str, body: dict[str, Any]) -> Member:
        # PUT sets the values sent: repeating it after a lost answer is harmless.
        return Member.from_json(self.http.json("PUT", f"lists/{list_id}/members/{ref}", json=body))

    # https://mailchimp.com/developer/marketing/api/lists/batch-subscribe-or-unsubscribe/
    def batch_subscribe(
        self, list_id: str, members: list[dict[str, Any]], *, update_existing: bool = False
    ) -> dict[str, Any]:
        """Up to 500 members in one call; answers new_members, updated_members and
        per-member errors. Without update_existing a repeated call only reports the
        members as existing, so resending after a lost answer duplicates nothing."""
        if len(members) > BATCH_LIMIT:
            raise ValueError(f"at most {BATCH_LIMIT} members per batch subscribe")
        data = self.http.json(
            "POST",
            f"lists/{list_id}",
            json={"members": members, "update_existing": update_existing, "sync_tags": False},
            idempotent=not update_existing,
        )
        if not isinstance(data, dict):
            raise ConnectorError("Mailchimp answered a batch subscribe of the wrong shape")
        return data

    # https://mailchimp.com/developer/marketing/api/list-member-tags/add-or-remove-member-tags/
    def update_tags(self, list_id: str, ref: str, tags: dict[str, bool]) -> None:
        """Set tags active (True) or inactive (False); only those named change."""
        body = {
            "tags": [
                {"name": name, "status": "active" if on else "inactive"}
                for name, on in sorted(tags.items())
            ],
            "is_syncing": True,  # no automations fire on our own tag writes
        }
        self.http.request("POST", f"lists/{list_id}/members/{ref}/tags", json=body, idempotent=True)

    # https://mailchimp.com/developer/marketing/api/list-members/archive-list-member/
    def archive(self, list_id: str, ref: str) -> None:
        self.http.request("DELETE", f"lists/{list_id}/members/{ref}")

    # https://mailchimp.com/developer/marketing/api/list-webhooks/
    def webhooks(self, list_id: str) -> list[dict[str, Any]]:
        data = self.http.json("GET", f"lists/{list_id}/webhooks")
        return [w for w in (data or {}).get("webhooks") or [] if isinstance(w, dict)]

    def create_webhook(self, list_id: str, body: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = self.http.json("POST", f"lists/{list_id}/webhooks", json=body)
        return data

    def delete_webhook(self, list_id: str, webhook_id: str) -> None:
        self.http.request("DELETE", f"lists/{list_id}/webhooks/{webhook_id}")


def _date(response: requests.Response) -> datetime | None:
    try:
        return email.utils.parsedate_to_datetime(response.headers.get("Date", "")).astimezone(UTC)
    except (TypeError, ValueError):
        return None
