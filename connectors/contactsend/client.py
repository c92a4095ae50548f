"""ContactSend's SOAP service ("ClabService") through zeep and our HTTP seam.

zeep reads the service's WSDL and builds every envelope; this module never writes XML.
Its transport sends through ``connectors.http.Http``, so WSDL loads and operations are
counted, timed out and retried (idempotent operations only) like any vendor call, and a
SOAP fault (HTTP 500 with a fault envelope) goes back to zeep, which raises it as
``zeep.exceptions.Fault``; here faults become the contract's error classes.

Docs: https://docs.contactlab.com/docs/development/soap-api (operations, sessions);
samples https://github.com/contactlab/soap-api-samples.
"""

from __future__ import annotations

import contextlib
import csv
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
import zeep
import zeep.exceptions
from zeep.transports import Transport

from connectors.base import AuthError, ConnectorError, RecordGone
from connectors.http import default_classify

if TYPE_CHECKING:
    from connectors.http import Http

DEFAULT_WSDL_URL = "https://soap.contactlab.it/soap/services?wsdl"
# keepaliveToken extends a token by 15 minutes [doc]; renew well before that.
KEEPALIVE_AFTER = 10 * 60.0
# Fault codes (OUR ASSUMPTION, as the sandbox answers them: the real codes are not public).
GONE_FAULTS = ("NoSuchSubscriber",)
TOKEN_FAULTS = ("InvalidToken",)
DUPLICATE_FAULTS = ("DuplicateSubscriber",)


def subscriber_number(subscriber_id: str) -> int:
    """Subscriber ids are integers; any other id names no subscriber."""
    if not str(subscriber_id).isdigit():
        raise RecordGone(f"ContactSend has no subscriber {subscriber_id!r}")
    return int(subscriber_id)


class _FaultAnswer(ConnectorError):
    """An HTTP 500 carrying a SOAP fault: handed back to zeep, never retried."""

    permanent = True

    def __init__(self, response: requests.Response) -> None:
        super().__init__("SOAP fault", status=response.status_code)
        self.response = response


def classify(response: requests.Response) -> ConnectorError:
    """SOAP faults are answers (zeep parses them); other failures as usual."""
    if response.status_code == 500 and b"Fault" in response.content[:2000]:
        return _FaultAnswer(response)
    return default_classify(response)


class SeamTransport(Transport):
    """A zeep transport that sends through the seam. ``idempotent`` is set per call:
    only reads, updates, removals and status changes are repeated after a 5xx."""

    def __init__(self, http: Http) -> None:
        super().__init__(session=http.session)
        self.http = http
        self.idempotent = True

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> requests.Response:
        try:
            return self.http.request(
                "POST", address, data=message, headers=headers, idempotent=self.idempotent
            )
        except _FaultAnswer as fault:
            return fault.response

    def _load_remote_data(self, url: str) -> bytes:
        return self.http.request("GET", url).content


@dataclass(frozen=True)
class SourceField:
    """One typed field of a subscriber source: STRING, INTEGER, DATE or BOOLEAN."""

    name: str
    type: str


@dataclass(frozen=True)
class Source:
    """A subscriber source (userdb), its identifier field and webform codes."""

    id: str
    name: str
    identifier: str
    fields: tuple[SourceField, ...]
    webforms: tuple[str, ...]


@dataclass(frozen=True)
class Subscriber:
    """A subscriber as the service answers it: id and raw string attributes."""

    id: str
    attributes: dict[str, str]


class ContactSendClient:
    """One session of ClabService: a token borrowed on first use, kept alive on long
    runs and invalidated by ``close()``."""

    def __init__(self, http: Http, *, wsdl_url: str, api_key: str, user_key: str) -> None:
        http.classify = classify
        self.http = http
        self.wsdl_url = wsdl_url
        self.api_key = api_key
        self.user_key = user_key
        self.transport = SeamTransport(http)
        self._client: zeep.Client | None = None
        self._token: str | None = None
        self._borrowed_at = 0.0

    @property
    def service(self) -> Any:
        if self._client is None:
            try:
                self._client = zeep.Client(self.wsdl_url, transport=self.transport)
            except (zeep.exceptions.Error, ValueError) as exc:
                raise ConnectorError(f"ContactSend WSDL unreadable: {exc}") from exc
        return self._client.service

    def factory(self, name: str) -> Any:
        """A type of the WSDL (``Subscriber``, ``LookupPreferences`` …) to fill in."""
        self.service  # noqa: B018 - loads the WSDL
        assert self._client is not None
        return self._client.get_type(f"ns0:{name}")

    # --- Session.

    def token(self) -> str:
        """The session's token: borrowToken once, keepaliveToken after a while."""
        if self._token is None:
            try:
                self._token = str(self._raw("borrowToken", self.api_key, self.user_key))
            except zeep.exceptions.Fault as fault:
                raise AuthError(f"ContactSend refused the keys: {fault.message}") from fault
            self._borrowed_at = time.monotonic()
        elif time.monotonic() - self._borrowed_at > KEEPALIVE_AFTER:
            try:
                self._raw("keepaliveToken", self._token)
            except zeep.exceptions.Fault:
                self._token = None  # expired after all: borrow a new one
                return self.token()
            self._borrowed_at = time.monotonic()
        return self._token

    def close(self) -> None:
        """invalidateToken, at the end of a run."""
        if self._token is not None:
            token, self._token = self._token, None
            # A failure is harmless: the token expires by itself within 15 minutes.
            with contextlib.suppress(zeep.exceptions.Fault, ConnectorError):
                self._raw("invalidateToken", token)

    def _raw(self, operation: str, *args: Any, idempotent: bool = True) -> Any:
        self.transport.idempotent = idempotent
        try:
            return getattr(self.service, operation)(*args)
        except (zeep.exceptions.TransportError, zeep.exceptions.XMLSyntaxError) as exc:
            raise ConnectorError(f"ContactSend {operation}: unreadable answer ({exc})") from exc
        except zeep.exceptions.ValidationError as exc:
            raise ConnectorError(f"ContactSend {operation}: {exc}", permanent=True) from exc

    def call(self, operation: str, *args: Any, idempotent: bool = True) -> Any:
        """Call ``operation(token, *args)``; an expired token is borrowed again once."""
        for attempt in (1, 2):
            try:
                return self._raw(operation, self.token(), *args, idempotent=idempotent)
            except zeep.exceptions.Fault as fault:
                code = str(fault.code or "").rpartition(".")[2]
                if code in TOKEN_FAULTS and attempt == 1:
                    self._token = None
                    continue
                if code in TOKEN_FAULTS:
                    raise AuthError(f"ContactSend: {fault.message}") from fault
                if code in GONE_FAULTS:
                    raise RecordGone(f"ContactSend: {fault.message}") from fault
                error = ConnectorError(f"ContactSend: {fault.message}", permanent=True)
                error.code = code  # type: ignore[attr-defined]
                raise error from fault
        raise AssertionError("unreachable")

    # --- Operations.

    def sources(self) -> list[Source]:
        return [self._source(s) for s in self.call("findSubscriberSources") or []]

    def source(self, source_id: str) -> Source:
        return self._source(self.call("getSubscriberSource", int(source_id)))

    @staticmethod
    def _source(raw: Any) -> Source:
        return Source(
            id=str(raw.identifier),
            name=str(raw.name or raw.identifier),
            identifier=str(raw.subscriberIdentifierFieldName or "EMAIL"),
            fields=tuple(SourceField(str(f.name), str(f.type or "STRING")) for f in raw.fields),
            webforms=tuple(str(code) for code in (raw.webForms or [])),
        )

    def subscriber_pages(self, source_id: str, identifier: str) -> Iterator[list[Subscriber]]:
        """Every subscriber, 15 a page in id order, until the service answers an empty
        page: findSubscribers with an empty CONTAINS match on the identifier field."""
        attribute = {"key": identifier, "value": ""}
        number = 1
        while True:
            prefs = {"matchingMode": "CONTAINS", "sortingMode": "ASCENDING", "pageNumber": number}
            page = self.call("findSubscribers", int(source_id), attribute, prefs)
            items = [self._subscriber(s) for s in (page.currentPageItems if page else None) or []]
            if not items:
                return
            yield items
            number += 1

    def export_rows(
        self, source_id: str, *, poll: float = 1.0, timeout: float = 600.0
    ) -> Iterator[Subscriber]:
        """Every subscriber through the bulk export: startSubscriberDataExchange, then
        getSubscriberDataExchangeStatus until FINISHED, then the CSV file it names,
        which must be on the service's own host (never a host from elsewhere)."""
        exchange = str(self.call("startSubscriberDataExchange", int(source_id), idempotent=False))
        deadline = time.monotonic() + timeout
        while True:
            status = self.call("getSubscriberDataExchangeStatus", exchange)
            state = str(getattr(status, "status", "") or "")
            if state == "FINISHED":
                break
            if state != "RUNNING" or time.monotonic() > deadline:
                raise ConnectorError(
                    f"ContactSend data exchange {exchange} ended {state or 'unknown'}"
                )
            time.sleep(poll)
        url = str(status.fileUrl or "")
        if urlsplit(url).netloc != urlsplit(self.wsdl_url).netloc:
            raise ConnectorError(
                f"ContactSend export file on an unexpected host: {url}", permanent=True
            )
        response = self.http.request("GET", url, stream=True)
        response.encoding = "utf-8"
        reader = csv.reader(response.iter_lines(decode_unicode=True))
        header = next(reader, None)
        if not header or header[0] != "identifier":
            raise ConnectorError("ContactSend export file has no identifier column")
        for row in reader:
            if row:
                yield Subscriber(id=row[0], attributes=dict(zip(header[1:], row[1:], strict=False)))

    def find(self, source_id: str, key: str, value: str) -> list[Subscriber]:
        attribute = {"key": key, "value": value}
        prefs = {"matchingMode": "EQUALS", "sortingMode": "ASCENDING", "pageNumber": 1}
        page = self.call("findSubscribers", int(source_id), attribute, prefs)
        return [self._subscriber(s) for s in (page.currentPageItems if page else None) or []]

    def subscribed_ids(self, webform: str) -> set[str]:
        """Ids of the subscribers subscribed through ``webform`` (findSubscriptionsBy)."""
        found: set[str] = set()
        number = 1
        while True:
            page = self.call("findSubscriptionsBy", webform, number)
            ids = [str(i) for i in (page.subscriberIds if page else None) or []]
            if not ids:
                return found
            found.update(ids)
            number += 1

    def get(self, source_id: str, subscriber_id: str) -> Subscriber:
        return self._subscriber(
            self.call("getSubscriber", int(source_id), subscriber_number(subscriber_id))
        )

    def add(self, source_id: str, attributes: dict[str, str]) -> Subscriber:
        body = {"attributes": [{"key": k, "value": v} for k, v in attributes.items()]}
        return self._subscriber(self.call("addSubscriber", int(source_id), body, idempotent=False))

    def update(self, source_id: str, subscriber_id: str, attributes: dict[str, str]) -> Subscriber:
        body = {
            "identifier": subscriber_number(subscriber_id),
            "attributes": [{"key": k, "value": v} for k, v in attributes.items()],
        }
        return self._subscriber(self.call("updateSubscriber", int(source_id), body))

    def remove(self, source_id: str, subscriber_id: str) -> None:
        self.call("removeSubscriber", int(source_id), subscriber_number(subscriber_id))

    def set_subscribed(self, webform: str, subscriber_id: str, subscribed: bool) -> None:
        self.call(
            "modifySubscriberSubscriptionStatus",
            webform,
            subscriber_number(subscriber_id),
            subscribed,
        )

    @staticmethod
    def _subscriber(raw: Any) -> Subscriber:
        if raw is None or raw.identifier is None:
            raise ConnectorError("ContactSend answered a subscriber without an identifier")
        attributes = {str(a.key): "" if a.value is None else str(a.value) for a in raw.attributes}
        return Subscriber(id=str(raw.identifier), attributes=attributes)
