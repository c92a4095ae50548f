"""Emulator of the Mailchimp Marketing API v3 subset the connector uses, and of the OAuth
endpoints of login.mailchimp.com (mounted at /mailchimp; each path is the real one).

- ``/3.0/...`` (``https://{dc}.api.mailchimp.com/3.0``): ping, lists, merge fields,
  members (list, get, PUT upsert, POST create, PATCH, DELETE = archive,
  ``actions/delete-permanent``), member tags, batch subscribe ``POST /lists/{id}``,
  list webhooks. It works unchanged with the official ``mailchimp-marketing`` client.
- ``/oauth2/authorize``, ``/oauth2/token``, ``/oauth2/metadata`` (login.mailchimp.com);
  the authorization-code flow is connectors/sandbox/oauth.py's.

Control actions act as a user of the app (``unsubscribe``, ``clean``, ``edit`` with an
email change, ``subscribe``) and fire the audience's webhooks whose events and sources
match: form-encoded POSTs, delivered in order by a background thread after the action
answered (``deliveries`` waits for them); registering a webhook first checks its URL
with a GET. ``oauth_app`` registers an OAuth app and the account signed in.

Facts from ../shared/apis (section 3) are followed as written. UNCONFIRMED choices, once:
- paths accept the subscriber hash, the raw email or the member's ``contact_id``, and a
  member's ``contact_id`` survives an email change (the hash does not);
- archiving sets ``last_changed``; archived members are listed (status ``archived``);
- ``since_last_changed`` is inclusive here (the connector treats it as exclusive and
  asks from one second earlier, so either way nothing is missed);
- batch subscribe answers ``new_members``, ``updated_members``, ``errors`` with
  ``error_code`` ``ERROR_CONTACT_EXISTS`` / ``ERROR_GENERIC``, and members may carry
  ``tags`` (names);
- a 429 from the real 10-connection limit has no ``Retry-After``; injected faults do;
- the datacentre is not checked on loopback (there is one host).

State is plain JSON: ``{"seq", "accounts", "apps", "codes", "tokens"}``; times are epoch
seconds inside and ``2015-10-21T15:41:36+00:00`` on the wire.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import requests

from connectors.sandbox import (
    RateLimits,
    SandboxHTTPError,
    SandboxRequest,
    SandboxResponse,
    route,
)
from connectors.sandbox.oauth import Denied, OAuthAnswers, OAuthEmulator
from connectors.sandbox.outbox import Outbox
from connectors.sandbox.synthetic import Person, people

logger = logging.getLogger(__name__)

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
STATUSES = {"subscribed", "unsubscribed", "cleaned", "pending", "transactional"}
CODE_SECONDS = 600
FIRED_AT = "%Y-%m-%d %H:%M:%S"  # webhooks' time format, not ISO 8601
DOCS = "https://mailchimp.com/developer/marketing/docs/errors/"
# The default merge fields of a new audience, plus two custom ones the harness uses.
DEFAULT_MERGE_FIELDS: tuple[tuple[str, str, str, list[str]], ...] = (
    ("FNAME", "First Name", "text", []),
    ("LNAME", "Last Name", "text", []),
    ("ADDRESS", "Address", "address", []),
    ("PHONE", "Phone Number", "phone", []),
    ("BIRTHDAY", "Birthday", "birthday", []),
    ("COMPANY", "Company", "text", []),
    ("PLAN", "Plan", "dropdown", ["Free", "Pro", "Enterprise"]),
)
ADDRESS_PARTS = ("addr1", "addr2", "city", "state", "zip", "country")
TITLES = {
    400: "Invalid Resource",
    401: "API Key Invalid",
    403: "Forbidden",
    404: "Resource Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def wire_time(epoch: float | None) -> str:
    if not epoch:
        return ""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def parse_time(value: str) -> float:
    value = value.strip().replace("Z", "+00:00").replace(" ", "+")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode()).hexdigest()  # noqa: S324 (Mailchimp's id)


# The OAuth client `make run` configures in development (config/settings.py), known to the
# emulator from its start (demo). Not a secret: it opens nothing but this emulator.
DEMO_CLIENT = {"client_id": "sandbox-demo-mailchimp", "client_secret": "sandbox-demo-secret"}


class MailchimpEmulator(Outbox, OAuthEmulator):
    """Mailchimp accounts (one datacentre each), audiences, members, OAuth apps."""

    vendor = "mailchimp"
    answers = OAuthAnswers(
        authorize_unknown_client=(400, "invalid_client", ""),
        bad_response_type=(400, "invalid_client", ""),
        token_unknown_client=(401, "invalid_client", ""),
        bad_secret=(401, "invalid_client", ""),
        bad_code=(400, "invalid_grant", ""),
        bad_refresh_token=(400, "invalid_grant", ""),
        unsupported_grant=(401, "invalid_client", ""),
    )
    code_seconds = CODE_SECONDS
    refreshes = False
    # https://mailchimp.com/developer/marketing/docs/fundamentals/#throttling
    rate_limits = RateLimits(parallel=10)

    def reset(self) -> None:
        self.state = {"seq": 0, "accounts": {}, "apps": {}, "codes": {}, "tokens": {}}

    # --- Helpers.

    def now(self) -> float:
        return time.time()

    def new_id(self, length: int = 10) -> str:
        self.state["seq"] += 1
        return hashlib.sha1(f"{self.state['seq']}-{uuid.uuid4()}".encode()).hexdigest()[:length]  # noqa: S324

    def error(self, status: int, message: str, **extra: Any) -> SandboxResponse:
        # https://mailchimp.com/developer/marketing/docs/errors/
        title = extra.pop("title", None) or TITLES.get(status, "Bad Request")
        body = {
            "type": DOCS,
            "title": title,
            "status": status,
            "detail": message,
            "instance": str(uuid.uuid4()),
            **extra,
        }
        response = SandboxResponse.json(body, status=status)
        response.headers["Content-Type"] = "application/problem+json; charset=utf-8"
        return response

    def rate_limited(self, retry_after: float, *, injected: bool) -> SandboxResponse:
        response = self.error(429, "You have exceeded the limit of 10 simultaneous connections.")
        if injected:  # UNCONFIRMED: the real limit sends no Retry-After
            response.headers["Retry-After"] = str(max(0, round(retry_after, 3)))
        return response

    def rate_limit_key(self, request: SandboxRequest) -> str:
        return request.header("authorization")

    def authenticate(self, request: SandboxRequest) -> dict[str, Any]:
        """The account of HTTP Basic ``anystring:<key>`` or ``Bearer <token>``, or 401."""
        header = request.header("authorization")
        if header.startswith("Basic "):
            try:
                _, _, key = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                key = ""
            for account in self.state["accounts"].values():
                if key and account["api_key"] == key:
                    return account
            raise self.fail(
                401,
                "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
            )
        if header.startswith(("Bearer ", "OAuth ")):
            account_id = self.state["tokens"].get(header.split(" ", 1)[1])
            if account_id in self.state["accounts"]:
                return self.state["accounts"][account_id]
        raise self.fail(401, "Your request did not include an API key.", title="API Key Missing")

    def audience(self, account: dict[str, Any], list_id: str) -> dict[str, Any]:
        if list_id not in account["lists"]:
            raise self.fail(
                404, "The requested resource could not be found.", title="Resource Not Found"
            )
        audience: dict[str, Any] = account["lists"][list_id]
        return audience

    def member_of(self, audience: dict[str, Any], ref: str) -> dict[str, Any] | None:
        """A member by contact_id, email or subscriber hash (permanently deleted: none)."""
        ref = ref.strip()
        members = audience["members"]
        if ref in members:
            found: dict[str, Any] = members[ref]
            return found
        key = audience["emails"].get(ref.lower()) if "@" in ref else audience["hashes"].get(ref)
        return members.get(key) if key else None

    def remember(self, audience: dict[str, Any], member: dict[str, Any]) -> None:
        """Index the member's email and hash (the audience's lookups stay O(1))."""
        email = member["email_address"]
        audience["emails"][email.lower()] = member["contact_id"]
        audience["hashes"][subscriber_hash(email)] = member["contact_id"]

    def forget(self, audience: dict[str, Any], email: str) -> None:
        audience["emails"].pop(email.lower(), None)
        audience["hashes"].pop(subscriber_hash(email), None)

    def found(self, audience: dict[str, Any], ref: str) -> dict[str, Any]:
        member = self.member_of(audience, ref)
        if member is None:
            raise self.fail(
                404, "The requested resource could not be found.", title="Resource Not Found"
            )
        return member

    def body(self, request: SandboxRequest) -> dict[str, Any]:
        try:
            data = request.json()
        except ValueError as exc:
            raise self.fail(
                400, "We encountered an unspecified JSON parsing error.", title="JSON Parse Error"
            ) from exc
        if not isinstance(data, dict):
            raise self.fail(400, "The request body must be a JSON object.", title="Bad Request")
        return data

    def invalid(self, field: str, message: str) -> Exception:
        return self.fail(
            400,
            "Your merge fields were invalid.",
            title="Invalid Resource",
            errors=[{"field": field, "message": message}],
        )

    # --- Rendering.

    def render(self, audience: dict[str, Any], member: dict[str, Any]) -> dict[str, Any]:
        merges = member["merge_fields"]
        return {
            "id": subscriber_hash(member["email_address"]),
            "email_address": member["email_address"],
            "unique_email_id": member["unique_email_id"],
            "contact_id": member["contact_id"],
            "full_name": " ".join(p for p in (merges.get("FNAME"), merges.get("LNAME")) if p),
            "web_id": member["web_id"],
            "email_type": "html",
            "status": member["status"],
            "unsubscribe_reason": member.get("unsubscribe_reason") or "",
            "merge_fields": {
                f["tag"]: merges.get(f["tag"], self.blank(f)) for f in audience["merge_fields"]
            },
            "interests": {},
            "stats": {"avg_open_rate": 0, "avg_click_rate": 0},
            "ip_signup": "",
            "timestamp_signup": wire_time(member["timestamp_signup"]),
            "ip_opt": "",
            "timestamp_opt": wire_time(member["timestamp_signup"]),
            "member_rating": 2,
            "last_changed": wire_time(member["last_changed"]),
            "language": "",
            "vip": False,
            "email_client": "",
            "location": {"latitude": 0, "longitude": 0},
            "source": member["source"],
            "tags_count": len(member["tags"]),
            "tags": [{"id": audience["tag_ids"][t], "name": t} for t in member["tags"]],
            "list_id": audience["id"],
            "_links": [],
        }

    def blank(self, spec: dict[str, Any]) -> Any:
        return ""

    def select(
        self, data: dict[str, Any], fields: str | None, exclude: str | None
    ) -> dict[str, Any]:
        """``fields`` / ``exclude_fields`` in dot notation, one or two levels deep."""

        def pick(node: Any, paths: list[list[str]]) -> Any:
            if not isinstance(node, dict):
                return node
            kept: dict[str, Any] = {}
            for path in paths:
                if path[0] not in node:
                    continue
                if len(path) == 1:
                    kept[path[0]] = node[path[0]]
                else:
                    value = node[path[0]]
                    if isinstance(value, list):
                        kept[path[0]] = [pick(v, [path[1:]]) for v in value]
                        continue
                    sub = pick(value, [path[1:]])
                    if isinstance(kept.get(path[0]), dict) and isinstance(sub, dict):
                        kept[path[0]].update(sub)
                    else:
                        kept[path[0]] = sub
            return kept

        if fields:
            paths = [f.strip().split(".") for f in fields.split(",") if f.strip()]
            merged: dict[str, Any] = {}
            for path in paths:
                part = pick(data, [path])
                for key, value in part.items():
                    if key in merged and isinstance(merged[key], list) and isinstance(value, list):
                        merged[key] = [
                            {**a, **b} if isinstance(a, dict) and isinstance(b, dict) else b
                            for a, b in zip(merged[key], value, strict=True)
                        ]
                    elif (
                        key in merged and isinstance(merged[key], dict) and isinstance(value, dict)
                    ):
                        merged[key] = {**merged[key], **value}
                    else:
                        merged[key] = value
            data = merged
        if exclude:
            for name in exclude.split(","):
                data.pop(name.strip(), None)
        return data

    def respond(
        self, request: SandboxRequest, data: dict[str, Any], status: int = 200
    ) -> SandboxResponse:
        return SandboxResponse.json(
            self.select(data, request.arg("fields"), request.arg("exclude_fields")), status=status
        )

    # --- Account and audiences.

    # https://mailchimp.com/developer/marketing/api/ping/
    @route("GET", "/3.0/ping")
    def ping(self, request: SandboxRequest) -> SandboxResponse:
        self.authenticate(request)
        return SandboxResponse.json({"health_status": "Everything's Chimpy!"})

    # https://mailchimp.com/developer/marketing/api/root/
    @route("GET", "/3.0")
    def root(self, request: SandboxRequest) -> SandboxResponse:
        account = self.authenticate(request)
        return self.respond(
            request,
            {
                "account_id": account["account_id"],
                "account_name": account["name"],
                "email": account["email"],
            },
        )

    # https://mailchimp.com/developer/marketing/api/lists/get-lists-info/
    @route("GET", "/3.0/lists")
    def list_lists(self, request: SandboxRequest) -> SandboxResponse:
        account = self.authenticate(request)
        rows = [
            {
                "id": a["id"],
                "web_id": a["web_id"],
                "name": a["name"],
                "stats": {"member_count": len(a["members"])},
            }
            for a in account["lists"].values()
        ]
        return self.respond(request, self.paged(request, "lists", rows))

    @route("GET", "/3.0/lists/{list_id}")
    def get_list(self, request: SandboxRequest, list_id: str) -> SandboxResponse:
        audience = self.audience(self.authenticate(request), list_id)
        return self.respond(
            request, {"id": audience["id"], "web_id": audience["web_id"], "name": audience["name"]}
        )

    def paged(self, request: SandboxRequest, key: str, rows: list[Any]) -> dict[str, Any]:
        try:
            count = int(request.arg("count") or 10)
            offset = int(request.arg("offset") or 0)
        except ValueError as exc:
            raise self.fail(
                400, "count and offset must be integers.", title="Invalid Resource"
            ) from exc
        if not 0 <= count <= 1000 or offset < 0:
            raise self.fail(400, "count must be between 0 and 1000.", title="Invalid Resource")
        return {key: rows[offset : offset + count], "total_items": len(rows), "_links": []}

    # https://mailchimp.com/developer/marketing/api/list-merges/list-merge-fields/
    @route("GET", "/3.0/lists/{list_id}/merge-fields")
    def list_merge_fields(self, request: SandboxRequest, list_id: str) -> SandboxResponse:
        audience = self.audience(self.authenticate(request), list_id)
        rows = [dict(spec, list_id=list_id) for spec in audience["merge_fields"]]
        return self.respond(request, self.paged(request, "merge_fields", rows))

    # --- Members.

    # https://mailchimp.com/developer/marketing/api/list-members/list-members-info/
    @route("GET", "/3.0/lists/{list_id}/members")
    def list_members(self, request: SandboxRequest, list_id: str) -> SandboxResponse:
        audience = self.audience(self.authenticate(request), list_id)
        members = list(audience["members"].values())
        status = request.arg("status")
        if status:
            members = [m for m in members if m["status"] == status]
        for name, keep in (("since_last_changed", True), ("before_last_changed", False)):
            value = request.arg(name)
            if value:
                try:
                    moment = parse_time(value)
                except ValueError as exc:
                    raise self.fail(
                        400, f"{name} must be ISO 8601.", title="Invalid Resource"
                    ) from exc
                members = [m for m in members if (m["last_changed"] >= int(moment)) == keep]
        sort_field = request.arg("sort_field")
        if sort_field:
            if sort_field not in ("timestamp_opt", "timestamp_signup", "last_changed"):
                raise self.fail(400, "Invalid sort_field.", title="Invalid Resource")
            column = "timestamp_signup" if sort_field == "timestamp_opt" else sort_field
            members.sort(key=lambda m: int(m[column]), reverse=request.arg("sort_dir") == "DESC")
        page = self.paged(request, "members", members)  # render only the page's rows
        page["members"] = [self.render(audience, m) for m in page["members"]]
        page["list_id"] = list_id
        return self.respond(request, page)

    @route("GET", "/3.0/lists/{list_id}/members/{ref}")
    def get_member(self, request: SandboxRequest, list_id: str, ref: str) -> SandboxResponse:
        audience = self.audience(self.authenticate(request), list_id)
        return self.respond(request, self.render(audience, self.found(audience, ref)))

    # https://mailchimp.com/developer/marketing/api/list-members/add-member-to-list/
    @route("POST", "/3.0/lists/{list_id}/members")
    def create_member(self, request: SandboxRequest, list_id: str) -> SandboxResponse:
        audience = self.audience(self.authenticate(request), list_id)
        body = self.body(request)
        email = str(body.get("email_address") or "")
        if self.member_of(audience, email) is not None:
            raise self.fail(
                400,
                f"{email} is already a list member. Use PUT to insert or update list members.",
                title="Member Exists",
            )
        member = self.add(
            audience,
            email,
            body.get("status"),
            body,
            request.arg("skip_merge_validation") == "true",
        )
        return self.respond(request, self.render(audience, member))

    # https://mailchimp.com/developer/marketing/api/list-members/add-or-update-list-member/
    @route("PUT", "/3.0/lists/{list_id}/members/{ref}")
    def upsert_member(self, request: SandboxRequest, list_id: str, ref: str) -> SandboxResponse:
        audience = self.audience(self.authenticate(request), list_id)
        body = self.body(request)
        skip = request.arg("skip_merge_validation") == "true"
        member = self.member_of(audience, ref)
        if member is None:
            email = str(body.get("email_address") or "")
            if ref != subscriber_hash(email) and ref.lower() != email.lower():
                raise self.fail(
                    400, "The resource submitted could not be validated.", title="Invalid Resource"
                )
            status = body.get("status_if_new")
            if not status:
                raise self.invalid("status_if_new", "status_if_new is required for a new member.")
            member = self.add(audience, email, status, body, skip)
        else:
            self.change(audience, member, body, skip)
        return self.respond(request, self.render(audience, member))

    # https://mailchimp.com/developer/marketing/api/list-members/update-list-member/
    @route("PATCH", "/3.0/lists/{list_id}/members/{ref}")
    def patch_member(self, request: SandboxRequest, list_id: str, ref: str) -> SandboxResponse:
        audience = self.audience(self.authenticate(request), list_id)
        member = self.found(audience, ref)
        self.change(
            audience, member, self.body(request), request.arg("skip_merge_validation") == "true"
        )
        return self.respond(request, self.render(audience, member))

    # https://mailchimp.com/developer/marketing/api/list-members/archive-list-member/
    @route("DELETE", "/3.0/lists/{list_id}/members/{ref}")
    def archive_member(self, request: SandboxRequest, list_id: str, ref: str) -> SandboxResponse:
        audience = self.audience(self.authenticate(request), list_id)
        member = self.found(audience, ref)
        if member["status"] == "archived":
            raise self.fail(
                404, "The requested resource could not be found.", title="Resource Not Found"
            )
        member["status_before_archive"] = member["status"]
        member["status"] = "archived"
        member["last_changed"] = self.now()  # UNCONFIRMED: archiving counts as a change
        return SandboxResponse.empty(204)

    # https://mailchimp.com/developer/marketing/api/list-members/delete-list-member/
    @route("POST", "/3.0/lists/{list_id}/members/{ref}/actions/delete-permanent")
    def delete_permanent(self, request: SandboxRequest, list_id: str, ref: str) -> SandboxResponse:
        audience = self.audience(self.authenticate(request), list_id)
        member = self.found(audience, ref)
        del audience["members"][member["contact_id"]]
        self.forget(audience, member["email_address"])
        audience["forgotten"].append(subscriber_hash(member["email_address"]))
        return SandboxResponse.empty(204)

    # https://mailchimp.com/developer/marketing/api/list-member-tags/
    @route("GET", "/3.0/lists/{list_id}/members/{ref}/tags")
    def list_member_tags(self, request: SandboxRequest, list_id: str, ref: str) -> SandboxResponse:
        audience = self.audience(self.authenticate(request), list_id)
        member = self.found(audience, ref)
        rows = [{"id": audience["tag_ids"][t], "name": t, "date_added": ""} for t in member["tags"]]
        return self.respond(request, self.paged(request, "tags", rows))

    @route("POST", "/3.0/lists/{list_id}/members/{ref}/tags")
    def update_member_tags(
        self, request: SandboxRequest, list_id: str, ref: str
    ) -> SandboxResponse:
        audience = self.audience(self.authenticate(request), list_id)
        member = self.found(audience, ref)
        tags = self.body(request).get("tags")
        if not isinstance(tags, list) or not all(
            isinstance(t, dict)
            and isinstance(t.get("name"), str)
            and t.get("status") in ("active", "inactive")
            for t in tags
        ):
            raise self.invalid("tags", "Each tag needs a name and a status of active or inactive.")
        self.apply_tags(audience, member, tags)
        member["last_changed"] = self.now()
        return SandboxResponse.empty(204)

    def apply_tags(
        self, audience: dict[str, Any], member: dict[str, Any], tags: list[dict[str, Any]]
    ) -> None:
        current = list(member["tags"])
        for tag in tags:
            name = tag["name"].strip()
            if tag["status"] == "active" and name not in current:
                current.append(name)
                audience["tag_ids"].setdefault(name, len(audience["tag_ids"]) + 1000)
            elif tag["status"] == "inactive" and name in current:
                current.remove(name)
        member["tags"] = current

    # https://mailchimp.com/developer/marketing/api/lists/batch-subscribe-or-unsubscribe/
    @route("POST", "/3.0/lists/{list_id}")
    def batch_subscribe(self, request: SandboxRequest, list_id: str) -> SandboxResponse:
        audience = self.audience(self.authenticate(request), list_id)
        body = self.body(request)
        rows = body.get("members")
        if not isinstance(rows, list) or len(rows) > 500:
            raise self.fail(
                400, "members must be an array of at most 500 members.", title="Invalid Resource"
            )
        update = bool(body.get("update_existing"))
        skip = request.arg("skip_merge_validation") == "true"
        created, updated, errors = [], [], []
        for row in rows:
            email = str((row or {}).get("email_address") or "")
            try:
                existing = self.member_of(audience, email)
                if existing is not None and not update:
                    errors.append(
                        {
                            "email_address": email,
                            "error": f"{email} is already a list member, do you want to update? "
                            "please provide update_existing:true in the request body",
                            "error_code": "ERROR_CONTACT_EXISTS",
                            "field": "",
                            "field_message": "",
                        }
                    )
                    continue
                if existing is not None:
                    self.change(audience, existing, row, skip)
                    updated.append(self.render(audience, existing))
                    continue
                member = self.add(audience, email, row.get("status"), row, skip)
                if isinstance(row.get("tags"), list):
                    self.apply_tags(
                        audience,
                        member,
                        [{"name": str(t), "status": "active"} for t in row["tags"]],
                    )
                created.append(self.render(audience, member))
            except SandboxHTTPError as exc:  # a refused member is one error row
                detail = problem_detail(exc.response)
                errors.append(
                    {
                        "email_address": email,
                        "error": detail,
                        "error_code": "ERROR_GENERIC",
                        "field": "",
                        "field_message": detail,
                    }
                )
        return self.respond(
            request,
            {
                "new_members": created,
                "updated_members": updated,
                "errors": errors,
                "total_created": len(created),
                "total_updated": len(updated),
                "error_count": len(errors),
                "_links": [],
            },
        )

    # --- Member validation.

    def add(
        self, audience: dict[str, Any], email: str, status: Any, body: dict[str, Any], skip: bool
    ) -> dict[str, Any]:
        if not EMAIL_RE.match(email):
            raise self.fail(
                400,
                f"{email or 'The email'} looks fake or invalid, please enter a real email address.",
                title="Invalid Resource",
            )
        if status not in STATUSES:
            raise self.invalid("status", f"The status {status!r} is not one of {sorted(STATUSES)}.")
        if subscriber_hash(email) in audience["forgotten"]:
            raise self.fail(
                400,
                f"{email} was permanently deleted and cannot be re-imported. "
                "The contact must re-subscribe to get back on the list.",
                title="Forgotten Email Not Subscribed",
            )
        merges = self.merges(audience, body.get("merge_fields") or {}, {}, required=not skip)
        now = self.now()
        contact_id = self.new_id(32)
        member = {
            "contact_id": contact_id,
            "unique_email_id": self.new_id(10),
            "web_id": self.state["seq"],
            "email_address": email.strip(),
            "status": status,
            "merge_fields": merges,
            "tags": [],
            "timestamp_signup": now,
            "last_changed": now,
            "source": "API - Generic",
        }
        audience["members"][contact_id] = member
        self.remember(audience, member)
        return member

    def change(
        self, audience: dict[str, Any], member: dict[str, Any], body: dict[str, Any], skip: bool
    ) -> None:
        """Validate, then set: a 400 leaves the member as it was."""
        updates: dict[str, Any] = {}
        email = body.get("email_address")
        if email and str(email).lower() != member["email_address"].lower():
            if not EMAIL_RE.match(str(email)):
                raise self.fail(
                    400,
                    f"{email} looks fake or invalid, please enter a real email address.",
                    title="Invalid Resource",
                )
            if self.member_of(audience, str(email)) is not None:
                raise self.fail(400, f"{email} is already a list member.", title="Member Exists")
            updates["email_address"] = str(email).strip()
        status = body.get("status")
        if status:
            if status not in STATUSES:
                raise self.invalid(
                    "status", f"The status {status!r} is not one of {sorted(STATUSES)}."
                )
            if member["status"] == "cleaned" and status != "cleaned":
                raise self.fail(
                    400,
                    f"{member['email_address']} is cleaned and cannot be changed.",
                    title="Invalid Resource",
                )
            updates["status"] = status
        elif member["status"] == "archived":
            # An upsert of an archived member brings it back with status_if_new.
            updates["status"] = (
                body.get("status_if_new") or member.get("status_before_archive") or "subscribed"
            )
        if "merge_fields" in body:
            updates["merge_fields"] = self.merges(
                audience, body["merge_fields"] or {}, member["merge_fields"], required=not skip
            )
        if "email_address" in updates:
            self.forget(audience, member["email_address"])
        member.update(updates)
        self.remember(audience, member)
        member["last_changed"] = self.now()

    def merges(
        self, audience: dict[str, Any], given: Any, current: dict[str, Any], *, required: bool
    ) -> dict[str, Any]:
        if not isinstance(given, dict):
            raise self.invalid("merge_fields", "merge_fields must be an object.")
        by_tag = {spec["tag"]: spec for spec in audience["merge_fields"]}
        result = dict(current)
        for tag, value in given.items():
            spec = by_tag.get(tag)
            if spec is None:
                raise self.invalid(tag, f"{tag} is not a merge field of this audience.")
            result[tag] = self.merge_value(spec, value)
        if required:
            for spec in audience["merge_fields"]:
                if spec["required"] and result.get(spec["tag"]) in (None, ""):
                    raise self.invalid(spec["tag"], "Please enter a value")
        return result

    def merge_value(self, spec: dict[str, Any], value: Any) -> Any:
        kind, tag = spec["type"], spec["tag"]
        if value in (None, ""):
            return ""
        if kind == "address":
            if not isinstance(value, dict) or set(value) - set(ADDRESS_PARTS):
                raise self.invalid(
                    tag, "An address is an object of addr1, addr2, city, state, zip, country."
                )
            parts = {p: str(value.get(p) or "") for p in ADDRESS_PARTS}
            if not any(parts.values()):
                return ""
            missing = [p for p in ("addr1", "city", "state", "zip") if not parts[p]]
            if missing:
                raise self.invalid(
                    tag, f"Please enter a complete address (missing {', '.join(missing)})"
                )
            return parts
        if not isinstance(value, str | int | float):
            raise self.invalid(tag, "Please enter a text value")
        text = str(value)
        if kind == "number":
            try:
                float(text)
            except ValueError as exc:
                raise self.invalid(tag, "Please enter a number") from exc
        elif kind in ("dropdown", "radio") and text not in spec["options"].get("choices", []):
            raise self.invalid(tag, "Please choose one of the options")
        elif kind == "birthday" and not re.fullmatch(r"\d{2}/\d{2}", text):
            raise self.invalid(tag, "Please enter the birthday as MM/DD")
        elif kind == "date" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise self.invalid(tag, "Please enter the date as YYYY-MM-DD")
        elif kind == "phone" and not re.fullmatch(r"[+0-9 ()./-]{6,25}", text):
            raise self.invalid(tag, "Please enter a valid phone number")
        elif len(text) > 255:
            raise self.invalid(tag, "Please enter at most 255 characters")
        return text

    # --- Webhooks.

    # https://mailchimp.com/developer/marketing/api/list-webhooks/
    @route("GET", "/3.0/lists/{list_id}/webhooks")
    def list_webhooks(self, request: SandboxRequest, list_id: str) -> SandboxResponse:
        audience = self.audience(self.authenticate(request), list_id)
        rows = list(audience["webhooks"].values())
        return self.respond(
            request, {"webhooks": rows, "list_id": list_id, "total_items": len(rows), "_links": []}
        )

    @route("POST", "/3.0/lists/{list_id}/webhooks")
    def create_webhook(self, request: SandboxRequest, list_id: str) -> SandboxResponse:
        audience = self.audience(self.authenticate(request), list_id)
        body = self.body(request)
        url = str(body.get("url") or "")
        if not url.startswith(("http://", "https://")):
            raise self.invalid("url", "Please enter a valid URL")
        # Mailchimp checks the URL with a GET before it saves the webhook.
        try:
            answer = requests.get(
                url, timeout=5, headers={"User-Agent": "MailChimp.com WebHook Validator"}
            )
            valid = answer.status_code == 200
        except requests.RequestException:
            valid = False
        if not valid:
            raise self.fail(
                400,
                "The resource submitted could not be validated. "
                f"We couldn't verify the URL is working: {url}",
                title="Invalid Resource",
            )
        hook = {
            "id": self.new_id(10),
            "url": url,
            "events": {
                k: bool((body.get("events") or {}).get(k))
                for k in ("subscribe", "unsubscribe", "profile", "cleaned", "upemail", "campaign")
            },
            "sources": {
                k: bool((body.get("sources") or {}).get(k)) for k in ("user", "admin", "api")
            },
            "list_id": list_id,
        }
        audience["webhooks"][hook["id"]] = hook
        return self.respond(request, hook)

    @route("DELETE", "/3.0/lists/{list_id}/webhooks/{webhook_id}")
    def delete_webhook(
        self, request: SandboxRequest, list_id: str, webhook_id: str
    ) -> SandboxResponse:
        audience = self.audience(self.authenticate(request), list_id)
        if audience["webhooks"].pop(webhook_id, None) is None:
            raise self.fail(
                404, "The requested resource could not be found.", title="Resource Not Found"
            )
        return SandboxResponse.empty(204)

    @staticmethod
    def webhook_post(url: str, form: dict[str, str]) -> Any:
        """One delivery: a form-encoded POST, as Mailchimp's (30 s timeout)."""
        return lambda: requests.post(
            url, data=form, timeout=30, headers={"User-Agent": "MailChimp"}
        )

    def fire(self, audience: dict[str, Any], event: str, source: str, data: dict[str, str]) -> int:
        """Queue ``event`` for each webhook that wants it; how many were queued. Delivery
        is a form-encoded POST, as Mailchimp's, made after the action has answered and
        outside the emulator's lock (the receiver may call the API back at once), one
        at a time in the order the events happened."""
        form = {"type": event, "fired_at": datetime.now(UTC).strftime(FIRED_AT)}
        form.update({f"data[{k}]": v for k, v in data.items()})
        queued = 0
        for hook in list(audience["webhooks"].values()):
            if hook["events"].get(event) and hook["sources"].get(source):
                self.deliver_later(hook["url"], self.webhook_post(hook["url"], form))
                queued += 1
        return queued

    def event_data(self, audience: dict[str, Any], member: dict[str, Any]) -> dict[str, str]:
        data = {
            "id": subscriber_hash(member["email_address"]),
            "email": member["email_address"],
            "email_type": "html",
            "list_id": audience["id"],
            "web_id": str(member["web_id"]),
        }
        for tag, value in member["merge_fields"].items():
            if isinstance(value, dict):
                for part, text in value.items():
                    data[f"merges][{tag}][{part}"] = text
            else:
                data[f"merges][{tag}"] = str(value)
        return data

    # --- OAuth (login.mailchimp.com).

    # https://mailchimp.com/developer/marketing/guides/access-user-data-oauth-2/
    # (the flow is connectors/sandbox/oauth.py's; these are Mailchimp's answers)
    @route("GET", "/oauth2/authorize")
    def authorize(self, request: SandboxRequest) -> SandboxResponse:
        return self.authorize_flow(request)

    @route("POST", "/oauth2/token")
    def token(self, request: SandboxRequest) -> SandboxResponse:
        return self.token_flow(request)

    def consent(self, request: SandboxRequest, client_id: str) -> dict[str, Any] | Denied:
        app = self.state["apps"][client_id]
        account_id = app.get("signed_in")
        if account_id not in self.state["accounts"] or not app.get("approve", True):
            return Denied("access_denied")
        return {"account_id": account_id}

    def exchange_code(self, request: SandboxRequest, grant: dict[str, Any]) -> SandboxResponse:
        access = secrets.token_hex(16)
        self.state["tokens"][access] = grant["account_id"]
        # Mailchimp tokens never expire: expires_in 0 and no refresh token.
        return SandboxResponse.json({"access_token": access, "expires_in": 0, "scope": None})

    @route("GET", "/oauth2/metadata")
    def metadata(self, request: SandboxRequest) -> SandboxResponse:
        header = request.header("authorization")
        token = header.split(" ", 1)[1] if " " in header else ""
        account = self.state["accounts"].get(self.state["tokens"].get(token, ""))
        if account is None:
            return SandboxResponse.json({"error": "invalid_token"}, status=401)
        return SandboxResponse.json(
            {
                "dc": account["dc"],
                "role": "owner",
                "accountname": account["name"],
                "user_id": account["user_id"],
                "login": {
                    "email": account["email"],
                    "avatar": None,
                    "login_id": account["user_id"],
                    "login_name": account["email"],
                    "login_email": account["email"],
                },
                "login_url": "https://login.mailchimp.com",
                "api_endpoint": f"https://{account['dc']}.api.mailchimp.com",
            }
        )

    # --- Control API.

    def create_account(
        self,
        name: str = "Sandbox audience",
        dc: str = "us7",
        api_key: str | None = None,
        lists: list[str] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """A new account (one datacentre) with its audiences; answers its ``api_key``."""
        account_id = self.new_id(12)
        api_key = api_key or f"{secrets.token_hex(16)}-{dc}"
        slug = re.sub(r"\W+", "", name.lower())[:20] or "sandbox"
        account: dict[str, Any] = {
            "account_id": account_id,
            "user_id": int(self.state["seq"]) + 100000,
            "name": name,
            "email": f"owner@{slug}.example.com",
            "api_key": api_key,
            "dc": dc,
            "lists": {},
        }
        self.state["accounts"][account_id] = account
        for list_name in lists or [name]:
            self.add_audience(account, list_name)
        return {
            "account_id": account_id,
            "api_key": api_key,
            "dc": dc,
            "lists": [{"id": a["id"], "name": a["name"]} for a in account["lists"].values()],
            "path": "/mailchimp/3.0",
        }

    def add_audience(self, account: dict[str, Any], name: str) -> dict[str, Any]:
        list_id = self.new_id(10)
        fields = []
        for order, (tag, label, kind, choices) in enumerate(DEFAULT_MERGE_FIELDS):
            fields.append(
                {
                    "merge_id": order + 1,
                    "tag": tag,
                    "name": label,
                    "type": kind,
                    "required": False,
                    "default_value": "",
                    "public": True,
                    "display_order": order + 1,
                    "options": {"choices": choices}
                    if choices
                    else ({"date_format": "MM/DD"} if kind == "birthday" else {}),
                }
            )
        audience = {
            "id": list_id,
            "web_id": self.state["seq"],
            "name": name,
            "merge_fields": fields,
            "members": {},
            "tag_ids": {},
            "webhooks": {},
            "forgotten": [],
            "emails": {},
            "hashes": {},
        }
        account["lists"][list_id] = audience
        return audience

    def find_account(self, ref: str) -> dict[str, Any]:
        for account in self.state["accounts"].values():
            if ref in (account["account_id"], account["api_key"]):
                found: dict[str, Any] = account
                return found
        raise KeyError(f"no Mailchimp sandbox account {ref!r}")

    def target(self, account: str, list_id: str | None) -> dict[str, Any]:
        found = self.find_account(account)
        return found["lists"][list_id] if list_id else next(iter(found["lists"].values()))

    def seed(
        self,
        account: str,
        count: int,
        seed: int = 0,
        list_id: str | None = None,
        start: int | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """``count`` synthetic subscribed members, created in the past."""
        audience = self.target(account, list_id)
        offset = len(audience["members"]) if start is None else start
        ids = [self.add_person(audience, p) for p in people(count, seed, offset)]
        return {"ids": ids, "list_id": audience["id"]}

    def add_person(self, audience: dict[str, Any], person: Person) -> str:
        then = self.now() - 3600 - int(person.age_days * 86400)
        contact_id = self.new_id(32)
        audience["members"][contact_id] = {
            "contact_id": contact_id,
            "unique_email_id": self.new_id(10),
            "web_id": self.state["seq"],
            "email_address": person.email,
            "status": "subscribed",
            "merge_fields": {
                "FNAME": person.first_name,
                "LNAME": person.last_name,
                "PHONE": person.phone,
                "COMPANY": person.company,
            },
            "tags": list(person.tags),
            "timestamp_signup": then,
            "last_changed": then,
            "source": "Import",
        }
        self.remember(audience, audience["members"][contact_id])
        for tag in person.tags:
            audience["tag_ids"].setdefault(tag, len(audience["tag_ids"]) + 1000)
        return contact_id

    def view(self, account: str | None = None) -> dict[str, Any]:
        """Audiences as tests read them: members by contact_id with email, status, merge
        fields, tags; the webhooks; the permanently deleted hashes."""
        selected = (
            [self.find_account(account)] if account else list(self.state["accounts"].values())
        )
        return {
            "accounts": {
                acc["account_id"]: {
                    "lists": {
                        a["id"]: {
                            "name": a["name"],
                            "members": {
                                m["contact_id"]: {
                                    "email": m["email_address"],
                                    "status": m["status"],
                                    "merge_fields": m["merge_fields"],
                                    "tags": sorted(m["tags"]),
                                    "last_changed": wire_time(m["last_changed"]),
                                }
                                for m in a["members"].values()
                            },
                            "webhooks": list(a["webhooks"].values()),
                            "forgotten": list(a["forgotten"]),
                        }
                        for a in acc["lists"].values()
                    }
                }
                for acc in selected
            }
        }

    def demo(self) -> None:
        """A demo account signed in at the login page, with the development OAuth client
        (DEMO_CLIENT, which config/settings.py uses in development)."""
        if DEMO_CLIENT["client_id"] in self.state["apps"]:
            return
        found = self.create_account(name="Demo audience", dc="us7", lists=["Demo newsletter"])
        self.action_oauth_app(
            DEMO_CLIENT["client_id"], DEMO_CLIENT["client_secret"], found["account_id"]
        )

    def action_oauth_app(
        self, client_id: str, client_secret: str, account: str, approve: bool = True
    ) -> dict[str, Any]:
        """Register an OAuth app, with ``account`` the user signed in at login.mailchimp.com
        (``approve``: whether they allow access)."""
        signed_in = self.find_account(account)["account_id"]
        self.state["apps"][client_id] = {
            "secret": client_secret,
            "signed_in": signed_in,
            "approve": approve,
        }
        return {"client_id": client_id}

    def locate(
        self, account: str, member: str, list_id: str | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        audience = self.target(account, list_id)
        return audience, self.found(audience, member)

    def action_unsubscribe(
        self, account: str, member: str, list_id: str | None = None, source: str = "user"
    ) -> dict[str, Any]:
        """The person clicked "unsubscribe" in a campaign (source user) or an admin
        unsubscribed them in the app (source admin); webhooks fire."""
        audience, found = self.locate(account, member, list_id)
        found["status"] = "unsubscribed"
        found["unsubscribe_reason"] = "N/A (Unsubscribed by user)"
        found["last_changed"] = self.now()
        data = {**self.event_data(audience, found), "action": "unsub", "reason": "manual"}
        return {
            "unsubscribed": found["contact_id"],
            "webhooks": self.fire(audience, "unsubscribe", source, data),
        }

    def action_clean(self, account: str, member: str, list_id: str | None = None) -> dict[str, Any]:
        """The address bounced hard: Mailchimp cleans it."""
        audience, found = self.locate(account, member, list_id)
        found["status"] = "cleaned"
        found["last_changed"] = self.now()
        data = {
            "list_id": audience["id"],
            "campaign_id": "",
            "reason": "hard",
            "email": found["email_address"],
        }
        return {
            "cleaned": found["contact_id"],
            "webhooks": self.fire(audience, "cleaned", "admin", data),
        }

    def action_edit(
        self,
        account: str,
        member: str,
        list_id: str | None = None,
        source: str = "admin",
        **changes: Any,
    ) -> dict[str, Any]:
        """A user edits the member in the app: ``merge_fields`` ({tag: value}), ``tags``
        (the whole set), ``email`` (fires ``upemail``, the contact_id stays)."""
        audience, found = self.locate(account, member, list_id)
        fired = 0
        if "tags" in changes:
            wanted = list(changes.pop("tags"))
            self.apply_tags(
                audience,
                found,
                [{"name": t, "status": "inactive"} for t in found["tags"] if t not in wanted],
            )
            self.apply_tags(audience, found, [{"name": t, "status": "active"} for t in wanted])
        if "merge_fields" in changes:
            found["merge_fields"] = self.merges(
                audience, changes.pop("merge_fields"), found["merge_fields"], required=False
            )
        old_email = found["email_address"]
        if "email" in changes:
            self.forget(audience, old_email)
            found["email_address"] = str(changes.pop("email"))
            self.remember(audience, found)
        if changes:
            raise ValueError(f"cannot edit {sorted(changes)}")
        found["last_changed"] = self.now()
        if found["email_address"] != old_email:
            data = {
                "list_id": audience["id"],
                "new_id": subscriber_hash(found["email_address"]),
                "new_email": found["email_address"],
                "old_email": old_email,
            }
            fired += self.fire(audience, "upemail", source, data)
        fired += self.fire(audience, "profile", source, self.event_data(audience, found))
        return {"edited": found["contact_id"], "webhooks": fired}

    def action_subscribe(
        self,
        account: str,
        email: str,
        list_id: str | None = None,
        source: str = "user",
        **merge_fields: Any,
    ) -> dict[str, Any]:
        """Someone signs up through the audience's form."""
        audience = self.target(account, list_id)
        member = self.add(audience, email, "subscribed", {"merge_fields": merge_fields}, True)
        member["source"] = "Hosted Signup Form"
        fired = self.fire(audience, "subscribe", source, self.event_data(audience, member))
        return {"subscribed": member["contact_id"], "webhooks": fired}


def problem_detail(response: SandboxResponse) -> str:
    """The ``detail`` of a problem+json response (for batch error rows)."""
    try:
        body = json.loads(response.body.decode())
    except ValueError:
        return "error"
    errors = body.get("errors") or []
    extra = "; ".join(
        f"{e.get('field')}: {e.get('message')}" for e in errors if isinstance(e, dict)
    )
    return f"{body.get('detail', '')} {extra}".strip()


EMULATOR = MailchimpEmulator
