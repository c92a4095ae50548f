"""Emulator of the GetResponse API v3 subset the connector uses (mounted at /getresponse).

Facts from ../shared/apis (section 2) are followed as written. Where the notes say
UNCONFIRMED, the choice made here is marked ``UNCONFIRMED:`` in a comment, once:
- a 429 from the real limits carries no ``Retry-After`` (only ``context.timeToReset``
  and ``X-RateLimit-Reset``); injected 429 faults do carry it;
- an asynchronously created contact gets its createdOn/changedOn when it becomes visible;
- unsubscribed and removed contacts disappear from ``/contacts`` and keep their
  contactId in ``POST /search-contacts/contacts`` with ``subscribersType: ["removed"]``,
  whose rows carry a ``reason`` (REMOVAL_REASONS below);
- new accounts come with predefined custom fields (company, phone, city, country) and a
  multi-select ``interests``;
- ``POST /campaigns`` and ``POST /tags`` answer 201; a phone value must start with ``+``.

State is plain JSON: ``{"seq", "options", "accounts": {accountId: {...}}}``; times are
epoch seconds inside and ``2017-12-19T13:11:48+0000`` on the wire.
"""

from __future__ import annotations

import logging
import math
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from connectors.sandbox import (
    Emulator,
    RateLimits,
    SandboxHTTPError,
    SandboxRequest,
    SandboxResponse,
    route,
)
from connectors.sandbox.outbox import Outbox
from connectors.sandbox.synthetic import Person, people

logger = logging.getLogger(__name__)

API = "https://api.getresponse.com/v3"  # what hrefs in bodies point at, as the vendor's do
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TAG_RE = re.compile(r"^[_a-zA-Z0-9]{2,64}$")
CUSTOM_NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")
PHONE_RE = re.compile(r"^\+[0-9]{6,15}$")
SINGLE_FORMATS = {"text", "textarea", "radio", "single_select"}
SELECT_FORMATS = {"radio", "checkbox", "single_select", "multi_select"}
CONTACT_FILTERS = {"email", "name", "campaignId", "origin", "createdOn", "changedOn"}
SORTABLE = {"email", "name", "createdOn", "changedOn", "campaignId"}
# fields= of the contact detail, of search-contacts rows, of /campaigns and /tags: the
# allowed values of GetResponse's own SDK (github.com/GetResponse/sdk-php, src/Operation/
# */Get*Fields.php). A name outside them is refused with 400 as a bad query parameter.
DETAIL_FIELDS = {
    "contactId", "name", "origin", "timeZone", "activities", "changedOn", "createdOn",
    "campaign", "email", "dayOfCycle", "note", "scoring", "engagementScore", "ipAddress",
    "href", "geolocation", "tags", "customFieldValues",
}  # fmt: skip
ROW_FIELDS = DETAIL_FIELDS - {"geolocation", "tags", "customFieldValues"}
SEARCH_FIELDS = {
    "contactId", "name", "email", "origin", "dayOfCycle", "createdOn", "campaign", "score",
    "reason",
}  # fmt: skip
SEARCH_SORTABLE = {"name", "email", "createdOn"}
CAMPAIGN_FIELDS = {
    "campaignId", "href", "name", "techName", "languageCode", "isDefault", "createdOn",
    "optinTypes",
}  # fmt: skip
TAG_FIELDS = {"tagId", "href", "name", "color", "createdAt"}
# https://apireference.getresponse.com/ (Search Contacts): subscribersType's values.
SUBSCRIBER_TYPES = {"subscribed", "undelivered", "removed", "unconfirmed"}
SUBSCRIPTION_DATES = {
    "all_time", "today", "yesterday", "last_7_days", "last_30_days", "this_week",
    "last_week", "this_month", "last_month", "last_2_months", "custom",
}  # fmt: skip
# UNCONFIRMED: the ``reason`` a removed contact's search row carries. GetResponse's SDK
# lists the field, not its values; these are the emulator's: the person unsubscribed
# (a link in a message), a user of the account removed it, the API deleted it.
REMOVAL_REASONS = ("unsubscribe", "user", "api")

# The demo tenant's two accounts: deterministic keys and list ids, so that the demo
# command can point authorizations at them whether or not the sandbox is running yet.
DEMO_ACCOUNTS = (
    {"key": "sandbox-demo-getresponse-a", "name": "Demo shop", "campaign": "DemoA"},
    {"key": "sandbox-demo-getresponse-b", "name": "Demo newsletter", "campaign": "DemoB"},
)

PREDEFINED_FIELDS = (
    ("company", "string", "text", []),
    ("phone", "phone", "text", []),
    ("city", "string", "text", []),
    ("country", "country", "text", []),
    ("interests", "string", "checkbox", ["books", "music", "sport", "travel"]),
)

# https://apidocs.getresponse.com/v3/resources/callbacks (and the SDK's CallbackActions):
# the account's one callback URL and the actions it is called for.
CALLBACK_ACTIONS = ("open", "click", "goal", "subscribe", "unsubscribe", "survey")

ERROR_CODES = {400: 1000, 401: 1014, 404: 1013, 409: 1008, 429: 1015}
CODE_DESCRIPTIONS = {
    1000: "General error of validation process, more details should be in context section",
    1008: "Resource already exists",
    1013: "Resource not found",
    1014: "Unable to authenticate request. Check credentials or authentication method details",
    1015: "The throttling limit has been reached",
}


def wire_time(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def parse_time(value: str, end_of_day: bool = False) -> float:
    """A query date (``2024-01-31``) or datetime (with +0000, +00:00 or Z) to epoch."""
    value = value.strip().replace("Z", "+00:00").replace(" ", "+")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        day = datetime.fromisoformat(value).replace(tzinfo=UTC)
        return (day + timedelta(days=1, seconds=-1) if end_of_day else day).timestamp()
    if re.search(r"[+-]\d{4}$", value):
        value = value[:-2] + ":" + value[-2:]
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


class GetResponseEmulator(Outbox, Emulator):
    """GetResponse v3: accounts, campaigns (lists), contacts, tags, custom fields."""

    vendor = "getresponse"
    # https://apidocs.getresponse.com/v3/limits
    rate_limits = RateLimits(window=30_000, window_seconds=600, per_second=80, parallel=10)

    def reset(self) -> None:
        self.state = {"seq": 0, "options": {"create_delay": 0.0}, "accounts": {}}

    # --- Helpers.

    def now(self) -> int:
        return int(time.time())

    def new_id(self, prefix: str) -> str:
        self.state["seq"] += 1
        n, digits = self.state["seq"], ""
        alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        while n:
            n, r = divmod(n, 62)
            digits = alphabet[r] + digits
        return f"{prefix}{digits}"

    def error(self, status: int, message: str, **extra: Any) -> SandboxResponse:
        # https://apidocs.getresponse.com/v3/errors
        code = extra.pop("code", ERROR_CODES.get(status, 1000 if status < 500 else 1))
        return SandboxResponse.json(
            {
                "httpStatus": status,
                "code": code,
                "codeDescription": CODE_DESCRIPTIONS.get(code, "Internal error"),
                "message": message,
                "moreInfo": f"https://apidocs.getresponse.com/en/v3/errors/{code}",
                "context": extra.pop("context", {}),
                "uuid": str(uuid.uuid4()),
            },
            status=status,
        )

    def invalid(self, field: str, description: str) -> Exception:
        context = {"validationType": "body", "fieldName": field, "errorDescription": description}
        return self.fail(400, f"Validation error: {field}: {description}", context=context)

    def rate_limited(self, retry_after: float, *, injected: bool) -> SandboxResponse:
        seconds = max(1, math.ceil(retry_after))
        response = self.error(
            429,
            "The throttling limit has been reached",
            context={"currentLimit": self.rate_limits.window, "timeToReset": f"{seconds} seconds"},
        )
        response.headers.update(
            {
                "X-RateLimit-Limit": str(self.rate_limits.window),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{seconds} seconds",
            }
        )
        if injected:  # UNCONFIRMED whether GetResponse sends it; our injected faults do
            response.headers["Retry-After"] = str(retry_after)
        return response

    def rate_limit_headers(self, limit: int, remaining: int, reset: float) -> dict[str, str]:
        # https://apidocs.getresponse.com/v3/limits: on every answer.
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{max(1, math.ceil(reset))} seconds",
        }

    def rate_limit_key(self, request: SandboxRequest) -> str:
        return request.header("x-auth-token")

    def authenticate(self, request: SandboxRequest) -> dict[str, Any]:
        """The account of the ``X-Auth-Token: api-key <KEY>`` header, or 401."""
        token = request.header("x-auth-token")
        key = token[len("api-key ") :] if token.startswith("api-key ") else None
        for account in self.state["accounts"].values():
            if key and account["apiKey"] == key:
                self.settle(account)
                return account
        raise self.fail(401, "Unable to authenticate request")

    def find_account(self, ref: str) -> dict[str, Any]:
        """An account by id or API key (control API)."""
        for account in self.state["accounts"].values():
            if ref in (account["accountId"], account["apiKey"]):
                return account
        raise KeyError(f"no GetResponse sandbox account {ref!r}")

    def settle(self, account: dict[str, Any]) -> None:
        """Make queued creates whose delay has passed visible (creates are async)."""
        account.setdefault("removed", {})  # state saved before removals were kept
        now = time.time()
        still = []
        for item in account["pending"]:
            if item["visibleAt"] <= now:
                contact = item["contact"]
                # UNCONFIRMED: timestamps are those of the moment it becomes visible.
                contact["createdOn"] = contact["changedOn"] = self.now()
                account["contacts"][contact["contactId"]] = contact
            else:
                still.append(item)
        account["pending"] = still

    def project(
        self, request: SandboxRequest, item: dict[str, Any], allowed: set[str], kept: set[str]
    ) -> dict[str, Any]:
        """``item`` limited to the ``fields=`` asked for (plus ``kept``, always sent);
        a name the resource does not have is refused, as GetResponse refuses it."""
        wanted = [f.strip() for f in (request.arg("fields") or "").split(",") if f.strip()]
        if not wanted:
            return item
        unknown = sorted(set(wanted) - allowed)
        if unknown:
            raise self.invalid("fields", f"Not allowed field: {unknown[0]}")
        return {k: v for k, v in item.items() if k in {*wanted, *kept}}

    def sort(
        self, request: SandboxRequest, rows: list[dict[str, Any]], allowed: set[str]
    ) -> list[dict[str, Any]]:
        """``rows`` sorted by every ``sort[key]=ASC|DESC`` of the query, the first key
        first (applied last to first: Python's sort is stable)."""
        keys = []
        for key, value in request.query:
            if not key.startswith("sort["):
                continue
            name = key[5:-1]
            if name not in allowed or value.upper() not in ("ASC", "DESC"):
                raise self.invalid(key, "unknown sort")
            keys.append((name, value.upper() == "DESC"))
        for name, descending in reversed(keys):
            rows.sort(
                key=lambda r, n=name: (r.get(n) is not None, r.get(n) or ""), reverse=descending
            )
        return rows

    def page(self, request: SandboxRequest, rows: list[Any]) -> SandboxResponse:
        """A bare JSON array with the paging headers, as every GetResponse listing."""
        try:
            page = int(request.arg("page") or 1)
            per_page = int(request.arg("perPage") or 100)
        except ValueError as exc:
            raise self.invalid("page", "must be an integer") from exc
        if page < 1 or not 0 <= per_page <= 1000:
            raise self.invalid("perPage", "page from 1, perPage between 0 and 1000")
        total = len(rows)
        pages = math.ceil(total / per_page) if per_page else 0
        chunk = rows[(page - 1) * per_page : page * per_page] if per_page else []
        headers = {"CurrentPage": str(page), "TotalPages": str(pages), "TotalCount": str(total)}
        return SandboxResponse.json(chunk, headers=headers)

    # --- Rendering.

    def campaign_ref(self, account: dict[str, Any], campaign_id: str) -> dict[str, Any]:
        campaign = account["campaigns"][campaign_id]
        return {
            "campaignId": campaign_id,
            "href": f"{API}/campaigns/{campaign_id}",
            "name": campaign["name"],
        }

    def row(self, account: dict[str, Any], contact: dict[str, Any]) -> dict[str, Any]:
        return {
            "contactId": contact["contactId"],
            "href": f"{API}/contacts/{contact['contactId']}",
            "name": contact["name"],
            "origin": contact["origin"],
            "timeZone": "Europe/Warsaw",
            "activities": f"{API}/contacts/{contact['contactId']}/activities",
            "changedOn": wire_time(contact["changedOn"]),
            "createdOn": wire_time(contact["createdOn"]),
            "campaign": self.campaign_ref(account, contact["campaignId"]),
            "email": contact["email"],
            "dayOfCycle": contact["dayOfCycle"],
            "scoring": contact["scoring"],
            "engagementScore": None,
            "note": contact["note"],
            "ipAddress": contact["ipAddress"],
        }

    def detail(self, account: dict[str, Any], contact: dict[str, Any]) -> dict[str, Any]:
        tags = [account["tags"][t] for t in contact["tags"] if t in account["tags"]]
        values = []
        for field_id, value in contact["customFieldValues"].items():
            spec = account["customFields"][field_id]
            values.append(
                {
                    "customFieldId": field_id,
                    "name": spec["name"],
                    "type": spec["type"],
                    "fieldType": spec["format"],
                    "valueType": spec["valueType"],
                    "value": value,
                    "values": value,
                }
            )
        return {
            **self.row(account, contact),
            "tags": [{"tagId": t["tagId"], "name": t["name"], "href": t["href"]} for t in tags],
            "customFieldValues": values,
            "geolocation": None,
        }

    # --- Account and lists.

    # https://apireference.getresponse.com/#operation/getAccount
    @route("GET", "/v3/accounts")
    def get_account(self, request: SandboxRequest) -> SandboxResponse:
        account = self.authenticate(request)
        keys = ("accountId", "email", "firstName", "lastName", "companyName", "countryCode")
        return SandboxResponse.json({k: account[k] for k in keys} | {"href": f"{API}/accounts"})

    # https://apireference.getresponse.com/#operation/getCallbacks
    @route("GET", "/v3/accounts/callbacks")
    def get_callbacks(self, request: SandboxRequest) -> SandboxResponse:
        account = self.authenticate(request)
        callback = account.get("callback")
        if not callback:
            raise self.fail(404, "Callbacks are not enabled")
        return SandboxResponse.json(callback)

    # https://apireference.getresponse.com/#operation/updateCallbacks
    @route("POST", "/v3/accounts/callbacks")
    def set_callbacks(self, request: SandboxRequest) -> SandboxResponse:
        account = self.authenticate(request)
        body = self.body(request)
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise self.invalid("url", "This value is not a valid URL.")
        actions = body.get("actions") or {}
        if not isinstance(actions, dict) or set(actions) - set(CALLBACK_ACTIONS):
            raise self.invalid("actions", f"only {', '.join(CALLBACK_ACTIONS)}")
        account["callback"] = {
            "url": url,
            "actions": {name: bool(actions.get(name)) for name in CALLBACK_ACTIONS},
        }
        return SandboxResponse.json(account["callback"])

    # https://apireference.getresponse.com/#operation/deleteCallbacks
    @route("DELETE", "/v3/accounts/callbacks")
    def delete_callbacks(self, request: SandboxRequest) -> SandboxResponse:
        account = self.authenticate(request)
        account["callback"] = None
        return SandboxResponse.empty(204)

    def fire(self, account: dict[str, Any], action: str, contact: dict[str, Any]) -> bool:
        """Queue the legacy callback of ``action`` when the account wants it: a GET with
        the contact in the query (apis/ section 2.6), sent after the action answered,
        outside the emulator's lock, once (GetResponse does not retry callbacks)."""
        callback = account.get("callback")
        if not callback or not callback["actions"].get(action):
            return False
        params = {
            "action": action,
            "CONTACT_ID": contact["contactId"],
            "contact_email": contact["email"],
            "contact_name": contact["name"] or "",
            "CAMPAIGN_ID": contact["campaignId"],
            "campaign_name": account["campaigns"][contact["campaignId"]]["name"],
        }
        url = callback["url"]
        self.deliver_later(url, lambda: requests.get(url, params=params, timeout=4))
        return True

    # https://apireference.getresponse.com/#operation/getCampaignList
    @route("GET", "/v3/campaigns")
    def list_campaigns(self, request: SandboxRequest) -> SandboxResponse:
        account = self.authenticate(request)
        name = (request.arg("query[name]") or "").lower()
        rows = [c for c in account["campaigns"].values() if name in c["name"].lower()]
        rows = [self.project(request, c, CAMPAIGN_FIELDS, {"campaignId"}) for c in rows]
        return self.page(request, rows)

    @route("GET", "/v3/campaigns/{campaign_id}")
    def get_campaign(self, request: SandboxRequest, campaign_id: str) -> SandboxResponse:
        account = self.authenticate(request)
        if campaign_id not in account["campaigns"]:
            raise self.fail(404, "Campaign not found")
        return SandboxResponse.json(account["campaigns"][campaign_id])

    # https://apireference.getresponse.com/#operation/createCampaign
    @route("POST", "/v3/campaigns")
    def create_campaign(self, request: SandboxRequest) -> SandboxResponse:
        account = self.authenticate(request)
        name = (request.json() or {}).get("name", "")
        if not 3 <= len(name) <= 64 or re.search(r"[/\\@\[\]]", name):
            raise self.invalid("name", "3 to 64 characters, none of / \\ @ [ ]")
        if any(c["name"] == name for c in account["campaigns"].values()):
            raise self.fail(409, "Campaign name already taken")
        campaign = self.add_campaign(account, name)
        return SandboxResponse.json(campaign, status=201)

    def add_campaign(
        self, account: dict[str, Any], name: str, campaign_id: str | None = None
    ) -> dict[str, Any]:
        campaign_id = campaign_id or self.new_id("C")
        campaign = {
            "campaignId": campaign_id,
            "href": f"{API}/campaigns/{campaign_id}",
            "name": name,
            "techName": re.sub(r"\W", "_", name.lower()),
            "languageCode": "EN",
            "isDefault": "false" if account["campaigns"] else "true",  # a string, as GR's
            "createdOn": wire_time(self.now()),
            "optinTypes": {"email": "single", "api": "single", "import": "single"},
        }
        account["campaigns"][campaign_id] = campaign
        return campaign

    # --- Contacts.

    # https://apireference.getresponse.com/#operation/getContactList
    @route("GET", "/v3/contacts")
    def list_contacts(self, request: SandboxRequest) -> SandboxResponse:
        account = self.authenticate(request)
        exact = request.arg("additionalFlags") == "exactMatch"
        contacts = list(account["contacts"].values())
        for key, value in request.query:
            if key.startswith("query["):
                contacts = self.filter_contacts(contacts, key, value, exact)
            elif not key.startswith("sort[") and key not in (
                "page",
                "perPage",
                "fields",
                "additionalFlags",
            ):
                raise self.invalid(key, "unknown parameter")
        contacts.sort(key=lambda c: (c["createdOn"], c["contactId"]))
        # Sorted on the stored values (epoch seconds, ids), several keys in order.
        contacts = self.sort(request, contacts, SORTABLE)
        rows = [
            self.project(request, self.row(account, c), ROW_FIELDS, {"contactId", "href"})
            for c in contacts
        ]
        return self.page(request, rows)

    def filter_contacts(
        self, contacts: list[dict[str, Any]], key: str, value: str, exact: bool
    ) -> list[dict[str, Any]]:
        match = re.fullmatch(r"query\[(\w+)\](?:\[(from|to)\])?", key)
        if not match or match.group(1) not in CONTACT_FILTERS:
            raise self.invalid(key, "unknown filter")  # GetResponse answers 400, not ignores
        name, bound = match.groups()
        if name in ("createdOn", "changedOn"):
            if not bound:
                raise self.invalid(key, "use [from] or [to]")
            try:
                moment = parse_time(value, end_of_day=bound == "to")
            except ValueError as exc:
                raise self.invalid(key, "not a date or datetime") from exc
            if bound == "from":
                return [c for c in contacts if c[name] >= moment]  # inclusive
            return [c for c in contacts if c[name] <= moment]
        if name == "campaignId":
            wanted = set(value.split(","))
            return [c for c in contacts if c["campaignId"] in wanted]
        needle = value.lower()
        if exact:
            return [c for c in contacts if (c[name] or "").lower() == needle]
        return [c for c in contacts if needle in (c[name] or "").lower()]  # LIKE matching

    def contact_of(self, account: dict[str, Any], contact_id: str) -> dict[str, Any]:
        if contact_id not in account["contacts"]:
            raise self.fail(404, "Contact not found")
        contact: dict[str, Any] = account["contacts"][contact_id]
        return contact

    # https://apireference.getresponse.com/#operation/getContactById
    @route("GET", "/v3/contacts/{contact_id}")
    def get_contact(self, request: SandboxRequest, contact_id: str) -> SandboxResponse:
        account = self.authenticate(request)
        detail = self.detail(account, self.contact_of(account, contact_id))
        return SandboxResponse.json(self.project(request, detail, DETAIL_FIELDS, {"contactId"}))

    # https://apireference.getresponse.com/#operation/createContact
    @route("POST", "/v3/contacts")
    def create_contact(self, request: SandboxRequest) -> SandboxResponse:
        account = self.authenticate(request)
        body = self.body(request)
        email = body.get("email")
        if not isinstance(email, str) or not email:
            raise self.invalid("email", "This value should not be blank.")
        if not EMAIL_RE.match(email):
            raise self.invalid("email", "This value is not a valid email address.")
        campaign_id = (body.get("campaign") or {}).get("campaignId")
        if not campaign_id:
            raise self.invalid("campaign", "This value should not be blank.")
        if campaign_id not in account["campaigns"]:
            raise self.invalid("campaign", "Campaign not found")
        if self.email_taken(account, campaign_id, email):
            raise self.fail(409, "Contact already added", context=["Contact already exists"])
        self.queue(account, self.new_contact(account, campaign_id, email, body))
        return SandboxResponse.empty(202)  # queued: no body, no id

    def new_contact(
        self, account: dict[str, Any], campaign_id: str, email: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """A contact as a create makes it (validated by ``apply``: a 400 creates none)."""
        contact = {
            "contactId": self.new_id("V"),
            "campaignId": campaign_id,
            "email": email,
            "name": None,
            "note": None,
            "scoring": None,
            "dayOfCycle": None,
            "origin": "api",
            "ipAddress": body.get("ipAddress"),
            "createdOn": self.now(),
            "changedOn": self.now(),
            "tags": [],
            "customFieldValues": {},
        }
        self.apply(account, contact, body, replace=True)
        return contact

    def queue(self, account: dict[str, Any], contact: dict[str, Any], settle: bool = True) -> None:
        """Creates are asynchronous: listed after the ``create_delay`` option."""
        delay = float(self.state["options"].get("create_delay") or 0)
        account["pending"].append({"visibleAt": time.time() + delay, "contact": contact})
        if settle:
            self.settle(account)

    # https://apidocs.getresponse.com/v3/case-study/adding-batch-contacts
    @route("POST", "/v3/contacts/batch")
    def create_contacts_batch(self, request: SandboxRequest) -> SandboxResponse:
        """Up to 1000 contacts into one list, queued like single creates; 202, no body.
        Tags go as ``{"ids": [...]}`` (not the single create's list of objects).
        UNCONFIRMED: a contact the queue rejects (a bad email, one already in the list,
        an invalid value) is dropped silently, as a rejected single create would be
        downstream; the batch as a whole is refused only when malformed. The batch's own
        limits (1 call a second, 80 in 10 minutes) are the endpoint's and left to the
        connector's pacing; the sandbox does not enforce them."""
        account = self.authenticate(request)
        body = self.body(request)
        campaign_id = body.get("campaignId")
        if not campaign_id:
            raise self.invalid("campaignId", "This value should not be blank.")
        if campaign_id not in account["campaigns"]:
            raise self.invalid("campaignId", "Campaign not found")
        contacts = body.get("contacts")
        if not isinstance(contacts, list) or not 1 <= len(contacts) <= 1000:
            raise self.invalid("contacts", "1 to 1000 contacts")
        for item in contacts:
            if not isinstance(item, dict):
                raise self.invalid("contacts", "each contact is an object")
            tags = item.get("tags")
            if tags is not None and not (
                isinstance(tags, dict) and isinstance(tags.get("ids"), list)
            ):
                raise self.invalid("contacts.tags", 'tags go as {"ids": [tagId, ...]}')
        queued = [p["contact"] for p in account["pending"]]
        taken = {
            c["email"].lower()
            for c in [*account["contacts"].values(), *queued]
            if c["campaignId"] == campaign_id
        }
        for item in contacts:
            email = item.get("email")
            if not isinstance(email, str) or not EMAIL_RE.match(email):
                continue
            if email.lower() in taken:
                continue
            taken.add(email.lower())
            single = {k: v for k, v in item.items() if k != "tags"}
            if item.get("tags"):
                single["tags"] = [{"tagId": t} for t in item["tags"]["ids"]]
            try:
                contact = self.new_contact(account, campaign_id, email, single)
            except SandboxHTTPError:  # a refused value: this contact only is dropped
                continue
            self.queue(account, contact, settle=False)
        self.settle(account)
        return SandboxResponse.empty(202)

    def email_taken(self, account: dict[str, Any], campaign_id: str, email: str) -> bool:
        queued = [p["contact"] for p in account["pending"]]
        return any(
            c["campaignId"] == campaign_id and c["email"].lower() == email.lower()
            for c in [*account["contacts"].values(), *queued]
        )

    # https://apireference.getresponse.com/#operation/updateContact
    @route("POST", "/v3/contacts/{contact_id}")
    def update_contact(self, request: SandboxRequest, contact_id: str) -> SandboxResponse:
        account = self.authenticate(request)
        contact = self.contact_of(account, contact_id)
        body = self.body(request)
        if "email" in body:
            email = body["email"]
            if not isinstance(email, str) or not EMAIL_RE.match(email):
                raise self.invalid("email", "This value is not a valid email address.")
            others = {k: v for k, v in account["contacts"].items() if k != contact_id}
            if self.email_taken({**account, "contacts": others}, contact["campaignId"], email):
                raise self.fail(409, "Contact already exists")
            contact["email"] = email
        campaign_id = (body.get("campaign") or {}).get("campaignId")
        if campaign_id:
            if campaign_id not in account["campaigns"]:
                raise self.invalid("campaign", "Campaign not found")
            contact["campaignId"] = campaign_id  # moves the contact to another list
        self.apply(account, contact, body, replace=True)
        contact["changedOn"] = self.now()
        return SandboxResponse.json(self.detail(account, contact))

    # https://apireference.getresponse.com/#operation/upsertContactTags
    @route("POST", "/v3/contacts/{contact_id}/tags")
    def upsert_tags(self, request: SandboxRequest, contact_id: str) -> SandboxResponse:
        account = self.authenticate(request)
        contact = self.contact_of(account, contact_id)
        self.apply(account, contact, {"tags": self.body(request).get("tags", [])}, replace=False)
        contact["changedOn"] = self.now()
        # Answers the contact's tags, not the contact.
        return SandboxResponse.json(self.detail(account, contact)["tags"])

    # https://apireference.getresponse.com/#operation/upsertContactCustomFields
    @route("POST", "/v3/contacts/{contact_id}/custom-fields")
    def upsert_custom_fields(self, request: SandboxRequest, contact_id: str) -> SandboxResponse:
        account = self.authenticate(request)
        contact = self.contact_of(account, contact_id)
        values = self.body(request).get("customFieldValues", [])
        self.apply(account, contact, {"customFieldValues": values}, replace=False)
        contact["changedOn"] = self.now()
        # Answers the contact's custom-field values, not the contact.
        return SandboxResponse.json(self.detail(account, contact)["customFieldValues"])

    # https://apireference.getresponse.com/#operation/deleteContact
    @route("DELETE", "/v3/contacts/{contact_id}")
    def delete_contact(self, request: SandboxRequest, contact_id: str) -> SandboxResponse:
        account = self.authenticate(request)
        self.contact_of(account, contact_id)
        self.remove(account, contact_id, "api")
        return SandboxResponse.empty(204)

    def remove(self, account: dict[str, Any], contact_id: str, reason: str) -> dict[str, Any]:
        """Take a contact off its list; it stays findable as removed, with ``reason``."""
        contact: dict[str, Any] = account["contacts"].pop(contact_id)
        account["removed"][contact_id] = {"contact": contact, "reason": reason}
        return contact

    # https://apireference.getresponse.com/#operation/getContactsFromSearchContactsConditions
    @route("POST", "/v3/search-contacts/contacts")
    def search_contacts(self, request: SandboxRequest) -> SandboxResponse:
        """An unsaved segment: contacts of the sections' lists of the asked subscriber
        types. Conditions are not emulated (refused), subscriptionDate only all_time."""
        account = self.authenticate(request)
        body = self.body(request)
        types = body.get("subscribersType")
        if not isinstance(types, list) or not types or set(types) - SUBSCRIBER_TYPES:
            raise self.invalid("subscribersType", f"one or more of {sorted(SUBSCRIBER_TYPES)}")
        if body.get("sectionLogicOperator") not in ("and", "or"):
            raise self.invalid("sectionLogicOperator", "and or or")
        sections = body.get("section")
        if not isinstance(sections, list) or not 1 <= len(sections) <= 8:
            raise self.invalid("section", "1 to 8 sections")
        campaigns: set[str] = set()
        for section in sections:
            for required in ("campaignIdsList", "logicOperator", "subscriberCycle"):
                if not isinstance(section, dict) or required not in section:
                    raise self.invalid(f"section.{required}", "This value should not be blank.")
            if section.get("subscriptionDate") not in SUBSCRIPTION_DATES:
                raise self.invalid("section.subscriptionDate", "not a subscription date")
            if section["subscriptionDate"] != "all_time" or section.get("conditions"):
                raise self.invalid("section", "the sandbox emulates all_time, no conditions")
            unknown = set(section["campaignIdsList"]) - set(account["campaigns"])
            if unknown:
                raise self.invalid("section.campaignIdsList", f"Unknown campaign {min(unknown)}")
            campaigns |= set(section["campaignIdsList"])
        found: list[tuple[dict[str, Any], str | None]] = []
        if "subscribed" in types:
            found += [(c, None) for c in account["contacts"].values()]
        if "removed" in types:
            found += [(r["contact"], r["reason"]) for r in account["removed"].values()]
        rows = [
            {
                "contactId": contact["contactId"],
                "href": f"{API}/contacts/{contact['contactId']}",
                "name": contact["name"],
                "email": contact["email"],
                "origin": contact["origin"],
                "dayOfCycle": contact["dayOfCycle"],
                "createdOn": contact["createdOn"],
                "campaign": self.campaign_ref(account, contact["campaignId"]),
                "score": contact["scoring"],
                "reason": reason,
            }
            for contact, reason in found
            if contact["campaignId"] in campaigns
        ]
        rows.sort(key=lambda r: (r["createdOn"], r["contactId"]))
        rows = self.sort(request, rows, SEARCH_SORTABLE)
        for row in rows:
            row["createdOn"] = wire_time(row["createdOn"])
        rows = [self.project(request, r, SEARCH_FIELDS, {"contactId"}) for r in rows]
        return self.page(request, rows)

    def body(self, request: SandboxRequest) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError as exc:
            raise self.invalid("body", "Malformed JSON") from exc
        if not isinstance(body, dict):
            raise self.invalid("body", "Expected a JSON object")
        return body

    def apply(
        self, account: dict[str, Any], contact: dict[str, Any], body: dict[str, Any], replace: bool
    ) -> None:
        """Validate everything first, then set: a 400 leaves the contact unchanged."""
        changes: dict[str, Any] = {}
        if "name" in body:
            name = body["name"]
            if name is not None and (not isinstance(name, str) or not 1 <= len(name) <= 128):
                raise self.invalid("name", "1 to 128 characters")
            changes["name"] = name
        if "note" in body:
            if body["note"] is not None and len(str(body["note"])) > 255:
                raise self.invalid("note", "at most 255 characters")
            changes["note"] = body["note"]
        if "scoring" in body:
            if body["scoring"] is not None and not isinstance(body["scoring"], int | float):
                raise self.invalid("scoring", "a number or null")
            changes["scoring"] = body["scoring"]
        if "dayOfCycle" in body:
            changes["dayOfCycle"] = body["dayOfCycle"]
        if "tags" in body:
            ids = [t.get("tagId") for t in body["tags"] or []]
            unknown = [i for i in ids if i not in account["tags"]]
            if unknown:
                raise self.invalid("tags", f"Unknown tagId {unknown[0]}")
            merged = ids if replace else [*contact["tags"], *ids]
            changes["tags"] = list(dict.fromkeys(merged))
        if "customFieldValues" in body:
            values = {}
            for item in body["customFieldValues"] or []:
                field_id = item.get("customFieldId")
                values[field_id] = self.custom_value(account, field_id, item.get("value"))
            current = {} if replace else dict(contact["customFieldValues"])
            current.update(values)
            changes["customFieldValues"] = {k: v for k, v in current.items() if v}
        contact.update(changes)

    def custom_value(self, account: dict[str, Any], field_id: str, value: Any) -> list[str]:
        spec = account["customFields"].get(field_id)
        if spec is None:
            raise self.invalid("customFieldValues", f"Unknown customFieldId {field_id}")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.invalid("customFieldValues", "value must be an array of strings")
        if spec["format"] in SINGLE_FORMATS and len(value) > 1:
            raise self.invalid("customFieldValues", f"{spec['name']} takes one value")
        if spec["format"] in SELECT_FORMATS and set(value) - set(spec["values"]):
            raise self.invalid("customFieldValues", f"{spec['name']}: not an allowed value")
        if spec["type"] == "phone" and any(not PHONE_RE.match(v) for v in value):
            raise self.invalid("customFieldValues", f"{spec['name']}: phone must be +digits")
        return value

    # --- Tags and custom fields.

    # https://apireference.getresponse.com/#operation/getTagList
    @route("GET", "/v3/tags")
    def list_tags(self, request: SandboxRequest) -> SandboxResponse:
        account = self.authenticate(request)
        rows = [self.project(request, t, TAG_FIELDS, {"tagId"}) for t in account["tags"].values()]
        return self.page(request, rows)

    # https://apireference.getresponse.com/#operation/createTag
    @route("POST", "/v3/tags")
    def create_tag(self, request: SandboxRequest) -> SandboxResponse:
        account = self.authenticate(request)
        name = self.body(request).get("name", "")
        if not isinstance(name, str) or not TAG_RE.match(name):
            raise self.invalid("name", "Tag name must match ^[_a-zA-Z0-9]{2,64}$")
        if any(t["name"] == name for t in account["tags"].values()):
            raise self.fail(409, "Tag already exists")
        return SandboxResponse.json(self.add_tag(account, name), status=201)

    def add_tag(self, account: dict[str, Any], name: str) -> dict[str, Any]:
        for tag in account["tags"].values():
            if tag["name"] == name:
                return dict(tag)
        tag_id = self.new_id("T")
        tag = {"tagId": tag_id, "name": name, "href": f"{API}/tags/{tag_id}", "color": ""}
        account["tags"][tag_id] = tag
        return dict(tag)

    # https://apireference.getresponse.com/#operation/getCustomFieldList
    @route("GET", "/v3/custom-fields")
    def list_custom_fields(self, request: SandboxRequest) -> SandboxResponse:
        account = self.authenticate(request)
        return self.page(request, list(account["customFields"].values()))

    # https://apireference.getresponse.com/#operation/createCustomField
    @route("POST", "/v3/custom-fields")
    def create_custom_field(self, request: SandboxRequest) -> SandboxResponse:
        account = self.authenticate(request)
        body = self.body(request)
        for required in ("name", "type", "format", "hidden", "values"):
            if required not in body:
                raise self.invalid(required, "This value should not be blank.")
        if not CUSTOM_NAME_RE.match(str(body["name"])):
            raise self.invalid("name", "lowercase letters, digits and _")
        if any(f["name"] == body["name"] for f in account["customFields"].values()):
            raise self.fail(409, "Custom field already exists")
        spec = self.add_custom_field(
            account, body["name"], body["type"], body["format"], body["values"]
        )
        return SandboxResponse.json(spec, status=201)

    def add_custom_field(
        self, account: dict[str, Any], name: str, kind: str, fmt: str, values: list[str]
    ) -> dict[str, Any]:
        field_id = self.new_id("F")
        spec = {
            "customFieldId": field_id,
            "href": f"{API}/custom-fields/{field_id}",
            "name": name,
            "type": kind,
            "valueType": kind,
            "format": fmt,
            "fieldType": fmt,  # deprecated duplicate of format, still sent
            "hidden": "false",
            "values": list(values),
        }
        account["customFields"][field_id] = spec
        return spec

    # --- Control API.

    def create_account(
        self,
        name: str = "Sandbox account",
        api_key: str | None = None,
        lists: list[str] | None = None,
        account_id: str | None = None,
        campaign_ids: list[str] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """A new account with its lists and predefined custom fields; returns its key."""
        account_id = account_id or self.new_id("A")
        api_key = api_key or f"sandbox-{uuid.uuid4().hex}"
        if any(a["apiKey"] == api_key for a in self.state["accounts"].values()):
            raise ValueError("api_key already in use")
        slug = re.sub(r"\W+", "", name.lower())[:20] or "sandbox"
        account: dict[str, Any] = {
            "accountId": account_id,
            "apiKey": api_key,
            "email": f"owner@{slug}.example.com",
            "firstName": "Sandbox",
            "lastName": name,
            "companyName": name,
            "countryCode": {"countryCode": "PL"},
            "campaigns": {},
            "contacts": {},
            "pending": [],
            "removed": {},  # contactId -> {"contact", "reason"}
            "callback": None,  # {"url", "actions"} once callbacks are enabled
            "tags": {},
            "customFields": {},
        }
        self.state["accounts"][account_id] = account
        for index, list_name in enumerate(lists or [f"{slug}_list"]):
            ids = campaign_ids or []
            self.add_campaign(account, list_name, ids[index] if index < len(ids) else None)
        for field_name, kind, fmt, values in PREDEFINED_FIELDS:
            self.add_custom_field(account, field_name, kind, fmt, values)
        return {
            "account_id": account_id,
            "api_key": api_key,
            "lists": [
                {"id": c["campaignId"], "name": c["name"]} for c in account["campaigns"].values()
            ],
            "path": "/getresponse/v3",
        }

    def seed(
        self,
        account: str,
        count: int,
        seed: int = 0,
        campaign: str | None = None,
        start: int | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """``count`` synthetic contacts in ``campaign`` (default: the account's first
        list), created in the past so that deltas after seeding stay small."""
        target = self.find_account(account)
        campaign_id = campaign or next(iter(target["campaigns"]))
        if campaign_id not in target["campaigns"]:
            raise KeyError(f"no campaign {campaign_id!r}")
        offset = len(target["contacts"]) if start is None else start
        ids = [self.add_person(target, campaign_id, p) for p in people(count, seed, offset)]
        return {"ids": ids, "campaign": campaign_id}

    def add_person(self, account: dict[str, Any], campaign_id: str, person: Person) -> str:
        fields = {f["name"]: f["customFieldId"] for f in account["customFields"].values()}
        created = self.now() - int(person.age_days * 86400)
        contact_id = self.new_id("V")
        values = {
            fields["company"]: [person.company],
            fields["phone"]: [person.phone],
            fields["city"]: [person.city],
            fields["country"]: [person.country],
        }
        account["contacts"][contact_id] = {
            "contactId": contact_id,
            "campaignId": campaign_id,
            "email": person.email,
            "name": person.full_name,
            "note": person.notes or None,
            "scoring": None,
            "dayOfCycle": None,
            "origin": "import",
            "ipAddress": None,
            "createdOn": created,
            "changedOn": created,
            "tags": [self.add_tag(account, t)["tagId"] for t in person.tags],
            "customFieldValues": {k: v for k, v in values.items() if k},
        }
        return contact_id

    def demo(self) -> None:
        """The demo tenant's two accounts, each with one list; 10 people in both."""
        accounts = self.state["accounts"]
        for index, spec in enumerate(DEMO_ACCOUNTS):
            if any(a["apiKey"] == spec["key"] for a in accounts.values()):
                continue
            self.create_account(
                name=spec["name"],
                api_key=spec["key"],
                lists=[f"demo_list_{'ab'[index]}"],
                account_id=f"demo{'AB'[index]}",
                campaign_ids=[spec["campaign"]],
            )
            account = accounts[f"demo{'AB'[index]}"]
            shared = people(10, seed=424242)  # in both accounts: matched by email
            own = people(15 + 10 * index, seed=100 + index, start=100)
            for person in [*shared, *own]:
                self.add_person(account, spec["campaign"], person)

    def view(self, account: str | None = None) -> dict[str, Any]:
        """Accounts as tests read them: contacts with tag names and custom values by
        field name, plus queued and unsubscribed contacts."""
        self.settle_all()
        selected = [self.find_account(account)] if account else self.state["accounts"].values()
        result = {}
        for acc in selected:

            def readable(contact: dict[str, Any], acc: dict[str, Any] = acc) -> dict[str, Any]:
                custom = acc["customFields"]
                return {
                    "contactId": contact["contactId"],
                    "campaignId": contact["campaignId"],
                    "email": contact["email"],
                    "name": contact["name"],
                    "note": contact["note"],
                    "changedOn": wire_time(contact["changedOn"]),
                    "tags": sorted(acc["tags"][t]["name"] for t in contact["tags"]),
                    "custom": {
                        custom[k]["name"]: v for k, v in contact["customFieldValues"].items()
                    },
                }

            result[acc["accountId"]] = {
                "apiKey": acc["apiKey"],
                "campaigns": {k: c["name"] for k, c in acc["campaigns"].items()},
                "contacts": [readable(c) for c in acc["contacts"].values()],
                "pending": [readable(p["contact"]) for p in acc["pending"]],
                "unsubscribed": [
                    readable(r["contact"])
                    for r in acc["removed"].values()
                    if r["reason"] == "unsubscribe"
                ],
                "removed": [
                    {**readable(r["contact"]), "reason": r["reason"]}
                    for r in acc["removed"].values()
                ],
            }
        return {"accounts": result}

    def settle_all(self) -> None:
        for account in self.state["accounts"].values():
            self.settle(account)

    def locate(self, account: str, contact: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(account, contact) by account id/key and contact id or email."""
        target = self.find_account(account)
        self.settle(target)
        for candidate in target["contacts"].values():
            if contact in (candidate["contactId"], candidate["email"]):
                return target, candidate
        raise KeyError(f"no contact {contact!r}")

    def action_options(self, **options: Any) -> dict[str, Any]:
        """Emulator behaviour, e.g. ``create_delay`` (seconds until a create is listed)."""
        unknown = set(options) - {"create_delay"}
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}")
        self.state["options"].update(options)
        return dict(self.state["options"])

    def action_unsubscribe(self, account: str, contact: str) -> dict[str, Any]:
        """The person clicked "unsubscribe": UNCONFIRMED, they vanish from /contacts and
        are found as removed with the reason ``unsubscribe``."""
        target, found = self.locate(account, contact)
        self.remove(target, found["contactId"], "unsubscribe")
        return {
            "unsubscribed": found["contactId"],
            "callback": self.fire(target, "unsubscribe", found),
        }

    def action_edit(self, account: str, contact: str, **changes: Any) -> dict[str, Any]:
        """A user edits the contact in GetResponse's app: ``name``, ``note``, ``email``,
        ``tags`` (names, the whole set) and ``custom`` ({field name: [values]})."""
        target, found = self.locate(account, contact)
        if "tags" in changes:
            found["tags"] = [self.add_tag(target, name)["tagId"] for name in changes.pop("tags")]
        if "custom" in changes:
            by_name = {f["name"]: k for k, f in target["customFields"].items()}
            for name, value in changes.pop("custom").items():
                found["customFieldValues"][by_name[name]] = value
            found["customFieldValues"] = {k: v for k, v in found["customFieldValues"].items() if v}
        for key in ("name", "note", "email"):
            if key in changes:
                found[key] = changes.pop(key)
        if changes:
            raise ValueError(f"cannot edit {sorted(changes)}")
        found["changedOn"] = self.now()
        return {"edited": found["contactId"]}

    def action_delete(self, account: str, contact: str) -> dict[str, Any]:
        """A user deletes the contact in GetResponse's app (removed, reason ``user``)."""
        target, found = self.locate(account, contact)
        self.remove(target, found["contactId"], "user")
        return {"deleted": found["contactId"]}


EMULATOR = GetResponseEmulator
