"""ForceManager records of every entity entities.py declares, by public + private API key.

An authorization is the key pair of Settings → Integrations → API key management in
ForceManager's web app (secrets ``public_key`` and ``private_key``); the platform logs in
with them (``POST /login``) and keeps the session key (``session_key``) for the next runs,
logging in again when it expired. ``settings["sales_rep_id"]`` is the default sales rep:
the owner of created records (and of the companies created for contacts) when no owner
is mapped; unset, the first active user. ``settings["activity_type_id"]`` is the type of
created activities that come without one (the id or the text of one of
``/values?resourcename=activityTypes``, the choices of ``activityTypeId``); unset, the
first type. Any other required lookup or reference a create leaves empty is refused
before it is sent, saying which (``fill_required``). ``settings["default_first_name"]``
is the first name of a contact created without one (ForceManager requires it); unset,
such a create is refused before it is sent (``refusal``: the record's error, listed by
the preview).

One scope per entity type (``scopes()``): the resource (``accounts``, ``contacts``,
``opportunities``, ``activities``) or ``events`` / ``tasks``, the two halves of
``calendars``. A connector serves the entity of its scope through one path parametrised
by that ``EntityType``: its fields, listings, deltas and writes. Record fields are
ForceManager's own field names (``firstName``, ``name``, ``reference``, …) with these
translations:
- references to other records (a contact's ``accountId``, an opportunity's
  ``accountId1`` / ``contactId1``, …) are the referenced record's id as text, read and
  written as that id (the engine translates it through the links of that entity);
- owners (``salesRepId``, an account's ``salesRepId1``): a user id as text; the default
  sales rep when a create has none;
- lookups (``countryId``, ``typeId``, ``statusId``, ``branchId``, ``gender``, and
  ``list``/``multivalue`` extra fields) as their text, written as the id of that text in
  their value list; an account's ``branchId`` defaults to its sales rep's branch;
- contacts also carry ``company``, the name of their account, for connections that do
  not sync companies: written by linking to the account of that name, created when
  missing. A contact needs an account: one with none belongs to the account
  ``NO_COMPANY``, read back as no company (neither a name nor a reference), and that
  placeholder is never listed as a company; a contact of a soft-deleted account reads
  as one without a company too;
- extra fields under their own ``Z_`` names, typed from their definitions, per resource.
Soft-deleted records are the deletion feed of delta reads.

The API host is the Django setting ``FORCEMANAGER_API_URL`` (the sandbox when
``VENDOR_SANDBOXES``), never tenant input.
"""

from __future__ import annotations

import contextlib
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
from connectors.forcemanager.entities import (
    CONTACT,
    ENTITY_TYPES,
    EXTRA_FIELD_TYPES,
    TASK,
    EntityType,
)
from sync.engine.normalize import normalize_country

if TYPE_CHECKING:
    from connectors.http import Http

RESOURCE = CONTACT.resource  # the scope of connections made before there were several
SCOPES: dict[str, EntityType] = {e.scope: e for e in ENTITY_TYPES.values()}
COUNTRIES = "countries"
NO_COMPANY = "(No company)"
NO_FIRST_NAME = (
    "ForceManager contacts need a first name and this contact has none; set a default "
    "first name (default_first_name) on the ForceManager authorization."
)
GENDERS = ("Male", "Female")  # gender 0 and 1 [3p]
# A delta asks from this long before its cursor: `where` compares with ">" only, so the
# boundary is re-read (inclusive), and echoes of it are skipped by their content hash.
OVERLAP = timedelta(seconds=1)
# Required lookups a create may leave empty -> the setting naming their default (the
# value's id or text; unset, the value list's first value). An account's branch has its
# own default (its sales rep's, ``branch_of``).
LOOKUP_DEFAULTS = {"activityTypeId": "activity_type_id"}
# A task's dateStart, a datetime on the wire, is the day it is due (the other CRMs' task
# has a due date, common ``due_date``, and no start): read and paired as a date.
TASK_DUE = FieldSpec("dateStart", "Due date", "date", common="due_date", required=True)
# The platform's field types -> the extra-field type that holds them.
EXTRA_FIELD_KINDS = {"number": "decimal", "bool": "bit", "date": "datetime", "datetime": "datetime"}


def standard_fields(entity: EntityType) -> list[FieldSpec]:
    """``entity``'s fields as Records carry them. What a create gets a default for is not
    required of the other app: the sales rep (the default one), an account's branch (its
    sales rep's), an activity's type (``LOOKUP_DEFAULTS``) and a contact's account
    (``NO_COMPANY``). Contacts also carry their
    account's name as ``company``, next to the reference ``accountId``. A task's start is
    its due date (``TASK_DUE``): a date as Records carry it, written as midnight UTC."""
    defaulted = {r.field for r in entity.references if r.entity == "user"} | {"branchId"}
    defaulted |= set(LOOKUP_DEFAULTS)
    if entity is CONTACT:
        defaulted.add("accountId")
    specs = []
    for spec in entity.fields:
        if entity is CONTACT and spec.key == "accountId":
            specs.append(FieldSpec("company", "Company name", common="company"))
        if entity is TASK and spec.key == TASK_DUE.key:
            spec = TASK_DUE
        specs.append(replace(spec, required=False) if spec.key in defaulted else spec)
    return specs


class ForceManagerConnector(Connector):
    """The records of one entity type (the scope's) of one ForceManager account, by API
    key pair."""

    vendor = "forcemanager"
    label = _("ForceManager")
    description = _(
        "Mobile field-sales CRM: companies, contacts, opportunities, activities, events and "
        "tasks, with their sales reps, lookups and extra fields. Create a key pair in "
        "ForceManager under Settings → Integrations → API key management and paste both keys."
    )
    auth_kind = "api_key"
    auth_fields = (
        ("public_key", _("Public key (Settings → Integrations → API key management)"), True),
        ("private_key", _("Private key"), True),
    )
    # The default owner of what we create, the default type of created activities, and
    # the first name of a contact created without one.
    tenant_settings = ("sales_rep_id", "activity_type_id", "default_first_name")
    capabilities = Capabilities(delta=True, deletion_feed=True, batch_size=1)
    entities = tuple(ENTITY_TYPES)  # one scope each (scopes())
    entity_types = ENTITY_TYPES  # what ForceManager offers (entities.py)
    # The seed: the initial integration deletes the data already in ForceManager and
    # replaces it with the other app's (Salesforce's), with the user's consent.
    replaced_at_activation = True

    def __init__(self, credentials: Credentials, scope: str, http: Http) -> None:
        super().__init__(credentials, scope or RESOURCE, http)
        if self.scope not in SCOPES:
            raise ConnectorError(f"ForceManager has no scope {self.scope!r}", permanent=True)
        self.entity = SCOPES[self.scope]
        self.resource = self.entity.resource
        # Reference fields -> the entity they point at ("user" for sales reps).
        self.references = {r.field: r.entity for r in self.entity.references}
        self.owner_field = next((k for k, e in self.references.items() if e == "user"), None)
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
        self._gone_accounts: set[int] = set()  # soft-deleted accounts contacts point at
        self._country_codes: dict[str, int] | None = None
        self._users: list[User] | None = None
        self._presented: list[FieldSpec] | None = None

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
        return [Scope(e.scope, e.label, "object", entity=e.name) for e in ENTITY_TYPES.values()]

    def extra_fields(self) -> list[ExtraField]:
        if self._extra is None:
            self._extra = self.client.extra_fields(self.resource)
        return self._extra

    def values(self, name: str) -> dict[int, str]:
        """A value list, read once per run."""
        if name not in self._values:
            self._values[name] = self.client.values(name)
        return self._values[name]

    def fields(self) -> list[FieldSpec]:
        """The standard fields (a choice lookup with its value list's texts as choices)
        and the resource's extra fields."""
        specs = []
        for spec in standard_fields(self.entity):
            value_list = self.entity.lookups.get(spec.key)
            if value_list and spec.type == "choice" and not spec.choices:
                spec = replace(spec, choices=tuple(self.values(value_list).values()))
            specs.append(spec)
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
        """Define an extra field like ``spec`` on this scope's resource (another app's
        custom field, for the set-up step that creates them automatically) and answer its
        FieldSpec. Choices become text: the API documents no way to fill a new value
        list."""
        kind = EXTRA_FIELD_KINDS.get(spec.type, "text")
        name = self.extra_field_name(spec.key)
        self.client.create_extra_field(self.resource, name, kind, spec.label)
        self._extra = None
        return next(s for s in self.fields() if s.key == name)

    # --- Reads.

    def fetch(self, cursor: Any) -> Iterator[Page]:
        """The resource's records page by page in id order (events and tasks: their half
        of ``calendars``). From nothing: every record, the soft-deleted ones skipped here
        rather than filtered out by a ``where`` (a record deleted during the listing would
        then shift the unread ones back by a place: soft-deleted rows stay, new ones come
        last, so the pages hold still); complete on the last page. From a cursor: those
        created, updated or deleted after it (less ``OVERLAP``), the soft-deleted ones as
        deletions. Pages in id order are not in time order, so only the last page carries
        the cursor: the newest change seen, never later than the moment the read began by
        ForceManager's clock (a record edited during the read after we read it is read
        again next time)."""
        where = self.entity.where or None
        if cursor:
            since = parse_time(cursor)
            if since is None:
                raise ConnectorError(f"Unreadable ForceManager cursor {cursor!r}")
            moment = quote(format_time(since - OVERLAP))
            delta = f"dateUpdated>{moment} OR dateCreated>{moment} OR dateDeleted>{moment}"
            where = f"{where} AND ({delta})" if where else delta
        newest: datetime | None = parse_time(cursor) if cursor else None
        started: datetime | None = None
        number = 0
        while True:
            listing = self.client.page(self.resource, number, where)
            if started is None:
                started = (self.client.last_date or datetime.now(UTC)) - OVERLAP
            rows = [r for r in listing.rows if not self.placeholder(r)]
            if self.entity is CONTACT:
                self.learn_accounts(rows)
            page = Page(records=[self.record(r) for r in rows if not r.deleted])
            page.deleted = [str(r.id) for r in rows if r.deleted and cursor]
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

    def presented(self) -> list[FieldSpec]:
        """The entity's own fields as Records carry them (``standard_fields``, without a
        contact's derived ``company``)."""
        if self._presented is None:
            keys = {spec.key for spec in self.entity.fields}
            self._presented = [s for s in standard_fields(self.entity) if s.key in keys]
        return self._presented

    def placeholder(self, row: Row) -> bool:
        """Whether ``row`` is the account ``NO_COMPANY`` (contacts without a company
        belong to it): ForceManager's stand-in for no company, not a company."""
        return self.resource == "accounts" and row.data.get("name") == NO_COMPANY

    def learn_accounts(self, rows: list[Row]) -> None:
        """The names of the accounts ``rows`` point at, in one call for those not yet
        known (a page holds at most 50 contacts); the soft-deleted ones apart."""
        known = set(self._accounts) | self._gone_accounts
        unknown = {lookup_id(r.data.get("accountId")) for r in rows} - known
        unknown.discard(None)
        if not unknown:
            return
        where = " OR ".join(f"id={i}" for i in sorted(unknown))  # type: ignore[type-var]
        for account in self.client.every("accounts", where):
            if account.deleted:
                self._gone_accounts.add(account.id)
            else:
                self._accounts[account.id] = str(account.data.get("name") or "")

    def record(self, row: Row) -> Record:
        data = row.data
        fields: dict[str, Any] = {
            spec.key: self.read(spec, data.get(spec.key)) for spec in self.presented()
        }
        if self.entity is CONTACT:
            account = lookup_id(data.get("accountId"))
            company = self._accounts.get(account) if account is not None else None
            if company == NO_COMPANY or account in self._gone_accounts:
                # The placeholder, or a company deleted in ForceManager (its contacts
                # keep pointing at it there): no company.
                fields["accountId"] = company = None
            fields["company"] = company or None
        for extra in self.extra_fields():
            fields[extra.name] = self.extra_value(extra, data.get(extra.name))
        return Record(
            id=str(row.id), updated_at=row.changed, fields=fields, key=fields["extId"] or None
        )

    def read(self, spec: FieldSpec, value: Any) -> Any:
        """A standard field's value as Records carry it (see the module docstring)."""
        key = spec.key
        if key in self.references:
            found = lookup_id(value)
            return str(found) if found is not None else None
        if key in self.entity.lookups:
            return self.lookup_text(value, self.entity.lookups[key])
        if key == "gender":
            gender = lookup_id(value)
            return GENDERS[gender] if gender in (0, 1) else None
        if spec.type == "bool":
            return bool(value)
        if spec.type == "number":
            return None if value in (None, "") else float(value)
        if spec.type in ("date", "datetime"):
            moment = parse_time(value)
            if moment is None:
                return None
            return moment.date().isoformat() if spec.type == "date" else format_time(moment)
        return self.text(value)

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

    def refusal(self, change: Change) -> str | None:
        """A create lacking a value ForceManager requires and nothing here fills in: a
        contact's first name with no default one, or another required field (a task's
        start, an opportunity's company) left empty. Those filled in on the way (the
        owner, an account's branch, a lookup's default, a contact's account) are not."""
        if change.op != "create":
            return None
        if self.entity is CONTACT and not self.first_name(change.fields):
            return NO_FIRST_NAME
        filled = {self.owner_field, "branchId", "firstName", *LOOKUP_DEFAULTS}
        if self.entity is CONTACT:
            filled.add("accountId")  # the placeholder account when none is given
        for spec in self.entity.fields:
            if (
                spec.required
                and spec.key not in filled
                and change.fields.get(spec.key)
                in (
                    None,
                    "",
                )
            ):
                return self.missing(spec)
        return None

    def first_name(self, fields: dict[str, Any]) -> str:
        """A new contact's first name: its own, else the authorization's
        ``default_first_name`` ("" when neither)."""
        given = str(fields.get("firstName") or "").strip()
        return given or str(self.credentials.settings.get("default_first_name") or "").strip()

    def write(self, change: Change) -> Result:
        if change.op == "create":
            body = self.body(change.fields)
            if self.entity is CONTACT:
                body["firstName"] = self.first_name(change.fields)
                if not body["firstName"]:
                    raise ConnectorError(NO_FIRST_NAME, permanent=True)
            if not body.get("extId"):
                body["extId"] = change.key  # lets a lost create be recognised
            if self.owner_field and body.get(self.owner_field) is None:
                body[self.owner_field] = self.default_owner().id
            owner = int(body.get(self.owner_field) or self.default_owner().id)
            if self.entity is CONTACT and body.get("accountId") is None:
                body["accountId"] = self.account_id(None, owner)
            self.fill_required(body, owner)
            if self.entity.where:  # one half of a shared resource: say which
                body["isTask"] = self.entity is TASK
            return Result(change.key, id=str(self.client.create(self.resource, body)))
        record_id = self.numeric(change.id)
        if change.op == "delete":
            with contextlib.suppress(RecordGone):  # already gone: the goal is reached
                self.client.delete(self.resource, record_id)
            return Result(change.key, id=change.id)
        body = self.body(change.fields)
        if body:
            self.client.update(self.resource, record_id, body)
        return Result(change.key, id=change.id)

    def numeric(self, record_id: str | None) -> int:
        if not str(record_id or "").isdigit():
            raise RecordGone(f"ForceManager has no {self.entity.name} {record_id!r}")
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

    def fill_required(self, body: dict[str, Any], owner_id: int) -> None:
        """A create's required lookups and references left empty: an account's branch
        (its sales rep's), a lookup with a default (``LOOKUP_DEFAULTS``); any other (an
        opportunity's company) is refused here, with a message naming it, rather than by
        ForceManager's 400 (plain required fields, a last name, are left to that)."""
        linked = {*self.entity.lookups, *self.references}
        for spec in self.entity.fields:
            if not spec.required or spec.key not in linked or body.get(spec.key) not in (None, ""):
                continue
            if spec.key == "branchId":
                body["branchId"] = self.branch_of(owner_id)
            elif spec.key in LOOKUP_DEFAULTS:
                body[spec.key] = self.default_lookup(spec)
            else:
                raise ConnectorError(self.missing(spec), permanent=True)

    def missing(self, spec: FieldSpec) -> str:
        """The words for a create lacking the required ``spec``."""
        return (
            f"ForceManager {self.entity.label.lower()} need a "
            f"{spec.label.lower()} ({spec.key}) and this record has none"
        )

    def default_lookup(self, spec: FieldSpec) -> int:
        """The default of a required lookup: the value its setting names (by id or
        text), else the value list's first one."""
        value_list = self.entity.lookups[spec.key]
        values = self.values(value_list)
        setting = LOOKUP_DEFAULTS[spec.key]
        picked = str(self.credentials.settings.get(setting) or "").strip()
        if picked:
            for value_id, text in values.items():
                if picked == str(value_id) or picked.casefold() == text.strip().casefold():
                    return value_id
            raise ConnectorError(
                f"The default ForceManager {spec.label.lower()} {picked!r} ({setting}) is "
                f"none of this account's: {', '.join(values.values()) or 'it has none'}",
                permanent=True,
            )
        if not values:
            raise ConnectorError(
                f"This ForceManager account has no {spec.label.lower()} ({value_list}) for "
                f"new {self.entity.label.lower()}: add one in ForceManager",
                permanent=True,
            )
        return next(iter(values))

    def branch_of(self, owner_id: int) -> int:
        """The branch of a new account: its sales rep's, else the first one."""
        branch = next((u.branch_id for u in self.team() if u.id == owner_id), None)
        if branch is None:
            branch = next(iter(self.values("branches")), None)
        if branch is None:
            raise ConnectorError("This ForceManager account has no branch", permanent=True)
        return branch

    def body(self, fields: dict[str, Any]) -> dict[str, Any]:
        """The vendor JSON for ``fields`` (only those present; an owner left empty is
        left out: the default one on a create, unchanged on an update)."""
        body: dict[str, Any] = {}
        for spec in self.entity.fields:
            if spec.key not in fields or spec.read_only:
                continue
            if spec.key == self.owner_field and fields[spec.key] in (None, ""):
                continue
            body[spec.key] = self.wire(spec, fields[spec.key])
        # A contact without an account id: by its company's name when that is given,
        # else the placeholder (an account is required) when the reference was cleared.
        if (
            self.entity is CONTACT
            and body.get("accountId") is None
            and ("company" in fields or "accountId" in body)
        ):
            owner_id = body.get("salesRepId") or self.default_owner().id
            body["accountId"] = self.account_id(fields.get("company"), owner_id)
        by_name = {e.name: e for e in self.extra_fields()}
        for key, value in fields.items():
            if key.startswith("Z_"):
                extra = by_name.get(key)
                if extra is None:
                    raise ConnectorError(
                        f"ForceManager {self.resource} have no extra field {key}", permanent=True
                    )
                body[key] = self.extra_body(extra, value)
        return body

    def wire(self, spec: FieldSpec, value: Any) -> Any:
        """A standard field's value as ForceManager takes it (see ``read``)."""
        key = spec.key
        if key in self.references:
            if value in (None, ""):
                return None
            text = str(value).strip()
            if not text.isdigit():
                what = "a user" if self.references[key] == "user" else f"a {self.references[key]}"
                raise ConnectorError(
                    f"ForceManager {key} takes the id of {what}, not {value!r}", permanent=True
                )
            return int(text)
        if key in self.entity.lookups:
            return self.lookup_of(value, self.entity.lookups[key], key)
        if key == "gender":
            return self.choice_index(value)
        if spec.type == "bool":
            return bool(value)
        if value in (None, ""):
            return None
        if spec.type == "number":
            return self.number(key, value)
        if spec.type == "date":
            return str(value)[:10]
        if spec.type == "datetime":
            return self.moment(key, value)
        return self.text(value)

    @staticmethod
    def number(key: str, value: Any) -> float:
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise ConnectorError(f"{key} takes a number, not {value!r}", permanent=True) from exc

    @staticmethod
    def moment(key: str, value: Any) -> str:
        """A date and time in the wire's form (a bare date is midnight UTC)."""
        if isinstance(value, datetime):
            return format_time(value)
        try:
            parsed = parse_time(value)
        except ConnectorError as exc:
            raise ConnectorError(
                f"{key} takes a date and time, not {value!r}", permanent=True
            ) from exc
        if parsed is None:
            raise ConnectorError(f"{key} takes a date and time, not {value!r}", permanent=True)
        return format_time(parsed)

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
            return self.number(extra.name, value)
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
        body = {"name": name, "branchId": self.branch_of(owner_id), "salesRepId1": owner_id}
        created = self.client.create("accounts", body)
        self._accounts[created] = name
        return created
