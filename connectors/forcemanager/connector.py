"""ForceManager contacts as Records, by public + private API key.

An authorization is the key pair of Settings → Integrations → API key management in
ForceManager's web app (secrets ``public_key`` and ``private_key``); the platform logs in
with them (``POST /login``) and keeps the session key (``session_key``) for the next runs,
logging in again when it expired. ``settings["sales_rep_id"]`` is the default sales rep:
the owner of created contacts (and of the companies created for them) when no owner is
mapped; unset, the first active user.

The synced entity is contacts (scope ``contacts``); entities.py declares every entity
ForceManager offers for the multi-entity engine. Record fields are ForceManager's own
contact field names (``firstName``, ``lastName``, ``email``, ``phone1``, …, see
entities.CONTACT) with these translations:
- ``company``: the name of the contact's account (``accountId``). Written by linking to
  the account of that name, created when missing; a contact without a company belongs
  to the account ``NO_COMPANY`` (ForceManager requires one), read back as no company;
- ``salesRepId``: the owner, a user id as text;
- lookups (``countryId``, ``typeId``, ``gender`` and ``list``/``multivalue`` extra
  fields) as their text, written as the id of that text in their value list;
- extra fields under their own ``Z_`` names, typed from their definitions.
Soft-deleted contacts are the deletion feed of delta reads.

The API host is the Django setting ``FORCEMANAGER_API_URL`` (the sandbox when
``VENDOR_SANDBOXES``), never tenant input.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
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
    Page,
    RateLimited,
    Record,
    RecordGone,
    Result,
    Scope,
    VendorUser,
)
from connectors.forcemanager.client import (
    ExtraField,
    ForceManagerClient,
    Row,
    User,
    format_time,
    lookup_id,
    lookup_value,
    parse_time,
    quote,
)
from connectors.forcemanager.entities import CONTACT, ENTITY_TYPES, EXTRA_FIELD_TYPES
from sync.engine.normalize import normalize_country

if TYPE_CHECKING:
    from connectors.http import Http

RESOURCE = CONTACT.resource
COUNTRIES = CONTACT.lookups["countryId"]
NO_COMPANY = "(No company)"
GENDERS = ("Male", "Female")  # gender 0 and 1 [3p]
TEXT = (
    "firstName",
    "lastName",
    "email",
    "email2",
    "email3",
    "phone1",
    "phone2",
    "fax",
    "address1",
    "city",
    "postcode",
    "region",
    "linkedin",
    "comment",
    "extId",
)
# A delta asks from this long before its cursor: `where` compares with ">" only, so the
# boundary is re-read (inclusive), and echoes of it are skipped by their content hash.
OVERLAP = timedelta(seconds=1)
# The platform's field types -> the extra-field type that holds them.
EXTRA_FIELD_KINDS = {"number": "decimal", "bool": "bit", "date": "datetime", "datetime": "datetime"}


def _field_specs() -> list[FieldSpec]:
    """The contact fields as Records carry them: the account as its name, the sales
    rep not required (the default one is used)."""
    specs = []
    for spec in CONTACT.fields:
        if spec.key == "accountId":
            specs.append(FieldSpec("company", "Company", common="company"))
        elif spec.key == "salesRepId":
            specs.append(FieldSpec("salesRepId", "Sales rep", "owner", common="owner"))
        else:
            specs.append(spec)
    return specs


STANDARD_FIELDS = _field_specs()


class ForceManagerConnector(Connector):
    """Contacts of one ForceManager account, by API key pair."""

    vendor = "forcemanager"
    label = _("ForceManager")
    description = _(
        "Mobile field-sales CRM: contacts with their company, sales rep, lookups and extra "
        "fields. Create a key pair in ForceManager under Settings → Integrations → API key "
        "management and paste both keys."
    )
    auth_kind = "api_key"
    auth_fields = (
        ("public_key", _("Public key (Settings → Integrations → API key management)"), True),
        ("private_key", _("Private key"), True),
    )
    tenant_settings = ("sales_rep_id",)  # the default owner of what we create
    capabilities = Capabilities(delta=True, deletion_feed=True, batch_size=1)
    entities = ("contact",)  # what today's engine syncs
    entity_types = ENTITY_TYPES  # what ForceManager offers (entities.py)
    # The seed: the initial integration deletes the data already in ForceManager and
    # replaces it with the other app's (Salesforce's), with the user's consent.
    replaced_at_activation = True

    def __init__(self, credentials: Credentials, scope: str, http: Http) -> None:
        super().__init__(credentials, scope or RESOURCE, http)
        secrets = credentials.secrets
        size = credentials.settings.get("page_size")  # tests only, set in code
        self.client = ForceManagerClient(
            http,
            str(secrets.get("public_key") or ""),
            str(secrets.get("private_key") or ""),
            session_key=str(secrets.get("session_key") or ""),
            keep=credentials.keep,
            page_size=int(size) if size else None,
        )
        self._extra: list[ExtraField] | None = None
        self._values: dict[str, dict[int, str]] = {}
        self._accounts: dict[int, str] = {}
        self._country_codes: dict[str, int] | None = None
        self._users: list[User] | None = None

    # --- Account, scopes, schema.

    def check(self) -> None:
        self.client.login()  # a fresh session: the keys themselves are checked
        self.client.users()

    def users(self) -> list[VendorUser]:
        return [VendorUser(str(u.id), u.name, u.email) for u in self.team()]

    def team(self) -> list[User]:
        if self._users is None:
            self._users = self.client.users()
        return self._users

    def scopes(self) -> list[Scope]:
        return [Scope(RESOURCE, "Contacts", "object")]

    def extra_fields(self) -> list[ExtraField]:
        if self._extra is None:
            self._extra = self.client.extra_fields(RESOURCE)
        return self._extra

    def values(self, name: str) -> dict[int, str]:
        """A value list, read once per run."""
        if name not in self._values:
            self._values[name] = self.client.values(name)
        return self._values[name]

    def fields(self) -> list[FieldSpec]:
        specs = list(STANDARD_FIELDS)
        for extra in self.extra_fields():
            kind = EXTRA_FIELD_TYPES.get(extra.type, "text")
            choices = tuple(self.values(extra.value_list).values()) if extra.value_list else ()
            specs.append(
                FieldSpec(
                    extra.name,
                    extra.label,
                    kind,
                    custom=True,
                    multi=extra.type == "multivalue",
                    choices=choices,
                )
            )
        return specs

    @staticmethod
    def extra_field_name(key: str) -> str:
        """The extra field that holds another app's field ``key`` (``Industry__c`` ->
        ``Z_Industry``)."""
        return "Z_" + "".join(ch for ch in key.removesuffix("__c") if ch.isalnum())

    def create_extra_field(self, spec: FieldSpec) -> FieldSpec:
        """Define a contact extra field like ``spec`` (another app's custom field, for
        the set-up step that creates them automatically) and answer its FieldSpec.
        Choices become text: the API documents no way to fill a new value list."""
        kind = EXTRA_FIELD_KINDS.get(spec.type, "text")
        name = self.extra_field_name(spec.key)
        self.client.create_extra_field(RESOURCE, name, kind, spec.label)
        self._extra = None
        return next(s for s in self.fields() if s.key == name)

    # --- Reads.

    def fetch(self, cursor: Any) -> Iterator[Page]:
        """Contacts page by page in id order. From nothing: every contact, the
        soft-deleted ones skipped here rather than filtered out by a ``where`` (a contact
        deleted during the listing would then shift the unread ones back by a place:
        soft-deleted rows stay, new ones come last, so the pages hold still); complete
        on the last page. From a cursor: those created, updated or deleted after it
        (less ``OVERLAP``), the soft-deleted ones as deletions. Pages in id order are
        not in time order, so only the last page carries the cursor: the newest change
        seen, never later than the moment the read began by ForceManager's clock (a
        contact edited during the read after we read it is read again next time)."""
        where = None
        if cursor:
            since = parse_time(cursor)
            if since is None:
                raise ConnectorError(f"Unreadable ForceManager cursor {cursor!r}")
            moment = quote(format_time(since - OVERLAP))
            where = f"dateUpdated>{moment} OR dateCreated>{moment} OR dateDeleted>{moment}"
        newest: datetime | None = parse_time(cursor) if cursor else None
        started: datetime | None = None
        number = 0
        while True:
            listing = self.client.page(RESOURCE, number, where)
            if started is None:
                started = (self.client.last_date or datetime.now(UTC)) - OVERLAP
            self.learn_accounts(listing.rows)
            page = Page(records=[self.record(r) for r in listing.rows if not r.deleted])
            page.deleted = [str(r.id) for r in listing.rows if r.deleted and cursor]
            for row in listing.rows:
                if row.changed and (newest is None or row.changed > newest):
                    newest = row.changed
            if not listing.more:
                page.cursor = format_time(min(newest or started, started))
                page.complete = not cursor
                yield page
                return
            yield page
            number += 1

    def learn_accounts(self, rows: list[Row]) -> None:
        """The names of the accounts ``rows`` point at, in one call for those not yet
        known (a page holds at most 50 contacts)."""
        unknown = {lookup_id(r.data.get("accountId")) for r in rows} - set(self._accounts)
        unknown.discard(None)
        if not unknown:
            return
        where = " OR ".join(f"id={i}" for i in sorted(unknown))  # type: ignore[type-var]
        for account in self.client.every("accounts", where):
            self._accounts[account.id] = str(account.data.get("name") or "")

    def record(self, row: Row) -> Record:
        data = row.data
        fields: dict[str, Any] = {key: self.text(data.get(key)) for key in TEXT}
        account = lookup_id(data.get("accountId"))
        company = self._accounts.get(account) if account is not None else None
        owner = lookup_id(data.get("salesRepId"))
        gender = lookup_id(data.get("gender"))
        birthday = parse_time(data.get("birthday"))
        fields.update(
            company=None if company in (None, "", NO_COMPANY) else company,
            salesRepId=str(owner) if owner is not None else None,
            countryId=self.lookup_text(data.get("countryId"), "countries"),
            typeId=self.lookup_text(data.get("typeId"), "contactTypes"),
            gender=GENDERS[gender] if gender in (0, 1) else None,
            birthday=birthday.date().isoformat() if birthday else None,
            marketingCommunications=bool(data.get("marketingCommunications")),
        )
        for extra in self.extra_fields():
            fields[extra.name] = self.extra_value(extra, data.get(extra.name))
        return Record(
            id=str(row.id), updated_at=row.changed, fields=fields, key=fields["extId"] or None
        )

    @staticmethod
    def text(value: Any) -> str | None:
        if value in (None, ""):
            return None
        if isinstance(value, dict | list):
            raise ValueError(f"not a text value: {value!r}")
        return str(value)

    def lookup_text(self, value: Any, value_list: str) -> str | None:
        """A lookup's text: as sent, or from its value list when ForceManager left it blank."""
        found = lookup_id(value)
        if found is None:
            return None
        return lookup_value(value) or self.values(value_list).get(found) or str(found)

    def extra_value(self, extra: ExtraField, value: Any) -> Any:
        if extra.type == "multivalue":
            items = value if isinstance(value, list) else []
            return sorted(str(self.lookup_text(v, extra.value_list)) for v in items)
        if extra.type == "list":
            return self.lookup_text(value, extra.value_list)
        if extra.type == "bit":
            return None if value is None else bool(value)
        if value in (None, ""):
            return None
        return value if extra.type == "decimal" else str(value)

    # --- Writes.

    def push(self, changes: list[Change]) -> list[Result]:
        results = []
        for change in changes:
            try:
                results.append(self.write(change))
            except (AuthError, RateLimited):
                raise  # the whole call failed; nothing after it was sent
            except ConnectorError as exc:
                results.append(Result(change.key, id=change.id, error=exc))
        return results

    def write(self, change: Change) -> Result:
        if change.op == "create":
            body = self.body(change.fields)
            body.setdefault("extId", change.key)  # lets a lost create be recognised
            body.setdefault("salesRepId", self.default_owner().id)
            if "accountId" not in body:
                body["accountId"] = self.account_id(None, body["salesRepId"])
            return Result(change.key, id=str(self.client.create(RESOURCE, body)))
        contact_id = self.numeric(change.id)
        if change.op == "delete":
            with contextlib.suppress(RecordGone):  # already gone: the goal is reached
                self.client.delete(RESOURCE, contact_id)
            return Result(change.key, id=change.id)
        body = self.body(change.fields)
        if body:
            self.client.update(RESOURCE, contact_id, body)
        return Result(change.key, id=change.id)

    @staticmethod
    def numeric(record_id: str | None) -> int:
        if not str(record_id or "").isdigit():
            raise RecordGone(f"ForceManager has no contact {record_id!r}")
        return int(str(record_id))

    def default_owner(self) -> User:
        """The authorization's default sales rep, else the first active user."""
        team = self.team()
        picked = str(self.credentials.settings.get("sales_rep_id") or "")
        for user in team:
            if str(user.id) == picked or not picked:
                return user
        if picked:
            raise ConnectorError(
                f"The default ForceManager sales rep {picked} is not an active user",
                permanent=True,
            )
        raise ConnectorError("This ForceManager account has no active users", permanent=True)

    def body(self, fields: dict[str, Any]) -> dict[str, Any]:
        """The vendor JSON for ``fields`` (only those present)."""
        body: dict[str, Any] = {}
        for key in TEXT:
            if key in fields:
                body[key] = self.text(fields[key])
        if "birthday" in fields:
            day = fields["birthday"]
            body["birthday"] = str(day)[:10] if day not in (None, "") else None
        if "gender" in fields:
            body["gender"] = self.choice_index(fields["gender"])
        if "marketingCommunications" in fields:
            body["marketingCommunications"] = bool(fields["marketingCommunications"])
        for key, value_list in CONTACT.lookups.items():
            if key in fields:
                body[key] = self.lookup_of(fields[key], value_list, key)
        if fields.get("salesRepId") not in (None, ""):
            owner = str(fields["salesRepId"])
            if not owner.isdigit():
                raise ConnectorError(
                    f"A ForceManager sales rep is a user id, not {owner!r}", permanent=True
                )
            body["salesRepId"] = int(owner)
        if "company" in fields:
            owner_id = body.get("salesRepId") or self.default_owner().id
            body["accountId"] = self.account_id(fields["company"], owner_id)
        by_name = {e.name: e for e in self.extra_fields()}
        for key, value in fields.items():
            if key.startswith("Z_"):
                extra = by_name.get(key)
                if extra is None:
                    raise ConnectorError(f"ForceManager has no extra field {key}", permanent=True)
                body[key] = self.extra_body(extra, value)
        return body

    @staticmethod
    def choice_index(value: Any) -> int | None:
        if value in (None, ""):
            return None
        text = str(value).strip().casefold()
        for index, name in enumerate(GENDERS):
            if text in (name.casefold(), str(index)):
                return index
        raise ConnectorError(
            f"ForceManager gender must be Male or Female, not {value!r}", permanent=True
        )

    def lookup_of(self, value: Any, value_list: str, field: str) -> int | None:
        """The id of ``value``'s text in ``value_list``."""
        if value in (None, ""):
            return None
        text = str(value).strip().casefold()
        values = self.values(value_list)
        for value_id, name in values.items():
            if name.strip().casefold() == text or str(value_id) == text:
                return value_id
        if value_list == COUNTRIES:  # "DE", "DEU", "Deutschland" name Germany too
            if self._country_codes is None:
                self._country_codes = {}
                for value_id, name in values.items():
                    self._country_codes.setdefault(normalize_country(name) or "", value_id)
            found = self._country_codes.get(normalize_country(value) or "-")
            if found is not None:
                return found
        raise ConnectorError(f"ForceManager {field} has no value {value!r}", permanent=True)

    def extra_body(self, extra: ExtraField, value: Any) -> Any:
        if extra.type == "multivalue":
            return [self.lookup_of(v, extra.value_list, extra.name) for v in value or []]
        if extra.type == "list":
            return self.lookup_of(value, extra.value_list, extra.name)
        if value in (None, ""):
            return None
        if extra.type == "bit":
            return bool(value)
        if extra.type == "decimal":
            try:
                return float(value)
            except (TypeError, ValueError) as exc:
                raise ConnectorError(
                    f"{extra.name} takes a number, not {value!r}", permanent=True
                ) from exc
        return str(value)

    def account_id(self, name: Any, owner_id: int) -> int:
        """The id of the account called ``name`` (``NO_COMPANY`` for none): found by name,
        created when missing, with the sales rep's branch."""
        name = str(name).strip() if name not in (None, "") else NO_COMPANY
        for account_id, known in self._accounts.items():
            if known.casefold() == name.casefold():
                return account_id
        where = f"name={quote(name)} AND deleted=false"
        for row in self.client.every("accounts", where):
            if str(row.data.get("name") or "").casefold() == name.casefold():
                self._accounts[row.id] = str(row.data["name"])
                return row.id
        branch = next((u.branch_id for u in self.team() if u.id == owner_id), None)
        if branch is None:
            branch = next(iter(self.values("branches")), None)
        if branch is None:
            raise ConnectorError("This ForceManager account has no branch", permanent=True)
        created = self.client.create(
            "accounts", {"name": name, "branchId": branch, "salesRepId1": owner_id}
        )
        self._accounts[created] = name
        return created
