"""GetResponse API v3 over the HTTP seam: typed at the edge, errors classified.

Docs: https://apidocs.getresponse.com/v3 and https://apireference.getresponse.com/.
Everything vendor-specific about the wire lives here; connector.py turns what this
returns into Records.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from connectors.base import AuthError, ConnectorError, RateLimited, RecordGone
from connectors.endpoints import vendor_api_url
from connectors.http import Http, parse_retry_after

DEFAULT_BASE_URL = "https://api.getresponse.com/v3"
# GetResponse MAX (https://apidocs.getresponse.com/v3/case-study/getresponse-max): US host;
# the PL one is api3.getresponse360.pl, chosen by the operator's GETRESPONSE_MAX_API_URL.
DEFAULT_MAX_BASE_URL = "https://api3.getresponse360.com/v3"


def api_url(*, max_account: bool = False) -> str:
    """The API host: from settings or the vendor's default, never from the tenant."""
    if max_account:
        return vendor_api_url("GETRESPONSE_MAX_API_URL", DEFAULT_MAX_BASE_URL, "/getresponse/v3")
    return vendor_api_url("GETRESPONSE_API_URL", DEFAULT_BASE_URL, "/getresponse/v3")


MAX_PAGE_SIZE = 1000  # perPage's maximum
# POST /contacts/batch: at most 1000 contacts a call, 1 call a second, 80 calls in 10
# minutes [GetResponse/public-api-agent-skills, references/imports.md].
BATCH_SIZE = 1000
BATCH_INTERVAL = 1.0
WIRE_TIME = "%Y-%m-%dT%H:%M:%S%z"  # 2017-12-19T13:11:48+0000


def parse_wire_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, WIRE_TIME).astimezone(UTC)
    except ValueError:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def format_wire_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _date(response: requests.Response) -> datetime | None:
    try:
        return email.utils.parsedate_to_datetime(response.headers.get("Date", "")).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def _seconds(text: Any) -> float | None:
    """``"432 seconds"`` or ``432`` → 432.0 (GetResponse's ``timeToReset`` and
    ``X-RateLimit-Reset`` formats)."""
    match = re.search(r"\d+(\.\d+)?", str(text or ""))
    return float(match.group()) if match else None


def classify(response: requests.Response) -> ConnectorError:
    """GetResponse's error body (``httpStatus, code, message, context``) to an error
    class. https://apidocs.getresponse.com/v3/errors"""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = body.get("code")
    context = body.get("context") or {}
    message = f"GetResponse {status} (code {code}): {body.get('message') or response.text[:300]}"
    if isinstance(context, dict) and context.get("errorDescription"):
        message += f" — {context.get('fieldName')}: {context['errorDescription']}"
    if status == 401 or code == 1014:
        return AuthError(message, status=status)
    if status == 429 or code == 1015:
        # UNCONFIRMED whether GetResponse sends Retry-After; use it when present, else the
        # documented context.timeToReset, else X-RateLimit-Reset.
        wait = parse_retry_after(response.headers.get("Retry-After"), -1.0)
        if wait < 0 and isinstance(context, dict):
            wait = _seconds(context.get("timeToReset")) or -1.0
        if wait < 0:
            wait = _seconds(response.headers.get("X-RateLimit-Reset")) or 60.0
        return RateLimited(message, retry_after=wait)
    if status == 404 or code == 1013:
        return RecordGone(message, status=status)
    if status == 403:
        return AuthError(message, status=status)
    return ConnectorError(message, permanent=status < 500, status=status)


@dataclass(frozen=True)
class ContactRow:
    """A row of ``GET /contacts`` (no tags, no custom fields)."""

    contact_id: str
    email: str
    changed_on: datetime | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContactRow:
        return cls(
            contact_id=str(data["contactId"]),
            email=str(data.get("email") or ""),
            changed_on=parse_wire_time(data.get("changedOn")),
        )


# UNCONFIRMED: the ``reason`` values of removed contacts that mean the person
# unsubscribed (a message's unsubscribe link, a spam complaint). Every other reason (a
# user or the API removed it, a bounce) is a removal from the list, which the connector
# reports as a deletion. GetResponse's SDK names the field, not its values.
UNSUBSCRIBE_REASONS = frozenset({"unsubscribe", "unsubscribed", "complaint"})


@dataclass(frozen=True)
class Removed:
    """A contact no longer on its list (``POST /search-contacts/contacts`` with
    ``subscribersType: ["removed"]``): its id, email and why it left."""

    contact_id: str
    email: str
    reason: str

    @property
    def unsubscribed(self) -> bool:
        return self.reason.lower() in UNSUBSCRIBE_REASONS

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Removed:
        return cls(
            contact_id=str(data["contactId"]),
            email=str(data.get("email") or ""),
            reason=str(data.get("reason") or ""),
        )


@dataclass(frozen=True)
class Contact:
    """``GET /contacts/{id}``: the row plus tags and custom field values."""

    contact_id: str
    email: str
    name: str | None
    note: str | None
    scoring: float | None
    campaign_id: str
    campaign_name: str
    changed_on: datetime | None
    tags: dict[str, str] = field(default_factory=dict)  # tagId -> name
    custom: dict[str, list[str]] = field(default_factory=dict)  # customFieldId -> values
    answered_at: datetime | None = None  # the answer's Date: GetResponse's clock

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Contact:
        campaign = data.get("campaign") or {}
        return cls(
            contact_id=str(data["contactId"]),
            email=str(data.get("email") or ""),
            name=data.get("name") or None,
            note=data.get("note") or None,
            scoring=data.get("scoring"),
            campaign_id=str(campaign.get("campaignId") or ""),
            campaign_name=str(campaign.get("name") or ""),
            changed_on=parse_wire_time(data.get("changedOn")),
            tags={str(t["tagId"]): str(t.get("name") or "") for t in data.get("tags") or []},
            custom={
                str(v["customFieldId"]): [str(x) for x in (v.get("value") or [])]
                for v in data.get("customFieldValues") or []
            },
        )


@dataclass(frozen=True)
class CustomField:
    """A custom field definition (``GET /custom-fields``)."""

    id: str
    name: str
    type: str
    format: str
    values: tuple[str, ...] = ()

    @property
    def multi(self) -> bool:
        return self.format in ("checkbox", "multi_select")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CustomField:
        return cls(
            id=str(data["customFieldId"]),
            name=str(data["name"]),
            type=str(data.get("type") or data.get("valueType") or "string"),
            format=str(data.get("format") or data.get("fieldType") or "text"),
            values=tuple(str(v) for v in data.get("values") or []),
        )


class GetResponseClient:
    """The calls the connector makes; every one through the seam ``http``."""

    def __init__(self, http: Http, base_url: str, api_key: str, domain: str = "") -> None:
        self.http = http
        http.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        http.classify = classify
        # https://apidocs.getresponse.com/v3/authentication (literal "api-key " prefix)
        http.session.headers["X-Auth-Token"] = f"api-key {api_key}"
        http.session.headers["Content-Type"] = "application/json"
        if domain:  # GetResponse MAX accounts name their domain
            http.session.headers["X-Domain"] = domain

    def _pages(self, path: str, params: dict[str, Any], per_page: int) -> Iterator[list[Any]]:
        page = 1
        while True:
            response = self.http.get(path, params={**params, "page": page, "perPage": per_page})
            rows = response.json()
            yield rows
            total_pages = int(response.headers.get("TotalPages") or 0)
            if page >= total_pages or len(rows) < per_page:
                return
            page += 1

    # https://apireference.getresponse.com/#operation/getAccount
    def account(self) -> dict[str, Any]:
        data: dict[str, Any] = self.http.json("GET", "accounts")
        return data

    # https://apireference.getresponse.com/#operation/getCampaignList
    def campaigns(self) -> list[dict[str, Any]]:
        return [c for rows in self._pages("campaigns", {}, MAX_PAGE_SIZE) for c in rows]

    # https://apireference.getresponse.com/#operation/getCustomFieldList
    def custom_fields(self) -> list[CustomField]:
        rows = self._pages("custom-fields", {}, MAX_PAGE_SIZE)
        return [CustomField.from_json(f) for page in rows for f in page]

    # https://apireference.getresponse.com/#operation/getTagList
    def tags(self) -> dict[str, str]:
        """Tag name -> tagId."""
        return {
            str(t["name"]): str(t["tagId"]) for page in self._pages("tags", {}, 1000) for t in page
        }

    # https://apireference.getresponse.com/#operation/createTag
    def create_tag(self, name: str) -> str:
        data = self.http.json("POST", "tags", json={"name": name})
        return str(data["tagId"])

    # https://apireference.getresponse.com/#operation/getContactList
    def contact_pages(
        self, params: dict[str, Any], per_page: int
    ) -> Iterator[tuple[list[ContactRow], int, datetime | None]]:
        """Pages of rows, each with the TotalCount GetResponse reported and the time of
        its answer (the ``Date`` header: the vendor's clock, not ours)."""
        page = 1
        while True:
            response = self.http.get(
                "contacts", params={**params, "page": page, "perPage": per_page}
            )
            rows = [ContactRow.from_json(r) for r in response.json()]
            yield rows, int(response.headers.get("TotalCount") or 0), _date(response)
            total_pages = int(response.headers.get("TotalPages") or 0)
            if page >= total_pages or len(rows) < per_page:
                return
            page += 1

    # https://apireference.getresponse.com/#operation/getContactById
    def contact(self, contact_id: str) -> Contact:
        response = self.http.get(f"contacts/{contact_id}")
        return replace(Contact.from_json(response.json()), answered_at=_date(response))

    # https://apireference.getresponse.com/#operation/getContactsFromSearchContactsConditions
    # and https://apidocs.getresponse.com/v3/case-study/segments-manual
    def removed(self, campaign_id: str) -> Iterator[list[Removed]]:
        """Pages of the contacts removed from the list (unsubscribed or deleted), 1000 a
        call: an unsaved segment of subscriber type ``removed``. Its rows have no change
        date, so every read lists all removals; the engine skips those it already has."""
        body = {
            "subscribersType": ["removed"],
            "sectionLogicOperator": "or",
            "section": [
                {
                    "campaignIdsList": [campaign_id],
                    "logicOperator": "or",
                    "subscriberCycle": ["receiving_autoresponder", "not_receiving_autoresponder"],
                    "subscriptionDate": "all_time",
                    "conditions": [],
                }
            ],
        }
        page = 1
        while True:
            params = {"page": page, "perPage": MAX_PAGE_SIZE, "fields": "contactId,email,reason"}
            # A search is a read: repeating it after a dropped connection is harmless.
            response = self.http.request(
                "POST", "search-contacts/contacts", params=params, json=body, idempotent=True
            )
            rows = [Removed.from_json(r) for r in response.json()]
            yield rows
            total_pages = int(response.headers.get("TotalPages") or 0)
            if page >= total_pages or len(rows) < MAX_PAGE_SIZE:
                return
            page += 1

    def find(self, email: str, campaign_id: str) -> str | None:
        """The id of ``email`` in the list, or None (exact match, not LIKE)."""
        params = {
            "query[email]": email,
            "query[campaignId]": campaign_id,
            "additionalFlags": "exactMatch",
            "fields": "contactId,email",
        }
        rows = self.http.json("GET", "contacts", params=params) or []
        for row in rows:
            if str(row.get("email", "")).lower() == email.lower():
                return str(row["contactId"])
        return None

    # https://apireference.getresponse.com/#operation/createContact
    def create_contact(self, body: dict[str, Any]) -> datetime | None:
        """Queue one create; returns when it was sent, by GetResponse's clock."""
        # Answered 202 with no body: queued. Resending after a 5xx is safe because a
        # second create of the same email is refused with 409, never duplicated.
        began = time.monotonic()
        answered = _date(self.http.request("POST", "contacts", json=body, idempotent=True))
        return answered - timedelta(seconds=time.monotonic() - began) if answered else None

    # https://apidocs.getresponse.com/v3/case-study/adding-batch-contacts
    def create_contacts(self, campaign_id: str, contacts: list[dict[str, Any]]) -> datetime | None:
        """Queue up to ``BATCH_SIZE`` creates in one call (202, no body, no ids); returns
        the answer's time by GetResponse's clock, from which they are looked up. Not
        repeated after a dropped connection: the next run links by email what arrived."""
        began = time.monotonic()
        response = self.http.request(
            "POST", "contacts/batch", json={"campaignId": campaign_id, "contacts": contacts}
        )
        answered = _date(response)
        # The contacts may be stamped while the call is still being answered: back to
        # when it was sent, measured on our clock, stated on GetResponse's.
        return answered - timedelta(seconds=time.monotonic() - began) if answered else None

    def created_since(self, campaign_id: str, since: datetime | None) -> dict[str, str]:
        """Email (lower case) -> contactId of the list's contacts created since
        ``since`` (all of them when None), 1000 a call, ids and emails only."""
        params: dict[str, Any] = {
            "query[campaignId]": campaign_id,
            "fields": "contactId,email",
            "sort[createdOn]": "ASC",
        }
        if since is not None:
            params["query[createdOn][from]"] = format_wire_time(since)
        return {
            row.email.lower(): row.contact_id
            for rows, _total, _at in self.contact_pages(params, MAX_PAGE_SIZE)
            for row in rows
        }

    # https://apireference.getresponse.com/#operation/updateContact
    def update_contact(self, contact_id: str, body: dict[str, Any]) -> Contact:
        # POST, not PATCH; sets the given values, so repeating it is harmless.
        response = self.http.request("POST", f"contacts/{contact_id}", json=body, idempotent=True)
        return Contact.from_json(response.json())

    # https://apireference.getresponse.com/#operation/upsertContactCustomFields
    def upsert_custom_fields(self, contact_id: str, values: list[dict[str, Any]]) -> None:
        """Set some custom values, keeping the others; GetResponse answers the contact's
        values (a list), not the contact."""
        answer = self.http.json(
            "POST",
            f"contacts/{contact_id}/custom-fields",
            json={"customFieldValues": values},
            idempotent=True,  # sets the given values: repeating it is harmless
        )
        if not isinstance(answer, list):
            raise ConnectorError("GetResponse answered a custom-field upsert with no list")

    # https://apireference.getresponse.com/#operation/deleteContact
    def delete_contact(self, contact_id: str) -> None:
        self.http.request("DELETE", f"contacts/{contact_id}")
