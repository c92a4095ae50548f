"""Contacts of one Wildix PBX phonebook as Records, and back.

A Wildix contact has one full-name field (``name``, paired with first + last name by the
engine's composite mapping, which keeps the unchanged part), ``organization``, ``email``,
phones (``phone``, ``office``, ``mobile``, ``fax``, ``home``), ``address``, ``country``,
``note``; ``document_id`` is a free external reference where we keep our idempotency key.

The PBX has no change detection (no updated-at, no modified-since filter, no contact
webhooks), so every read lists the phonebook whole. To keep a no-change poll cheap the
cursor is a digest of every contact's content: a read with a cursor pages through the
whole phonebook (ceil(total / page size) calls) and yields only the contacts whose digest
changed, plus the ids of the snapshot that vanished from an undisturbed listing as
deletions. The engine then has nothing to stage when nothing changed; its periodic
listing without a cursor (every contact, complete) sweeps the rest.

Phones: the engine writes them normalized (E.164 with the connection's default country),
which is what caller ID matches on; a number that does not parse is written as typed
(never dropped) and logged here, so the tenant sees which numbers the PBX may not match.

Credentials: ``pbx`` (a PBX name or the host of an on-premise PBX; a setting, or a secret
when given through the API), ``username`` and ``password`` (Basic auth of a WMS user), or
``username`` "apikey" and a company API key (``wsk-v1-…``) or Simple Token as ``password``
(Bearer). Settings: ``page_size``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
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
    Page,
    Record,
    RecordGone,
    Result,
    Scope,
    each,
)
from connectors.wildix.client import MAX_PAGE_SIZE, Contact, WildixClient

if TYPE_CHECKING:
    from connectors.http import Http

logger = logging.getLogger(__name__)

FIELDS = [
    FieldSpec("name", "Name", "text", common="full_name", required=True),
    FieldSpec("organization", "Organization", "text", common="company"),
    FieldSpec("email", "Email", "email", common="email"),
    FieldSpec("phone", "Phone", "phone", common="phone"),
    FieldSpec("office", "Office phone", "phone", common="work_phone"),
    FieldSpec("mobile", "Mobile", "phone", common="mobile"),
    FieldSpec("fax", "Fax", "phone", common="fax"),
    FieldSpec("home", "Home phone", "phone", common="home_phone"),
    FieldSpec("address", "Address", "text", common="street"),
    FieldSpec("country", "Country", "text", common="country"),
    FieldSpec("note", "Note", "text", common="notes"),
]
PHONE_FIELDS = tuple(spec.key for spec in FIELDS if spec.type == "phone")
WRITABLE = {spec.key for spec in FIELDS}
_E164 = re.compile(r"^\+[1-9]\d{6,14}( ext\. \d+)?$")


def digest(contact: Contact) -> str:
    """A short content digest of a contact: equal digests, nothing changed. The values
    come in CONTACT_FIELDS order, joined by a separator no field holds."""
    blob = "\x1f".join(contact.values.values())
    return hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()


class WildixConnector(Connector):
    """Contacts of one phonebook of a Wildix PBX."""

    vendor = "wildix"
    label = _("Wildix")
    description = _(
        "Business phone system: the contacts of one PBX phonebook, so the softphone shows "
        "who is calling. Subdomain: your PBX name, as in NAME.wildixin.com (or the full "
        "host of an on-premise PBX). Sign in with a WMS user allowed to use phonebooks, or "
        "type “apikey” as the user name and paste a company API key (wsk-v1-…, WMS → PBX → "
        "Integrations → API keys, scope phonebooks:*) or a Simple Token (WMS → PBX → "
        "Integrations → Applications → Simple Token) as the password. Phonebooks cannot be "
        "created here: create one in WMS → Users → Phonebooks, then choose it."
    )
    auth_kind = "password"
    auth_fields = (
        ("pbx", _("Subdomain — your PBX name"), False),
        ("username", _("User name (or “apikey” for an API key or Simple Token)"), False),
        ("password", _("Password, company API key (wsk-v1-…) or Simple Token"), True),
    )
    capabilities = Capabilities(
        delta=True,  # by content digests kept in the cursor; every read lists everything
        # Deltas report the ids gone since the cursor's snapshot, but not a contact we
        # created after it and someone deleted before the next read: the engine's
        # periodic complete listing (SYNC_FULL_LISTING_MINUTES) sweeps those.
        deletion_feed=False,
        batch_size=20,  # WMS writes one contact per call: sent in parallel
    )

    def __init__(self, credentials: Credentials, scope: str, http: Http) -> None:
        super().__init__(credentials, scope, http)
        secrets, settings = credentials.secrets, credentials.settings
        self.client = WildixClient(
            http,
            pbx=str(settings.get("pbx") or secrets.get("pbx") or ""),
            username=str(settings.get("username") or secrets.get("username") or ""),
            secret=str(secrets.get("password") or ""),
        )
        self.page_size = max(1, min(int(settings.get("page_size") or MAX_PAGE_SIZE), MAX_PAGE_SIZE))

    @classmethod
    def record_url(cls, record_id: str, settings: dict[str, Any]) -> str | None:
        """WMS has no per-contact page: the phonebook's contacts are edited in the list."""
        return None

    # --- Account, scopes, schema.

    def check(self) -> None:
        if not self.credentials.secrets.get("password"):
            raise AuthError("No Wildix password, API key or Simple Token")
        self.client.check()

    def scopes(self) -> list[Scope]:
        return [Scope(pb.id, pb.name, "phonebook") for pb in self.client.phonebooks()]

    def fields(self) -> list[FieldSpec]:
        return list(FIELDS)

    # --- Reads.

    def fetch(self, cursor: Any) -> Iterator[Page]:
        """The phonebook, listed whole. Without a cursor every contact; with one only
        those whose digest differs from the cursor's, and the ids that vanished. The
        new cursor comes with the last page only: a crash re-lists from the old one."""
        known: dict[str, str] | None = None
        if isinstance(cursor, dict) and isinstance(cursor.get("digests"), dict):
            known = cursor["digests"]
        seen: dict[str, str] = {}
        totals: set[int] = set()
        # Held back: the last page carries the cursor. A delta gathers its few changes
        # across listing pages, so that a poll without changes hands the engine one page.
        buffered: list[Record] | None = None
        for contacts, total in self.client.contact_pages(self.scope, self.page_size):
            totals.add(total)
            records = []
            for contact in contacts:
                value = digest(contact)
                if contact.id in seen:
                    continue  # shifted by an insert during the listing: listed once
                seen[contact.id] = value
                if known is None or known.get(contact.id) != value:
                    records.append(self.record(contact))
            if known is not None and buffered is not None and len(buffered) < self.page_size:
                buffered.extend(records)
                continue
            if buffered is not None:
                yield Page(records=buffered)
            buffered = records
        last = Page(records=buffered or [])
        # Offset paging: an insert or delete during the listing shifts rows and could
        # hide one; only an undisturbed listing proves absence.
        undisturbed = len(totals) <= 1 and len(seen) >= max(totals or {0})
        if known is None:
            last.complete = undisturbed
            last.cursor = {"digests": seen}
        else:
            if undisturbed:
                last.deleted = sorted(set(known) - set(seen))
                last.cursor = {"digests": seen}
            else:
                # Keep what was not seen, to be compared (or found gone) next time.
                last.cursor = {"digests": {**known, **seen}}
        yield last

    def record(self, contact: Contact) -> Record:
        fields: dict[str, Any] = {key: (contact.values.get(key) or None) for key in WRITABLE}
        return Record(
            id=contact.id,
            updated_at=None,
            fields=fields,
            key=contact.values.get("document_id") or None,
        )

    # --- Writes.

    def push(self, changes: list[Change]) -> list[Result]:
        # One call per change, up to the vendor's parallel limit (connectors/limits.py);
        # AuthError and RateLimited fail the whole call.
        return each(self.http, changes, self.write)

    def write(self, change: Change) -> Result:
        if change.op == "delete":
            with contextlib.suppress(RecordGone):  # already gone: the goal is reached
                self.client.delete_contact(self.scope, str(change.id))
            return Result(change.key, id=change.id)
        values = self.values(change.fields)
        if change.op == "create":
            if not values.get("name"):
                raise ConnectorError(
                    "Wildix contacts need a name and this contact has none.", permanent=True
                )
            values["document_id"] = change.key  # lets a lost create be recognised
            contact_id = self.client.create_contact(self.scope, values)
            stored = {k: (v or None) for k, v in values.items() if k in WRITABLE}
            record = Record(id=contact_id, updated_at=None, fields=stored, key=change.key)
            return Result(change.key, id=contact_id, record=record)
        if "name" in values and not values["name"]:
            raise ConnectorError(
                "Wildix contacts need a name; it cannot be cleared.", permanent=True
            )
        if values:
            self.client.update_contact(self.scope, str(change.id), values)
        return Result(change.key, id=change.id)

    def values(self, fields: dict[str, Any]) -> dict[str, str]:
        """Wire values of the fields to set; unknown keys are refused."""
        unknown = set(fields) - WRITABLE
        if unknown:
            raise ConnectorError(f"Wildix has no field {sorted(unknown)}", permanent=True)
        values = {key: "" if value is None else str(value).strip() for key, value in fields.items()}
        for key in PHONE_FIELDS:
            number = values.get(key)
            if number and not _E164.match(number):
                # Kept as typed, never dropped; caller ID may not match it.
                logger.warning("Wildix %s %r is not in E.164; written as typed", key, number)
        return values
