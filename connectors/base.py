"""The connector contract (DESIGN.md section 5). Read it whole before writing a connector.

A connector turns one vendor's JSON into ``Record``s keyed by the vendor's own field keys
(tags, lists, owner, status and subscription are fields too) and back. It never sees rules
or mappings: the engine maps, compares and decides; the connector reads and writes.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self, TypeVar

from django.utils.translation import gettext_lazy

from connectors.limits import Limits, limits_of

if TYPE_CHECKING:
    from django.http import HttpRequest

    from connectors.http import Http


logger = logging.getLogger(__name__)

# --- Errors: the engine acts on the class and the `permanent` flag, never on vendor text.


def clean_message(text: str, limit: int) -> str:
    """``text`` on one line of printable characters, cut at ``limit``: an error message
    may quote a vendor's answer, which must not smuggle markup, control characters or a
    whole response body into pages and logs."""
    printable = "".join(ch if ch.isprintable() else " " for ch in str(text))
    line = " ".join(printable.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class ConnectorError(Exception):
    """A vendor call failed. ``permanent`` errors will fail again if retried unchanged
    (validation, missing permission); transient ones (5xx, timeouts) may succeed later."""

    permanent: bool = False
    # The side ("a" or "b") whose app failed: the engine sets it where it calls the
    # connector (a connector does not know which side of a connection it is).
    side: str = ""
    MAX_MESSAGE = 300  # vendor text is shown to tenants and logged: short and printable

    def __init__(
        self,
        message: str,
        *,
        permanent: bool | None = None,
        status: int | None = None,
        side: str = "",
    ):
        super().__init__(clean_message(message, self.MAX_MESSAGE))
        if permanent is not None:
            self.permanent = permanent
        self.status = status
        self.side = side


class AuthError(ConnectorError):
    """Credentials rejected or revoked: pause the connection, flag the authorization."""

    permanent = True


class RateLimited(ConnectorError):
    """The vendor asks us to slow down; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float = 60.0, status: int | None = 429):
        super().__init__(message, permanent=False, status=status)
        self.retry_after = retry_after


class RecordGone(ConnectorError):
    """The record no longer exists on the vendor's side (404/410 on a record URL)."""

    permanent = True


# --- Data that travels between connectors and the engine.

FieldType = Literal[
    "text",
    "email",
    "phone",
    "number",
    "date",
    "datetime",
    "bool",
    "choice",
    "url",
    "country",
    "tags",
    "lists",
    "owner",
    "status",
    "subscription",
]


@dataclass(frozen=True)
class FieldSpec:
    """One field of the vendor's record. ``common`` is the cross-vendor meaning (email,
    first_name, last_name, full_name, company, job_title, phone, mobile, street, city,
    postal_code, region, country, website, notes, tags, lists, owner, status,
    subscribed) from which default mappings are made.

    ``identity`` names the namespace of an identity the engine may trust to be shared
    (``"vcard-uid"``, an external id we wrote): when both connectors of a connection
    declare a field with the same namespace, records holding the same value in it are
    the same person and are matched by it before any email (issue 13). Declare it only
    for a value that two apps (or two accounts of one app) can really share.

    ``refers_to`` names the entity whose record id the field holds (a contact's
    company: ``"company"``): the engine translates it through that entity's links."""

    key: str
    label: str
    type: FieldType = "text"
    common: str | None = None
    required: bool = False
    read_only: bool = False
    custom: bool = False
    multi: bool = False  # tags and lists: a set of values
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    identity: str = ""
    refers_to: str = ""


@dataclass(frozen=True)
class Scope:
    """Something a user picks to sync: a list, a phonebook, a userdb, an object type.
    ``entity``: the kind of record it holds (a connector offering several lists one
    scope per entity: company, contact, opportunity, activity…)."""

    id: str
    label: str
    kind: str = "list"
    entity: str = "contact"


@dataclass(frozen=True)
class VendorUser:
    """An owner in the vendor's app, for user linking."""

    id: str
    name: str
    email: str = ""


@dataclass
class Record:
    """One contact as the vendor holds it, values keyed by the vendor's field keys.
    Multi-valued fields (tags, lists) hold lists of strings; subscription is a bool."""

    id: str
    updated_at: datetime | None
    fields: dict[str, Any]
    # The idempotency key (Change.key) the record was created with, where the vendor
    # stores one (vCard UID, external id): lets the engine recognise its own create whose
    # answer was lost even when the record has no email.
    key: str | None = None
    # Only ``fields`` changed, the rest is as last synced: a vendor that reports a change
    # without the whole record (an unsubscribe listed apart from the contacts) says so.
    # The engine lays ``fields`` over the link's last values, and ignores a partial
    # record it has no link for (it cannot create from a fragment).
    partial: bool = False


@dataclass
class Page:
    """One page of a read. Save ``cursor`` once the page is applied: a crash then re-reads
    at most this page. ``complete`` is set on the last page of a complete listing
    (cursor=None), and only then may absence from the listing count as deletion."""

    records: list[Record]
    deleted: list[str] = field(default_factory=list)
    cursor: Any = None
    complete: bool = False
    # Records listed by id and ``updated_at`` only, not read yet (only when the engine
    # set ``Connector.stubs``): the engine asks ``details`` for those whose updated_at
    # is not the one it last read, so an unchanged record costs no read of its own.
    stubs: list[Record] = field(default_factory=list)


@dataclass
class Change:
    """A write the engine asks for. ``key`` correlates the result with the change and is
    the idempotency key of a create (connectors that can store it, e.g. as a vCard UID
    or an external id, should). ``fields`` holds only what to set on update."""

    op: Literal["create", "update", "delete"]
    key: str
    id: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    """The outcome of one Change: the vendor id (a create's new id), or the error."""

    key: str
    id: str | None = None
    error: ConnectorError | None = None
    record: Record | None = None  # the record as stored, when the vendor returns it


@dataclass(frozen=True)
class Capabilities:
    delta: bool = False  # fetch(cursor) returns only changes since the cursor
    deletion_feed: bool = False  # deltas report deleted ids
    batch_size: int = 1  # changes per write call
    webhooks: bool = False
    tags: bool = False
    lists: bool = False
    subscription: bool = False  # has a subscribed / opted-out state
    requires_email: bool = False  # the vendor refuses contacts without an email


AuthKind = Literal["api_key", "password", "oauth"]


@dataclass(frozen=True)
class Credentials:
    """What a connector gets from an AppAuthorization: decrypted secrets and settings."""

    secrets: dict[str, Any]
    settings: dict[str, Any]
    # Stores changed secrets (a refreshed token) on this one authorization, set by the
    # platform; connectors call ``keep`` and never look authorizations up themselves.
    store: Callable[[dict[str, Any]], None] | None = None

    def keep(self, changed: dict[str, Any]) -> None:
        """Take ``changed`` secrets now and store them for the next runs."""
        self.secrets.update(changed)
        if self.store is not None:
            self.store(changed)

    def number(self, name: str, default: float, low: float, high: float) -> float:
        """A numeric setting clamped to [low, high]; ``default`` when unset or not a
        number, so a malformed stored value never breaks a connector."""
        raw = self.settings.get(name)
        try:
            value = default if raw is None or raw == "" else float(raw)
        except (TypeError, ValueError):
            value = default
        return min(max(value, low), high) if value == value else default


# Errors that, raised inside a connector, mean the vendor answered something it was not
# expected to (``null`` for a list, a string for a number, a list for a detail, nesting
# too deep to decode): the vendor's fault as far as the platform can tell.
SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError)
CONTRACT_METHODS = ("check", "fields", "scopes", "users", "fetch", "push", "parse_webhook")


def _guarded(cls_label: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` turning a shape error into a ConnectorError, so that a vendor answering
    the wrong shape is a clear error (a 4xx page, a failed run), never a crash."""

    def shape_error(exc: Exception) -> ConnectorError:
        logger.warning("%s answered in an unexpected shape", cls_label, exc_info=exc)
        return ConnectorError(
            f"{cls_label} answered in a shape the connector does not understand "
            f"({type(exc).__name__}: {exc})"
        )

    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def pages(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from method(*args, **kwargs)
            except SHAPE_ERRORS as exc:
                raise shape_error(exc) from exc

        pages.__guarded__ = True  # type: ignore[attr-defined]
        return pages

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except SHAPE_ERRORS as exc:
            raise shape_error(exc) from exc

    call.__guarded__ = True  # type: ignore[attr-defined]
    return call


# --- Hooks: optional steps of a connector's life beside the contract. Every default does
# nothing, so a connector overrides only the ones its app needs.


@dataclass(frozen=True)
class ConnectionSetup:
    """A connection's configuration in plain values, for ``Connector.connection_problems``:
    per side ("a", "b") its vendor, scope and credentials; the direction (``two_way``,
    ``a_to_b``, ``b_to_a``); whether it has started (left the setup) and is paused now;
    its enabled field pairs."""

    id: int | None
    vendors: dict[str, str]
    scopes: dict[str, str]
    credentials: dict[str, Credentials]
    direction: str
    started: bool
    paused: bool
    pairs: frozenset[tuple[str, str]] = frozenset()  # (a field, b field)


@dataclass(frozen=True)
class SetupReview:
    """What a connection's save or start is judged on: the connection as it would be
    saved (``new``), as stored (``old``; None for a new one), the account's other
    connections, ``open(side, scope)``: a connector on ``new``'s authorization of ``side``
    limited to ``scope`` (to count what a scope holds; the caller closes it), and
    ``starting``: the connection is about to sync (its setup must be complete), not only
    being saved (the wizard saves it before its field pairs exist)."""

    new: ConnectionSetup
    old: ConnectionSetup | None
    others: tuple[ConnectionSetup, ...]
    open: Callable[[str, str], Connector]
    starting: bool = False


class Hooks:
    """The hooks of ``Connector`` (mixed in below): who calls each, and when."""

    @classmethod
    def connection_problems(cls, review: SetupReview) -> list[str]:
        """What this app refuses in a connection that has it on a side, each message
        saying what to do first (empty: allowed). sync/setup.py asks it when a
        connection's options are saved and when a field pair is added, and
        sync/lifecycle.py before a connection starts or resumes, so the pages, the API
        and the admin refuse the same things in the same words."""
        return []

    def on_start(self, webhook_url: str) -> None:
        """A connection reading this scope through this authorization started or resumed
        (sync/lifecycle.py): register what the app needs, e.g. a webhook calling
        ``webhook_url``. Must be idempotent; a ConnectorError is reported, not fatal
        (polling still syncs)."""

    def on_stop(self, webhook_url: str) -> None:
        """The last started connection reading this scope through this authorization was
        paused or deleted (sync/lifecycle.py): undo ``on_start``."""

    def close(self) -> None:
        """End of a session with the app: release what it holds (a borrowed token). The
        engine calls it once at the end of every run, dry runs and failures included;
        other users of a connector call it when done with it (``with`` does)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.close()
        except ConnectorError as error:  # what was asked is answered; only the goodbye failed
            logger.warning("%s did not close cleanly: %s", type(self).__name__, error)


class Connector(Hooks):
    """Base class of every vendor connector; subclasses set the class attributes and
    implement the methods. ``http`` is the one HTTP seam (connectors/http.py).

    The contract methods a subclass defines are guarded: a vendor answer of the wrong
    shape that makes one raise KeyError, TypeError and the like surfaces as a
    ConnectorError. Connectors should still validate vendor JSON at the edge; the guard
    makes sure what they missed is an error message, not a server error."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in CONTRACT_METHODS:
            method = cls.__dict__.get(name)
            if callable(method) and not getattr(method, "__guarded__", False):
                setattr(cls, name, _guarded(getattr(cls, "label", cls.__name__), method))

    vendor: ClassVar[str]  # == package name == app label == URL segment
    label: ClassVar[str]
    description: ClassVar[str] = ""
    auth_kind: ClassVar[AuthKind] = "api_key"
    # Ways to authorize besides ``auth_kind`` that the pages offer too (an API-key app
    # whose users may also sign in by OAuth: Mailchimp).
    extra_auth_kinds: ClassVar[tuple[AuthKind, ...]] = ()
    # OAuth only: whether the user chooses between the production and a sandbox/test
    # instance of the app before signing in (Salesforce orgs).
    oauth_instances: ClassVar[bool] = False
    # Form fields for api_key/password kinds: (name, label, secret?); the labels are
    # shown to tenants, so connectors mark them for translation (gettext_lazy).
    auth_fields: ClassVar[tuple[tuple[str, str, bool], ...]] = (
        ("api_key", gettext_lazy("API key"), True),
    )
    # Names among ``auth_fields`` that may be left empty (the rest are required).
    optional_auth_fields: ClassVar[tuple[str, ...]] = ()
    # Further settings a tenant may set (beyond the non-secret auth fields). Everything
    # else in an authorization's settings is written by the platform only (e.g. what an
    # OAuth token answer said), never by the pages or the API.
    tenant_settings: ClassVar[tuple[str, ...]] = ()
    capabilities: ClassVar[Capabilities] = Capabilities()
    entities: ClassVar[tuple[str, ...]] = ("contact",)
    # Whether, as the side a connection writes into, the app's records are replaced at
    # activation by the other side's (the initial sync deletes what only this app holds,
    # with the user's explicit consent; sync/setup.py ``replaced_side``).
    replaced_at_activation: ClassVar[bool] = False

    def __init__(self, credentials: Credentials, scope: str, http: Http) -> None:
        self.credentials = credentials
        self.scope = scope
        self.http = http
        if http.gate is None:
            http.limit(self.limits())

    def __exit__(self, *exc: object) -> None:
        try:
            super().__exit__(*exc)
        finally:
            self.http.release()  # the account's limits shared no longer (limits.py)

    @classmethod
    def limits(cls) -> Limits:
        """The vendor's published limits per account (connectors/limits.py)."""
        return limits_of(cls.vendor)

    def limits_key(self) -> str:
        """What the vendor counts its limits against when that is not the authorization
        (Sellf: one API key for a team's authorizations); "" for the authorization."""
        return ""

    @classmethod
    def tenant_setting_names(cls) -> set[str]:
        """The settings keys a tenant may write (pages, API); hosts are never among them
        unless the connector validates them (connectors/endpoints.py)."""
        typed = {name for name, _, secret in cls.auth_fields if not secret}
        return (typed if cls.auth_kind != "oauth" else set()) | set(cls.tenant_settings)

    @classmethod
    def record_url(cls, record_id: str, settings: dict[str, Any]) -> str | None:
        """Where a person opens the record in the app (caller ID links to it), from the
        authorization's non-secret ``settings``; None where the app has no such page."""
        return None

    def check(self) -> None:
        """Verify the credentials; raise AuthError when they are rejected."""
        raise NotImplementedError

    def fields(self) -> list[FieldSpec]:
        """Standard and custom fields of the scope's records."""
        raise NotImplementedError

    def scopes(self) -> list[Scope]:
        """What the user can choose to sync (lists, phonebooks, object types)."""
        raise NotImplementedError

    def users(self) -> list[VendorUser]:
        """Owners, for user linking; empty where the app has none."""
        return []

    def fetch(self, cursor: Any) -> Iterator[Page]:
        """Pages of records changed since ``cursor``; ``None`` lists everything."""
        raise NotImplementedError

    # Set by the engine before ``fetch``: pages may then carry ``stubs`` (see Page). A
    # connector that lists records cheaper than it reads them whole (GetResponse: list
    # rows lack tags and custom fields) uses it; an ``updated_at`` it cannot vouch for
    # (the vendor may change the record again within the same clock tick) must be one
    # no stub will ever equal.
    stubs: bool = False

    def details(self, ids: list[str]) -> list[Record]:
        """The whole records of stubs, in any order; a record gone meanwhile is left out."""
        raise NotImplementedError

    def cursor_expired(self, cursor: Any) -> bool:
        """Whether ``cursor`` is too old for delta reads to report every change and
        deletion since it (e.g. beyond a deleted-records window); the engine then lists
        everything instead."""
        return False

    def usage(self) -> dict[str, Any]:
        """The vendor's API usage as last reported, kept on the authorization."""
        return {}

    def push(self, changes: list[Change]) -> list[Result]:
        """Apply up to ``capabilities.batch_size`` changes; one Result per Change, in
        order. A failing record is a Result with an error, not an exception; exceptions
        mean the whole call failed (auth, rate limit, outage)."""
        raise NotImplementedError

    def refusal(self, change: Change) -> str | None:
        """Why the app would refuse ``change`` (a required value it lacks), told without
        a call: the run reports it as the record's error without sending it, and the
        preview lists it. None when nothing is known against it."""
        return None

    def parse_webhook(self, request: HttpRequest) -> list[str]:
        """Verify a vendor callback and return the affected scopes (empty if none).
        Raise AuthError when the signature or secret does not match."""
        raise NotImplementedError


# --- Parallel calls (issue 18): writes that cost one call per record go out together, up
# to the vendor's parallel limit, inside the run that owns the seam.

T = TypeVar("T")
R = TypeVar("R")


def parallel(http: Http, items: Sequence[T], call: Callable[[T], R]) -> list[R | ConnectorError]:
    """``call(item)`` for each item, up to ``http.parallel`` at once; the answers in the
    items' order, a ConnectorError in place of an item that failed. AuthError and
    RateLimited mean every call would fail: items not started yet are not started, and
    the error is raised once the calls in flight have ended (as a sequential loop
    raises at the failing item). Any other exception is raised the same way."""
    width = min(http.parallel, len(items))
    if width <= 1:
        return [_one(call, item) for item in items]
    stop = threading.Event()
    fatal: list[BaseException] = []

    def guarded(item: T) -> R | ConnectorError:
        if stop.is_set():
            return ConnectorError("not sent: an earlier call of the batch failed")
        try:
            return _one(call, item)
        except BaseException as exc:
            stop.set()
            fatal.append(exc)
            raise

    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="connector") as pool:
        futures = [pool.submit(guarded, item) for item in items]
    if fatal:
        raise fatal[0]
    return [future.result() for future in futures]


def _one(call: Callable[[T], R], item: T) -> R | ConnectorError:
    try:
        return call(item)
    except (AuthError, RateLimited):
        raise
    except ConnectorError as exc:
        return exc


def each(http: Http, changes: Sequence[Change], write: Callable[[Change], Result]) -> list[Result]:
    """``write`` each change through ``parallel``: one Result per Change, in order; a
    change whose write raised a ConnectorError gets it as its Result's error."""
    return [
        Result(change.key, id=change.id, error=answer)
        if isinstance(answer, ConnectorError)
        else answer
        for change, answer in zip(changes, parallel(http, changes, write), strict=True)
    ]
