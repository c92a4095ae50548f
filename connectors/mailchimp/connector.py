"""Mailchimp audience members as Records, and back.

The scope is an audience (list) id. Record ids are the members' ``contact_id``, which
survives an email change (the subscriber hash is the MD5 of the email and does not), so
an email changed in Mailchimp keeps its link. Record fields are keyed: ``email``, the
merge field tags (``FNAME``, ``LNAME``, ``PHONE``, ``BIRTHDAY``, custom ones such as
``COMPANY``; an address field as its parts ``ADDRESS.addr1`` … ``ADDRESS.country``),
``tags`` (names), ``subscribed`` and the raw ``status`` (read-only).

How a member's status maps (``subscribed`` is the subscription field the engine's
unsubscribe option reads):
- subscribed → ``subscribed`` True; pending / transactional → None (no opt-in yet);
- unsubscribed → ``subscribed`` False: the unsubscribe handling (tag or opt-out on the
  other side);
- cleaned (the address bounced) → ``subscribed`` None and ``status`` "cleaned": the
  person did not opt out, so no unsubscribe is passed on; the status is reported in the
  record (rules can filter on it) and the member is never resubscribed;
- archived → the member's id is in the page's ``deleted``: the deletion handling;
  a member deleted permanently vanishes and only a complete listing tells.

Writes never resubscribe: a create is subscribed unless it says otherwise, an update
sends ``status_if_new`` (only used if the member is new) and ``status`` only to
unsubscribe, so a member unsubscribed or cleaned in Mailchimp keeps its status whatever
the other side says.

Settings of the authorization: ``dc`` (OAuth: from the metadata call) and ``page_size``.
Secrets: ``api_key`` (its ``-usXX`` suffix is the data centre) or ``access_token``.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import re
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
    FieldType,
    Page,
    RateLimited,
    Record,
    RecordGone,
    Result,
    Scope,
)
from connectors.mailchimp.client import (
    BATCH_LIMIT,
    MAX_PAGE_SIZE,
    MailchimpClient,
    Member,
    MergeField,
    dc_from_key,
    format_wire_time,
    parse_wire_time,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from connectors.http import Http

logger = logging.getLogger(__name__)

# The merge fields every new audience has; any other merge field is custom.
DEFAULT_TAGS = {"FNAME", "LNAME", "ADDRESS", "PHONE", "BIRTHDAY"}
COMMON_TAGS = {
    "FNAME": "first_name",
    "LNAME": "last_name",
    "PHONE": "phone",
    "COMPANY": "company",
    "WEBSITE": "website",
    "JOBTITLE": "job_title",
    "TITLE": "job_title",
}
# An address merge field is offered as its parts. They declare no common key, so no
# default pair is made: Mailchimp refuses an address without addr1, city, state and zip
# (UNCONFIRMED beyond the sandbox's check), and most CRM records hold only a city and a
# country, so default pairs would make writes fail. A tenant may pair them by hand.
ADDRESS_PARTS = {
    "addr1": "Street",
    "addr2": "Address line 2",
    "city": "City",
    "state": "State",
    "zip": "Postal code",
    "country": "Country",
}
MERGE_TYPES: dict[str, FieldType] = {
    "number": "number",
    "phone": "phone",
    "date": "date",
    "url": "url",
    "imageurl": "url",
    "dropdown": "choice",
    "radio": "choice",
}
STANDARD_FIELDS = [
    FieldSpec("email", "Email address", "email", common="email", required=True),
    FieldSpec("tags", "Tags", "tags", common="tags", multi=True),
    FieldSpec("subscribed", "Subscribed", "subscription", common="subscribed"),
    FieldSpec(
        "status",
        "Status",
        "status",
        common="status",
        read_only=True,
        choices=("subscribed", "unsubscribed", "cleaned", "pending", "transactional"),
    ),
]
# Webhook events and sources the connection registers: never "api", so our own writes
# do not come back as callbacks.
WEBHOOK_EVENTS = ("subscribe", "unsubscribe", "profile", "cleaned", "upemail")
FIRED_AT = "%Y-%m-%d %H:%M:%S"  # Mailchimp's webhook time, not ISO 8601
LIST_ID_RE = re.compile(r"^[0-9a-zA-Z]{1,32}$")


def subscribed_of(status: str) -> bool | None:
    """The subscription a member's status means (see the module docstring)."""
    if status == "subscribed":
        return True
    if status == "unsubscribed":
        return False
    return None  # pending, transactional, cleaned: neither opted in nor out


class MailchimpConnector(Connector):
    """Members of one Mailchimp audience, by API key or OAuth."""

    vendor = "mailchimp"
    label = _("Mailchimp")
    description = _("Email marketing: members of one audience, with merge fields and tags.")
    auth_kind = "api_key"
    extra_auth_kinds = ("oauth",)  # connectors/mailchimp/oauth.py stores access_token
    auth_fields = (("api_key", _("API key"), True),)
    capabilities = Capabilities(
        delta=True,
        deletion_feed=True,  # archived members are reported; permanent deletes are not
        batch_size=BATCH_LIMIT,  # creates go through batch subscribe, 500 a call
        webhooks=True,
        tags=True,
        lists=False,
        subscription=True,
        requires_email=True,
    )

    def __init__(self, credentials: Credentials, scope: str, http: Http) -> None:
        super().__init__(credentials, scope, http)
        secrets, settings = credentials.secrets, credentials.settings
        api_key = str(secrets.get("api_key") or "")
        token = str(secrets.get("access_token") or "")
        # The key names its data centre; an OAuth grant's comes from the metadata call.
        try:
            dc = str(settings.get("dc") or "") if token else dc_from_key(api_key)
        except AuthError:
            dc = "us1"  # check() reports the bad key; the host stays a Mailchimp one
        self.client = MailchimpClient(http, dc or "us1", api_key=api_key, access_token=token)
        self.has_credentials = bool(token or (api_key and "-" in api_key))
        self.page_size = max(1, min(int(settings.get("page_size") or MAX_PAGE_SIZE), MAX_PAGE_SIZE))
        self._merge: list[MergeField] | None = None

    # --- Account, scopes, schema.

    def check(self) -> None:
        if not self.has_credentials:
            raise AuthError("No Mailchimp API key (it ends in its data centre, e.g. -us14)")
        self.client.ping()

    def scopes(self) -> list[Scope]:
        return [
            Scope(str(a["id"]), str(a.get("name") or a["id"]), "list") for a in self.client.lists()
        ]

    def merge_fields(self) -> list[MergeField]:
        if self._merge is None:
            self._merge = self.client.merge_fields(self.scope)
        return self._merge

    def fields(self) -> list[FieldSpec]:
        specs = list(STANDARD_FIELDS)
        for merge in self.merge_fields():
            custom = merge.tag not in DEFAULT_TAGS
            if merge.type == "address":
                for part, label in ADDRESS_PARTS.items():
                    specs.append(
                        FieldSpec(
                            f"{merge.tag}.{part}",
                            f"{merge.name}: {label}",
                            "country" if part == "country" else "text",
                            custom=custom,
                        )
                    )
                continue
            specs.append(
                FieldSpec(
                    merge.tag,
                    merge.name,
                    MERGE_TYPES.get(merge.type, "text"),
                    common=COMMON_TAGS.get(merge.tag),
                    required=merge.required,
                    custom=custom,
                    choices=merge.choices,
                    max_length=255,
                )
            )
        return specs

    # --- Reads.

    def fetch(self, cursor: Any) -> Iterator[Page]:
        """Members of the audience. With a cursor (a ``last_changed``), those changed
        since, sorted by last_changed, from one second before it: Mailchimp's boundary
        is whole seconds and whether it is inclusive is UNCONFIRMED, so the boundary's
        members are read again (unchanged ones are echoes the engine skips). Without a
        cursor, the whole audience by signup time (stable under edits), whose pages
        carry no cursor until the last, so that a crash restarts the listing.

        A page's cursor is the newest last_changed seen, but never later than the
        moment the read began by Mailchimp's clock: a member edited while the read
        pages through may move behind the offset already read."""
        params: dict[str, Any] = {"sort_dir": "ASC"}
        newest = parse_wire_time(cursor) if cursor else None
        if cursor and newest:
            params["since_last_changed"] = format_wire_time(newest - timedelta(seconds=1))
            params["sort_field"] = "last_changed"
        else:
            params["sort_field"] = "timestamp_signup"
        started: datetime | None = None
        seen: set[str] = set()
        totals: set[int] = set()
        read = 0
        for member_page in self.client.member_pages(self.scope, params, self.page_size):
            if started is None and member_page.answered_at:
                started = member_page.answered_at - timedelta(seconds=1)
            totals.add(member_page.total)
            page = Page(records=[])
            for member in member_page.members:
                seen.add(member.contact_id)
                if member.status == "archived":
                    page.deleted.append(member.contact_id)  # the deletion handling
                else:
                    if member.status == "cleaned":
                        logger.info("Mailchimp member %s is cleaned (bounced)", member.contact_id)
                    page.records.append(self.record(member))
                if member.last_changed and (newest is None or member.last_changed > newest):
                    newest = member.last_changed
            read += len(member_page.members)
            last = len(member_page.members) < self.page_size or read >= member_page.total
            if cursor or last:
                safe = min(newest, started) if newest and started else newest
                page.cursor = format_wire_time(safe) if safe else cursor
            if not cursor and last:
                # Offset paging: a change during the listing may shift rows; only an
                # undisturbed listing may count absence as deletion.
                page.complete = len(totals) == 1 and len(seen) >= member_page.total
            yield page
            if last:
                return

    def record(self, member: Member) -> Record:
        fields: dict[str, Any] = {
            "email": member.email,
            "tags": sorted(member.tags),
            "subscribed": subscribed_of(member.status),
            "status": member.status,
        }
        for merge in self.merge_fields():
            value = member.merge_fields.get(merge.tag)
            if merge.type == "address":
                parts = value if isinstance(value, dict) else {}
                for part in ADDRESS_PARTS:
                    fields[f"{merge.tag}.{part}"] = str(parts.get(part) or "") or None
            else:
                fields[merge.tag] = value if value not in ("", None) else None
        return Record(id=member.contact_id, updated_at=member.last_changed, fields=fields)

    # --- Writes.

    def push(self, changes: list[Change]) -> list[Result]:
        results: dict[str, Result] = {}
        creates = [c for c in changes if c.op == "create"]
        for start in range(0, len(creates), BATCH_LIMIT):
            self.create_batch(creates[start : start + BATCH_LIMIT], results)
        for change in changes:
            if change.op == "create":
                continue
            try:
                if change.op == "update":
                    results[change.key] = self.update(change)
                else:
                    # DELETE archives: the member and its history stay in Mailchimp and
                    # can come back; delete-permanent would forbid the email for good.
                    with contextlib.suppress(RecordGone):
                        self.client.archive(self.scope, str(change.id))
                    results[change.key] = Result(change.key, id=change.id)
            except (AuthError, RateLimited):
                raise
            except ConnectorError as exc:
                results[change.key] = Result(change.key, id=change.id, error=exc)
        return [results[change.key] for change in changes]

    def create_batch(self, creates: list[Change], results: dict[str, Result]) -> None:
        """New members through batch subscribe (one call for up to 500). Members that
        already exist (an earlier answer was lost, or they are in the audience but
        were not matched) are upserted one by one, keeping their status."""
        rows: list[dict[str, Any]] = []
        by_email: dict[str, list[Change]] = {}
        for change in creates:
            email = str(change.fields.get("email") or "").strip()
            if not email:
                error = ConnectorError(
                    "Mailchimp requires an email address and this contact has none.",
                    permanent=True,
                )
                results[change.key] = Result(change.key, error=error)
                continue
            try:
                merges = self.merges(change.fields, None)
            except ConnectorError as exc:
                results[change.key] = Result(change.key, error=exc)
                continue
            if email.lower() in by_email:
                by_email[email.lower()].append(change)  # same email twice: one member
                continue
            by_email[email.lower()] = [change]
            status = "unsubscribed" if change.fields.get("subscribed") is False else "subscribed"
            row: dict[str, Any] = {"email_address": email, "status": status, "merge_fields": merges}
            tags = sorted({str(t) for t in change.fields.get("tags") or []})
            if tags:
                row["tags"] = tags
            rows.append(row)
        if not rows:
            return
        answer = self.client.batch_subscribe(self.scope, rows)
        for data in answer.get("new_members") or []:
            member = Member.from_json(data)
            for change in by_email.pop(member.email.lower(), []):
                results[change.key] = Result(
                    change.key, id=member.contact_id, record=self.record(member)
                )
        errors = {
            str(e.get("email_address") or "").lower(): e
            for e in answer.get("errors") or []
            if isinstance(e, dict)
        }
        for email, waiting in by_email.items():
            error = errors.get(email) or {}
            for change in waiting:
                if error.get("error_code") == "ERROR_CONTACT_EXISTS":
                    try:
                        results[change.key] = self.upsert_existing(change)
                    except (AuthError, RateLimited):
                        raise
                    except ConnectorError as exc:
                        results[change.key] = Result(change.key, error=exc)
                    continue
                message = str(error.get("error") or "Mailchimp did not create this member")
                results[change.key] = Result(
                    change.key, error=ConnectorError(f"Mailchimp: {message}", permanent=bool(error))
                )

    def upsert_existing(self, change: Change) -> Result:
        email = str(change.fields["email"]).strip()
        member = self.client.member(self.scope, email)
        return self.write(change.key, member, change.fields)

    def update(self, change: Change) -> Result:
        member = self.client.member(self.scope, str(change.id))
        return self.write(change.key, member, change.fields)

    def write(self, key: str, member: Member, fields: dict[str, Any]) -> Result:
        """PUT the member's new values (status only to unsubscribe, never to subscribe),
        then send the tag changes: only the names the merge added or removed."""
        body: dict[str, Any] = {
            "email_address": str(fields.get("email") or member.email).strip(),
            "status_if_new": "subscribed",
        }
        if fields.get("subscribed") is False and member.status not in ("unsubscribed", "cleaned"):
            body["status"] = "unsubscribed"
        merges = self.merges(fields, member)
        if merges:
            body["merge_fields"] = merges
        stored = self.client.upsert(self.scope, member.contact_id, body)
        if "tags" in fields:
            wanted = {str(t) for t in fields.get("tags") or []}
            have = set(stored.tags)
            delta = {name: True for name in wanted - have} | {name: False for name in have - wanted}
            if delta:
                self.client.update_tags(self.scope, stored.contact_id, delta)
                stored = Member(
                    stored.contact_id,
                    stored.email,
                    stored.status,
                    stored.merge_fields,
                    tuple(sorted(wanted)),
                    stored.last_changed,
                )
        return Result(key, id=stored.contact_id, record=self.record(stored))

    def merges(self, fields: dict[str, Any], current: Member | None) -> dict[str, Any]:
        """The ``merge_fields`` body for ``fields`` (only those present). An address is
        sent whole: its parts merged over ``current``'s."""
        body: dict[str, Any] = {}
        by_tag = {m.tag: m for m in self.merge_fields()}
        for key, value in fields.items():
            if key in ("email", "tags", "subscribed", "status"):
                continue
            tag, _, part = key.partition(".")
            merge = by_tag.get(tag)
            if merge is None or (merge.type == "address") != bool(part):
                raise ConnectorError(f"Mailchimp has no merge field {key!r}", permanent=True)
            if part:
                if tag not in body:
                    stored = (current.merge_fields.get(tag) if current else None) or {}
                    body[tag] = (
                        {p: str(stored.get(p) or "") for p in ADDRESS_PARTS}
                        if isinstance(stored, dict)
                        else {}
                    )
                body[tag][part] = "" if value is None else str(value)
            else:
                body[tag] = "" if value is None else value
        for tag, value in body.items():
            if isinstance(value, dict) and not any(value.values()):
                body[tag] = ""
        return body

    # --- Webhooks.

    def register_webhook(self, url: str) -> dict[str, Any]:
        """Make the audience call ``url`` on members' changes (once: an existing webhook
        of the same URL is kept). Mailchimp checks the URL with a GET first."""
        for hook in self.client.webhooks(self.scope):
            if hook.get("url") == url:
                return hook
        return self.client.create_webhook(
            self.scope,
            {
                "url": url,
                "events": {event: True for event in WEBHOOK_EVENTS},
                "sources": {"user": True, "admin": True, "api": False},
            },
        )

    def on_start(self, webhook_url: str) -> None:
        """A connection reading this audience started: its webhook calls us."""
        self.register_webhook(webhook_url)

    def on_stop(self, webhook_url: str) -> None:
        """No started connection reads this audience through this key any more: its
        webhook goes (another authorization's webhook, of another URL, stays)."""
        for hook in self.client.webhooks(self.scope):
            if hook.get("url") == webhook_url and hook.get("id"):
                with contextlib.suppress(RecordGone):  # removed meanwhile: done too
                    self.client.delete_webhook(self.scope, str(hook["id"]))

    def parse_webhook(self, request: HttpRequest) -> list[str]:
        """The audience a Mailchimp callback concerns. The validating GET Mailchimp sends
        when the webhook is registered concerns none. Deliveries are form-encoded POSTs
        (``type``, ``fired_at`` as ``YYYY-MM-DD HH:MM:SS``, ``data[list_id]`` …); an
        ``upemail`` needs nothing special, the member's contact_id and so its link stay.
        Mailchimp does not sign them: when the authorization has a ``webhook_secret``,
        the URL's ``secret`` must equal it."""
        expected = str(self.credentials.secrets.get("webhook_secret") or "")
        if expected and not hmac.compare_digest(request.GET.get("secret", ""), expected):
            raise AuthError("Mailchimp webhook secret does not match")
        if request.method == "GET":
            return []
        kind = request.POST.get("type", "")
        list_id = request.POST.get("data[list_id]", "")
        fired_at = request.POST.get("fired_at", "")
        try:
            datetime.strptime(fired_at, FIRED_AT).replace(tzinfo=UTC)
        except ValueError as exc:
            raise ConnectorError(
                "Mailchimp webhook without a readable fired_at", permanent=True
            ) from exc
        if kind not in (*WEBHOOK_EVENTS, "campaign") or not LIST_ID_RE.match(list_id):
            raise ConnectorError(f"Mailchimp webhook of unknown shape ({kind!r})", permanent=True)
        if kind == "campaign":
            return []
        return [list_id]
