"""ContactSend subscribers of one userdb (subscriber source) as Records, and back.

Record fields are keyed by the userdb's own field names (``EMAIL``, ``firstName`` …),
typed from getSubscriberSource (INTEGER -> number, DATE -> date, BOOLEAN -> bool), plus
one bool ``subscription:<webform code>`` per webform of the userdb: whether the
subscriber is subscribed through it. A connection's subscription pairs (a Contacthub
subscription id <-> a webform) are pairs of the field mapping, synced as any bool.

Reads: ContactSend has no change feed (apis/ 3A), so every read is a complete
findSubscribers walk (15 a page, until an empty page). The cursor keeps a short content
hash per subscriber id: a read from a cursor yields only the subscribers whose hash
changed or that are new, and reports as deleted the ids the walk no longer found. The
walk is the default, not the bulk export (startSubscriberDataExchange): it needs no
file transfer and answers in pages we can count and retry; at 15 a page it costs
(n / 15) calls, about 340 for 5,000 subscribers (bench/contactlab.py). From
``EXPORT_FROM`` subscribers on (or as the ``bulk_export`` setting says) the bulk export
reads them instead, with the same content hashes, so switching is never a change.

A run borrows one token and gives it back at its end (``close``: invalidateToken), which
the engine calls once per run, failed and dry runs included.

Secrets: ``api_key`` and ``user_key`` (issued by Contactlab). The scope is the userdb id.
The WSDL's address comes from Django's ``CONTACTSEND_WSDL_URL`` (else Contactlab's, or the
emulator where sandboxes are on: connectors/endpoints.py), never from the tenant.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
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
    RecordGone,
    Result,
    Scope,
)
from connectors.contactsend.client import (
    DEFAULT_WSDL_URL,
    DUPLICATE_FAULTS,
    ContactSendClient,
    Source,
    Subscriber,
)
from connectors.endpoints import vendor_api_url

if TYPE_CHECKING:
    from connectors.http import Http

SUBSCRIPTION = "subscription:"
PAGE_SIZE = 15  # what findSubscribers answers; pages of a delta are filled to this
# From this many subscribers (known from the last read) the bulk export reads them; the
# authorization's ``bulk_export`` setting (true/false) overrides it either way.
EXPORT_FROM = 10_000
TYPES: dict[str, FieldType] = {"INTEGER": "number", "DATE": "date", "BOOLEAN": "bool"}
COMMON = {
    "email": "email",
    "firstname": "first_name",
    "first_name": "first_name",
    "name": "first_name",
    "lastname": "last_name",
    "last_name": "last_name",
    "surname": "last_name",
    "company": "company",
    "jobtitle": "job_title",
    "city": "city",
    "country": "country",
    "phone": "phone",
    "mobile": "mobile",
    "mobilephone": "mobile",
    "address": "street",
    "street": "street",
    "zip": "postal_code",
    "postalcode": "postal_code",
}


def content_hash(fields: dict[str, Any]) -> str:
    """A short, stable hash of a record's values (key order never matters)."""
    text = json.dumps(fields, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class ContactSendConnector(Connector):
    """Subscribers of one ContactSend userdb, by apiKey + userKey."""

    vendor = "contactsend"
    label = _("Contactlab ContactSend")
    description = _(
        "Email marketing (SOAP): subscribers of one userdb, with webform subscriptions."
    )
    auth_kind = "api_key"
    auth_fields = (
        ("api_key", _("API key (issued by Contactlab)"), True),
        ("user_key", _("User key (issued by Contactlab)"), True),
    )
    capabilities = Capabilities(
        delta=True,  # by content hash over a complete walk
        deletion_feed=True,  # ids the walk no longer finds
        batch_size=15,
        subscription=True,
        requires_email=True,
    )

    def __init__(self, credentials: Credentials, scope: str, http: Http) -> None:
        super().__init__(credentials, scope, http)
        self.client = ContactSendClient(
            http,
            wsdl_url=vendor_api_url(
                "CONTACTSEND_WSDL_URL", DEFAULT_WSDL_URL, "/contactsend/soap/services?wsdl"
            ),
            api_key=str(credentials.secrets.get("api_key") or ""),
            user_key=str(credentials.secrets.get("user_key") or ""),
        )
        self._source: Source | None = None

    def close(self) -> None:
        """End the SOAP session (invalidateToken); the engine calls it after a run."""
        self.client.close()

    # --- Account, scopes, schema.

    def check(self) -> None:
        if not (
            self.credentials.secrets.get("api_key") and self.credentials.secrets.get("user_key")
        ):
            raise AuthError("ContactSend needs the API key and the user key issued by Contactlab")
        self.client.token()
        if self.scope:
            self.source()

    def scopes(self) -> list[Scope]:
        return [Scope(s.id, s.name, "userdb") for s in self.client.sources()]

    def source(self) -> Source:
        if self._source is None:
            try:
                self._source = self.client.source(self.scope)
            except (AuthError, RateLimited):
                raise
            except ConnectorError as exc:
                if not exc.permanent:
                    raise
                raise ConnectorError(
                    f"ContactSend userdb {self.scope} is not readable with these keys: {exc}",
                    permanent=True,
                ) from exc
        return self._source

    def fields(self) -> list[FieldSpec]:
        source = self.source()
        specs = []
        for field in source.fields:
            is_id = field.name == source.identifier
            specs.append(
                FieldSpec(
                    key=field.name,
                    label=field.name,
                    type="email" if is_id else TYPES.get(field.type, "text"),
                    common="email" if is_id else COMMON.get(field.name.lower()),
                    required=is_id,
                    custom=not is_id and field.name.lower() not in COMMON,
                )
            )
        for code in source.webforms:
            specs.append(FieldSpec(SUBSCRIPTION + code, f"Subscribed ({code})", "bool"))
        return specs

    def count(self) -> int:
        """0 when the userdb is empty, else at least 1 (its first page's subscribers):
        enough for the source rules, which only ask whether it is empty."""
        for rows in self.client.subscriber_pages(self.scope, self.source().identifier):
            return len(rows)
        return 0

    # --- Reads.

    def fetch(self, cursor: Any) -> Iterator[Page]:
        source = self.source()
        subscribed = {code: self.client.subscribed_ids(code) for code in source.webforms}
        known: dict[str, str] = dict((cursor or {}).get("hashes") or {})
        hashes: dict[str, str] = {}
        waiting: list[Record] = []
        for rows in self.rows(source, len(known)):
            for row in rows:
                if row.id in hashes:
                    continue  # moved across a page boundary during the walk
                record = self.record(row, subscribed)
                hashes[row.id] = content_hash(record.fields)
                if cursor is None or known.get(row.id) != hashes[row.id]:
                    waiting.append(record)
            if cursor is None:
                yield Page(records=waiting)
                waiting = []
            elif len(waiting) >= PAGE_SIZE:
                yield Page(records=waiting[:PAGE_SIZE])
                waiting = waiting[PAGE_SIZE:]
        last = Page(records=waiting, cursor={"hashes": hashes})
        if cursor is None:
            last.complete = True
        else:
            last.deleted = sorted(set(known) - set(hashes))
        yield last

    def rows(self, source: Source, known: int) -> Iterator[list[Subscriber]]:
        """The complete listing: findSubscribers pages, or the bulk export's rows in
        pages of 15 where the userdb is large (or the authorization asks for it)."""
        setting = self.credentials.settings.get("bulk_export")
        export = bool(setting) if setting is not None else known >= EXPORT_FROM
        if not export:
            yield from self.client.subscriber_pages(self.scope, source.identifier)
            return
        chunk: list[Subscriber] = []
        for row in self.client.export_rows(self.scope):
            chunk.append(row)
            if len(chunk) == PAGE_SIZE:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def record(self, row: Subscriber, subscribed: dict[str, set[str]]) -> Record:
        types = {f.name: f.type for f in self.source().fields}
        fields: dict[str, Any] = {name: None for name in types}
        for key, raw in row.attributes.items():
            if key in types:
                fields[key] = parse_value(types[key], raw)
        for code, ids in subscribed.items():
            fields[SUBSCRIPTION + code] = row.id in ids
        return Record(id=row.id, updated_at=None, fields=fields)

    # --- Writes.

    def push(self, changes: list[Change]) -> list[Result]:
        results = []
        for change in changes:
            try:
                if change.op == "create":
                    results.append(self.create(change))
                elif change.op == "update":
                    results.append(self.update(str(change.id), change))
                else:
                    # Already gone: the delete's goal is reached.
                    with contextlib.suppress(RecordGone):
                        self.client.remove(self.scope, str(change.id))
                    results.append(Result(change.key, id=change.id))
            except (AuthError, RateLimited):
                raise
            except ConnectorError as exc:
                results.append(Result(change.key, id=change.id, error=exc))
        return results

    def create(self, change: Change) -> Result:
        source = self.source()
        attributes, subscriptions = self.split(change.fields)
        email = (attributes.get(source.identifier) or "").strip()
        if not email:
            raise ConnectorError(
                f"ContactSend identifies subscribers by {source.identifier}; "
                "this contact has none.",
                permanent=True,
            )
        attributes[source.identifier] = email
        try:
            created = self.client.add(self.scope, attributes)
        except ConnectorError as exc:
            if getattr(exc, "code", "") not in DUPLICATE_FAULTS:
                raise
            # Already there (an earlier try whose answer was lost, or a subscriber the
            # listing has not seen yet): link it and update it, never a second one.
            found = self.client.find(self.scope, source.identifier, email)
            if not found:
                raise
            return self.update(
                found[0].id, Change("update", change.key, found[0].id, change.fields)
            )
        for code, value in subscriptions.items():
            self.client.set_subscribed(code, created.id, value)
        return Result(change.key, id=created.id)

    def update(self, subscriber_id: str, change: Change) -> Result:
        attributes, subscriptions = self.split(change.fields)
        if attributes:
            self.client.update(self.scope, subscriber_id, attributes)  # only these change
        elif not subscriptions:
            self.client.get(self.scope, subscriber_id)  # a missing subscriber is RecordGone
        # (modifySubscriberSubscriptionStatus faults on a missing subscriber by itself.)
        for code, value in subscriptions.items():
            self.client.set_subscribed(code, subscriber_id, value)
        # No record in the Result: reading back the webform statuses would cost a
        # findSubscriptionsBy walk per write; the next read hashes what is stored.
        return Result(change.key, id=subscriber_id)

    def split(self, fields: dict[str, Any]) -> tuple[dict[str, str], dict[str, bool]]:
        """Attribute strings for the fields given, and the webform statuses to set."""
        source = self.source()
        types = {f.name: f.type for f in source.fields}
        attributes: dict[str, str] = {}
        subscriptions: dict[str, bool] = {}
        for key, value in fields.items():
            if key.startswith(SUBSCRIPTION):
                code = key[len(SUBSCRIPTION) :]
                if code not in source.webforms:
                    raise ConnectorError(f"ContactSend has no webform {code!r}", permanent=True)
                subscriptions[code] = bool(value)
            elif key in types:
                attributes[key] = wire_value(types[key], value)
            else:
                raise ConnectorError(f"ContactSend userdb has no field {key!r}", permanent=True)
        return attributes, subscriptions


def parse_value(kind: str, raw: str) -> Any:
    """A typed value from the service's string: ints, ISO dates, booleans."""
    if raw == "":
        return None
    if kind == "INTEGER":
        try:
            return int(raw)
        except ValueError:
            return raw  # passed through unchanged, as normalizers do
    if kind == "BOOLEAN":
        return raw.lower() == "true"
    if kind == "DATE":
        return raw[:10]
    return raw


def wire_value(kind: str, value: Any) -> str:
    """The string ContactSend expects for ``value`` in a field of type ``kind``."""
    if value is None:
        return ""
    if kind == "BOOLEAN":
        return "true" if value in (True, "true", "1", 1) else "false"
    if kind == "INTEGER" and isinstance(value, float) and value.is_integer():
        return str(int(value))
    if kind == "DATE" and hasattr(value, "isoformat"):
        return str(value.isoformat())[:10]
    return str(value)
