"""CardDAV connector: any CardDAV address book (Nextcloud, iCloud, Fastmail, Radicale…),
with Google Contacts as a preset.

Reads use RFC 6578 sync-collection with the sync-token as the cursor (deletions included);
a server without it, or a token it no longer knows, gets a complete listing from PROPFIND
ETags instead. Cards are fetched with addressbook-multiget, one page per request, two
requests ahead of the page the engine reads (the server prepares the next answer while
the engine works on this one). Writes
are conditional: If-None-Match: * on create (the resource name and UID come from the
change key, so a retried create finds its card), If-Match on update and delete. A 412 on
update means the card changed since it was read: it is re-read and only the change's
fields are applied again onto the fresh card, never overwriting blindly.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from django.conf import settings as django_settings
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
)
from connectors.carddav.client import (
    Auth,
    BasicAuth,
    BearerAuth,
    DavClient,
    InvalidSyncToken,
    PreconditionFailed,
    SyncUnsupported,
)
from connectors.carddav.vcard import Card, VCardError, card_from_fields
from connectors.hosts import HostError, pin_session, tenant_host
from connectors.http import Http

logger = logging.getLogger(__name__)

_REMEMBERED_CARDS = 2000  # cards kept from reads so an update needs no extra GET
_UPDATE_ATTEMPTS = 3  # re-merges after 412 before the record is retried next run
# Multigets fetched (and their cards parsed) ahead of the page the engine is reading, so
# that the server prepares the next answer while the engine works on this one; bounded by
# the seam's parallel limit too.
_READ_AHEAD = 2


@dataclass(frozen=True)
class Preset:
    """A well-known CardDAV service: where its address book is and how it authorizes.
    Its URLs are defaults; the Django settings named by ``url_setting`` and
    ``token_url_setting`` replace them (tests point them at loopback stand-ins)."""

    url: str  # may hold {email}
    oauth_token_url: str = ""
    client_id_setting: str = ""
    client_secret_setting: str = ""
    vcard_version: str = "3.0"
    url_setting: str = ""
    token_url_setting: str = ""

    def address_book_url(self) -> str:
        return str(getattr(django_settings, self.url_setting, "") or self.url)

    def token_url(self) -> str:
        return str(getattr(django_settings, self.token_url_setting, "") or self.oauth_token_url)


PRESETS: dict[str, Preset] = {
    # https://developers.google.com/people/carddav: OAuth 2.0 only, vCard 3.0. The
    # address-book URL is the observed one (apis/ section 4.2), not documented by Google.
    # The client id and secret are those of the "google" social-auth backend
    # (connectors/google/oauth.py), which is how a tenant obtains the tokens.
    "google": Preset(
        url="https://www.googleapis.com/carddav/v1/principals/{email}/lists/default/",
        oauth_token_url="https://oauth2.googleapis.com/token",  # noqa: S106 (a URL)
        client_id_setting="SOCIAL_AUTH_GOOGLE_KEY",
        client_secret_setting="SOCIAL_AUTH_GOOGLE_SECRET",  # noqa: S106 (a name)
        url_setting="GOOGLE_CARDDAV_URL",
        token_url_setting="GOOGLE_TOKEN_URL",  # noqa: S106 (a name)
    ),
}

FIELDS: list[FieldSpec] = [
    FieldSpec("first_name", "First name", common="first_name"),
    FieldSpec("last_name", "Last name", common="last_name"),
    FieldSpec("full_name", "Display name (FN)", common="full_name"),
    FieldSpec("email", "Email (preferred)", "email", common="email"),
    FieldSpec("email_work", "Email (work)", "email"),
    FieldSpec("email_home", "Email (home)", "email"),
    FieldSpec("phone", "Phone (preferred)", "phone", common="phone"),
    FieldSpec("phone_work", "Phone (work)", "phone"),
    FieldSpec("phone_home", "Phone (home)", "phone"),
    FieldSpec("mobile", "Mobile", "phone", common="mobile"),
    FieldSpec("company", "Company", common="company"),
    FieldSpec("department", "Department"),
    FieldSpec("job_title", "Job title", common="job_title"),
    FieldSpec("street", "Street", common="street"),
    FieldSpec("city", "City", common="city"),
    FieldSpec("postal_code", "Postal code", common="postal_code"),
    FieldSpec("region", "Region", common="region"),
    FieldSpec("country", "Country", common="country"),
    FieldSpec("website", "Website", "url", common="website"),
    FieldSpec("notes", "Notes", common="notes"),
    FieldSpec("tags", "Categories", "tags", common="tags", multi=True),
    # Two books holding copies of the same cards share their UIDs (RFC 6350 6.7.6).
    FieldSpec("uid", "vCard UID", read_only=True, identity="vcard-uid"),
]


def resource_name(key: str) -> str:
    """The card's file name for a change key: the key itself when it is a safe name, else
    a UUID derived from it, so that the same key always names the same resource."""
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,100}", key):
        return f"{key}.vcf"
    return f"{uuid.uuid5(uuid.NAMESPACE_URL, key).hex}.vcf"


class CardDavConnector(Connector):
    """An address book on a CardDAV server.

    Settings: ``url`` (server, home set or address book), ``username``; secrets:
    ``password`` (an app password). Preset ``google`` (settings ``preset`` = "google",
    ``email``): the URL comes from the preset and secrets hold OAuth ``access_token`` and
    ``refresh_token``; a 401 refreshes the access token once and writes it back into the
    credentials' secrets dict, for the caller to persist. The scope is the path of the
    address book the user picked (empty: the ``url`` itself).
    """

    vendor = "carddav"
    label = _("CardDAV address book")
    description = _("Any CardDAV address book: Nextcloud, iCloud, Fastmail, Radicale and more.")
    auth_kind = "password"
    auth_fields = (
        ("url", _("Server URL"), False),
        ("username", _("Username"), False),
        ("password", _("Password (an app password where the server offers them)"), True),
    )
    capabilities = Capabilities(delta=True, deletion_feed=True, batch_size=50, tags=True)
    page_size = 200  # cards per multiget request and per Page

    def __init__(self, credentials: Credentials, scope: str, http: Http) -> None:
        super().__init__(credentials, scope, http)
        options = credentials.settings
        self.preset = PRESETS.get(options.get("preset", ""))
        template = options.get("url") or (self.preset.address_book_url() if self.preset else "")
        if not template:
            raise ConnectorError("the CardDAV server URL is missing", permanent=True)
        self.server_url = template.format(email=quote(options.get("email", ""), safe="@"))
        if self.preset is None:
            self._pin_tenant_server(http)
        self.vcard_version = options.get("vcard_version") or (
            self.preset.vcard_version if self.preset else "3.0"
        )
        self.page_size = int(options.get("page_size") or self.page_size)
        self.client = DavClient(http, self._auth())
        # name -> (etag, text) of recently read cards: the base of a conditional update.
        # Pages are read ahead in a thread, hence the lock.
        self._cards: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._cards_lock = threading.Lock()

    def _pin_tenant_server(self, http: Http) -> None:
        """The server's address is what the tenant typed: validated (https in production,
        no loopback or private address unless the operator allows it), resolved once, and
        the session pinned to it, redirects to other hosts included (connectors/hosts.py)."""
        parts = urlsplit(self.server_url)
        try:
            pinned = tenant_host(
                f"{parts.scheme}://{parts.netloc}" if parts.scheme else self.server_url
            )
        except HostError as exc:
            raise ConnectorError(
                f"The CardDAV server address is not allowed: {exc}", permanent=True
            ) from exc
        pin_session(http.session, pinned)

    def _auth(self) -> Auth:
        secrets = self.credentials.secrets
        if self.preset and self.preset.oauth_token_url:
            # The token URL is never taken from the authorization's settings: the refresh
            # sends this server's client secret there.
            return BearerAuth(
                secrets=secrets,
                token_url=self.preset.token_url(),
                client_id=getattr(django_settings, self.preset.client_id_setting, ""),
                client_secret=getattr(django_settings, self.preset.client_secret_setting, ""),
            )
        return BasicAuth(self.credentials.settings.get("username", ""), secrets.get("password", ""))

    @property
    def collection(self) -> str:
        """Absolute URL of the address book, with its trailing slash."""
        url = urljoin(self.server_url, self.scope) if self.scope else self.server_url
        return url if url.endswith("/") else url + "/"

    def _url(self, record_id: str) -> str:
        return urljoin(self.collection, quote(record_id))

    def _id(self, url: str) -> str:
        path, base = unquote(urlsplit(url).path), unquote(urlsplit(self.collection).path)
        return path[len(base) :] if path.startswith(base) else path.rsplit("/", 1)[-1]

    # --- Contract: what there is

    def check(self) -> None:
        """Reach the address book: PROPFIND the chosen one, or (before one is chosen, as
        at connect time) find the user's address books, refusing a server where there is
        none. A rejected password or token raises AuthError; a server that answers but
        holds no address book for this user, a ConnectorError that says so."""
        if self.scope:
            self.client.propfind(self.collection, ["D:resourcetype"])
            return
        if not self.client.discover(self.server_url):
            # Discovery passes over unreadable URLs; the server's own refusal (a 404, an
            # unreachable host) says more than "none found", so it is raised if there is one.
            self.client.propfind(self.server_url, ["D:resourcetype"])
            raise ConnectorError(
                f"No address book was found at {self.server_url} for this user: check the "
                "address (the CardDAV server or an address book's URL), or create an "
                "address book in the app first.",
                permanent=True,
            )

    def fields(self) -> list[FieldSpec]:
        return list(FIELDS)

    def scopes(self) -> list[Scope]:
        return [
            Scope(id=urlsplit(url).path, label=name, kind="addressbook")
            for url, name in self.client.discover(self.server_url)
        ]

    # --- Reads

    def fetch(self, cursor: Any) -> Iterator[Page]:
        """Changes since the cursor's sync-token; otherwise a complete listing."""
        token = cursor.get("sync_token") if isinstance(cursor, dict) else None
        if not token:
            yield from self._listing(cursor)
            return
        try:
            result = self.client.sync_collection(self.collection, token)
        except (InvalidSyncToken, SyncUnsupported) as exc:
            logger.warning("sync-token of %s not usable (%s); listing it whole", self.scope, exc)
            yield from self._listing(cursor)
            return
        deleted = [self._id(url) for url in result.removed]
        yield from self._pages(list(result.changed), deleted, cursor, {"sync_token": result.token})

    def _listing(self, cursor: Any) -> Iterator[Page]:
        # The token is read before the listing, so whatever changes during the listing is
        # reported again by the next delta (an inclusive boundary; writes are idempotent).
        token = self.client.sync_token(self.collection)
        etags = self.client.etags(self.collection)
        digest = hashlib.sha256(
            "\n".join(f"{u} {e}" for u, e in sorted(etags.items())).encode()
        ).hexdigest()
        new_cursor = {"sync_token": token} if token else {"etag_digest": digest}
        if not token and isinstance(cursor, dict) and cursor.get("etag_digest") == digest:
            # No sync-collection, but not one ETag moved since the last listing.
            yield Page(records=[], cursor=new_cursor)
            return
        yield from self._pages(list(etags), [], cursor, new_cursor, complete=True)

    def _pages(
        self,
        urls: list[str],
        deleted: list[str],
        old_cursor: Any,
        new_cursor: dict[str, Any],
        *,
        complete: bool = False,
    ) -> Iterator[Page]:
        # Pages before the last carry the old cursor: a crash re-reads from there.
        batches = [urls[i : i + self.page_size] for i in range(0, len(urls), self.page_size)]
        unreadable = 0
        ahead = max(1, min(_READ_AHEAD, self.http.parallel - 1))
        pool = ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="carddav-read")
        pending: list[Future[tuple[list[Record], list[str], int]]] = []
        try:
            for number in range(1, max(len(batches), 1) + 1):
                while len(pending) <= ahead and number - 1 + len(pending) < len(batches):
                    pending.append(pool.submit(self._read, batches[number - 1 + len(pending)]))
                records, gone, bad = pending.pop(0).result() if pending else ([], [], 0)
                deleted.extend(gone)  # gone between the listing and the fetch
                unreadable += bad
                last = number == max(len(batches), 1)
                yield Page(
                    records=records,
                    deleted=list(deleted) if last else [],
                    cursor=new_cursor if last else old_cursor,
                    # An unreadable card is absent from the listing, not deleted.
                    complete=complete and last and not unreadable,
                )
        finally:
            # The engine may stop reading early: requests not started are not sent.
            pool.shutdown(wait=True, cancel_futures=True)

    def _read(self, batch: list[str]) -> tuple[list[Record], list[str], int]:
        """One multiget: the records of its cards, the ids of cards gone since they were
        listed, and how many cards could not be read."""
        records: list[Record] = []
        gone: list[str] = []
        unreadable = 0
        for url, etag, text in self.client.multiget(self.collection, batch):
            if text is None:
                gone.append(self._id(url))
                continue
            try:
                records.append(self._record(url, etag, text))
            except VCardError as exc:
                unreadable += 1
                logger.warning("skipping unreadable card %s: %s", self._id(url), exc)
        return records, gone, unreadable

    def _record(self, url: str, etag: str, text: str) -> Record:
        card = Card.parse(text)
        record_id = self._id(url)
        self._remember(record_id, etag, text)
        return Record(id=record_id, updated_at=card.revision(), fields=card.to_fields())

    def _remember(self, record_id: str, etag: str, text: str) -> None:
        with self._cards_lock:
            self._cards[record_id] = (etag, text)
            self._cards.move_to_end(record_id)
            while len(self._cards) > _REMEMBERED_CARDS:
                self._cards.popitem(last=False)

    def _recall(self, record_id: str) -> tuple[str, str] | None:
        """The (etag, text) read last of a card, forgotten as it is used."""
        with self._cards_lock:
            return self._cards.pop(record_id, None)

    # --- Writes

    def push(self, changes: list[Change]) -> list[Result]:
        """One request per change (plus a re-read after a 412); auth, rate-limit and
        connection failures abort the call, anything else fails only its record."""
        results: list[Result] = []
        for change in changes:
            try:
                if change.op == "create":
                    results.append(self._create(change))
                elif change.op == "update":
                    results.append(self._update(change))
                else:
                    results.append(self._delete(change))
            except (AuthError, RateLimited):
                raise
            except VCardError as exc:
                error = ConnectorError(str(exc), permanent=True)
                results.append(Result(key=change.key, id=change.id, error=error))
            except ConnectorError as exc:
                if exc.status is None:
                    raise  # no answer at all: the server is down, not this record
                results.append(Result(key=change.key, id=change.id, error=exc))
        return results

    def _create(self, change: Change) -> Result:
        name = resource_name(change.key)
        url = self._url(name)
        card = card_from_fields(change.key, change.fields, self.vcard_version)
        try:
            etag = self.client.put(url, card.serialize(), create=True)
        except PreconditionFailed:
            # A retried create: the first attempt reached the server. Keep that card.
            text, etag = self.client.get(url)
            return Result(key=change.key, id=name, record=self._record(url, etag, text))
        if etag:
            self._remember(name, etag, card.serialize())
        record = Record(id=name, updated_at=card.revision(), fields=card.to_fields())
        return Result(key=change.key, id=name, record=record)

    def _update(self, change: Change) -> Result:
        record_id = change.id or ""
        url = self._url(record_id)
        remembered = self._recall(record_id)
        for _attempt in range(_UPDATE_ATTEMPTS):
            if remembered:
                etag, text = remembered
                remembered = None
            else:
                text, etag = self.client.get(url)
            card = Card.parse(text)
            before = card.serialize()
            card.apply(change.fields)
            if card.serialize() == before:
                self._remember(record_id, etag, text)
                return Result(key=change.key, id=record_id, record=self._as_record(record_id, card))
            if card.first("REV"):
                card.touch()
            try:
                new_etag = self.client.put(url, card.serialize(), if_match=etag or None)
            except PreconditionFailed:
                logger.info("card %s changed since it was read; re-merging", record_id)
                continue
            if new_etag:
                self._remember(record_id, new_etag, card.serialize())
            return Result(key=change.key, id=record_id, record=self._as_record(record_id, card))
        error = ConnectorError(f"card {record_id} kept changing during the update")
        return Result(key=change.key, id=record_id, error=error)

    def _delete(self, change: Change) -> Result:
        record_id = change.id or ""
        etag = (self._recall(record_id) or ("", ""))[0]
        try:
            self.client.delete(self._url(record_id), if_match=etag or None)
        except RecordGone:
            pass  # already deleted: the wanted outcome
        except PreconditionFailed:
            # Modify beats delete: the card changed since it was read; the next run sees it.
            error = ConnectorError(f"card {record_id} changed since it was read; not deleted")
            return Result(key=change.key, id=record_id, error=error)
        return Result(key=change.key, id=record_id)

    @staticmethod
    def _as_record(record_id: str, card: Card) -> Record:
        return Record(id=record_id, updated_at=card.revision(), fields=card.to_fields())
