"""Salesforce records of one object (the scope: Account, Contact, Lead, Opportunity, Task
or Event, objects.py) as Records, and back.

Each object is one scope holding one platform entity (Account: company, Contact: contact,
Lead: lead, Opportunity: opportunity, Task: task, Event: event, issue 17); the same code
reads and writes every object, parametrised by its ``SObject`` (objects.py).

Record fields are keyed by Salesforce's API names (``FirstName``, ``Email``, ``OwnerId``,
custom ``Interest__c`` …). A lookup to an Account, Contact or Opportunity (a Contact's or
Opportunity's ``AccountId``) holds that record's Salesforce id, read and written as is,
and declares ``refers_to`` so that the engine translates it through the links of the
referenced entity. A Task's or an Event's polymorphic ``WhoId`` / ``WhatId`` (several
target objects) is offered as one such reference per target (``WhoId.Contact``,
``WhatId.Opportunity``, …; polymorphic.py), and an update naming only some of a lookup's
targets reads the lookup first (``_current_lookups``). Contacts and Leads have two
derived fields that keep mappings simple:

- ``subscribed`` (type subscription, common "subscribed") = **not** ``HasOptedOutOfEmail``:
  marketing apps speak of subscription, Salesforce of opting out; writing
  ``subscribed=False`` sets ``HasOptedOutOfEmail=true``. ``HasOptedOutOfEmail`` itself is
  not listed, so one meaning has one field.
- ``Account.Name`` on Contacts (common "company"): read through the relationship in the
  same query; written by finding the Account with that name, created when none exists,
  and setting ``AccountId``: the company of connections that do not sync companies. A
  change that sets ``AccountId`` itself (connections syncing companies) is not resolved
  by name: the id decides. Leads have a plain ``Company`` field.

Authorization (OAuth, see oauth.py): secrets ``access_token``, ``refresh_token``;
settings ``instance_url`` (written only from Salesforce's token answer, and used only on a
Salesforce domain, see client.py) and ``instance`` ("production" | "sandbox"); the login host
and the connected app's key and secret come from Django settings only, never from the
authorization (a refresh sends the client secret there). Tenant settings: optional
``api_budget_share`` (default 0.5 of the org's daily allowance), ``lead_default_company``,
``default_last_name``; ``page_size`` (SOQL batch size, 200..2000). A refreshed access token
is written into the credentials' secrets, which the engine stores back on this one
authorization.

Deltas read ``SystemModstamp >= since`` and leave out rows already delivered unchanged
(``SeenWindow``, cursor.py): Salesforce's stamps have whole seconds, so many records share one.

``usage()`` returns the API usage last reported (``Sforce-Limit-Info``) for
``AppAuthorization.limit_info``; ``cursor_expired(cursor)`` tells whether the deleted-
records feed still reaches back to the cursor (if not, run a full listing).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

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
    Result,
    Scope,
    VendorUser,
    parallel,
)
from connectors.limits import VENDOR_LIMITS
from connectors.salesforce import soql
from connectors.salesforce.client import (
    MAX_BATCH,
    SalesforceClient,
    SaveResult,
    Session,
    parse_time,
)
from connectors.salesforce.cursor import OVERLAP, SeenWindow
from connectors.salesforce.objects import OBJECTS, REFERENCED, SObject
from connectors.salesforce.polymorphic import Split, splits_of

if TYPE_CHECKING:
    from connectors.http import Http

logger = logging.getLogger(__name__)

SCOPES = tuple(OBJECTS)
SUBSCRIBED = "subscribed"
OPT_OUT = "HasOptedOutOfEmail"
ACCOUNT_NAME = "Account.Name"
ACCOUNT_ID = "AccountId"
RECORD_ID = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")  # 15 or 18 characters
# How far the deleted-records feed reaches back (getDeleted: 15 days per ../shared/apis
# 1.4; getUpdated reaches 30). Older cursors need a complete listing.
DELETED_WINDOW = timedelta(days=15)
TYPES: dict[str, FieldType] = {
    "string": "text",
    "textarea": "text",
    "combobox": "text",
    "email": "email",
    "phone": "phone",
    "url": "url",
    "picklist": "choice",
    "multipicklist": "choice",
    "boolean": "bool",
    "date": "date",
    "datetime": "datetime",
    "double": "number",
    "currency": "number",
    "percent": "number",
    "int": "number",
}


def spec_of(field: dict[str, Any], sobject: SObject) -> FieldSpec | None:
    """A FieldSpec for one describe entry of ``sobject``; None for fields we do not sync.

    Lookups to a user are owners; a lookup to one Account, Contact or Opportunity holds
    that record's id and refers to its entity (``REFERENCED``); lookups to other objects
    are left out, and so are polymorphic ones (``WhoId``, ``WhatId``: several targets),
    which the connector offers split per target instead (polymorphic.py)."""
    name = str(field.get("name") or "")
    custom = bool(field.get("custom")) or name.endswith("__c")
    if not custom and name not in sobject.standard:
        return None
    common = None if custom else sobject.common_of(name)
    kind = str(field.get("type") or "string")
    refers_to = ""
    if kind == "reference":
        targets = [str(t) for t in field.get("referenceTo") or []]
        if "User" in targets:
            field_type: FieldType = "owner"
        elif len(targets) == 1 and targets[0] in REFERENCED:
            field_type, refers_to = "text", REFERENCED[targets[0]]
        else:
            return None
    elif common == "status":
        field_type = "status"
    else:
        field_type = TYPES.get(kind, "text")
    createable, updateable = bool(field.get("createable")), bool(field.get("updateable"))
    return FieldSpec(
        key=name,
        label=str(field.get("label") or name),
        type=field_type,
        common=common,
        required=createable and not field.get("nillable") and not field.get("defaultedOnCreate"),
        read_only=not (createable or updateable),
        custom=custom,
        choices=tuple(
            str(p["value"]) for p in field.get("picklistValues") or [] if p.get("active", True)
        ),
        max_length=(
            int(field["length"])
            if field_type == "text" and not refers_to and field.get("length")
            else None
        ),
        refers_to=refers_to,
    )


# What a user reads when the org's edition has no API (Salesforce's API_DISABLED_FOR_ORG).
API_DISABLED = (
    "This Salesforce org has no API access: Salesforce's API exists only in the "
    "Enterprise, Unlimited, Developer and Performance editions (Professional Edition with "
    "the API add-on), and the user needs the “API Enabled” permission. Upgrade the org or "
    "ask Salesforce for API access, then connect again."
)


class SalesforceConnector(Connector):
    """Accounts, Contacts, Leads, Opportunities, Tasks or Events (one object a scope) of
    one Salesforce org, over OAuth."""

    vendor = "salesforce"
    label = _("Salesforce")
    oauth_instances = True
    description = _("CRM: Contacts (with their Account) or Leads, owners, email opt-outs.")
    auth_kind = "oauth"
    auth_fields = ()
    tenant_settings = ("api_budget_share", "lead_default_company", "default_last_name")
    entities = tuple(o.entity for o in OBJECTS.values())  # one object a scope (scopes())
    capabilities = Capabilities(
        delta=True,
        deletion_feed=True,
        # A push is cut into sObject Collections calls of 200 that go out in parallel
        # (push): up to the org's 25 concurrent requests' worth of them [1.5, 1.9].
        batch_size=MAX_BATCH * VENDOR_LIMITS["salesforce"].parallel,
        subscription=True,
    )

    def __init__(self, credentials: Credentials, scope: str, http: Http) -> None:
        super().__init__(credentials, scope or "Contact", http)
        if self.scope not in OBJECTS:
            raise ConnectorError(
                f"Salesforce scope must be one of {', '.join(SCOPES)}, not {scope!r}",
                permanent=True,
            )
        self.sobject = OBJECTS[self.scope]
        if not self.sobject.person:
            # Only people opt out of email; the instance's capabilities say so.
            self.capabilities = replace(  # type: ignore[misc]
                type(self).capabilities, subscription=False
            )
        settings, secrets = credentials.settings, credentials.secrets
        from connectors.salesforce import oauth

        instance = "sandbox" if settings.get("instance") == "sandbox" else "production"
        client_id, client_secret = oauth.app_credentials(instance)
        session = Session(
            instance_url=str(settings.get("instance_url") or ""),
            access_token=str(secrets.get("access_token") or ""),
            refresh_token=str(secrets.get("refresh_token") or ""),
            login_url=oauth.login_url(instance),
            client_id=client_id,
            client_secret=client_secret,
            on_refresh=self._refreshed,
        )
        self.client = SalesforceClient(
            http,
            session,
            budget_share=credentials.number("api_budget_share", 0.5, 0.05, 1.0),
            page_size=int(credentials.number("page_size", 2000, 200, 2000)),
        )
        self._specs: list[FieldSpec] | None = None
        self._splits: list[Split] = []

    def _refreshed(self, access_token: str) -> None:
        """Keep the renewed session for this run and, on this authorization only, for
        the next ones."""
        self.credentials.keep({"access_token": access_token})

    def usage(self) -> dict[str, Any]:
        """The org's API usage as last reported, for ``AppAuthorization.limit_info``:
        ``{"api_usage": {"used", "max"}, "checked_at"}``."""
        return self.client.usage.as_json()

    @classmethod
    def record_url(cls, record_id: str, settings: dict[str, Any]) -> str | None:
        """``{instance_url}/{id}``: Salesforce opens any record by its id there. Only
        web addresses become links (never ``javascript:`` or the like)."""
        instance = str(settings.get("instance_url") or "").rstrip("/")
        return f"{instance}/{record_id}" if instance.startswith(("https://", "http://")) else None

    # --- Account, scopes, schema.

    def check(self) -> None:
        if not self.client.session.access_token or not self.client.session.instance_url:
            raise AuthError("Salesforce is not authorized yet")
        try:
            self.client.sobjects()
        except AuthError as exc:
            # An org of an edition without API access signs in but refuses every REST
            # call with 403 API_DISABLED_FOR_ORG (HTTP status UNCONFIRMED: as reported
            # by integrators; the code is Salesforce's). Say what it means.
            if "API_DISABLED_FOR_ORG" in str(exc):
                raise AuthError(API_DISABLED, status=exc.status) from exc
            raise

    def scopes(self) -> list[Scope]:
        """One scope per synced object the org lists as queryable, with its entity."""
        listed = {str(s.get("name")): s for s in self.client.sobjects() if s.get("queryable")}
        return [
            Scope(
                name,
                str(listed[name].get("labelPlural") or f"{name}s"),
                "object",
                entity=OBJECTS[name].entity,
            )
            for name in SCOPES
            if name in listed
        ]

    def fields(self) -> list[FieldSpec]:
        if self._specs is None:
            described = self.client.describe(self.scope).fields
            specs = [s for s in (spec_of(f, self.sobject) for f in described) if s is not None]
            if any(f.get("name") == OPT_OUT for f in described):
                specs.append(
                    FieldSpec(
                        SUBSCRIBED,
                        "Subscribed (not opted out of email)",
                        "subscription",
                        common="subscribed",
                    )
                )
            if self.sobject.account_name:
                specs.append(
                    FieldSpec(
                        ACCOUNT_NAME, "Account name", "text", common="company", max_length=255
                    )
                )
            if self.sobject.polymorphic:
                self._splits = splits_of(self.sobject.polymorphic, described, self.key_prefixes())
                specs += [spec for split in self._splits for spec in split.specs()]
            self._specs = specs
        return self._specs

    def key_prefixes(self) -> dict[str, str]:
        """Object name → the key prefix its ids start with, as the org's global describe
        gives them (an id's first three characters name its object)."""
        return {
            str(s.get("name")): str(s["keyPrefix"])
            for s in self.client.sobjects()
            if s.get("keyPrefix")
        }

    def splits(self) -> list[Split]:
        """The object's polymorphic lookups, split per target (polymorphic.py)."""
        self.fields()
        return self._splits

    def users(self) -> list[VendorUser]:
        rows = self.client.query(
            "SELECT Id, Name, Email FROM User WHERE IsActive = true ORDER BY Name"
        )
        return [
            VendorUser(str(r["Id"]), str(r.get("Name") or ""), str(r.get("Email") or ""))
            for r in rows
        ]

    # --- Reads.

    def _columns(self) -> list[str]:
        columns = ["Id", "SystemModstamp"]
        split_columns = {k: s.columns for s in self.splits() for k in s.keys}
        for spec in self.fields():
            column = OPT_OUT if spec.key == SUBSCRIBED else spec.key
            for name in split_columns.get(spec.key, (column,)):
                if name not in columns:
                    columns.append(name)
        return columns

    def cursor_expired(self, cursor: Any) -> bool:
        """Whether ``cursor`` is older than the deleted-records feed reaches back, so that
        only a complete listing (cursor None) can still find deletions."""
        if not isinstance(cursor, dict):
            return cursor is not None
        since = parse_time(cursor.get("deleted_since"))
        return since is None or since < datetime.now(UTC) - DELETED_WINDOW + timedelta(hours=1)

    def fetch(self, cursor: Any) -> Iterator[Page]:
        """Records with ``SystemModstamp >= since`` (inclusive; ordered by SystemModstamp,
        Id) that were not already delivered as they are now, plus the ids the deleted-
        records feed reports; with no cursor, every record, ``complete`` on the last page.
        Cursor: ``{"since", "deleted_since", "seen"}`` (see ``SeenWindow``)."""
        started = datetime.now(UTC)
        # SOQL, not SQL: columns come from describe, values go through soql.quote.
        select = f"SELECT {', '.join(self._columns())} FROM {self.scope}"  # noqa: S608
        order = " ORDER BY SystemModstamp, Id"
        if cursor is None:
            # The feed must cover deletions made while the listing runs.
            window = SeenWindow(None, {})
            yield from self._pages(select + order, window, [], started - OVERLAP, listing=True)
            return
        window = SeenWindow.of(cursor)
        deleted: list[str] = []
        deleted_since = started - OVERLAP
        if self.cursor_expired(cursor):
            logger.warning(
                "Salesforce cursor %s is older than the deleted-records feed reaches; "
                "re-reading every record, deletions since then need a full resync",
                cursor.get("since") if isinstance(cursor, dict) else cursor,
            )
            window = SeenWindow(None, {})
        else:
            start = parse_time(cursor["deleted_since"])
            assert start is not None  # cursor_expired checked it
            feed = self.client.deleted(self.scope, start, started)
            if feed.earliest and feed.earliest > start:
                logger.warning(
                    "Salesforce's delete log was emptied after %s; deletions before %s need a "
                    "full resync",
                    start,
                    feed.earliest,
                )
            deleted = list(feed.ids)
            deleted_since = feed.latest or deleted_since
        since = window.since
        where = f" WHERE SystemModstamp >= {soql.datetime_literal(since)}" if since else ""
        query = select + where + order
        yield from self._pages(query, window, deleted, deleted_since, listing=False)

    def _pages(
        self,
        query: str,
        window: SeenWindow,
        deleted: list[str],
        deleted_since: datetime,
        *,
        listing: bool,
    ) -> Iterator[Page]:
        """Pages of ``query`` without the rows already delivered unchanged. A delta's
        every page carries a cursor (rows come in SystemModstamp order, so it is safe to
        save); a listing's only the last."""
        pages = self.client.query_pages(query)
        batch: list[dict[str, Any]] | None = next(pages, [])
        while batch is not None:
            records = [self.record(row) for row in batch if not window.delivered(row)]
            window.add_page(batch)
            following = next(pages, None)
            page = Page(records=records, deleted=deleted)
            deleted = []  # reported once, with the first page
            if not listing or following is None:
                page.cursor = window.cursor(deleted_since)
            page.complete = listing and following is None
            yield page
            batch = following

    def record(self, row: dict[str, Any]) -> Record:
        fields: dict[str, Any] = {}
        for split in self.splits():
            fields.update(split.read(row))
        for spec in self.fields():
            if spec.key in fields:
                continue  # a polymorphic lookup's target, read above
            if spec.key == SUBSCRIBED:
                fields[SUBSCRIBED] = not bool(row.get(OPT_OUT))
            elif spec.key == ACCOUNT_NAME:
                account = row.get("Account")
                fields[ACCOUNT_NAME] = account.get("Name") if isinstance(account, dict) else None
            else:
                fields[spec.key] = row.get(spec.key)
        return Record(
            id=str(row["Id"]), updated_at=parse_time(row.get("SystemModstamp")), fields=fields
        )

    # --- Writes.

    def push(self, changes: list[Change]) -> list[Result]:
        """Creates, updates and deletes through sObject Collections (≤200 a call,
        allOrNone=false); the written records are read back in one query."""
        results: dict[str, Result] = {}
        bodies: dict[str, dict[str, Any]] = {}
        current = self._current_lookups(changes, results)
        for change in changes:
            if change.op == "delete" or change.key in results:
                continue
            try:
                bodies[change.key] = self.body(
                    change.fields,
                    creating=change.op == "create",
                    current=current.get(str(change.id)),
                )
            except ConnectorError as exc:
                results[change.key] = Result(change.key, id=change.id, error=exc)
        self._resolve_accounts(changes, bodies, results)
        chunks: list[tuple[str, list[Change]]] = []
        for op in ("create", "update", "delete"):
            batch = [c for c in changes if c.op == op and (op == "delete" or c.key in bodies)]
            chunks += [(op, batch[i : i + MAX_BATCH]) for i in range(0, len(batch), MAX_BATCH)]
        # The chunks are independent (one change per record): up to the org's concurrent
        # requests at once (connectors.base.parallel, limits.py); a chunk that fails as
        # a whole fails its records, an AuthError or RateLimited the whole push.
        sent = parallel(self.http, chunks, lambda chunk: self._send(*chunk, bodies))
        for (op, chunk), answers in zip(chunks, sent, strict=True):
            if isinstance(answers, ConnectorError):
                for change in chunk:
                    results[change.key] = Result(change.key, id=change.id, error=answers)
                continue
            for change, answer in zip(chunk, answers, strict=True):
                codes = {e.code for e in answer.errors}
                gone = codes <= {"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"}
                if op == "delete" and (answer.success or gone):
                    results[change.key] = Result(change.key, id=change.id)  # goal reached
                else:
                    results[change.key] = self._result(change, answer)
        self._read_back([results[c.key] for c in changes if c.op != "delete"])
        return [results[change.key] for change in changes]

    def _current_lookups(
        self, changes: list[Change], results: dict[str, Result]
    ) -> dict[str, dict[str, Any]]:
        """The polymorphic lookups (and derived fields) of the records that updates
        change only partly (``Split.partial``), by id, read in one query per 200: which
        target a lookup keeps depends on what it holds now. When that read fails, those
        updates fail with its error (into ``results``) rather than guess."""
        splits = self.splits()
        partial = [
            c
            for c in changes
            if c.op == "update" and c.id and any(s.partial(c.fields) for s in splits)
        ]
        # A malformed id names no record: its update fails on its own (MALFORMED_ID).
        ids = [str(c.id) for c in partial if RECORD_ID.match(str(c.id))]
        if not ids:
            return {}
        columns = ", ".join(["Id", *dict.fromkeys(c for s in splits for c in s.columns)])
        rows: dict[str, dict[str, Any]] = {}
        try:
            for chunk in soql.in_lists(ids, MAX_BATCH):
                in_list = ", ".join(soql.quote(i) for i in chunk)
                query = f"SELECT {columns} FROM {self.scope} WHERE Id IN ({in_list})"  # noqa: S608
                for row in self.client.query(query):
                    rows[str(row["Id"])] = row
        except (AuthError, RateLimited):
            raise
        except ConnectorError as exc:
            for change in partial:
                results[change.key] = Result(change.key, id=change.id, error=exc)
            return {}
        # The engine's ids may be 15 or 18 characters long: both name the record.
        return {
            i: rows.get(i) or next((r for k, r in rows.items() if k[:15] == i[:15]), {})
            for i in ids
        }

    def refusal(self, change: Change) -> str | None:
        """An Event created without an end: Salesforce requires EndDateTime (or a
        duration) on an Event that is not all-day, where other apps' events (ForceManager's)
        may have none."""
        fields = change.fields
        if (
            change.op == "create"
            and self.scope == "Event"
            and not fields.get("IsAllDayEvent")
            and fields.get("EndDateTime") in (None, "")
            and fields.get("DurationInMinutes") in (None, "")
        ):
            return "Salesforce Events need an end (EndDateTime) and this event has none"
        return None

    def _send(
        self, op: str, chunk: list[Change], bodies: dict[str, dict[str, Any]]
    ) -> list[SaveResult]:
        """One sObject Collections call for ``chunk`` (≤200 changes of one ``op``)."""
        if op == "create":
            return self.client.create(self.scope, [bodies[c.key] for c in chunk])
        if op == "update":
            return self.client.update(self.scope, [{"id": c.id, **bodies[c.key]} for c in chunk])
        return self.client.delete([str(c.id) for c in chunk])

    def _result(self, change: Change, answer: SaveResult) -> Result:
        if answer.success:
            return Result(change.key, id=answer.id or change.id)
        error = (
            answer.errors[0].exception()
            if answer.errors
            else ConnectorError("Salesforce refused the record", permanent=True)
        )
        if len(answer.errors) > 1:
            error = type(error)(
                "; ".join(str(e.exception()) for e in answer.errors), permanent=error.permanent
            )
        return Result(change.key, id=change.id, error=error)

    def _read_back(self, results: list[Result]) -> None:
        """The records as stored (server defaults included), so the engine's memory of
        them matches what the next read returns."""
        written = {r.id: r for r in results if r.error is None and r.id}
        if not written:
            return
        columns = ", ".join(self._columns())

        def read(chunk: list[str]) -> list[dict[str, Any]]:
            in_list = ", ".join(soql.quote(i) for i in chunk)
            query = f"SELECT {columns} FROM {self.scope} WHERE Id IN ({in_list})"  # noqa: S608
            return self.client.query(query)

        # One query per 200 ids, up to the org's concurrent requests at once; a failed
        # read-back leaves those records as written, to be read by the next run.
        for rows in parallel(self.http, list(soql.in_lists(list(written), MAX_BATCH)), read):
            if isinstance(rows, ConnectorError):
                continue
            for row in rows:
                result = written.get(str(row["Id"]))
                if result is not None:
                    result.record = self.record(row)

    def body(
        self,
        fields: dict[str, Any],
        *,
        creating: bool,
        current: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Salesforce values for ``fields``; a ConnectorError (permanent) for a record
        Salesforce would refuse anyway, with a message the tenant can act on. ``current``:
        the record's polymorphic lookups as they are, for an update that changes only
        some of their targets (``_current_lookups``)."""
        specs = {s.key: s for s in self.fields()}
        split_keys = {k for s in self.splits() for k in s.keys}
        body: dict[str, Any] = {}
        for key, value in fields.items():
            spec = specs.get(key)
            if spec is None:
                raise ConnectorError(
                    f"Salesforce {self.scope} has no field {key!r}", permanent=True
                )
            if spec.read_only:
                continue  # computed by Salesforce (e.g. IsConverted); never sent
            if key == SUBSCRIBED:
                if value is not None:
                    body[OPT_OUT] = not bool(value)
            elif key != ACCOUNT_NAME and key not in split_keys:
                body[key] = self.value(spec, value)
        for split in self.splits():
            if split.read_only:
                continue
            write, lookup = split.value(fields, None if creating else current or {})
            if write and not (creating and lookup is None):
                body[split.lookup.field] = lookup
        settings = self.credentials.settings
        if self.sobject.person and creating and not body.get("LastName"):
            if not settings.get("default_last_name"):
                raise ConnectorError(
                    f"Salesforce {self.scope}s need a last name and this contact has none.",
                    permanent=True,
                )
            body["LastName"] = str(settings["default_last_name"])
        company = self.sobject.company_field
        if company and (creating or company in body) and not body.get(company):
            if not settings.get("lead_default_company"):
                raise ConnectorError(
                    "Salesforce Leads need a company and this contact has none; set a default "
                    "company for Leads on the Salesforce authorization.",
                    permanent=True,
                )
            body[company] = str(settings["lead_default_company"])
        return body

    def value(self, spec: FieldSpec, value: Any) -> Any:
        if value is None or value == "" or value == []:
            return False if spec.type == "bool" else None
        if spec.type == "bool":
            return (
                value
                if isinstance(value, bool)
                else str(value).strip().lower() in ("true", "1", "yes")
            )
        if spec.type == "number":
            try:
                number = float(value)
            except (TypeError, ValueError) as exc:
                raise ConnectorError(
                    f"{spec.label}: {value!r} is not a number", permanent=True
                ) from exc
            return int(number) if number.is_integer() else number
        if isinstance(value, list):
            return ";".join(str(v) for v in value)  # multi-select picklists
        if isinstance(value, date):
            return value.isoformat()  # dates and datetimes (a datetime is a date too)
        text = str(value)
        if spec.max_length and len(text) > spec.max_length:
            raise ConnectorError(
                f"{spec.label} is longer than {spec.max_length} characters", permanent=True
            )
        return text

    def _resolve_accounts(
        self, changes: list[Change], bodies: dict[str, dict[str, Any]], results: dict[str, Result]
    ) -> None:
        """``Account.Name`` → ``AccountId``: existing Accounts by name, missing ones created.
        A change that sets ``AccountId`` itself keeps that id (the engine translated it
        through the companies' links): a name never overrides a reference."""
        if not self.sobject.account_name:
            return
        wanted = {
            c.key: (str(c.fields[ACCOUNT_NAME]).strip() if c.fields[ACCOUNT_NAME] else "")
            for c in changes
            if c.key in bodies and ACCOUNT_NAME in c.fields and ACCOUNT_ID not in c.fields
        }
        names = sorted({n for n in wanted.values() if n})
        ids: dict[str, str] = {}
        errors: dict[str, ConnectorError] = {}
        for chunk in soql.in_lists(names, MAX_BATCH):
            in_list = ", ".join(soql.quote(n) for n in chunk)
            query = f"SELECT Id, Name FROM Account WHERE Name IN ({in_list})"  # noqa: S608
            for row in self.client.query(query + " ORDER BY CreatedDate, Id"):
                ids.setdefault(str(row["Name"]).lower(), str(row["Id"]))
            missing = [n for n in chunk if n.lower() not in ids]
            if missing:
                answers = self.client.create("Account", [{"Name": n} for n in missing])
                for name, answer in zip(missing, answers, strict=True):
                    if answer.success and answer.id:
                        ids[name.lower()] = answer.id
                    else:
                        errors[name.lower()] = (
                            answer.errors[0].exception()
                            if answer.errors
                            else ConnectorError("Account not created", permanent=True)
                        )
        for key, name in wanted.items():
            if not name:
                bodies[key]["AccountId"] = None
            elif name.lower() in ids:
                bodies[key]["AccountId"] = ids[name.lower()]
            else:
                change = next(c for c in changes if c.key == key)
                results[key] = Result(key, id=change.id, error=errors[name.lower()])
                del bodies[key]


__all__ = ["SalesforceConnector"]
