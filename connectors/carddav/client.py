"""WebDAV / CardDAV over the one HTTP seam: discovery, sync-collection, multiget, and
conflict-safe writes. Knows XML and HTTP, not fields (those are vcard.py's).

References: RFC 4918 (WebDAV), RFC 6352 (CardDAV), RFC 6578 (sync-collection),
RFC 6764 and RFC 5397 (discovery). Google's CardDAV: https://developers.google.com/people/carddav
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote, urljoin, urlsplit
from xml.etree.ElementTree import Element  # building only; parsing goes through defusedxml

import requests
from defusedxml import ElementTree as SafeET

from connectors.base import AuthError, ConnectorError
from connectors.http import Http, default_classify

logger = logging.getLogger(__name__)

DAV = "DAV:"
CARDDAV = "urn:ietf:params:xml:ns:carddav"
XML_HEADERS = {"Content-Type": "application/xml; charset=utf-8"}
VCARD_TYPE = "text/vcard; charset=utf-8"
_MAX_TRUNCATED_ROUNDS = 1000  # a server answering 507 forever must not loop forever
_MAX_REDIRECTS = 5


def clark(prefix: str, name: str) -> str:
    """``{namespace}name`` for the D: (DAV) and C: (CardDAV) prefixes."""
    return "{%s}%s" % ({"D": DAV, "C": CARDDAV}[prefix], name)  # noqa: UP031


class InvalidSyncToken(ConnectorError):
    """The server no longer knows our sync-token (RFC 6578 3.2 valid-sync-token)."""

    permanent = True


class SyncUnsupported(ConnectorError):
    """The collection does not offer the sync-collection report."""

    permanent = True


class PreconditionFailed(ConnectorError):
    """412: If-Match / If-None-Match did not hold (changed meanwhile, or exists already)."""

    permanent = True


def classify(response: requests.Response) -> ConnectorError:
    """The seam's default classes, plus the WebDAV preconditions the connector acts on."""
    status = response.status_code
    body = response.text[:2000]
    if status in (403, 409) and "valid-sync-token" in body:
        return InvalidSyncToken(f"HTTP {status}: sync-token rejected", status=status)
    if status == 403 and "supported-report" in body:
        return SyncUnsupported(f"HTTP {status}: report not supported", status=status)
    if status == 412:
        return PreconditionFailed("HTTP 412: precondition failed", status=status)
    return default_classify(response)


class Auth(Protocol):
    """How requests are authorized; ``refresh`` renews expired credentials once."""

    def apply(self, http: Http) -> None: ...

    def refresh(self, http: Http) -> bool: ...


@dataclass
class BasicAuth:
    """Username and (app) password: what Nextcloud, iCloud, Fastmail and Radicale take."""

    username: str
    password: str

    def apply(self, http: Http) -> None:
        http.session.auth = (self.username, self.password)

    def refresh(self, http: Http) -> bool:
        return False  # a rejected password stays rejected


@dataclass
class BearerAuth:
    """OAuth 2.0 bearer tokens (Google). ``secrets`` is the authorization's dict: a
    refreshed access token is written back into it for the caller to persist."""

    secrets: dict[str, Any]
    token_url: str
    client_id: str
    client_secret: str
    refreshed: bool = field(default=False)

    def apply(self, http: Http) -> None:
        http.session.headers["Authorization"] = f"Bearer {self.secrets.get('access_token', '')}"

    def refresh(self, http: Http) -> bool:
        """Trade the refresh token for a new access token, once per connector instance."""
        if self.refreshed or not self.secrets.get("refresh_token"):
            return False
        self.refreshed = True
        # https://developers.google.com/identity/protocols/oauth2/web-server#offline
        try:
            response = http.request(
                "POST",
                self.token_url,
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": self.secrets["refresh_token"],
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                },
                headers={"Authorization": None},  # type: ignore[dict-item]  # drop the bearer
            )
            token = response.json()["access_token"]
        except (ConnectorError, ValueError, KeyError) as exc:
            raise AuthError("the OAuth refresh token was refused", permanent=True) from exc
        self.secrets["access_token"] = token
        self.apply(http)
        logger.info("refreshed the CardDAV OAuth access token")
        return True


@dataclass
class DavItem:
    """One ``<D:response>`` of a multistatus: absolute URL, status, and the properties
    found (clark name -> element). A status of 404 marks a removed member."""

    url: str
    status: int
    props: dict[str, Element]

    def text(self, prefix: str, name: str) -> str | None:
        element = self.props.get(clark(prefix, name))
        return None if element is None or element.text is None else element.text.strip()

    def href(self, prefix: str, name: str) -> str | None:
        """The ``<D:href>`` inside a property (current-user-principal, home sets)."""
        element = self.props.get(clark(prefix, name))
        found = None if element is None else element.find(clark("D", "href"))
        return None if found is None or not found.text else found.text.strip()

    def has_type(self, prefix: str, name: str) -> bool:
        element = self.props.get(clark("D", "resourcetype"))
        return element is not None and element.find(clark(prefix, name)) is not None


@dataclass
class SyncResult:
    """What changed since a sync-token: changed members with their ETags, removed ones,
    and the new token."""

    token: str
    changed: dict[str, str]
    removed: list[str]


def same_resource(a: str, b: str) -> bool:
    """Whether two URLs name the same resource (encoding and trailing slash aside)."""
    return unquote(urlsplit(a).path).rstrip("/") == unquote(urlsplit(b).path).rstrip("/")


def _status(text: str | None) -> int:
    # "HTTP/1.1 404 Not Found" -> 404
    parts = (text or "").split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 200


def parse_multistatus(content: bytes, base_url: str) -> tuple[list[DavItem], str | None]:
    """The responses of a 207 body, and its top-level sync-token if any."""
    try:
        root = SafeET.fromstring(content)
    except SafeET.ParseError as exc:
        raise ConnectorError("the server sent a malformed multistatus body") from exc
    items: list[DavItem] = []
    for response in root.findall(clark("D", "response")):
        href = response.findtext(clark("D", "href"))
        if not href:
            continue
        props: dict[str, Element] = {}
        for propstat in response.findall(clark("D", "propstat")):
            prop = propstat.find(clark("D", "prop"))
            if prop is not None and _status(propstat.findtext(clark("D", "status"))) == 200:
                props.update({child.tag: child for child in prop})
        status = _status(response.findtext(clark("D", "status")))
        items.append(DavItem(url=urljoin(base_url, href.strip()), status=status, props=props))
    return items, root.findtext(clark("D", "sync-token"))


def _xml(root: str, *children: str) -> bytes:
    """A request body: element ``root`` (``D:name`` / ``C:name``) holding the given,
    already serialised, children."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><{root} xmlns:D="DAV:" '
        f'xmlns:C="{CARDDAV}">{"".join(children)}</{root}>'
    ).encode()


def _props(*names: str) -> str:
    return "<D:prop>" + "".join(f"<{name}/>" for name in names) + "</D:prop>"


class DavClient:
    """CardDAV calls for one connector instance; every request goes through ``http``."""

    def __init__(self, http: Http, auth: Auth) -> None:
        self.http = http
        self.auth = auth
        self._refreshing = threading.Lock()  # one refresh at a time
        http.classify = classify
        auth.apply(http)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One call; a 401 refreshes expiring credentials (OAuth) and retries once. Reads
        go out from a read-ahead thread too: a 401 answered to credentials that another
        thread has refreshed meanwhile is retried with the new ones."""
        sent = self.http.session.headers.get("Authorization")
        try:
            return self.http.request(method, url, **kwargs)
        except AuthError as exc:
            if exc.status != 401:
                raise
            with self._refreshing:
                renewed = self.http.session.headers.get("Authorization") != sent
                if not renewed and not self.auth.refresh(self.http):
                    raise
        return self.http.request(method, url, **kwargs)

    # --- WebDAV reads

    def propfind(self, url: str, props: Iterable[str], depth: str = "0") -> list[DavItem]:
        """PROPFIND ``props`` (``D:name`` / ``C:name``) on ``url``; redirects are
        followed by hand, since requests would drop the body of a redirected PROPFIND."""
        body = _xml("D:propfind", _props(*props))
        for _ in range(_MAX_REDIRECTS):
            response = self.request(
                "PROPFIND",
                url,
                data=body,
                headers={**XML_HEADERS, "Depth": depth},
                allow_redirects=False,
            )
            if response.status_code in (301, 302, 303, 307, 308):
                url = urljoin(url, response.headers.get("Location", ""))
                continue
            if response.status_code != 207:
                raise ConnectorError(f"PROPFIND {url}: expected 207, got {response.status_code}")
            return parse_multistatus(response.content, url)[0]
        raise ConnectorError(f"PROPFIND {url}: too many redirects", permanent=True)

    def discover(self, start_url: str) -> list[tuple[str, str]]:
        """Address books (URL, display name) of the user, per RFC 6764: the principal of
        ``start_url`` (or of /.well-known/carddav), its home set, the home's members."""
        principal = self._principal(start_url)
        homes: list[str] = []
        if principal:
            found = self.propfind(principal, ["C:addressbook-home-set"])
            home = found[0].href("C", "addressbook-home-set") if found else None
            homes.append(urljoin(principal, home) if home else principal)
        # The given URL may be an address book or a home set itself (Google's home-set
        # PROPFINDs may 404, vdirsyncer notes), so it is always looked at too.
        homes.append(start_url)
        books: dict[str, str] = {}
        for home in homes:
            try:
                members = self.propfind(home, ["D:resourcetype", "D:displayname"], depth="1")
            except ConnectorError as exc:
                if isinstance(exc, AuthError) and exc.status == 401:
                    raise
                continue
            for item in members:
                if item.has_type("C", "addressbook"):
                    books.setdefault(item.url, item.text("D", "displayname") or item.url)
        return sorted(books.items(), key=lambda pair: pair[1].lower())

    def _principal(self, start_url: str) -> str | None:
        well_known = urljoin(start_url, "/.well-known/carddav")
        for url in (start_url, well_known):
            try:
                found = self.propfind(url, ["D:current-user-principal"])
            except ConnectorError as exc:
                if isinstance(exc, AuthError) and exc.status == 401:
                    raise
                continue
            href = found[0].href("D", "current-user-principal") if found else None
            if href:
                return urljoin(url, href)
        return None

    def sync_token(self, collection: str) -> str | None:
        """The collection's current sync-token property, or None where unsupported."""
        found = self.propfind(collection, ["D:sync-token"])
        return found[0].text("D", "sync-token") if found else None

    def etags(self, collection: str) -> dict[str, str]:
        """Every member's URL and ETag (PROPFIND Depth 1): a complete listing."""
        members = self.propfind(collection, ["D:getetag", "D:resourcetype"], depth="1")
        return {
            item.url: item.text("D", "getetag") or ""
            for item in members
            if item.status == 200
            and not same_resource(item.url, collection)
            and not item.has_type("D", "collection")
        }

    def sync_collection(self, collection: str, token: str) -> SyncResult:
        """Changes since ``token`` (RFC 6578); "" asks for every member. A truncated
        answer (507 on the collection itself) is continued with the token it carries."""
        changed: dict[str, str] = {}
        removed: list[str] = []
        for _ in range(_MAX_TRUNCATED_ROUNDS):
            body = _xml(
                "D:sync-collection",
                f"<D:sync-token>{_escape_xml(token)}</D:sync-token>",
                "<D:sync-level>1</D:sync-level>",
                _props("D:getetag"),
            )
            try:
                response = self.request(
                    "REPORT", collection, data=body, headers={**XML_HEADERS, "Depth": "0"}
                )
            except ConnectorError as exc:
                if exc.status in (400, 405, 415, 501) and not token:
                    raise SyncUnsupported(str(exc), status=exc.status) from exc
                raise
            items, new_token = parse_multistatus(response.content, collection)
            if not new_token:
                raise SyncUnsupported("sync-collection answered without a sync-token")
            truncated = False
            for item in items:
                if same_resource(item.url, collection):
                    truncated = truncated or item.status == 507
                elif item.status == 404:
                    removed.append(item.url)
                    changed.pop(item.url, None)
                else:
                    changed[item.url] = item.text("D", "getetag") or ""
            token = new_token
            if not truncated:
                return SyncResult(token=token, changed=changed, removed=removed)
        raise ConnectorError("sync-collection stayed truncated; giving up for this run")

    def multiget(self, collection: str, urls: list[str]) -> list[tuple[str, str, str | None]]:
        """(URL, ETag, vCard text or None when gone) for each of ``urls``, in one REPORT."""
        hrefs = "".join(f"<D:href>{_escape_xml(urlsplit(url).path)}</D:href>" for url in urls)
        body = _xml("C:addressbook-multiget", _props("D:getetag", "C:address-data"), hrefs)
        response = self.request(
            "REPORT", collection, data=body, headers={**XML_HEADERS, "Depth": "1"}
        )
        items, _ = parse_multistatus(response.content, collection)
        return [
            (item.url, item.text("D", "getetag") or "", item.text("C", "address-data"))
            if item.status == 200
            else (item.url, "", None)
            for item in items
        ]

    # --- Resource reads and conflict-safe writes

    def get(self, url: str) -> tuple[str, str]:
        """A card's text and ETag."""
        response = self.request("GET", url, headers={"Accept": "text/vcard"})
        response.encoding = response.encoding or "utf-8"
        return response.text, response.headers.get("ETag", "")

    def put(self, url: str, text: str, *, if_match: str | None = None, create: bool = False) -> str:
        """PUT a card; ``create`` sends If-None-Match: *, else ``if_match`` guards the
        update. Returns the new ETag ("" when the server rewrote the card and sent none).
        Raises PreconditionFailed when the guard does not hold."""
        headers = {"Content-Type": VCARD_TYPE}
        if create:
            headers["If-None-Match"] = "*"
        elif if_match:
            headers["If-Match"] = if_match
        response = self.request("PUT", url, data=text.encode(), headers=headers)
        return response.headers.get("ETag", "")

    def delete(self, url: str, *, if_match: str | None = None) -> None:
        """DELETE a card, guarded by its ETag when known."""
        headers = {"If-Match": if_match} if if_match else {}
        self.request("DELETE", url, headers=headers)


def _escape_xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
