"""Caller ID: who is calling, among the tenant's synced records of every connection.

``index_links`` keeps ``PhoneEntry`` (E.164 number -> record) up to date; the engine
calls it once per settled chunk of links (sync/engine/run.py, ``_finalize``). ``lookup``
normalizes the number asked for and answers with one indexed query: the people it
belongs to, each with a name, a company and the record in every app it lives in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connectors.registry import VENDORS, connector_class
from sync.engine.bulk import insert_rows
from sync.engine.normalize import normalize_phone
from sync.engine.planner import SIDES
from sync.models import Account, AppAuthorization, Connection, PhoneEntry, RecordLink

if TYPE_CHECKING:
    from connectors.base import FieldSpec
    from sync.engine.context import RunContext

_EXTENSION = " ext. "


def e164(value: Any, default_country: str = "") -> str | None:
    """The E.164 form of ``value`` without an extension, or None when it does not parse
    (only parsed numbers are indexed: caller ID matches on them)."""
    normalized = normalize_phone(value, default_country)
    if not normalized or not normalized.startswith("+"):
        return None
    return normalized.split(_EXTENSION, 1)[0]


@dataclass(frozen=True)
class _SideShape:
    """Which of a side's vendor fields hold phones, the name and the company."""

    phones: tuple[str, ...]
    full_name: str | None
    first_name: str | None
    last_name: str | None
    company: str | None

    @classmethod
    def of(cls, specs: Sequence[FieldSpec]) -> _SideShape:
        by_common = {s.common: s.key for s in reversed(specs) if s.common}
        return cls(
            phones=tuple(s.key for s in specs if s.type == "phone" and not s.multi),
            full_name=by_common.get("full_name"),
            first_name=by_common.get("first_name"),
            last_name=by_common.get("last_name"),
            company=by_common.get("company"),
        )

    def name(self, fields: dict[str, Any]) -> str:
        if self.full_name and fields.get(self.full_name):
            return str(fields[self.full_name]).strip()
        parts = [fields.get(k) for k in (self.first_name, self.last_name) if k]
        return " ".join(str(p).strip() for p in parts if p)


def index_links(
    ctx: RunContext, links: Iterable[RecordLink], *, indexed_up_to: int | None = None
) -> None:
    """Replace the phone entries of ``links`` by what their sides hold now.
    ``indexed_up_to``: the highest link primary key when the run began; links above it
    were made by the run and have no entries yet, so there are none of theirs to delete
    (an initial sync's links are all new: the delete would only search the index)."""
    links = [link for link in links if link.pk]
    if not links:
        return
    connection = ctx.connection
    country = connection.default_phone_country
    shapes = {side: _SideShape.of(ctx.specs[side]) for side in SIDES}
    authorizations = {side: connection.authorization(side) for side in SIDES}
    rows = []
    for link in links:
        for side in SIDES:
            fields, record_id = link.side(side).fields, link.side(side).id
            if not fields or not record_id:
                continue
            shape = shapes[side]
            numbers = {e164(fields.get(key), country) for key in shape.phones}
            numbers.discard(None)
            if not numbers:
                continue
            name = shape.name(fields)[:255]
            company = str(fields.get(shape.company) or "").strip()[:255] if shape.company else ""
            for number in sorted(n for n in numbers if n):
                rows.append(
                    {
                        "account_id": connection.account_id,
                        "link_id": link.pk,
                        "authorization_id": authorizations[side].pk,
                        "side": side,
                        "vendor": authorizations[side].vendor,
                        "record_id": str(record_id),
                        "phone": number,
                        "name": name,
                        "company": company,
                    }
                )
    indexed = [link.pk for link in links if indexed_up_to is None or link.pk <= indexed_up_to]
    if indexed:
        PhoneEntry.objects.filter(link_id__in=indexed)._raw_delete(
            PhoneEntry.objects.db  # nothing refers to an entry: no collector needed
        )
    # Plain rows through the engine's bulk insert (COPY on PostgreSQL): an initial sync
    # indexes tens of thousands of numbers, and model instances cost more than the rows.
    insert_rows(PhoneEntry, rows)


# --- Lookup.


@dataclass
class Person:
    """One caller: the records that are the same person across the tenant's apps."""

    name: str = ""
    company: str = ""
    records: list[dict[str, Any]] = field(default_factory=list)


def candidates(account: Account, phone: str) -> list[str]:
    """The E.164 numbers ``phone`` may be: as typed with an international prefix, else
    read with each default country the tenant's connections use."""
    countries = {""} | set(
        Connection.objects.filter(account=account)
        .exclude(default_phone_country="")
        .values_list("default_phone_country", flat=True)
    )
    found = {e164(phone, country) for country in sorted(countries)}
    return sorted(n for n in found if n)


def lookup(account: Account, phone: str) -> tuple[list[str], list[Person]]:
    """The numbers ``phone`` normalizes to and the people of ``account`` that have one."""
    numbers = candidates(account, phone)
    if not numbers:
        return [], []
    # No ORDER BY in SQL: with a LIMIT, PostgreSQL may walk another index in that order
    # instead of the (account, phone) one; a number has a handful of rows, sorted here.
    entries = sorted(
        PhoneEntry.objects.filter(account=account, phone__in=numbers).values(
            "link_id", "side", "authorization_id", "vendor", "record_id", "name", "company"
        )[:200],
        key=lambda e: (e["link_id"], e["side"]),
    )
    # The same record reached through two connections, or two records of one link, are
    # one person: join them (a tiny union-find over the matches).
    parent: dict[Any, Any] = {}

    def root(node: Any) -> Any:
        while parent.setdefault(node, node) != node:
            node = parent[node]
        return node

    for entry in entries:
        record = ("r", entry["authorization_id"], entry["record_id"])
        parent[root(record)] = root(("l", entry["link_id"]))
    authorizations = {
        a.pk: a
        for a in AppAuthorization.objects.filter(
            account=account, pk__in={e["authorization_id"] for e in entries}
        )
    }
    people: dict[Any, Person] = {}
    seen: set[tuple[int, str]] = set()
    for entry in entries:
        key = (entry["authorization_id"], entry["record_id"])
        person = people.setdefault(root(("r", *key)), Person())
        person.name = person.name or entry["name"]
        person.company = person.company or entry["company"]
        if key in seen:
            continue
        seen.add(key)
        authorization = authorizations.get(entry["authorization_id"])
        person.records.append(
            {
                "vendor": entry["vendor"],
                "app": _label(entry["vendor"]),
                "authorization": authorization.label if authorization else "",
                "record_id": entry["record_id"],
                "url": _record_url(entry["vendor"], entry["record_id"], authorization),
            }
        )
    return numbers, list(people.values())


def _label(vendor: str) -> str:
    return connector_class(vendor).label if vendor in VENDORS else vendor


def _record_url(vendor: str, record_id: str, authorization: AppAuthorization | None) -> str | None:
    if vendor not in VENDORS or authorization is None:
        return None
    return connector_class(vendor).record_url(record_id, dict(authorization.settings))
