"""Emulator of the Salesforce subset the connector uses (mounted at /salesforce).

- OAuth 2.0 web-server flow on the login hosts: ``/services/oauth2/authorize`` (the user
  "logs in and allows" at once and is redirected back with a code),
  ``/services/oauth2/token`` (authorization_code and refresh_token grants),
  ``/services/oauth2/revoke`` and the identity URL ``/id/{org}/{user}``. Production orgs
  log in at the root, sandbox orgs under ``/test`` (Salesforce's test.salesforce.com).
- REST ``/services/data/vXX.X/``: describe, SOQL query with ``nextRecordsUrl`` paging
  (``Sforce-Query-Options: batchSize``, 200..2000), the deleted-records feed, and sObject
  Collections create / update / delete with per-record errors.
- ``Sforce-Limit-Info: api-usage=N/M`` on every REST answer; past the daily allowance,
  403 ``REQUEST_LIMIT_EXCEEDED``.

Facts from ../shared/apis (section 1) are followed as written. UNCONFIRMED choices, once:
- an unknown or read-only field in a Collections record is a per-record error
  (``INVALID_FIELD`` / ``INVALID_FIELD_FOR_INSERT_UPDATE``), not a 400 for the call;
- a lookup to a missing record is ``INVALID_CROSS_REFERENCE_KEY``, updating a deleted
  record ``ENTITY_IS_DELETED``;
- the delete log reaches back 15 days; ``start`` older than 30 days is
  ``INVALID_REPLICATION_DATE``.

State is plain JSON: ``{"seq", "apps", "codes", "browser", "orgs": {orgId: {...}}}``;
record fields are stored as on the wire (datetimes as ``2024-01-31T10:00:00.000+0000``).
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from connectors.salesforce import soql
from connectors.sandbox import Emulator, RateLimits, SandboxRequest, SandboxResponse, route
from connectors.sandbox.synthetic import Person, people

MOUNT = "/salesforce"
VERSIONS = ("58.0", "59.0", "60.0", "61.0", "62.0")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ID_RE = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")
DELETE_LOG_DAYS = 15
REPLICATION_DAYS = 30
CODE_SECONDS = 900
COUNTRY_NAMES = {
    "DE": "Germany",
    "PL": "Poland",
    "FR": "France",
    "IT": "Italy",
    "DK": "Denmark",
    "PT": "Portugal",
    "BE": "Belgium",
    "CH": "Switzerland",
}
PREFIXES = {"Account": "001", "Contact": "003", "Lead": "00Q", "User": "005", "Org": "00D"}
LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted")
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
# The demo tenant's org: fixed ids and tokens (sandbox-only values, not secrets).
DEMO_ORG = {
    "org": "00Ddemo0000000001",
    "token": "sandbox-demo-salesforce",
    "client_id": "sandbox-demo-client",
    "client_secret": "sandbox-demo-secret",
}


def _field(
    name: str,
    kind: str = "string",
    label: str = "",
    *,
    length: int = 0,
    nillable: bool = True,
    createable: bool = True,
    updateable: bool = True,
    defaulted: bool = False,
    picklist: tuple[str, ...] = (),
    restricted: bool = False,
    reference: str = "",
    custom: bool = False,
) -> dict[str, Any]:
    """One describe ``fields[]`` entry."""
    lengths = {"string": 80, "email": 80, "phone": 40, "url": 255, "textarea": 32000}
    return {
        "name": name,
        "label": label or re.sub(r"(?<!^)(?=[A-Z])", " ", name.removesuffix("__c")),
        "type": kind,
        "length": length or lengths.get(kind, 0),
        "nillable": nillable,
        "createable": createable,
        "updateable": updateable,
        "defaultedOnCreate": defaulted,
        "custom": custom,
        "unique": False,
        "externalId": False,
        "restrictedPicklist": restricted,
        "picklistValues": [
            {"value": v, "label": v, "active": True, "defaultValue": i == 0 and defaulted}
            for i, v in enumerate(picklist)
        ],
        "referenceTo": [reference] if reference else [],
        "relationshipName": name[:-2] if reference and name.endswith("Id") else None,
    }


def _system_fields() -> list[dict[str, Any]]:
    ro = {"createable": False, "updateable": False, "nillable": False, "defaulted": True}
    return [
        _field("Id", "id", "Record ID", **ro),
        _field("IsDeleted", "boolean", "Deleted", **ro),
        _field("CreatedDate", "datetime", "Created Date", **ro),
        _field("LastModifiedDate", "datetime", "Last Modified Date", **ro),
        _field("SystemModstamp", "datetime", "System Modstamp", **ro),
    ]


def _person_fields(address: str) -> list[dict[str, Any]]:
    return [
        _field("FirstName", length=40),
        _field("LastName", nillable=False),
        _field("Email", "email"),
        _field("Phone", "phone"),
        _field("MobilePhone", "phone", "Mobile Phone"),
        _field("Title", length=128),
        _field(f"{address}Street", "textarea", length=255),
        _field(f"{address}City", length=40),
        _field(f"{address}PostalCode", length=20),
        _field(f"{address}State", length=80),
        _field(f"{address}Country", length=80),
        _field("Description", "textarea"),
        _field("LeadSource", "picklist", "Lead Source", picklist=LEAD_SOURCES),
        _field("HasOptedOutOfEmail", "boolean", "Email Opt Out", nillable=False, defaulted=True),
        _field(
            "OwnerId", "reference", "Owner ID", nillable=False, defaulted=True, reference="User"
        ),
    ]


STANDARD_FIELDS: dict[str, list[dict[str, Any]]] = {
    "Contact": [
        *_system_fields(),
        *_person_fields("Mailing"),
        _field("Department", length=80),
        _field("AccountId", "reference", "Account ID", reference="Account"),
    ],
    "Lead": [
        *_system_fields(),
        *_person_fields(""),
        _field("Company", nillable=False, length=255),
        _field(
            "Status",
            "picklist",
            "Lead Status",
            nillable=False,
            defaulted=True,
            picklist=LEAD_STATUSES,
            restricted=True,
        ),
        _field(
            "IsConverted",
            "boolean",
            "Converted",
            createable=False,
            updateable=False,
            defaulted=True,
        ),
    ],
    "Account": [
        *_system_fields(),
        _field("Name", nillable=False, length=255),
        _field(
            "OwnerId", "reference", "Owner ID", nillable=False, defaulted=True, reference="User"
        ),
    ],
    "User": [
        *_system_fields(),
        _field("Username", createable=False, updateable=False),
        _field("Name", createable=False, updateable=False),
        _field("Email", "email", createable=False, updateable=False),
        _field("IsActive", "boolean", createable=False, updateable=False),
    ],
}
LABELS = {"Account": "Account", "Contact": "Contact", "Lead": "Lead", "User": "User"}
WRITABLE = ("Account", "Contact", "Lead")


def wire_time(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_wire(value: str) -> datetime:
    text = value.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def with_checksum(id15: str) -> str:
    """The 18-character id: Salesforce's case-encoding suffix of a 15-character id."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    suffix = ""
    for chunk in range(3):
        bits = 0
        for i, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << i
        suffix += alphabet[bits]
    return id15 + suffix


class SalesforceEmulator(Emulator):
    """Salesforce orgs: users, Contacts, Leads, Accounts, OAuth tokens, API usage."""

    vendor = "salesforce"
    # Long-running concurrent requests per org (≥20 s: 25); the daily allowance is
    # enforced per org through Sforce-Limit-Info, not here.
    rate_limits = RateLimits(parallel=25)

    def reset(self) -> None:
        self.state = {"seq": 0, "apps": {}, "codes": {}, "browser": None, "orgs": {}}

    # --- Helpers.

    def now(self) -> float:
        return round(time.time(), 3)

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

    def oauth_error(self, error: str, description: str, status: int = 400) -> SandboxResponse:
        return SandboxResponse.json({"error": error, "error_description": description}, status)

    def host_url(self, request: SandboxRequest) -> str:
        return f"http://{request.header('host') or '127.0.0.1'}{MOUNT}"

    def authenticate(self, request: SandboxRequest) -> tuple[dict[str, Any], dict[str, Any]]:
        """(org, user) of the Bearer token; 401 INVALID_SESSION_ID otherwise. Counts the
        call against the org's daily allowance (403 when it is spent)."""
        header = request.header("authorization")
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else ""
        for org in self.state["orgs"].values():
            user_id = org["sessions"].get(token) if token else None
            if user_id:
                if org["api"]["used"] >= org["api"]["max"]:
                    raise self.fail(
                        403, "TotalRequests Limit exceeded.", code="REQUEST_LIMIT_EXCEEDED"
                    )
                org["api"]["used"] += 1
                return org, org["records"]["User"][user_id]
        raise self.fail(401, "Session expired or invalid", code="INVALID_SESSION_ID")

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

    # --- OAuth (login hosts).

    def _authorize(self, request: SandboxRequest, instance: str) -> SandboxResponse:
        client_id = request.arg("client_id") or ""
        redirect_uri = request.arg("redirect_uri") or ""
        if client_id not in self.state["apps"]:
            return self.oauth_error("invalid_client_id", "client identifier invalid")
        if request.arg("response_type") != "code" or not redirect_uri:
            return self.oauth_error("unsupported_response_type", "response type not supported")
        org, user = self.browser_user(instance, request.arg("login_hint"))
        back: dict[str, str] = {}
        if org is None or user is None:
            back = {"error": "access_denied", "error_description": "no such user on this host"}
        else:
            code = secrets.token_urlsafe(24)
            self.state["codes"][code] = {
                "org": org["orgId"],
                "user": user["Id"],
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "expires": self.now() + CODE_SECONDS,
            }
            back = {"code": code}
        if request.arg("state"):
            back["state"] = request.arg("state") or ""
        separator = "&" if "?" in redirect_uri else "?"
        return SandboxResponse(
            status=302, headers={"Location": redirect_uri + separator + urlencode(back)}
        )

    def browser_user(
        self, instance: str, hint: str | None
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """Who is logged in at the login page: ``login_hint``, else the user set with the
        ``login`` action, else the newest org's admin, of orgs of this ``instance``."""
        wanted = hint or self.state["browser"]
        orgs = [o for o in self.state["orgs"].values() if o["instance"] == instance]
        for org in reversed(orgs):
            for user in org["records"]["User"].values():
                if wanted and wanted in (user["Username"], user["Id"]):
                    return org, user
        if orgs and not wanted:
            org = orgs[-1]
            return org, org["records"]["User"][org["admin"]]
        return None, None

    def _token(self, request: SandboxRequest, instance: str) -> SandboxResponse:
        form = dict(request.query)
        if request.body:
            from urllib.parse import parse_qsl

            form.update(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        client_id = form.get("client_id", "")
        app = self.state["apps"].get(client_id)
        if app is None:
            return self.oauth_error("invalid_client_id", "client identifier invalid")
        if form.get("client_secret") and form.get("client_secret") != app["secret"]:
            return self.oauth_error("invalid_client", "invalid client credentials")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            if form.get("client_secret") != app["secret"]:
                return self.oauth_error("invalid_client", "invalid client credentials")
            found = self.redeem_code(form, client_id)
            if found is None:
                return self.oauth_error("invalid_grant", "authentication failure")
            org = self.state["orgs"][found["org"]]
            if org["instance"] != instance:
                return self.oauth_error("invalid_grant", "authentication failure")
            refresh = secrets.token_urlsafe(32)
            org["refresh_tokens"][refresh] = found["user"]
            return self.token_response(request, org, found["user"], refresh)
        if grant == "refresh_token":
            for org in self.state["orgs"].values():
                user_id = org["refresh_tokens"].get(form.get("refresh_token", ""))
                if user_id and org["instance"] == instance:
                    return self.token_response(request, org, user_id, None)
            return self.oauth_error("invalid_grant", "expired access/refresh token")
        return self.oauth_error("unsupported_grant_type", "grant type not supported")

    def token_response(
        self, request: SandboxRequest, org: dict[str, Any], user_id: str, refresh: str | None
    ) -> SandboxResponse:
        access = f"{org['orgId']}!{secrets.token_urlsafe(32)}"
        org["sessions"][access] = user_id
        issued = str(int(self.now() * 1000))
        body = {
            "access_token": access,
            "instance_url": self.host_url(request),
            "id": f"{self.host_url(request)}/id/{org['orgId']}/{user_id}",
            "token_type": "Bearer",
            "issued_at": issued,
            "signature": secrets.token_urlsafe(32),
            "scope": "api refresh_token id",
        }
        if refresh:
            body["refresh_token"] = refresh
        return SandboxResponse.json(body)

    def _revoke(self, request: SandboxRequest) -> SandboxResponse:
        from urllib.parse import parse_qsl

        token = dict(parse_qsl(request.body.decode("utf-8"))).get("token") or request.arg("token")
        for org in self.state["orgs"].values():
            user_id = org["refresh_tokens"].pop(token or "", None)
            if user_id:
                # Revoking a refresh token ends the sessions it issued as well.
                org["sessions"] = {k: v for k, v in org["sessions"].items() if v != user_id}
                return SandboxResponse.empty(200)
            if org["sessions"].pop(token or "", None):
                return SandboxResponse.empty(200)
        return self.oauth_error("unsupported_token_type", "this token type is not supported")

    # https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm
    @route("GET", "/services/oauth2/authorize")
    def authorize(self, request: SandboxRequest) -> SandboxResponse:
        return self._authorize(request, "production")

    @route("GET", "/test/services/oauth2/authorize")
    def authorize_sandbox(self, request: SandboxRequest) -> SandboxResponse:
        return self._authorize(request, "sandbox")

    @route("POST", "/services/oauth2/token")
    def token(self, request: SandboxRequest) -> SandboxResponse:
        return self._token(request, "production")

    @route("POST", "/test/services/oauth2/token")
    def token_sandbox(self, request: SandboxRequest) -> SandboxResponse:
        return self._token(request, "sandbox")

    @route("POST", "/services/oauth2/revoke")
    def revoke(self, request: SandboxRequest) -> SandboxResponse:
        return self._revoke(request)

    @route("POST", "/test/services/oauth2/revoke")
    def revoke_sandbox(self, request: SandboxRequest) -> SandboxResponse:
        return self._revoke(request)

    @route("GET", "/id/{org_id}/{user_id}")
    def identity(self, request: SandboxRequest, org_id: str, user_id: str) -> SandboxResponse:
        token = request.arg("access_token") or request.header("authorization")[len("Bearer ") :]
        org = self.state["orgs"].get(org_id)
        if org is None or org["sessions"].get(token) != user_id:
            return SandboxResponse(status=403, body=b"Bad_OAuth_Token")
        user = org["records"]["User"][user_id]
        first, _, last = user["Name"].partition(" ")
        return SandboxResponse.json(
            {
                "id": f"{self.host_url(request)}/id/{org_id}/{user_id}",
                "user_id": user_id,
                "organization_id": org_id,
                "username": user["Username"],
                "email": user["Email"],
                "display_name": user["Name"],
                "first_name": first,
                "last_name": last,
                "active": True,
                "user_type": "STANDARD",
            }
        )

    # --- REST: versions, describe.

    @route("GET", "/services/data")
    def versions(self, request: SandboxRequest) -> SandboxResponse:
        # Does not count toward the limits, needs no session.
        return SandboxResponse.json(
            [{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in VERSIONS]
        )

    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_describeGlobal.htm
    @route("GET", "/services/data/{version}/sobjects")
    def describe_global(self, request: SandboxRequest, version: str) -> SandboxResponse:
        org, _user = self.authenticate(request)
        sobjects = [
            {
                "name": name,
                "label": LABELS[name],
                "custom": False,
                "queryable": True,
                "createable": name in WRITABLE,
                "updateable": name in WRITABLE,
                "deletable": name in WRITABLE,
                "replicateable": True,
                "urls": {"describe": f"/services/data/{version}/sobjects/{name}/describe"},
            }
            for name in STANDARD_FIELDS
        ]
        return self.ok(org, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects})

    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm
    @route("GET", "/services/data/{version}/sobjects/{sobject}/describe")
    def describe(self, request: SandboxRequest, version: str, sobject: str) -> SandboxResponse:
        org, _user = self.authenticate(request)
        fields = self.describe_fields(org, sobject)
        return self.ok(
            org,
            {
                "name": sobject,
                "label": LABELS[sobject],
                "custom": False,
                "createable": sobject in WRITABLE,
                "fields": fields,
                "urls": {"sobject": f"/services/data/{version}/sobjects/{sobject}"},
            },
        )

    # --- REST: query.

    # https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query.md
    @route("GET", "/services/data/{version}/query")
    def query(self, request: SandboxRequest, version: str) -> SandboxResponse:
        org, _user = self.authenticate(request)
        text = request.arg("q") or ""
        try:
            parsed = soql.parse(text)
        except soql.SoqlError as exc:
            raise self.fail(400, f"unexpected token: {exc}", code="MALFORMED_QUERY") from exc
        rows = self.evaluate(org, parsed)
        batch = 2000
        options = request.header("sforce-query-options")
        match = re.search(r"batchSize=(\d+)", options)
        if match:
            batch = max(200, min(2000, int(match.group(1))))
        locator = {
            "sobject": parsed.sobject,
            "fields": parsed.fields,
            "ids": [r["Id"] for r in rows],
            "batch": batch,
        }
        return self.ok(org, self.query_page(org, version, locator, 0))

    @route("GET", "/services/data/{version}/query/{locator}")
    def query_more(self, request: SandboxRequest, version: str, locator: str) -> SandboxResponse:
        org, _user = self.authenticate(request)
        key, _, offset = locator.rpartition("-")
        found = org["locators"].get(key)
        if found is None or not offset.isdigit():
            raise self.fail(400, "invalid query locator", code="INVALID_QUERY_LOCATOR")
        return self.ok(org, self.query_page(org, version, found, int(offset), key))

    def query_page(
        self, org: dict[str, Any], version: str, locator: dict[str, Any], offset: int, key: str = ""
    ) -> dict[str, Any]:
        """One batch of a query; the ids were fixed when the query ran (a query locator
        is a snapshot of the result set), the values are read now."""
        ids = locator["ids"]
        chunk = ids[offset : offset + locator["batch"]]
        table = org["records"][locator["sobject"]]
        records = [
            self.render(org, locator["sobject"], table[i], locator["fields"], version)
            for i in chunk
            if i in table
        ]
        done = offset + len(chunk) >= len(ids)
        body: dict[str, Any] = {"totalSize": len(ids), "done": done, "records": records}
        if not done:
            if not key:
                key = f"01g5g{secrets.token_hex(6)}"
                org["locators"][key] = locator
                # Keep the newest locators only (Salesforce expires idle ones).
                for old in list(org["locators"])[:-20]:
                    del org["locators"][old]
            body["nextRecordsUrl"] = f"/services/data/{version}/query/{key}-{offset + len(chunk)}"
        elif key:
            org["locators"].pop(key, None)
        return body

    def evaluate(self, org: dict[str, Any], query: soql.Query) -> list[dict[str, Any]]:
        if query.sobject not in org["records"]:
            raise self.fail(
                400, f"sObject type '{query.sobject}' is not supported.", code="INVALID_TYPE"
            )
        fields = self.field_map(org, query.sobject)
        for name in [*query.fields, *(c.field for c in query.where), *(o for o, _ in query.order)]:
            self.check_column(org, query.sobject, fields, name)
        records = list(org["records"][query.sobject].values())
        by_id = next((c for c in query.where if c.field == "Id" and c.op == "IN"), None)
        if by_id is not None:  # Id is indexed, as in Salesforce: a superset, then exact
            wanted = {str(v)[:15].lower() for v in by_id.value}
            records = [r for r in records if str(r.get("Id", ""))[:15].lower() in wanted]
        rows = [
            r for r in records if all(self.holds(org, query.sobject, r, c) for c in query.where)
        ]
        for name, descending in reversed(query.order):
            rows.sort(
                key=lambda r, n=name: self.sort_key(org, query.sobject, r, n), reverse=descending
            )
        return rows[: query.limit] if query.limit is not None else rows

    def check_column(
        self, org: dict[str, Any], sobject: str, fields: dict[str, Any], name: str
    ) -> None:
        head, _, rest = name.partition(".")
        if rest:
            ref = next((f for f in fields.values() if f.get("relationshipName") == head), None)
            if ref is None or rest not in self.field_map(org, ref["referenceTo"][0]):
                raise self.fail(
                    400, f"Didn't understand relationship '{head}'", code="INVALID_FIELD"
                )
        elif name not in fields:
            raise self.fail(
                400, f"No such column '{name}' on entity '{sobject}'", code="INVALID_FIELD"
            )

    def value(self, org: dict[str, Any], sobject: str, record: dict[str, Any], name: str) -> Any:
        head, _, rest = name.partition(".")
        if not rest:
            return record.get(name)
        ref = self.field_map(org, sobject)[f"{head}Id"]
        parent = org["records"][ref["referenceTo"][0]].get(record.get(f"{head}Id") or "")
        return parent.get(rest) if parent else None

    def sort_key(self, org: dict[str, Any], sobject: str, record: dict[str, Any], name: str) -> Any:
        value = self.value(org, sobject, record, name)
        # Nulls first, as Salesforce's default ASC NULLS FIRST.
        return (value is not None, str(value).lower() if isinstance(value, str) else value or 0)

    def holds(
        self, org: dict[str, Any], sobject: str, record: dict[str, Any], cond: soql.Condition
    ) -> bool:
        actual = self.value(org, sobject, record, cond.field)
        if cond.op in ("IN", "NOT IN"):
            found = any(self.equal(actual, v) for v in cond.value)
            return found if cond.op == "IN" else not found
        if cond.op == "LIKE":
            pattern = re.escape(str(cond.value)).replace("%", ".*").replace("_", ".")
            return actual is not None and re.fullmatch(pattern, str(actual), re.I) is not None
        if cond.op == "=":
            return self.equal(actual, cond.value)
        if cond.op == "!=":
            return not self.equal(actual, cond.value)
        if actual is None or cond.value is None:
            return False
        left, right = self.comparable(actual, cond.value)
        return {
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
        }[cond.op]

    def comparable(self, actual: Any, expected: Any) -> tuple[Any, Any]:
        if isinstance(expected, datetime):
            return parse_wire(str(actual)), expected
        if isinstance(expected, date):
            return date.fromisoformat(str(actual)[:10]), expected
        if isinstance(expected, str):
            return str(actual).lower(), expected.lower()
        return actual, expected

    def equal(self, actual: Any, expected: Any) -> bool:
        if expected is None or actual is None:
            return actual is expected
        if isinstance(expected, str) and isinstance(actual, str):
            # SOQL string comparison is case-insensitive; ids compare on their first 15.
            if ID_RE.match(expected) and ID_RE.match(actual):
                return actual[:15] == expected[:15]
            return actual.lower() == expected.lower()
        left, right = self.comparable(actual, expected)
        return bool(left == right)

    def render(
        self,
        org: dict[str, Any],
        sobject: str,
        record: dict[str, Any],
        fields: list[str],
        version: str,
    ) -> dict[str, Any]:
        row: dict[str, Any] = {"attributes": self.attributes(sobject, record["Id"], version)}
        for name in fields:
            head, _, rest = name.partition(".")
            if not rest:
                row[name] = record.get(name)
                continue
            ref = self.field_map(org, sobject)[f"{head}Id"]["referenceTo"][0]
            parent = org["records"][ref].get(record.get(f"{head}Id") or "")
            if parent is None:
                row[head] = None
                continue
            nested = row.get(head) or {"attributes": self.attributes(ref, parent["Id"], version)}
            nested[rest] = parent.get(rest)
            row[head] = nested
        return row

    def attributes(self, sobject: str, record_id: str, version: str) -> dict[str, str]:
        return {"type": sobject, "url": f"/services/data/{version}/sobjects/{sobject}/{record_id}"}

    # --- REST: deleted records.

    # https://developer.salesforce.com/docs/platform/api-rest/guide/resources-getdeleted.md
    @route("GET", "/services/data/{version}/sobjects/{sobject}/deleted")
    def deleted(self, request: SandboxRequest, version: str, sobject: str) -> SandboxResponse:
        org, _user = self.authenticate(request)
        if sobject not in WRITABLE:
            raise self.fail(404, f"The requested resource does not exist: {sobject}")
        try:
            start = parse_wire(request.arg("start") or "").replace(second=0, microsecond=0)
            end = parse_wire(request.arg("end") or "").replace(second=0, microsecond=0)
        except ValueError as exc:
            raise self.fail(
                400, "start and end must be ISO datetimes", code="INVALID_DATE"
            ) from exc
        now = datetime.fromtimestamp(self.now(), UTC)
        if start < now - timedelta(days=REPLICATION_DAYS) or end < start:
            raise self.fail(
                400, "startDate must be within the last 30 days", code="INVALID_REPLICATION_DATE"
            )
        earliest = max(
            datetime.fromtimestamp(org["delete_log_since"], UTC),
            now - timedelta(days=DELETE_LOG_DAYS),
        )
        covered = min(end, now.replace(second=0, microsecond=0))
        rows = [
            {"id": d["id"], "deletedDate": d["deletedDate"]}
            for d in org["deleted"][sobject]
            if start <= parse_wire(d["deletedDate"]) < covered + timedelta(minutes=1)
        ]
        return self.ok(
            org,
            {
                "deletedRecords": rows,
                "earliestDateAvailable": wire_time(earliest.timestamp()),
                "latestDateCovered": wire_time(covered.timestamp()),
            },
        )

    # --- REST: sObject Collections.

    # https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-create.html
    @route("POST", "/services/data/{version}/composite/sobjects")
    def collection_create(self, request: SandboxRequest, version: str) -> SandboxResponse:
        org, user = self.authenticate(request)
        records = self.collection_body(request)
        results = []
        for item in records:
            sobject = (item.get("attributes") or {}).get("type")
            if "Id" in item or "id" in item:
                results.append(self.failure("INVALID_FIELD", "Id is not allowed on create", ["Id"]))
                continue
            results.append(self.write(org, user, sobject, None, item))
        return self.ok(org, results)

    # https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-update.html
    @route("PATCH", "/services/data/{version}/composite/sobjects")
    def collection_update(self, request: SandboxRequest, version: str) -> SandboxResponse:
        org, user = self.authenticate(request)
        results = []
        for item in self.collection_body(request):
            sobject = (item.get("attributes") or {}).get("type")
            record_id = str(item.get("id") or item.get("Id") or "")
            results.append(self.write(org, user, sobject, record_id, item))
        return self.ok(org, results)

    # https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-delete.html
    @route("DELETE", "/services/data/{version}/composite/sobjects")
    def collection_delete(self, request: SandboxRequest, version: str) -> SandboxResponse:
        org, _user = self.authenticate(request)
        ids = [i for i in (request.arg("ids") or "").split(",") if i]
        if not ids or len(ids) > 200:
            raise self.fail(400, "ids: between 1 and 200 ids", code="INVALID_FIELD")
        results = []
        for record_id in ids:
            if not ID_RE.match(record_id):
                results.append(self.failure("MALFORMED_ID", f"malformed id {record_id}", []))
                continue
            sobject, found = self.locate_id(org, record_id)
            if found is None or sobject is None:
                gone = any(
                    d["id"][:15] == record_id[:15] for log in org["deleted"].values() for d in log
                )
                code = "ENTITY_IS_DELETED" if gone else "INVALID_CROSS_REFERENCE_KEY"
                results.append(self.failure(code, "entity is deleted", []))
                continue
            self.remove(org, sobject, found["Id"])
            results.append({"id": found["Id"], "success": True, "errors": []})
        return self.ok(org, results)

    def collection_body(self, request: SandboxRequest) -> list[dict[str, Any]]:
        try:
            body = request.json() or {}
        except ValueError as exc:
            raise self.fail(400, "body is not JSON", code="JSON_PARSER_ERROR") from exc
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not records or len(records) > 200:
            raise self.fail(400, "records: between 1 and 200 records", code="INVALID_FIELD")
        if body.get("allOrNone"):
            # The connector never asks for it; refusing keeps the emulator honest.
            raise self.fail(400, "allOrNone=true is not emulated", code="INVALID_FIELD")
        return [r for r in records if isinstance(r, dict)]

    def failure(self, code: str, message: str, fields: list[str]) -> dict[str, Any]:
        return {
            "success": False,
            "errors": [{"statusCode": code, "message": message, "fields": fields}],
        }

    def locate_id(
        self, org: dict[str, Any], record_id: str
    ) -> tuple[str | None, dict[str, Any] | None]:
        for sobject in WRITABLE:
            for candidate in org["records"][sobject].values():
                if candidate["Id"][:15] == record_id[:15]:
                    return sobject, candidate
        return None, None

    def write(
        self,
        org: dict[str, Any],
        user: dict[str, Any],
        sobject: str | None,
        record_id: str | None,
        item: dict[str, Any],
    ) -> dict[str, Any]:
        """Create (``record_id`` None) or update one record; a per-record result."""
        if sobject not in WRITABLE:
            return self.failure("INVALID_TYPE", f"attributes.type {sobject!r} is not valid", [])
        fields = self.field_map(org, sobject)
        values = {k: v for k, v in item.items() if k not in ("attributes", "id", "Id")}
        current: dict[str, Any] | None = None
        if record_id is not None:
            if not ID_RE.match(record_id):
                return self.failure("MALFORMED_ID", f"malformed id {record_id}", ["Id"])
            current = next(
                (r for r in org["records"][sobject].values() if r["Id"][:15] == record_id[:15]),
                None,
            )
            if current is None:
                return self.failure("ENTITY_IS_DELETED", "entity is deleted", [])
            if current.get("IsConverted"):
                return self.failure(
                    "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", []
                )
        problem = self.validate(org, sobject, fields, values, current is None)
        if problem:
            return problem
        merged = {**(current or {}), **values}
        required = [
            name
            for name, spec in fields.items()
            if spec["createable"] and not spec["nillable"] and not spec["defaultedOnCreate"]
        ]
        missing = [name for name in required if merged.get(name) in (None, "")]
        if missing:
            return self.failure(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        stamp = wire_time(self.now())
        if current is None:
            record = self.blank(sobject, fields, user["Id"], stamp)
            record.update(values)
            org["records"][sobject][record["Id"]] = record
        else:
            record = current
            record.update(values)
        record["LastModifiedDate"] = record["SystemModstamp"] = stamp
        return {"id": record["Id"], "success": True, "errors": []}

    def validate(
        self,
        org: dict[str, Any],
        sobject: str,
        fields: dict[str, dict[str, Any]],
        values: dict[str, Any],
        creating: bool,
    ) -> dict[str, Any] | None:
        for name, value in values.items():
            spec = fields.get(name)
            if spec is None:
                return self.failure(
                    "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}", [name]
                )
            if not spec["createable" if creating else "updateable"]:
                return self.failure(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {name}.",
                    [name],
                )
            if value is None or value == "":
                if not spec["nillable"] and not (creating and spec["defaultedOnCreate"]):
                    return self.failure(
                        "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{name}]", [name]
                    )
                values[name] = None
                continue
            kind = spec["type"]
            if kind == "boolean":
                if not isinstance(value, bool):
                    return self.failure(
                        "INVALID_TYPE_ON_FIELD_IN_RECORD",
                        f"{name}: value not of required type",
                        [name],
                    )
                continue
            if kind in ("double", "currency", "percent", "int"):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    return self.failure(
                        "INVALID_TYPE_ON_FIELD_IN_RECORD",
                        f"{name}: value not of required type",
                        [name],
                    )
                continue
            if not isinstance(value, str):
                return self.failure(
                    "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{name}: value not of required type", [name]
                )
            if spec["length"] and len(value) > spec["length"]:
                return self.failure(
                    "STRING_TOO_LONG",
                    f"{spec['label']}: data value too large: {value[:20]} "
                    f"(max length={spec['length']})",
                    [name],
                )
            if kind == "email" and not EMAIL_RE.match(value):
                return self.failure(
                    "INVALID_EMAIL_ADDRESS",
                    f"{spec['label']}: invalid email address: {value}",
                    [name],
                )
            if kind == "picklist" and spec["restrictedPicklist"]:
                allowed = {p["value"] for p in spec["picklistValues"]}
                if value not in allowed:
                    return self.failure(
                        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        f"{spec['label']}: bad value for restricted picklist field: {value}",
                        [name],
                    )
            if kind == "date":
                try:
                    date.fromisoformat(value)
                except ValueError:
                    return self.failure(
                        "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{name}: not a date", [name]
                    )
            if kind == "reference":
                target = spec["referenceTo"][0]
                if not any(r["Id"][:15] == value[:15] for r in org["records"][target].values()):
                    return self.failure(
                        "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id {value}", [name]
                    )
        return None

    def blank(
        self, sobject: str, fields: dict[str, dict[str, Any]], owner: str, stamp: str
    ) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for name, spec in fields.items():
            record[name] = False if spec["type"] == "boolean" else None
        record.update(
            {
                "Id": self.new_id(sobject),
                "IsDeleted": False,
                "CreatedDate": stamp,
                "LastModifiedDate": stamp,
                "SystemModstamp": stamp,
            }
        )
        if "OwnerId" in fields:
            record["OwnerId"] = owner
        if sobject == "Lead":
            record["Status"] = LEAD_STATUSES[0]
        return record

    def remove(self, org: dict[str, Any], sobject: str, record_id: str) -> None:
        del org["records"][sobject][record_id]
        org["deleted"][sobject].append({"id": record_id, "deletedDate": wire_time(self.now())})

    # --- Control API.

    def create_account(
        self,
        name: str = "Sandbox org",
        instance: str = "production",
        client_id: str | None = None,
        client_secret: str | None = None,
        api_max: int = 15_000,
        custom_fields: dict[str, list[dict[str, Any]]] | None = None,
        users: list[dict[str, str]] | None = None,
        org_id: str | None = None,
        access_token: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """A new org with its admin user (authorized: a session and a refresh token),
        optional extra users and custom fields, and a connected app (``client_id``)."""
        if instance not in ("production", "sandbox"):
            raise ValueError("instance is production or sandbox")
        org_id = org_id or self.new_id("Org")
        slug = re.sub(r"\W+", "", name.lower())[:20] or "org"
        org: dict[str, Any] = {
            "orgId": org_id,
            "name": name,
            "instance": instance,
            "api": {"used": 0, "max": int(api_max)},
            "sessions": {},
            "refresh_tokens": {},
            "records": {sobject: {} for sobject in STANDARD_FIELDS},
            "deleted": {sobject: [] for sobject in WRITABLE},
            "delete_log_since": self.now() - DELETE_LOG_DAYS * 86400,
            "custom_fields": {},
            "locators": {},
            "admin": "",
        }
        self.state["orgs"][org_id] = org
        for sobject, specs in (custom_fields or {}).items():
            for spec in specs:
                self.add_custom_field(org, sobject, **spec)
        stamp = wire_time(self.now())
        people_list = [
            {"name": f"Admin {name}", "email": f"admin@{slug}.example.com"},
            *(users or []),
        ]
        for index, person in enumerate(people_list):
            user_id = self.new_id("User")
            org["records"]["User"][user_id] = {
                "Id": user_id,
                "IsDeleted": False,
                "CreatedDate": stamp,
                "LastModifiedDate": stamp,
                "SystemModstamp": stamp,
                "Username": person.get("username") or f"{person['email']}.{slug}",
                "Name": person["name"],
                "Email": person["email"],
                "IsActive": person.get("active", True) is not False,
            }
            if index == 0:
                org["admin"] = user_id
        access = access_token or f"{org_id}!{secrets.token_urlsafe(32)}"
        org["sessions"][access] = org["admin"]
        refresh = secrets.token_urlsafe(32)
        org["refresh_tokens"][refresh] = org["admin"]
        client_id = client_id or f"sandbox-client-{secrets.token_hex(8)}"
        client_secret = client_secret or secrets.token_hex(16)
        self.state["apps"][client_id] = {"secret": client_secret}
        admin = org["records"]["User"][org["admin"]]
        return {
            "account_id": org_id,
            "instance": instance,
            "access_token": access,
            "refresh_token": refresh,
            "client_id": client_id,
            "client_secret": client_secret,
            "username": admin["Username"],
            "user_id": admin["Id"],
            "path": MOUNT,
            "login_path": MOUNT if instance == "production" else f"{MOUNT}/test",
        }

    def add_custom_field(
        self, org: dict[str, Any], sobject: str, name: str, type: str = "string", **options: Any
    ) -> dict[str, Any]:
        if not name.endswith("__c"):
            raise ValueError("custom field names end in __c")
        spec = _field(
            name,
            type,
            options.get("label", ""),
            length=int(options.get("length", 0)),
            picklist=tuple(options.get("picklist", ())),
            nillable=type != "boolean",
            defaulted=type == "boolean",
            custom=True,
        )
        org["custom_fields"].setdefault(sobject, []).append(spec)
        for record in org["records"][sobject].values():
            record.setdefault(name, False if type == "boolean" else None)
        return spec

    def find_org(self, ref: str | None) -> dict[str, Any]:
        for org in self.state["orgs"].values():
            if ref in (org["orgId"], org["name"]):
                return org
        raise KeyError(f"no Salesforce sandbox org {ref!r}")

    def seed(
        self, account: str, count: int, seed: int = 0, sobject: str = "Contact", **options: Any
    ) -> dict[str, Any]:
        """``count`` synthetic Contacts or Leads, created in the past; Contacts get an
        Account by their company's name."""
        org = self.find_org(account)
        if sobject not in ("Contact", "Lead"):
            raise ValueError("seed Contact or Lead")
        start = options.get("start")
        offset = len(org["records"][sobject]) if start is None else int(start)
        ids = [self.add_person(org, sobject, p) for p in people(count, seed, offset)]
        return {"ids": ids, "sobject": sobject}

    def add_person(self, org: dict[str, Any], sobject: str, person: Person) -> str:
        stamp = wire_time(self.now() - person.age_days * 86400)
        fields = self.field_map(org, sobject)
        record = self.blank(sobject, fields, org["admin"], stamp)
        address = "Mailing" if sobject == "Contact" else ""
        record.update(
            {
                "FirstName": person.first_name,
                "LastName": person.last_name,
                "Email": person.email,
                "Phone": person.phone,
                "Title": person.job_title,
                f"{address}City": person.city,
                f"{address}Country": COUNTRY_NAMES.get(person.country, person.country),
                "Description": person.notes or None,
            }
        )
        if sobject == "Lead":
            record["Company"] = person.company
        else:
            record["AccountId"] = self.account_named(org, person.company, stamp)
        org["records"][sobject][record["Id"]] = record
        return str(record["Id"])

    def account_named(self, org: dict[str, Any], name: str, stamp: str) -> str:
        for account in org["records"]["Account"].values():
            if account["Name"] == name:
                return str(account["Id"])
        record = self.blank("Account", self.field_map(org, "Account"), org["admin"], stamp)
        record["Name"] = name
        org["records"]["Account"][record["Id"]] = record
        return str(record["Id"])

    def demo(self) -> None:
        """The demo tenant's org (fixed id and session), with 25 Contacts."""
        if DEMO_ORG["org"] in self.state["orgs"]:
            return
        self.create_account(
            name="Demo org",
            org_id=DEMO_ORG["org"],
            access_token=DEMO_ORG["token"],
            client_id=DEMO_ORG["client_id"],
            client_secret=DEMO_ORG["client_secret"],
            custom_fields={"Contact": [{"name": "GRdeleted__c", "type": "boolean"}]},
        )
        org = self.state["orgs"][DEMO_ORG["org"]]
        for person in [*people(10, seed=424242), *people(15, seed=300, start=100)]:
            self.add_person(org, "Contact", person)

    def view(self, account: str | None = None) -> dict[str, Any]:
        """Orgs as tests read them: records per object (Contacts with ``Account.Name``),
        deleted ids, API usage."""
        selected = [self.find_org(account)] if account else list(self.state["orgs"].values())
        result = {}
        for org in selected:
            records: dict[str, list[dict[str, Any]]] = {}
            for sobject in WRITABLE:
                rows = []
                for record in org["records"][sobject].values():
                    row = dict(record)
                    if sobject == "Contact":
                        parent = org["records"]["Account"].get(record.get("AccountId") or "")
                        row["Account.Name"] = parent["Name"] if parent else None
                    rows.append(row)
                records[sobject] = rows
            result[org["orgId"]] = {
                "name": org["name"],
                "instance": org["instance"],
                "api": dict(org["api"]),
                "records": records,
                "users": list(org["records"]["User"].values()),
                "deleted": {k: [d["id"] for d in v] for k, v in org["deleted"].items()},
            }
        return {"orgs": result}

    def locate(
        self, account: str, sobject: str, record: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        org = self.find_org(account)
        for candidate in org["records"][sobject].values():
            if record in (candidate["Id"], candidate.get("Email")):
                return org, candidate
        raise KeyError(f"no {sobject} {record!r}")

    def action_edit(
        self, account: str, record: str, sobject: str = "Contact", **changes: Any
    ) -> dict[str, Any]:
        """A user edits a record in Salesforce's app (``record``: id or email)."""
        org, found = self.locate(account, sobject, record)
        fields = self.field_map(org, sobject)
        unknown = set(changes) - set(fields)
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}")
        found.update(changes)
        found["LastModifiedDate"] = found["SystemModstamp"] = wire_time(self.now())
        return {"edited": found["Id"]}

    def action_create(
        self, account: str, sobject: str = "Contact", **fields: Any
    ) -> dict[str, Any]:
        """A user creates a record in Salesforce's app."""
        org = self.find_org(account)
        admin = org["records"]["User"][org["admin"]]
        result = self.write(org, admin, sobject, None, dict(fields))
        if not result["success"]:
            raise ValueError(str(result["errors"]))
        return {"id": result["id"]}

    def action_delete(self, account: str, record: str, sobject: str = "Contact") -> dict[str, Any]:
        """A user deletes a record in Salesforce's app (to the Recycle Bin)."""
        org, found = self.locate(account, sobject, record)
        self.remove(org, sobject, found["Id"])
        return {"deleted": found["Id"]}

    def action_expire_sessions(self, account: str) -> dict[str, Any]:
        """Every access token of the org expires (the session timeout passed)."""
        org = self.find_org(account)
        count = len(org["sessions"])
        org["sessions"] = {}
        return {"expired": count}

    def action_revoke(self, account: str) -> dict[str, Any]:
        """An admin revokes the connected app's access: refresh tokens and sessions."""
        org = self.find_org(account)
        count = len(org["refresh_tokens"])
        org["refresh_tokens"] = {}
        org["sessions"] = {}
        return {"revoked": count}

    def action_api_usage(self, account: str, used: int, max: int | None = None) -> dict[str, Any]:
        """Set the org's rolling 24-hour API usage (e.g. near its allowance)."""
        org = self.find_org(account)
        org["api"]["used"] = int(used)
        if max is not None:
            org["api"]["max"] = int(max)
        return dict(org["api"])

    def action_trim_delete_log(self, account: str) -> dict[str, Any]:
        """The Recycle Bin was emptied: the delete log starts now."""
        org = self.find_org(account)
        org["delete_log_since"] = self.now()
        for log in org["deleted"].values():
            log.clear()
        return {"earliest": wire_time(org["delete_log_since"])}

    def action_login(self, username: str | None = None) -> dict[str, Any]:
        """Who is logged in in the browser at the login page (None: the newest org's admin)."""
        self.state["browser"] = username
        return {"browser": username}

    def action_add_field(
        self, account: str, sobject: str, name: str, type: str = "string", **options: Any
    ) -> dict[str, Any]:
        """An admin adds a custom field in Setup."""
        return self.add_custom_field(self.find_org(account), sobject, name, type, **options)


EMULATOR = SalesforceEmulator
