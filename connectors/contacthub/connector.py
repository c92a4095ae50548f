"""Contacthub customers of one node as Records, and back.

Record fields are keyed by the customer JSON's paths: ``base.firstName``,
``base.contacts.email``, ``base.contacts.phone``, ``base.address.city``,
``base.jobs.companyName`` / ``base.jobs.jobTitle`` (the first job), ``base.dob``,
``base.locale``, ``extended.<name>`` (from the workspace's extended schema), ``tags``
(``tags.manual``, ours) and ``tags.auto`` (Contacthub's, read-only), and one bool
``subscription:<id>`` per subscription of the workspace. ``externalId`` holds the
create's idempotency key (Record.key): a create whose answer was lost is recognised.

Reads: without a cursor, the node's customers (GET /customers, 0-based pages of up to 50),
after taking ``last-offset`` so that changes made during the listing are read next time;
with a cursor (an offset), the ``/updates`` stream: creates, updates and deletes.
Writes: POST (a 409 names the existing customer: it is linked and PATCHed, never
duplicated), PATCH of the changed sections only, DELETE; a 423 (reindexing) is a
transient per-record error, retried by the next run.

Secret: ``token``; settings: ``workspace_id``, ``node_id`` (Settings -> Sources) and
``node_access``: what the source may do with the node under its *active nodes* ("read",
"write", or both when empty). A node the source may only read is synced one way, from
Contacthub, and one it may only write one way, into Contacthub: ``connection_problems``
refuses any other direction, and ``push`` refuses to write into a read-only node. The
API's address comes from Django's ``CONTACTHUB_API_URL`` (else Contactlab's, or the emulator
where sandboxes are on: connectors/endpoints.py), never from the tenant.

``connection_problems`` also applies the Contacthub <-> ContactSend source rules
(connectors/contactlab_rules.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

from connectors import contactlab_rules
from connectors.base import (
    AuthError,
    Capabilities,
    Change,
    Connector,
    ConnectorError,
    Credentials,
    FieldSpec,
    FieldType,
    Page,
    RateLimited,
    Record,
    RecordGone,
    Result,
    Scope,
)
from connectors.contacthub.client import DEFAULT_API_URL, MAX_PAGE_SIZE, ContacthubClient
from connectors.endpoints import vendor_api_url

if TYPE_CHECKING:
    from connectors.base import SetupReview
    from connectors.http import Http

SUBSCRIPTION = "subscription:"
EXTENDED = "extended."
JOB = "base.jobs."
# key -> (label, type, common key); the path below ``base`` is the key without "base.".
BASE_FIELDS: dict[str, tuple[str, FieldType, str | None]] = {
    "base.contacts.email": ("Email", "email", "email"),
    "base.firstName": ("First name", "text", "first_name"),
    "base.lastName": ("Last name", "text", "last_name"),
    "base.contacts.phone": ("Phone", "phone", "phone"),
    "base.contacts.mobilePhone": ("Mobile phone", "phone", "mobile"),
    "base.address.street": ("Street", "text", "street"),
    "base.address.city": ("City", "text", "city"),
    "base.address.zip": ("Postal code", "text", "postal_code"),
    "base.address.province": ("Province", "text", "region"),
    "base.address.country": ("Country", "country", "country"),
    "base.jobs.companyName": ("Company", "text", "company"),
    "base.jobs.jobTitle": ("Job title", "text", "job_title"),
    "base.dob": ("Date of birth", "date", None),
    "base.locale": ("Locale", "text", None),
}
EXTENDED_TYPES: dict[str, FieldType] = {"number": "number", "date": "date", "boolean": "bool"}


# What the source may do with its node (the node_access setting); empty is both.
BOTH, READ, WRITE = "", "read", "write"


def node_access(credentials: Credentials) -> str:
    """The node_access setting, normalized ("" both, "read", "write"; other text as typed,
    which connection_problems refuses)."""
    value = str(credentials.settings.get("node_access") or "").strip().lower()
    return BOTH if value in ("both", "read_write", "read and write") else value


def dig(data: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def parse_time(text: Any) -> datetime | None:
    with contextlib.suppress(TypeError, ValueError):
        return datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%S.%f%z")
    return None


class ContacthubConnector(Connector):
    """Customers of one Contacthub node, by a source's token."""

    vendor = "contacthub"
    label = _("Contactlab Contacthub")
    description = _("Customer data platform: customers of one node, with tags and subscriptions.")
    auth_kind = "api_key"
    auth_fields = (
        ("token", _("Token (Settings -> Sources)"), True),
        ("workspace_id", _("Workspace id (Settings -> Sources)"), False),
        ("node_id", _("Node id (Settings -> Sources)"), False),
        (
            "node_access",
            _("Node access under the source's active nodes: read, write, or empty for both"),
            False,
        ),
    )
    optional_auth_fields = ("node_access",)  # empty: both
    capabilities = Capabilities(
        delta=True, deletion_feed=True, batch_size=50, tags=True, subscription=True
    )

    def __init__(self, credentials: Credentials, scope: str, http: Http) -> None:
        super().__init__(credentials, scope, http)
        values = {**credentials.settings, **credentials.secrets}
        self.node = scope or str(values.get("node_id") or "")
        self.access = node_access(credentials)
        self.client = ContacthubClient(
            http,
            base_url=vendor_api_url("CONTACTHUB_API_URL", DEFAULT_API_URL, "/contacthub/hub/v1"),
            token=str(values.get("token") or ""),
            workspace=str(values.get("workspace_id") or ""),
            node=self.node,
        )
        page_size = int(credentials.settings.get("page_size") or MAX_PAGE_SIZE)
        self.page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        self._extended: list[dict[str, Any]] | None = None
        self._subscriptions: list[str] | None = None

    # --- Account, scopes, schema.

    def check(self) -> None:
        """A one-customer listing of the node (documented, unlike a node listing): 401/403
        for a bad token, workspace or node."""
        if not self.credentials.secrets.get("token"):
            raise AuthError("No Contacthub token")
        if not self.node:
            raise AuthError("Contacthub needs the node id (Settings -> Sources)")
        try:
            self.client.count()
        except RecordGone as exc:
            raise AuthError(f"Contacthub: workspace or node not found ({exc})") from exc

    @classmethod
    def connection_problems(cls, review: SetupReview) -> list[str]:
        """A read-only node is synced from Contacthub only, a write-only one into it
        only; and the Contacthub <-> ContactSend source rules."""
        found: list[str] = []
        setup = review.new
        for side, other in (("a", "b"), ("b", "a")):
            if setup.vendors[side] != cls.vendor:
                continue
            access = node_access(setup.credentials[side])
            if access == BOTH:
                continue
            # The one direction the node allows: out of it (read) or into it (write).
            allowed = f"{side}_to_{other}" if access == READ else f"{other}_to_{side}"
            if setup.direction != allowed:
                node = setup.scopes[side] or "of this connection"
                way, words = (
                    ("from Contacthub", "read") if access == READ else ("into Contacthub", "write")
                )
                found.append(
                    f"The source may only {words} Contacthub node {node}: make the "
                    f"connection one-way {way} ({allowed.replace('_', ' ')}), or give the "
                    "source both rights on the node in Contacthub and here."
                )
        if access_error := next(
            (
                f"Contacthub node access “{setup.credentials[s].settings.get('node_access')}” "
                "is not one of read, write or empty (both)."
                for s in ("a", "b")
                if setup.vendors[s] == cls.vendor
                and node_access(setup.credentials[s]) not in (BOTH, READ, WRITE)
            ),
            None,
        ):
            found.append(access_error)
        return found + contactlab_rules.problems(review)

    def scopes(self) -> list[Scope]:
        # A source token serves the node shown beside it in Settings -> Sources; no
        # public endpoint lists nodes, so the scope is the node the user typed.
        return [Scope(self.node, f"Node {self.node}", "node")] if self.node else []

    def count(self) -> int:
        """Customers in the node (the paged envelope's totalElements)."""
        return self.client.count()

    def extended(self) -> list[dict[str, Any]]:
        if self._extended is None:
            self._extended = self.client.extended_properties()
        return self._extended

    def subscription_ids(self) -> list[str]:
        """The workspace's subscription ids. OUR ASSUMPTION: a configuration endpoint
        lists them; where it does not exist (404), the authorization's ``subscriptions``
        setting (ids typed by the user) is used instead."""
        if self._subscriptions is None:
            try:
                self._subscriptions = [str(s["id"]) for s in self.client.subscriptions()]
            except RecordGone:
                configured = self.credentials.settings.get("subscriptions") or []
                self._subscriptions = [str(s) for s in configured if str(s).strip()]
        return self._subscriptions

    def fields(self) -> list[FieldSpec]:
        specs = [
            FieldSpec(key, label, kind, common=common)
            for key, (label, kind, common) in BASE_FIELDS.items()
        ]
        specs.append(FieldSpec("tags", "Tags", "tags", common="tags", multi=True))
        specs.append(FieldSpec("tags.auto", "Automatic tags", "tags", multi=True, read_only=True))
        for prop in self.extended():
            kind = EXTENDED_TYPES.get(str(prop.get("type")), "text")
            specs.append(FieldSpec(EXTENDED + prop["name"], prop["name"], kind, custom=True))
        for sid in self.subscription_ids():
            specs.append(FieldSpec(SUBSCRIPTION + sid, f"Subscribed ({sid})", "bool"))
        return specs

    # --- Reads.

    def fetch(self, cursor: Any) -> Iterator[Page]:
        if cursor is None:
            yield from self.listing()
            return
        offset = int(cursor["offset"])
        while True:
            updates, next_offset = self.client.updates(offset)
            latest: dict[str, Record | None] = {}
            for update in updates:
                data = dig(update, ["entity", "data"])
                if not isinstance(data, dict) or not data.get("id"):
                    raise ConnectorError("Contacthub sent an update without a customer")
                alive = update.get("operation") != "DELETE" and data.get("enabled", True)
                latest[str(data["id"])] = self.record(data) if alive else None
            records = [r for r in latest.values() if r is not None]
            deleted = [cid for cid, r in latest.items() if r is None]
            yield Page(records=records, deleted=deleted, cursor={"offset": next_offset})
            if not updates or next_offset == offset:
                return
            offset = next_offset

    def listing(self) -> Iterator[Page]:
        start = self.client.last_offset()  # before the listing: nothing made during it is lost
        seen: set[str] = set()
        totals: set[int] = set()
        for customers, total in self.client.customer_pages(self.page_size):
            totals.add(total)
            records = [self.record(c) for c in customers if str(c.get("id")) not in seen]
            seen.update(r.id for r in records)
            yield Page(records=records)
        # Offset paging: a deletion during the listing shifts rows; only an undisturbed
        # listing proves absence.
        yield Page(
            records=[],
            cursor={"offset": start},
            complete=len(totals) <= 1 and len(seen) >= max(totals or {0}),
        )

    def record(self, customer: dict[str, Any]) -> Record:
        if not customer.get("id"):
            raise ConnectorError("Contacthub sent a customer without an id")
        base = customer.get("base") if isinstance(customer.get("base"), dict) else {}
        jobs = base.get("jobs") or []
        job = jobs[0] if isinstance(jobs, list) and jobs and isinstance(jobs[0], dict) else {}
        fields: dict[str, Any] = {}
        for key in BASE_FIELDS:
            if key.startswith(JOB):
                fields[key] = job.get(key[len(JOB) :])
            else:
                fields[key] = dig(base, key.split(".")[1:])
        tags = customer.get("tags") if isinstance(customer.get("tags"), dict) else {}
        fields["tags"] = sorted(str(t) for t in tags.get("manual") or [])
        fields["tags.auto"] = sorted(str(t) for t in tags.get("auto") or [])
        extended = customer.get("extended") if isinstance(customer.get("extended"), dict) else {}
        for prop in self.extended():
            fields[EXTENDED + prop["name"]] = extended.get(prop["name"])
        subscribed = {
            str(s.get("id")): bool(s.get("subscribed", s.get("enable", False)))
            for s in base.get("subscriptions") or []
            if isinstance(s, dict)
        }
        for sid in self.subscription_ids():
            fields[SUBSCRIPTION + sid] = subscribed.get(sid, False)
        return Record(
            id=str(customer["id"]),
            updated_at=parse_time(customer.get("updatedAt")),
            fields=fields,
            key=customer.get("externalId") or None,
        )

    # --- Writes.

    def push(self, changes: list[Change]) -> list[Result]:
        if self.access == READ:
            refused = ConnectorError(
                f"The source may only read Contacthub node {self.node}; nothing is written "
                "into it.",
                permanent=True,
            )
            return [Result(change.key, id=change.id, error=refused) for change in changes]
        results = []
        for change in changes:
            try:
                if change.op == "create":
                    results.append(self.create(change))
                elif change.op == "update":
                    stored = self.update(str(change.id), change.fields)
                    results.append(Result(change.key, id=change.id, record=self.record(stored)))
                else:
                    with contextlib.suppress(RecordGone):  # already gone is the goal
                        self.client.delete(str(change.id))
                    results.append(Result(change.key, id=change.id))
            except (AuthError, RateLimited):
                raise
            except ConnectorError as exc:
                results.append(Result(change.key, id=change.id, error=exc))
        return results

    def create(self, change: Change) -> Result:
        body = self.body(change.fields, None)
        body["externalId"] = change.key
        try:
            stored = self.client.create(body)
        except ConnectorError as exc:
            existing = dig(getattr(exc, "data", {}), ["customer", "id"])
            if exc.status != 409 or not existing:
                raise
            # The matching policy found this customer (an earlier try, or the same
            # email): link it and PATCH it, never a second one.
            stored = self.update(str(existing), change.fields)
        return Result(change.key, id=str(stored["id"]), record=self.record(stored))

    def update(self, customer_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        current = None
        if any(k.startswith((JOB, SUBSCRIPTION)) for k in fields):
            # jobs and subscriptions are lists, replaced whole by a PATCH: merge first.
            current = self.client.customer(customer_id)
        body = self.body(fields, current)
        if not body:
            return current or self.client.customer(customer_id)
        return self.client.patch(customer_id, body)

    def body(self, fields: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        """The sections of the customer JSON that ``fields`` touch, and only those."""
        body: dict[str, Any] = {}
        base: dict[str, Any] = {}
        current_base = (current or {}).get("base") or {}
        job: dict[str, Any] | None = None
        subs: list[dict[str, Any]] | None = None
        for key, value in fields.items():
            if key in ("tags.auto",):
                continue  # Contacthub's own
            if key == "tags":
                body["tags"] = {"manual": sorted({str(t) for t in value or []})}
            elif key.startswith(EXTENDED):
                body.setdefault("extended", {})[key[len(EXTENDED) :]] = value
            elif key.startswith(SUBSCRIPTION):
                if subs is None:
                    subs = [dict(s) for s in current_base.get("subscriptions") or []]
                sid = key[len(SUBSCRIPTION) :]
                found = next((s for s in subs if s.get("id") == sid), None)
                if found is None:
                    found = {"id": sid, "kind": "DIGITAL_MESSAGE"}
                    subs.append(found)
                found["subscribed"] = bool(value)
            elif key.startswith(JOB):
                if job is None:
                    jobs = current_base.get("jobs") or [{}]
                    job = dict(jobs[0]) if jobs else {}
                job[key[len(JOB) :]] = value or None
            elif key in BASE_FIELDS:
                path = key.split(".")[1:]
                target = base
                for part in path[:-1]:
                    target = target.setdefault(part, {})
                target[path[-1]] = value if value not in ("",) else None
            else:
                raise ConnectorError(f"Contacthub has no field {key!r}", permanent=True)
        if job is not None:
            others = (current_base.get("jobs") or [])[1:]
            base["jobs"] = [job, *others]
        if subs is not None:
            base["subscriptions"] = subs
        if base:
            body["base"] = base
        return body
