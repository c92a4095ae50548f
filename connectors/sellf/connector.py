"""Sellf people (the contacts) of one team user, or of the whole team, as Records.

An authorization is one API key (Settings → API in Sellf; one key per team) plus the
team user it stands for (``settings["user_id"]``, picked from ``/users`` after the key;
empty means "all team members"). The scope says whose people a connection syncs:
``people`` (the authorization's user's) or ``people:all`` (everyone's). Creates are owned
by the record's ``user_id`` field when it has one, else by the authorization's user.

Record fields are keyed: Sellf's own person attributes (``first_name``, ``last_name``,
``email``, ``email_secondary``, ``phone``, ``mobile``, ``fax``, ``title``, ``website``,
``address``, ``birthday``, ``description``, ``code``, ``vat``, ``skype``), ``company``
(the company's name; written by linking to the company of that name, created if
missing), ``prospect_status`` (lead / prospect / customer), ``tags``, ``user_id`` (the
owner) and ``custom:<key>`` per contact custom field.

The API host is the Django setting ``SELLF_API_URL`` (never tenant input). Requests keep
to ``SELLF_RATE_LIMIT`` a second (0: off) per API key through the seam's gate alone, shared
by every authorization holding the key (``limits_key``). Secret: ``api_key``.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
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
    Record,
    RecordGone,
    Result,
    Scope,
    VendorUser,
    each,
)
from connectors.limits import Limits, limits_of
from connectors.sellf.client import (
    DEFAULT_BASE_URL,
    PERSON_TEXT,
    STATUSES,
    CustomField,
    Person,
    SellfClient,
    format_time,
    parse_time,
)

if TYPE_CHECKING:
    from connectors.http import Http

CUSTOM = "custom:"
MINE, ALL = "people", "people:all"
CUSTOM_TYPES: dict[str, FieldType] = {
    "date": "date",
    "datetime": "datetime",
    "number": "number",
    "integer": "number",
    "decimal": "number",
    "boolean": "bool",
    "url": "url",
    "email": "email",
    "phone": "phone",
}
STANDARD_FIELDS = [
    FieldSpec("first_name", "First name", common="first_name", required=True),
    FieldSpec("last_name", "Last name", common="last_name", required=True),
    FieldSpec("email", "Email", "email", common="email"),
    FieldSpec("email_secondary", "Secondary email", "email", common="email2"),
    FieldSpec("phone", "Phone", "phone", common="phone"),
    FieldSpec("mobile", "Mobile", "phone", common="mobile"),
    FieldSpec("fax", "Fax", "phone", common="fax"),
    FieldSpec("company", "Company", common="company"),
    FieldSpec("title", "Role in company", common="job_title"),
    FieldSpec("website", "Website", "url", common="website"),
    FieldSpec("address", "Address", common="street"),
    FieldSpec("birthday", "Birthday", "date", common="birthday"),
    FieldSpec("description", "Description", common="notes"),
    FieldSpec("skype", "Skype"),
    FieldSpec("vat", "VAT number"),
    FieldSpec("code", "Code (external id)"),
    FieldSpec("tags", "Tags", "tags", common="tags", multi=True),
    FieldSpec("prospect_status", "Status", "status", common="status", choices=STATUSES),
    FieldSpec("user_id", "Owner", "owner", common="owner", required=True),
]


def api_url() -> str:
    """Sellf's API base: the operator's ``SELLF_API_URL``, the emulator when sandboxes
    are on (development, tests), else Sellf's own (connectors/endpoints.py)."""
    try:
        from connectors.endpoints import vendor_api_url

        return vendor_api_url("SELLF_API_URL", DEFAULT_BASE_URL, "/sellf/v2")
    except ImportError:  # pragma: no cover - the connector outside Django
        return DEFAULT_BASE_URL


def rate_limit() -> float:
    """Requests a second per key: the operator's ``SELLF_RATE_LIMIT`` (plans differ; 0:
    none), else the Performance plan's published 20 (connectors/limits.py)."""
    published = limits_of("sellf").per_second
    try:
        from django.conf import settings

        return float(getattr(settings, "SELLF_RATE_LIMIT", published))
    except ImportError:  # pragma: no cover
        return published


class SellfConnector(Connector):
    """People of a Sellf team, per team user, by API key."""

    vendor = "sellf"
    label = _("Sellf")
    description = _(
        "Sales CRM: people with their company, status, tags, owner and custom fields. "
        "Find your API key in Sellf under Settings → API (press GENERATE if there is none); "
        "after the key, choose which Sellf user this connection is for."
    )
    auth_kind = "api_key"
    auth_fields = (("api_key", _("API key (in Sellf: Settings → API)"), True),)
    tenant_settings = ("user_id",)  # the team user this authorization stands for
    # One key serves a whole team: after the key, the tenant picks the user this
    # authorization stands for (sync/web/views/apps.py app_team_user).
    team_users = True
    capabilities = Capabilities(
        delta=True,
        deletion_feed=False,  # no deletion feed: absence from a complete listing tells
        batch_size=20,  # no batch endpoint: one call per write, sent in parallel
        tags=True,
    )

    def __init__(self, credentials: Credentials, scope: str, http: Http) -> None:
        super().__init__(credentials, scope, http)
        api_key = str(credentials.secrets.get("api_key") or "")
        self.client = SellfClient(http, api_url(), api_key)
        picked = credentials.settings.get("user_id")
        self.user_id = int(picked) if picked not in (None, "", "all") else None
        self._custom: list[CustomField] | None = None
        self._companies: dict[int, str] | None = None
        # Tags of each person as this run read them: what the merge decided from.
        self._read_tags: dict[int, frozenset[str]] = {}

    @classmethod
    def limits(cls) -> Limits:
        """Sellf's published limits at ``SELLF_RATE_LIMIT`` requests a second."""
        return replace(limits_of(cls.vendor), per_second=rate_limit())

    def limits_key(self) -> str:
        """The limit is per API key [doc], and one key serves a whole team: every
        authorization of a team user holding it shares one gate (a digest, not the key)."""
        api_key = str(self.credentials.secrets.get("api_key") or "")
        return "key-" + hashlib.sha256(api_key.encode()).hexdigest()[:16] if api_key else ""

    @property
    def owner_filter(self) -> int | None:
        """The Sellf user whose people this connection reads, None for everyone's."""
        return self.user_id if self.scope != ALL else None

    # --- Account, scopes, schema.

    def check(self) -> None:
        if not self.credentials.secrets.get("api_key"):
            raise AuthError("No Sellf API key")
        team = self.client.users()
        if self.user_id is not None and self.user_id not in {u.id for u in team}:
            raise AuthError(f"Sellf user {self.user_id} is not in this team any more")

    def users(self) -> list[VendorUser]:
        return [VendorUser(str(u.id), u.name, u.email) for u in self.client.users()]

    def scopes(self) -> list[Scope]:
        scopes = []
        if self.user_id is not None:
            name = next((u.name for u in self.client.users() if u.id == self.user_id), "")
            scopes.append(Scope(MINE, f"People owned by {name or self.user_id}", "people"))
        scopes.append(Scope(ALL, "People of all team members", "people"))
        return scopes

    def custom_fields(self) -> list[CustomField]:
        if self._custom is None:
            self._custom = self.client.custom_fields()
        return self._custom

    def fields(self) -> list[FieldSpec]:
        specs = list(STANDARD_FIELDS)
        for custom in self.custom_fields():
            choices = custom.extras.get("options") or custom.extras.get("choices") or ()
            specs.append(
                FieldSpec(
                    key=CUSTOM + custom.key,
                    label=custom.label,
                    type=CUSTOM_TYPES.get(custom.type, "choice" if choices else "text"),
                    custom=True,
                    multi=custom.is_multiple,
                    choices=tuple(str(c) for c in choices),
                )
            )
        return specs

    # --- Reads.

    def fetch(self, cursor: Any) -> Iterator[Page]:
        """People sorted by ``updated_at``, from ``cursor`` inclusive (``updated_at:gte``).

        Paged by key, not by offset: each request asks from the last ``updated_at`` seen,
        so an edit or a deletion during the read cannot shift an unread person behind
        the offset (the page number advances only while a whole page shares one
        timestamp). Ids already read are skipped. A listing from nothing is complete
        on its last page; its pages carry no cursor before then, so a crash restarts it.

        A page's cursor is the newest ``updated_at`` seen, but never later than the
        moment the read began by Sellf's clock (its Date header, less a second): a
        person edited during the read after we read it is then read again next time."""
        boundary: str | None = cursor or None
        number = 1
        seen: set[int] = set()
        newest = boundary
        started: datetime | None = None
        while True:
            params: dict[str, Any] = {"sort_by": "updated_at", "page": number}
            if boundary:
                params["updated_at:gte"] = boundary
            if self.owner_filter is not None:
                params["user_id"] = self.owner_filter
            people, more = self.client.people_page(params)
            if started is None and self.client.last_date is not None:
                started = self.client.last_date - timedelta(seconds=1)
            fresh = [p for p in people if p.id not in seen]
            seen.update(p.id for p in fresh)
            records = [self.record(p) for p in fresh]
            if people:
                last = people[-1].updated_at
                newest = format_time(last) if last else newest
            done = not more or not people
            page = Page(records=records)
            if cursor or done:
                page.cursor = self.safe_cursor(newest, started)
            page.complete = done and not cursor
            yield page
            if done:
                return
            if newest == boundary:
                number += 1  # a whole page at one timestamp: step on within it
            else:
                boundary, number = newest, 1

    @staticmethod
    def safe_cursor(newest: str | None, started: datetime | None) -> str:
        if newest is None:
            return format_time(started or datetime.now(UTC))
        moment = parse_time(newest)
        if started is not None and moment is not None and moment > started:
            return format_time(started)
        return newest

    def company_name(self, company_id: int | None) -> str | None:
        if company_id is None:
            return None
        if self._companies is None or company_id not in self._companies:
            self._companies = {c.id: c.name for c in self.client.companies()}
        return self._companies.get(company_id)

    def record(self, person: Person) -> Record:
        fields: dict[str, Any] = dict(person.text)
        self._read_tags[person.id] = frozenset(person.tags)
        status = person.prospect_status
        fields.update(
            company=self.company_name(person.company_id),
            birthday=person.birthday.date().isoformat() if person.birthday else None,
            tags=sorted(set(person.tags)),
            prospect_status=STATUSES[status] if status in (0, 1, 2) else None,
            user_id=str(person.user_id) if person.user_id is not None else None,
        )
        for custom in self.custom_fields():
            value = person.custom_fields.get(custom.key)
            if custom.is_multiple:
                value = [str(v) for v in value] if isinstance(value, list) else []
            fields[CUSTOM + custom.key] = None if value == "" else value
        return Record(
            id=str(person.id), updated_at=person.updated_at, fields=fields, key=person.text["code"]
        )

    # --- Writes.

    def push(self, changes: list[Change]) -> list[Result]:
        # One call per change, up to the vendor's parallel limit (connectors/limits.py);
        # AuthError and RateLimited fail the whole call.
        return each(self.http, changes, self.write)

    def write(self, change: Change) -> Result:
        if change.op == "create":
            body = self.body(change.fields, None)
            body.setdefault("code", change.key)  # lets a lost create be recognised
            if body.get("user_id") is None:
                body["user_id"] = self.default_owner()
            for required in ("first_name", "last_name"):
                if not body.get(required):
                    raise ConnectorError(
                        f"Sellf requires a {required.replace('_', ' ')}", permanent=True
                    )
            stored = self.client.create_person(body)
            return Result(change.key, id=str(stored.id), record=self.record(stored))
        person_id = self.numeric(change.id)
        if change.op == "delete":
            with contextlib.suppress(RecordGone):  # already gone: the goal is reached
                self.client.delete_person(person_id)
            return Result(change.key, id=change.id)
        current = None
        if "tags" in change.fields or any(k.startswith(CUSTOM) for k in change.fields):
            current = self.client.person(person_id)
        body = self.body(change.fields, current)
        stored = self.client.update_person(person_id, body) if body else current
        stored = stored or self.client.person(person_id)
        return Result(change.key, id=change.id, record=self.record(stored))

    @staticmethod
    def numeric(person_id: str | None) -> str:
        if not str(person_id or "").isdigit():
            raise RecordGone(f"Sellf has no person {person_id!r}")
        return str(person_id)

    def default_owner(self) -> int:
        if self.user_id is not None:
            return self.user_id
        team = self.client.users()
        if not team:
            raise ConnectorError("This Sellf team has no users to own the person", permanent=True)
        return team[0].id

    def body(self, fields: dict[str, Any], current: Person | None) -> dict[str, Any]:
        """The vendor JSON for ``fields`` (only those present).

        Tags: the merge decided the set from what this run read, but someone may have
        added a tag in Sellf since. Only additions: ``atags`` appends them and touches
        nothing else. A removal: ``tags`` replaces the set with the stored one minus
        what the merge removed plus what it added, so a tag added meanwhile stays."""
        body: dict[str, Any] = {}
        for key in PERSON_TEXT:
            if key in fields:
                value = fields[key]
                body[key] = None if value in (None, "") else str(value)
        if "birthday" in fields:
            body["birthday"] = self.day(fields["birthday"])
        if "prospect_status" in fields:
            body["prospect_status"] = self.status(fields["prospect_status"])
        if fields.get("user_id") not in (None, ""):
            owner = str(fields["user_id"])
            if not owner.isdigit():
                raise ConnectorError(
                    f"Sellf owner must be a user id, not {owner!r}", permanent=True
                )
            body["user_id"] = int(owner)
        if "company" in fields:
            body["company_id"] = self.company_id(fields["company"], body.get("user_id"))
        if "tags" in fields:
            wanted = {str(t) for t in fields["tags"] or []}
            if current is None:
                body["tags"] = sorted(wanted)
            else:
                held = set(current.tags)
                read = self._read_tags.get(current.id, frozenset(held))
                removed = read - wanted
                if held & removed:
                    body["tags"] = sorted((held - removed) | wanted)
                elif wanted - held:
                    body["atags"] = sorted(wanted - held)
        custom = self.custom_body(fields)
        if custom:
            body["custom_fields"] = custom
        return body

    def custom_body(self, fields: dict[str, Any]) -> dict[str, Any]:
        by_key = {c.key: c for c in self.custom_fields()}
        custom: dict[str, Any] = {}
        for key, value in fields.items():
            if not key.startswith(CUSTOM):
                continue
            spec = by_key.get(key[len(CUSTOM) :])
            if spec is None:
                raise ConnectorError(f"Sellf has no contact custom field {key!r}", permanent=True)
            if spec.is_multiple:
                custom[spec.key] = [str(v) for v in (value or [])]
            elif spec.type == "date":
                custom[spec.key] = self.day(value)
            else:
                custom[spec.key] = None if value in (None, "") else value
        return custom

    @staticmethod
    def day(value: Any) -> str | None:
        """A date as Sellf takes it (``YYYY-MM-DD``)."""
        if value in (None, ""):
            return None
        moment = parse_time(str(value)) if "T" in str(value) else None
        return moment.date().isoformat() if moment else str(value)[:10]

    @staticmethod
    def status(value: Any) -> int | None:
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in STATUSES:
            return STATUSES.index(text)
        if text in ("0", "1", "2"):
            return int(text)
        raise ConnectorError(
            f"Sellf status must be one of {', '.join(STATUSES)}, not {value!r}", permanent=True
        )

    def company_id(self, name: Any, owner: int | None) -> int | None:
        """The id of the company called ``name``: linked by name, created when missing.
        Companies are few next to people, so the team's list is read once per run;
        a name not in it is asked for again before creating (another run may have)."""
        if name in (None, ""):
            return None
        name = str(name).strip()
        if self._companies is None:
            self._companies = {c.id: c.name for c in self.client.companies()}
        known = {n.casefold(): i for i, n in self._companies.items()}
        if name.casefold() in known:
            return known[name.casefold()]
        found = self.client.find_company(name)
        if found is None:
            found = self.client.create_company(name, owner or self.default_owner())
        self._companies[found.id] = found.name
        return found.id
