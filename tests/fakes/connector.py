"""An in-memory fake connector for engine tests and the benchmark.

Each fake *app* is a ``FakeApp`` kept in a class-level registry keyed by name; an
AppAuthorization of vendor ``"fake"`` picks its app with ``settings["store"]``, so a
connection between two fake apps works through ``sync.vendors.open_connector`` like any
vendor. Capabilities (delta reads, deletion feed, batch size, tags, lists, subscription,
full-name-only records) and faults (fail the Nth write, crash after the Nth write before
answering, 429, auth failure) are switched per app.

Several entities (issue 17): an app ``x`` may have a companion app ``x:companies``
(``FakeConnector.make_app("x:companies", kind="company")``) holding its companies; a
connector of ``x`` opened on scope ``"companies"`` reads and writes it, and ``scopes``
lists it with ``entity="company"``. ``company_ref=True`` gives contacts a ``company_id``
field referring to a company.

Change tracking: every write bumps a per-app sequence number. A delta cursor is the
highest sequence number seen; reads are inclusive of it (the engine's contract), so the
last record of a read comes again once, as an echo.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from connectors.base import (
    AuthError,
    Capabilities,
    Change,
    Connector,
    ConnectorError,
    Credentials,
    FieldSpec,
    Page,
    RateLimited,
    Record,
    RecordGone,
    Result,
    Scope,
    VendorUser,
)
from connectors.http import Http

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
# One clock for all fake apps, so "most recent change wins" compares across apps.
_CLOCK = itertools.count(1)


@dataclass(slots=True)
class StoredRecord:
    """A record as the app stores it: its fields as compact JSON, so that the benchmark's
    hundreds of thousands of records measure the engine's memory, not the fake's."""

    blob: str
    seq: int
    updated_at: datetime
    key: str | None = None  # the create's idempotency key, stored like an external id

    @property
    def fields(self) -> dict[str, Any]:
        """A fresh copy of the fields (changes go through ``FakeApp.edit``)."""
        return dict(json.loads(self.blob))

    def store(self, fields: dict[str, Any]) -> None:
        self.blob = json.dumps(fields, separators=(",", ":"))


@dataclass
class FakeApp:
    """One fake app: its records, change log, capabilities, faults and counters."""

    name: str
    delta: bool = True
    deletion_feed: bool = True
    batch_size: int = 50
    page_size: int = 100
    tags: bool = True
    lists: bool = True
    subscription: bool = True
    full_name_only: bool = False  # one "name" field instead of first/last
    keeps_create_keys: bool = True  # a create retried with the same key is not repeated
    identity: bool = False  # a "uid" field declared as an identity both apps share
    kind: str = "contact"  # "company": the records are companies (name, domain, notes)
    company_ref: bool = False  # contacts have "company_id", a reference to a company
    # Faults. Write numbers count records written since the app was made (1-based).
    fail_write: set[int] = field(default_factory=set)
    crash_after_write: set[int] = field(default_factory=set)
    rate_limited_calls: int = 0  # the next N calls answer 429
    auth_failure: bool = False
    delay: float = 0.0  # seconds every call takes (to make runs overlap in race tests)
    on_push: Any = None  # called before each write batch (what else happens meanwhile)
    on_fetch: Any = None  # called when a read starts (a user editing during the run)
    # State.
    records: dict[str, StoredRecord] = field(default_factory=dict)
    tombstones: dict[str, int] = field(default_factory=dict)  # id -> seq of the deletion
    create_keys: dict[str, str] = field(default_factory=dict)
    seq: int = 0
    next_id: int = 1
    # Counters.
    reads: int = 0  # fetch pages served
    writes: int = 0  # records created, updated or deleted
    calls: int = 0  # API calls (pages + write batches)

    # --- Direct access for tests (what a user does in the app's own UI).

    def _tick(self) -> tuple[int, datetime]:
        self.seq += 1
        return self.seq, _EPOCH + timedelta(seconds=next(_CLOCK))

    def add(self, record_id: str | None = None, **fields: Any) -> str:
        """Create a record as a user would; returns its id."""
        record_id = record_id or self._new_id()
        seq, when = self._tick()
        self.records[record_id] = StoredRecord("", seq, when)
        self.records[record_id].store(fields)
        self.tombstones.pop(record_id, None)
        return record_id

    def edit(self, record_id: str, **fields: Any) -> None:
        """Change some fields of a record as a user would."""
        stored = self.records[record_id]
        seq, when = self._tick()
        stored.store({**stored.fields, **fields})
        stored.seq, stored.updated_at = seq, when

    def remove(self, record_id: str) -> None:
        """Delete a record as a user would."""
        del self.records[record_id]
        self.tombstones[record_id] = self._tick()[0]

    def get(self, record_id: str) -> dict[str, Any]:
        return self.records[record_id].fields

    def by_email(self, email: str) -> list[str]:
        return [
            rid
            for rid, r in self.records.items()
            if (r.fields.get("email") or "").strip().lower() == email.strip().lower()
        ]

    def _new_id(self) -> str:
        record_id = f"{self.name}-{self.next_id}"
        self.next_id += 1
        return record_id

    # --- Specs.

    def field_specs(self) -> list[FieldSpec]:
        if self.kind == "company":
            return [
                FieldSpec("name", "Name", "text", common="company", required=True),
                FieldSpec("domain", "Domain", "text", common="website"),
                FieldSpec("notes", "Notes", "text", custom=True),
            ]
        specs = [FieldSpec("email", "Email", "email", common="email")]
        if self.full_name_only:
            specs.append(FieldSpec("name", "Name", "text", common="full_name"))
        else:
            specs += [
                FieldSpec("first_name", "First name", "text", common="first_name"),
                FieldSpec("last_name", "Last name", "text", common="last_name"),
            ]
        specs += [
            FieldSpec("phone", "Phone", "phone", common="phone"),
            FieldSpec("company", "Company", "text", common="company"),
            FieldSpec("country", "Country", "country", common="country"),
            FieldSpec("owner", "Owner", "owner", common="owner"),
            FieldSpec("status", "Status", "status", common="status", choices=("lead", "customer")),
            FieldSpec("notes", "Notes", "text", custom=True),
            FieldSpec("deleted_marker", "Deleted", "bool", custom=True),
        ]
        if self.tags:
            specs.append(FieldSpec("tags", "Tags", "tags", common="tags", multi=True))
        if self.lists:
            specs.append(FieldSpec("lists", "Lists", "lists", common="lists", multi=True))
        if self.subscription:
            specs.append(FieldSpec("subscribed", "Subscribed", "subscription", common="subscribed"))
        if self.identity:
            specs.append(FieldSpec("uid", "UID", "text", read_only=True, identity="fake-uid"))
        if self.company_ref:
            specs.append(
                FieldSpec("company_id", "Company", "text", common="company_id", refers_to="company")
            )
        return specs


class FakeConnector(Connector):
    """A Connector over a ``FakeApp`` chosen by ``settings["store"]``."""

    vendor = "fake"
    label = "Fake app"
    # Companies where the app has a companion app of them (``scopes`` lists it).
    entities = ("contact", "company")
    apps: ClassVar[dict[str, FakeApp]] = {}

    def __init__(self, credentials: Credentials, scope: str, http: Http) -> None:
        super().__init__(credentials, scope, http)
        store = credentials.settings["store"]
        self.app = self.apps[store]
        if f"{store}:{scope}" in self.apps:
            # A scope naming a companion app (``"companies"``): another entity's records.
            self.app = self.apps[f"{store}:{scope}"]
            self.scope = ""
        # Capabilities are per app here, so the instance attribute shadows the ClassVar.
        self.capabilities = Capabilities(  # type: ignore[misc]
            delta=self.app.delta,
            deletion_feed=self.app.delta and self.app.deletion_feed,
            batch_size=self.app.batch_size,
            tags=self.app.tags,
            lists=self.app.lists,
            subscription=self.app.subscription,
        )

    @classmethod
    def make_app(cls, name: str, **options: Any) -> FakeApp:
        """Create (or replace) the app ``name`` with the given capabilities/faults."""
        app = FakeApp(name=name, **options)
        cls.apps[name] = app
        return app

    def _call(self) -> None:
        # Every call costs one API call, like a request through the HTTP seam would.
        self.app.calls += 1
        self.http.calls += 1
        if self.app.delay:
            time.sleep(self.app.delay)
        if self.app.auth_failure:
            raise AuthError("fake: API key revoked", status=401)
        if self.app.rate_limited_calls > 0:
            self.app.rate_limited_calls -= 1
            raise RateLimited("fake: slow down", retry_after=120.0)

    def check(self) -> None:
        self._call()

    def fields(self) -> list[FieldSpec]:
        return self.app.field_specs()

    def scopes(self) -> list[Scope]:
        scopes = [Scope("", "All contacts", "all"), Scope("newsletter", "Newsletter", "list")]
        store = self.credentials.settings["store"]
        if f"{store}:companies" in self.apps:
            scopes.append(Scope("companies", "Companies", "object", entity="company"))
        return scopes

    def users(self) -> list[VendorUser]:
        return [VendorUser("u1", "Ann", "ann@example.com"), VendorUser("u2", "Ben", "")]

    def _in_scope(self, stored: StoredRecord) -> bool:
        return not self.scope or self.scope in (stored.fields.get("lists") or [])

    def fetch(self, cursor: Any) -> Iterator[Page]:
        app = self.app
        if app.on_fetch is not None:
            app.on_fetch()
        if cursor is None or not app.delta:
            # A complete listing, by id; its cursor is the sequence number at the start,
            # so changes made while listing come again in the next delta read.
            start = app.seq
            ids = sorted(rid for rid, r in app.records.items() if self._in_scope(r))
            pages = [ids[i : i + app.page_size] for i in range(0, len(ids), app.page_size)]
            for number, chunk in enumerate(pages or [[]], start=1):
                self._call()
                app.reads += 1
                yield Page(
                    records=[self._record(rid) for rid in chunk if rid in app.records],
                    cursor=start,
                    complete=number == len(pages or [[]]),
                )
            return
        changed = sorted(
            (r.seq, rid) for rid, r in app.records.items() if r.seq >= cursor
        )  # inclusive boundary
        gone = sorted((seq, rid) for rid, seq in app.tombstones.items() if seq >= cursor)
        events = sorted(
            [(s, rid, False) for s, rid in changed] + [(s, rid, True) for s, rid in gone]
        )
        for chunk in _chunks(events, app.page_size) or [[]]:
            self._call()
            app.reads += 1
            records = []
            deleted = []
            for _seq, rid, is_gone in chunk:
                if is_gone:
                    if app.deletion_feed:
                        deleted.append(rid)
                elif self._in_scope(app.records[rid]):
                    records.append(self._record(rid))
                elif app.deletion_feed:
                    deleted.append(rid)  # left the scope (list): gone from this view
            yield Page(records=records, deleted=deleted, cursor=chunk[-1][0] if chunk else cursor)

    def _record(self, rid: str) -> Record:
        stored = self.app.records[rid]
        return Record(rid, stored.updated_at, stored.fields, key=stored.key)

    def push(self, changes: list[Change]) -> list[Result]:
        app = self.app
        if len(changes) > app.batch_size:
            raise ConnectorError(
                f"fake: batch of {len(changes)} > {app.batch_size}", permanent=True
            )
        self._call()
        if app.on_push is not None:
            app.on_push()
        results = []
        for change in changes:
            app.writes += 1
            number = app.writes
            if number in app.fail_write:
                results.append(
                    Result(
                        change.key, change.id, ConnectorError("fake: invalid value", permanent=True)
                    )
                )
                continue
            results.append(self._apply(change))
            if number in app.crash_after_write:
                # The write happened, the answer is lost (dropped connection).
                raise ConnectorError("fake: connection dropped after write")
        return results

    def _apply(self, change: Change) -> Result:
        app = self.app
        if change.op == "create":
            if app.keeps_create_keys and change.key in app.create_keys:
                existing = app.create_keys[change.key]
                if existing in app.records:
                    return Result(change.key, existing, record=self._record(existing))
            fields = dict(change.fields)
            if self.scope:
                fields["lists"] = sorted({*fields.get("lists", []), self.scope})
            rid = app.add(**fields)
            if app.keeps_create_keys:
                app.records[rid].key = change.key
            app.create_keys[change.key] = rid
            return Result(change.key, rid, record=self._record(rid))
        if change.id not in app.records:
            return Result(change.key, change.id, RecordGone(f"fake: {change.id} not found"))
        if change.op == "delete":
            app.remove(change.id)
            return Result(change.key, change.id)
        app.edit(change.id, **change.fields)
        return Result(change.key, change.id, record=self._record(change.id))


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    iterator = iter(items)
    return [list(chunk) for chunk in iter(lambda: list(itertools.islice(iterator, size)), [])]
