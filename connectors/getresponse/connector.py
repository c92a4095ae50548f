"""GetResponse contacts of one list (a "campaign") as Records, and back.

A GetResponse contact is one email in one list, so the scope is a campaign id, deleting a
contact removes it from that list, and email is required. Record fields are keyed:
``email``, ``name`` (one full-name field), ``note``, ``scoring``, ``tags`` (names),
``campaign`` (the list's id; writing it without the scope removes the contact from the
list), ``subscribed`` and ``custom:<field name>``.

Settings of the authorization: ``domain`` (GetResponse MAX: the account's domain, sent as
``X-Domain``; the MAX API host then comes from settings), ``page_size`` and
``resolve_timeout`` (seconds to wait for an asynchronous create to become visible). The API
host is never a setting of the authorization (connectors/endpoints.py). Secret: ``api_key``.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import re
import time
import unicodedata
from collections.abc import Iterator
from datetime import datetime, timedelta
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
    parallel,
)
from connectors.getresponse.client import (
    BATCH_INTERVAL,
    BATCH_SIZE,
    MAX_PAGE_SIZE,
    Contact,
    CustomField,
    GetResponseClient,
    api_url,
    format_wire_time,
    parse_wire_time,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from connectors.http import Http

CUSTOM = "custom:"
# Custom field names GetResponse accounts commonly have, and their cross-vendor meaning.
COMMON_CUSTOM = {
    "company": "company",
    "phone": "phone",
    "mobile": "mobile",
    "mobile_phone": "mobile",
    "city": "city",
    "street": "street",
    "address": "street",
    "postal_code": "postal_code",
    "zip": "postal_code",
    "state": "region",
    "region": "region",
    "country": "country",
    "url": "website",
    "website": "website",
    "job_title": "job_title",
    "position": "job_title",
}
CUSTOM_TYPES: dict[str, FieldType] = {
    "phone": "phone",
    "country": "country",
    "url": "url",
    "number": "number",
    "currency": "number",
    "date": "date",
    "datetime": "datetime",
}
STANDARD_FIELDS = [
    FieldSpec("email", "Email", "email", common="email", required=True),
    FieldSpec("name", "Name", "text", common="full_name", max_length=128),
    FieldSpec("note", "Note", "text", common="notes", max_length=255),
    FieldSpec("scoring", "Scoring", "number"),
    FieldSpec("tags", "Tags", "tags", common="tags", multi=True),
    FieldSpec("campaign", "List", "lists", common="lists", multi=True, read_only=True),
    # GetResponse lists only subscribed contacts; writing False removes from the list.
    FieldSpec("subscribed", "Subscribed", "subscription", common="subscribed"),
]


def settled(contact: Contact) -> datetime | None:
    """The contact's changedOn as the record's updated_at, or a microsecond before it
    when the detail was read less than two seconds after it: changedOn has whole
    seconds, so an edit made later within that second would keep it, and a stub (which
    carries the row's whole-second changedOn) must never look unchanged then."""
    changed = contact.changed_on
    if changed is None or contact.answered_at is None:
        return changed
    if contact.answered_at - changed < timedelta(seconds=2):
        return changed - timedelta(microseconds=1)
    return changed


def batch_contact(body: dict[str, Any]) -> dict[str, Any]:
    """A single create's JSON as ``POST /contacts/batch`` takes it: no campaign (the
    batch names it once) and tags as ``{"ids": [...]}``. UNCONFIRMED: that the batch
    accepts name, note, scoring and customFieldValues as the single create does (the
    documented example shows email and tags only)."""
    contact = {k: v for k, v in body.items() if k not in ("campaign", "tags")}
    if body.get("tags"):
        contact["tags"] = {"ids": [t["tagId"] for t in body["tags"]]}
    return contact


def tag_name(name: str) -> str:
    """A tag name GetResponse accepts (``^[_a-zA-Z0-9]{2,64}$``): accents dropped,
    other characters to ``_``. "VIP Kunde" becomes "VIP_Kunde"; it then syncs back as
    such, so both sides converge on the name GetResponse can hold."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^_a-zA-Z0-9]", "_", plain.strip())[:64]
    return cleaned if len(cleaned) >= 2 else cleaned.ljust(2, "_")


class GetResponseConnector(Connector):
    """Contacts of one GetResponse list, by API key."""

    vendor = "getresponse"
    label = _("GetResponse")
    description = _("Email marketing: contacts of one list, with tags and custom fields.")
    auth_kind = "api_key"
    auth_fields = (("api_key", _("API key"), True),)
    tenant_settings = ("domain",)
    capabilities = Capabilities(
        delta=True,
        # No deletion feed as such: each read reports the removals it finds in the
        # removed segment, but only a complete listing is sure to see every deletion.
        deletion_feed=False,
        batch_size=BATCH_SIZE,  # creates go 1000 a call; updates and deletes one by one
        webhooks=True,
        tags=True,
        lists=True,
        subscription=True,
        requires_email=True,
    )

    def __init__(self, credentials: Credentials, scope: str, http: Http) -> None:
        super().__init__(credentials, scope, http)
        settings = credentials.settings
        domain = str(settings.get("domain") or "")
        self.client = GetResponseClient(
            http,
            base_url=api_url(max_account=bool(domain)),
            api_key=str(credentials.secrets.get("api_key") or ""),
            domain=domain,
        )
        self.page_size = int(credentials.number("page_size", MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE))
        self.resolve_timeout = credentials.number("resolve_timeout", 10.0, 0, 60)
        self._custom: list[CustomField] | None = None
        self._tags: dict[str, str] | None = None
        self._batch_at = -BATCH_INTERVAL  # when the last batch went out (monotonic)

    # --- Account, scopes, schema.

    def check(self) -> None:
        if not self.credentials.secrets.get("api_key"):
            raise AuthError("No GetResponse API key")
        self.client.account()

    def scopes(self) -> list[Scope]:
        return [
            Scope(str(c["campaignId"]), str(c["name"]), "list") for c in self.client.campaigns()
        ]

    def custom_fields(self) -> list[CustomField]:
        if self._custom is None:
            self._custom = self.client.custom_fields()
        return self._custom

    def fields(self) -> list[FieldSpec]:
        specs = list(STANDARD_FIELDS)
        for custom in self.custom_fields():
            specs.append(
                FieldSpec(
                    key=CUSTOM + custom.name,
                    label=custom.name.replace("_", " ").capitalize(),
                    type=CUSTOM_TYPES.get(custom.type, "choice" if custom.values else "text"),
                    common=COMMON_CUSTOM.get(custom.name),
                    custom=True,
                    multi=custom.multi,
                    choices=custom.values,
                )
            )
        return specs

    # --- Reads.

    def fetch(self, cursor: Any) -> Iterator[Page]:
        """Contacts of the list. With a cursor (a ``changedOn``), those changed since,
        inclusive, sorted by changedOn; without one, the whole list sorted by creation
        (stable under edits), whose pages carry no cursor until the last, so that a
        crash restarts the listing. The last page also carries the unsubscribes and
        removals (``add_removals``), so that they cross within one poll.

        A page's cursor is the newest changedOn seen, but never later than the moment
        the read began by GetResponse's clock: a contact edited while the read pages
        through may move behind the offset already read, and must be read next time."""
        params: dict[str, Any] = {"query[campaignId]": self.scope}
        if cursor:
            params["query[changedOn][from]"] = cursor
            params["sort[changedOn]"] = "ASC"
        else:
            params["sort[createdOn]"] = "ASC"
        newest = parse_wire_time(cursor) if cursor else None
        started: datetime | None = None
        seen: set[str] = set()
        totals: set[int] = set()
        pages = self.client.contact_pages(params, self.page_size)
        for index, (rows, total, answered_at) in enumerate(pages):
            if started is None and answered_at:
                started = answered_at - timedelta(seconds=1)  # whole-second clocks
            totals.add(total)
            page = Page(records=[])
            for row in rows:
                if self.stubs:
                    # List rows omit tags and custom fields: the engine asks for the
                    # details of the rows whose changedOn moved (``details``).
                    page.stubs.append(Record(row.contact_id, row.changed_on, {}))
                else:
                    page.records.extend(self.details([row.contact_id]))
                seen.add(row.contact_id)
                if row.changed_on and (newest is None or row.changed_on > newest):
                    newest = row.changed_on
            last = len(rows) < self.page_size or (index + 1) * self.page_size >= total
            if last:
                self.add_removals(page)
            if cursor or last:
                safe = min(newest, started) if newest and started else newest
                page.cursor = format_wire_time(safe) if safe else cursor
            if not cursor and last:
                # Offset paging: a deletion during the listing shifts rows and could hide
                # one; only an undisturbed listing may count absence as deletion.
                page.complete = len(totals) == 1 and len(seen) >= total
            yield page
            if last:
                return

    def details(self, ids: list[str]) -> list[Record]:
        """Each contact's detail, one call each (the list rows lack tags and custom
        fields, and ``fields=`` on the list cannot ask for them)."""
        records = []
        # Up to GetResponse's 10 in parallel (connectors.base.parallel, limits.py).
        for answer in parallel(self.http, ids, self.client.contact):
            if isinstance(answer, RecordGone):
                continue  # deleted between the listing and the detail
            if isinstance(answer, ConnectorError):
                raise answer
            records.append(self.record(answer))
        return records

    def add_removals(self, page: Page) -> None:
        """Unsubscribes and removals from the list, on every read (a poll, a callback's
        run, a complete listing): each unsubscribed contact as a partial record that is
        no longer subscribed, each removed one as a deletion. GetResponse drops both
        from ``/contacts`` and has no deletion feed; the removed segment lists them all
        (one call per 1000), and the engine skips those it has already handled."""
        listed = {r.id for r in page.records}
        for rows in self.client.removed(self.scope):
            for row in rows:
                if row.contact_id in listed:
                    continue  # back on the list (listed above): not removed any more
                if row.unsubscribed:
                    page.records.append(
                        Record(row.contact_id, None, {"subscribed": False}, partial=True)
                    )
                else:
                    page.deleted.append(row.contact_id)

    def record(self, contact: Contact) -> Record:
        fields: dict[str, Any] = {
            "email": contact.email,
            "name": contact.name,
            "note": contact.note,
            "scoring": contact.scoring,
            "tags": sorted(contact.tags.values()),
            "campaign": [contact.campaign_id],  # ids, as scopes are
            "subscribed": True,
        }
        for custom in self.custom_fields():
            values = contact.custom.get(custom.id) or []
            fields[CUSTOM + custom.name] = (
                values if custom.multi else (values[0] if values else None)
            )
        return Record(id=contact.contact_id, updated_at=settled(contact), fields=fields)

    # --- Writes.

    def push(self, changes: list[Change]) -> list[Result]:
        """Creates go in batches (``POST /contacts/batch``, up to 1000 a call; a lone
        create alone), then their ids are looked up in one listing; updates and deletes
        go one by one (GetResponse has no batch for them)."""
        results: dict[str, Result] = {}
        creates: list[tuple[Change, dict[str, Any]]] = []
        for change in changes:
            if change.op != "create":
                continue
            try:
                body = self.create_body(change, results)
            except (AuthError, RateLimited):
                raise  # the whole call failed; creates already sent re-match by email
            except ConnectorError as exc:
                results[change.key] = Result(change.key, error=exc)
                continue
            if body is not None:
                creates.append((change, body))

        def write(change: Change) -> Result:
            if change.op == "update":
                return self.update(change)
            self.delete(str(change.id))
            return Result(change.key, id=change.id)

        # Updates and deletes: one call each, up to GetResponse's 10 in parallel; an
        # AuthError or RateLimited fails the whole call.
        others = [change for change in changes if change.op != "create"]
        for change, answer in zip(others, parallel(self.http, others, write), strict=True):
            if isinstance(answer, ConnectorError):
                answer = Result(change.key, id=change.id, error=answer)
            results[change.key] = answer
        since = self.create(creates, results)
        self.resolve([c for c, _body in creates if c.key not in results], since, results)
        return [results[change.key] for change in changes]

    def create_body(self, change: Change, results: dict[str, Result]) -> dict[str, Any] | None:
        """The single-create JSON of ``change``, or None (its error in ``results``)."""
        email = str(change.fields.get("email") or "").strip()
        if not email:
            error = ConnectorError(
                "GetResponse requires an email address and this contact has none.",
                permanent=True,
            )
            results[change.key] = Result(change.key, error=error)
            return None
        body = {"email": email, "campaign": {"campaignId": self.scope}}
        try:
            body.update(self.body({k: v for k, v in change.fields.items() if k != "email"}, None))
        except (AuthError, RateLimited):
            raise
        except ConnectorError as exc:
            results[change.key] = Result(change.key, error=exc)
            return None
        return body

    def create(
        self, creates: list[tuple[Change, dict[str, Any]]], results: dict[str, Result]
    ) -> datetime | None:
        """Send the creates; returns when they were sent by GetResponse's clock (None:
        unknown), from which ``resolve`` finds them."""
        if len(creates) == 1:
            [(change, body)] = creates
            # Answered 202 with no body: queued. A second create of the same email is
            # refused with 409, never duplicated, so a retried 5xx is harmless.
            try:
                return self.client.create_contact(body)
            except (AuthError, RateLimited):
                raise
            except ConnectorError as exc:
                if exc.status != 409:  # 409: already in the list (an earlier try went in)
                    results[change.key] = Result(change.key, error=exc)
                return None
        since: datetime | None = None
        for start in range(0, len(creates), BATCH_SIZE):
            chunk = [batch_contact(body) for _change, body in creates[start : start + BATCH_SIZE]]
            wait = self._batch_at + BATCH_INTERVAL - time.monotonic()
            if wait > 0:
                self.http.sleep(wait)  # the batch endpoint takes one call a second
            sent = self.client.create_contacts(self.scope, chunk)
            self._batch_at = time.monotonic()
            since = since or sent
        return since

    def resolve(
        self, created: list[Change], since: datetime | None, results: dict[str, Result]
    ) -> None:
        """Find the ids of accepted creates: GetResponse queues creates and answers
        without an id, so the list's contacts created since they were sent are listed
        (ids and emails, 1000 a call) until all are there. Not visible within
        ``resolve_timeout``: a transient error, and the next run links the contact by
        email instead of creating it again."""
        waiting = {c.key: str(c.fields["email"]).strip().lower() for c in created}
        deadline = time.monotonic() + self.resolve_timeout
        delay = 0.2
        # Two seconds of slack: createdOn has whole seconds, and the queue may stamp a
        # contact when it takes it in (UNCONFIRMED which moment GetResponse uses).
        after = since - timedelta(seconds=2) if since else None
        while waiting:
            found = self.client.created_since(self.scope, after)
            for key, email in list(waiting.items()):
                if email in found:
                    results[key] = Result(key, id=found[email])
                    del waiting[key]
            if not waiting or time.monotonic() + delay > deadline:
                break
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        for key, email in list(waiting.items()):
            # Not among the new ones: perhaps in the list already (a 409, or a batch
            # skipping a known email); looked up by email, one call each (rare).
            contact_id = self.client.find(email, self.scope)
            if contact_id:
                results[key] = Result(key, id=contact_id)
                del waiting[key]
        for key, email in waiting.items():
            message = f"GetResponse accepted {email} but has not listed it yet; linking next run."
            results[key] = Result(key, error=ConnectorError(message, permanent=False))

    def update(self, change: Change) -> Result:
        contact_id = str(change.id)
        fields = dict(change.fields)
        leaves = "campaign" in fields and self.scope not in (fields.pop("campaign") or [])
        if fields.pop("subscribed", True) is False or leaves:
            # Unsubscribing and leaving the list are one thing here: removal from it.
            self.delete(contact_id)
            return Result(change.key, id=contact_id)
        custom = {k: v for k, v in fields.items() if k.startswith(CUSTOM)}
        if custom and all(v not in (None, "", []) for v in custom.values()):
            # Values set, none cleared: the upsert keeps the other values, so nothing
            # needs reading first. Its answer is the values only, so no record comes back.
            rest = self.body({k: v for k, v in fields.items() if k not in custom}, None)
            values = self.body(custom, None)["customFieldValues"]
            if rest:
                self.client.update_contact(contact_id, rest)
            self.client.upsert_custom_fields(contact_id, values)
            return Result(change.key, id=contact_id)
        current = None
        if custom:
            # A value cleared: the upsert cannot detach one, and a sent customFieldValues
            # replaces them all, so merge with what is stored.
            current = self.client.contact(contact_id)
        body = self.body(fields, current)
        if not body:
            current = current or self.client.contact(contact_id)
            return Result(change.key, id=contact_id, record=self.record(current))
        stored = self.client.update_contact(contact_id, body)
        return Result(change.key, id=contact_id, record=self.record(stored))

    def delete(self, contact_id: str) -> None:
        with contextlib.suppress(RecordGone):  # already gone: the delete's goal is reached
            self.client.delete_contact(contact_id)

    def body(self, fields: dict[str, Any], current: Contact | None) -> dict[str, Any]:
        """The vendor JSON for ``fields`` (only those present). Tags go as the whole new
        set (GetResponse replaces it); custom values merged over ``current``'s."""
        body: dict[str, Any] = {}
        if fields.get("email"):
            body["email"] = str(fields["email"]).strip()
        if fields.get("name"):
            # GetResponse names are 1 to 128 characters: a cleared name cannot be sent.
            body["name"] = str(fields["name"])
        if "note" in fields:
            body["note"] = fields["note"] or None
        if "scoring" in fields:
            body["scoring"] = (
                float(fields["scoring"]) if fields["scoring"] not in (None, "") else None
            )
        if "tags" in fields:
            body["tags"] = [
                {"tagId": self.tag_id(name)} for name in sorted(set(fields["tags"] or []))
            ]
        by_name = {c.name: c for c in self.custom_fields()}
        custom: dict[str, list[str]] = dict(current.custom) if current else {}
        touched = False
        for key, value in fields.items():
            if not key.startswith(CUSTOM):
                continue
            spec = by_name.get(key[len(CUSTOM) :])
            if spec is None:
                raise ConnectorError(f"GetResponse has no custom field {key!r}", permanent=True)
            touched = True
            values = value if isinstance(value, list) else ([] if value in (None, "") else [value])
            custom[spec.id] = [str(v) for v in values]
        if touched:
            body["customFieldValues"] = [
                {"customFieldId": field_id, "value": values}
                for field_id, values in custom.items()
                if values
            ]
        return body

    def tag_id(self, name: str) -> str:
        """The id of tag ``name``, created when the account does not have it yet."""
        if self._tags is None:
            self._tags = self.client.tags()
        clean = tag_name(str(name))
        if clean not in self._tags:
            try:
                self._tags[clean] = self.client.create_tag(clean)
            except ConnectorError as exc:
                if exc.status != 409:  # created meanwhile by another run
                    raise
                self._tags = self.client.tags()
        return self._tags[clean]

    # --- Webhooks.

    def parse_webhook(self, request: HttpRequest) -> list[str]:
        """The lists a GetResponse webhook (JSON POST, one event or a batch) or legacy
        callback (GET with ``CAMPAIGN_ID``) concerns. GetResponse does not sign them:
        when the authorization has a ``webhook_secret``, the URL's ``secret`` query
        parameter must equal it (https://apidocs.getresponse.com/v3/webhooks)."""
        expected = str(self.credentials.secrets.get("webhook_secret") or "")
        if expected and not hmac.compare_digest(request.GET.get("secret", ""), expected):
            raise AuthError("GetResponse webhook secret does not match")
        scopes: set[str] = set()
        if request.method == "GET":
            if request.GET.get("CAMPAIGN_ID"):
                scopes.add(request.GET["CAMPAIGN_ID"])
            return sorted(scopes)
        try:
            payload = json.loads(request.body or b"null")
        except ValueError as exc:
            raise ConnectorError("GetResponse webhook body is not JSON", permanent=True) from exc
        events = payload if isinstance(payload, list) else [payload]
        for event in events:
            if not isinstance(event, dict):
                continue
            campaign = ((event.get("contact") or {}).get("campaign") or {}).get("campaignId")
            if campaign:
                scopes.add(str(campaign))
        return sorted(scopes)
