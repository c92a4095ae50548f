"""The base of the Salesforce emulator: the org a session belongs to, API usage, and
errors in Salesforce's shapes (a JSON array for REST, ``{"statusCode"}`` per record in
Collections). The endpoints live beside it: login.py (OAuth), describe.py, query.py,
writes.py; control.py is the control API."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from connectors.salesforce.sandbox.schema import (
    MOUNT,
    PREFIXES,
    STANDARD_FIELDS,
    VERSIONS,
    WRITABLE,
    with_checksum,
)
from connectors.sandbox import Emulator, RateLimits, SandboxRequest, SandboxResponse

# The URI and headers of one REST call, at most (Salesforce Help article 000386264).
MAX_REQUEST_BYTES = 16_384


class SalesforceBase(Emulator):
    """Salesforce orgs: users, records, OAuth tokens, API usage (see the package)."""

    vendor = "salesforce"
    # Long-running concurrent requests per org (≥20 s: 25); the daily allowance is
    # enforced per org through Sforce-Limit-Info, not here.
    rate_limits = RateLimits(parallel=25)

    def reset(self) -> None:
        self.state = {"seq": 0, "apps": {}, "codes": {}, "browser": None, "orgs": {}}

    def now(self) -> float:
        """The org's clock: real time, unless the ``clock`` action set it (a test's way
        of making many changes land in one second)."""
        clock = self.state.get("clock")
        return float(clock) if clock is not None else round(time.time(), 3)

    def new_id(self, kind: str) -> str:
        self.state["seq"] += 1
        return with_checksum(f"{PREFIXES[kind]}5g{self.state['seq']:010d}")

    def error(self, status: int, message: str, **extra: Any) -> SandboxResponse:
        # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
        code = extra.pop("code", None) or {
            400: "MALFORMED_QUERY",
            401: "INVALID_SESSION_ID",
            403: "INSUFFICIENT_ACCESS",
            404: "NOT_FOUND",
            429: "TOO_MANY_REQUESTS",  # only injected faults (a proxy) answer 429
        }.get(status, "SERVER_UNAVAILABLE" if status >= 500 else "BAD_REQUEST")
        body: dict[str, Any] = {"message": message, "errorCode": code}
        if extra.get("fields"):
            body["fields"] = extra["fields"]
        return SandboxResponse.json([body], status=status)

    def rate_limited(self, retry_after: float, *, injected: bool) -> SandboxResponse:
        if not injected:
            return self.error(
                403, "ConcurrentRequests Limit exceeded.", code="REQUEST_LIMIT_EXCEEDED"
            )
        # Salesforce itself never sends 429; an injected fault (a proxy in front) does.
        response = self.error(429, "Too many requests")
        response.headers["Retry-After"] = str(max(0, round(retry_after, 3)))
        return response

    def host_url(self, request: SandboxRequest) -> str:
        return f"http://{request.header('host') or '127.0.0.1'}{MOUNT}"

    def authenticate(
        self, request: SandboxRequest, version: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(org, user) of the Bearer token on REST API ``version`` (``v62.0``): 404
        NOT_FOUND for a version the org does not serve, 401 INVALID_SESSION_ID without a
        live session. Counts the call against the org's daily allowance (403 when it is
        spent)."""
        self.check_request_size(request)
        if version.removeprefix("v") not in VERSIONS or not version.startswith("v"):
            # UNCONFIRMED: the version is checked before the session, as a path is.
            raise self.fail(404, "The requested resource does not exist", code="NOT_FOUND")
        header = request.header("authorization")
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else ""
        for org in self.state["orgs"].values():
            user_id = org["sessions"].get(token) if token else None
            if user_id:
                if not org.get("api_enabled", True):
                    raise self.fail(
                        403,
                        "The REST API is not enabled for this Organization.",
                        code="API_DISABLED_FOR_ORG",
                    )
                if org["api"]["used"] >= org["api"]["max"]:
                    raise self.fail(
                        403, "TotalRequests Limit exceeded.", code="REQUEST_LIMIT_EXCEEDED"
                    )
                org["api"]["used"] += 1
                return org, org["records"]["User"][user_id]
        raise self.fail(401, "Session expired or invalid", code="INVALID_SESSION_ID")

    def check_request_size(self, request: SandboxRequest) -> None:
        """Strict mode: the URI and headers of a REST call fit in 16,384 bytes (Salesforce
        Help 000386264: 414 URI Too Long when the URI alone does not, else 431). The
        error bodies are UNCONFIRMED; the URI is measured as re-encoded here."""
        uri = len(request.path) + 1 + len(urlencode(request.query))
        headers = sum(len(k) + len(v) + 4 for k, v in request.headers.items())
        self.refuse_when_strict(uri > MAX_REQUEST_BYTES, 414, "URI Too Long", code="URI_TOO_LONG")
        self.refuse_when_strict(
            uri + headers > MAX_REQUEST_BYTES,
            431,
            "Request Header Fields Too Large",
            code="REQUEST_HEADER_FIELDS_TOO_LARGE",
        )

    def limit_header(self, org: dict[str, Any]) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={org['api']['used']}/{org['api']['max']}"}

    def ok(self, org: dict[str, Any], data: Any, status: int = 200) -> SandboxResponse:
        return SandboxResponse.json(data, status=status, headers=self.limit_header(org))

    def describe_fields(self, org: dict[str, Any], sobject: str) -> list[dict[str, Any]]:
        if sobject not in STANDARD_FIELDS:
            raise self.fail(404, f"The requested resource does not exist: {sobject}")
        return [*STANDARD_FIELDS[sobject], *org["custom_fields"].get(sobject, [])]

    def field_map(self, org: dict[str, Any], sobject: str) -> dict[str, dict[str, Any]]:
        return {f["name"]: f for f in self.describe_fields(org, sobject)}

    def parent_of(
        self, org: dict[str, Any], spec: dict[str, Any], record_id: Any
    ) -> tuple[str | None, dict[str, Any] | None]:
        """(object, record) a lookup field's value points at, among the field's targets
        (several for a polymorphic lookup: the id's prefix tells which); (None, None)
        when it points nowhere."""
        if not isinstance(record_id, str) or len(record_id) < 15:
            return None, None
        for target in spec["referenceTo"]:
            if PREFIXES.get(target) != record_id[:3] or target not in org["records"]:
                continue
            table = org["records"][target]
            found = table.get(record_id) or next(
                (r for r in table.values() if r["Id"][:15] == record_id[:15]), None
            )
            if found is not None:
                return target, found
        return None, None

    def activity_account(self, org: dict[str, Any], activity: dict[str, Any]) -> str | None:
        """A Task's or an Event's derived ``AccountId`` (the Task reference): the Account
        it is related to (``WhatId``), else its Opportunity's, else its Contact's
        (``WhoId``); None otherwise."""
        related = str(activity.get("WhatId") or "")
        if related[:3] == PREFIXES["Account"]:
            return related
        records = org["records"]
        for sobject, record_id in (("Opportunity", related), ("Contact", activity.get("WhoId"))):
            if str(record_id or "")[:3] != PREFIXES[sobject]:
                continue
            found = next(
                (r for r in records[sobject].values() if r["Id"][:15] == str(record_id)[:15]),
                None,
            )
            if found is not None:
                return found.get("AccountId")
        return None

    def load(self, data: dict[str, Any]) -> None:
        """A saved state; objects added to the emulator since it was saved start empty."""
        super().load(data)
        for org in self.state.get("orgs", {}).values():
            for sobject in STANDARD_FIELDS:
                org["records"].setdefault(sobject, {})
            for sobject in WRITABLE:
                org["deleted"].setdefault(sobject, [])

    def failure(self, code: str, message: str, fields: list[str]) -> dict[str, Any]:
        return {
            "success": False,
            "errors": [{"statusCode": code, "message": message, "fields": fields}],
        }

    def attributes(self, sobject: str, record_id: str, version: str) -> dict[str, str]:
        return {"type": sobject, "url": f"/services/data/{version}/sobjects/{sobject}/{record_id}"}
