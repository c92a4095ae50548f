"""An emulator of Contactlab's ContactSend SOAP service ("ClabService"), built with spyne.

It publishes a WSDL at ``/contactsend/soap/services?wsdl`` (the real one is
``https://soap.contactlab.it/soap/services?wsdl``) and answers, over SOAP 1.1, the
operations our connector uses: borrowToken / keepaliveToken / invalidateToken,
findSubscriberSources / getSubscriberSource, findSubscribers (15 a page, 1-based
``pageNumber``, an empty page past the end), getSubscriber, addSubscriber,
updateSubscriber (only the attributes passed change), removeSubscriber,
modifySubscriberSubscriptionStatus, findSubscriptionsBy, and the bulk export
startSubscriberDataExchange / getSubscriberDataExchangeStatus (a CSV file of the userdb,
fetched from the ``fileUrl`` the finished status gives). Bad keys, unknown or expired
tokens, unknown subscribers, duplicate identifiers and values that do not fit a field's
type are SOAP faults, as the real service answers unauthorised operations.

Operation and type names follow the public docs and samples (apis/ 3A). OUR ASSUMPTION,
kept here in one place: the exact shape of ``Subscribers`` paging (``currentPageItems``,
``currentPageNumber``, ``totalPages``), the ``webForms`` of a source (the webform codes
its subscriptions are managed through) and the shape of ``findSubscriptionsBy`` (the
subscriber ids subscribed through one webform, 1000 a page); the data exchange's
arguments (a whole-userdb export), its status shape and the CSV layout (an
``identifier`` column, then the fields); the fault codes; a token's
life of 15 minutes, renewed by keepaliveToken.

State per account (an apiKey + userKey pair): userdbs with typed fields, subscribers as
``{id: {field: value}}`` and, per webform code, the subscribed subscriber ids.
"""

from __future__ import annotations

import csv
import io
import logging
import time
import uuid
import warnings
from datetime import date
from typing import Any

# spyne 2.14 imports the stdlib's deprecated cgi module; that warning is not ours to fix.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from spyne import (
        Application,
        Boolean,
        ComplexModel,
        Fault,
        Integer,
        ServiceBase,
        Unicode,
        rpc,
    )
    from spyne.protocol.soap import Soap11
    from spyne.server.wsgi import WsgiApplication

from connectors.sandbox import Emulator, SandboxRequest, SandboxResponse, route
from connectors.sandbox.synthetic import people

# spyne logs every fault it serves with a traceback; faults are answers here, not bugs.
logging.getLogger("spyne.application").setLevel(logging.CRITICAL)

NAMESPACE = "http://soap.contactlab.it/"
PAGE_SIZE = 15
SUBSCRIPTIONS_PAGE_SIZE = 1000
TOKEN_LIFE = 15 * 60.0
FIELD_TYPES = ("STRING", "INTEGER", "DATE", "BOOLEAN")


# --- The WSDL's types.


class SubscriberAttribute(ComplexModel):
    __namespace__ = NAMESPACE
    key = Unicode
    value = Unicode


class Subscriber(ComplexModel):
    __namespace__ = NAMESPACE
    identifier = Integer
    attributes = SubscriberAttribute.customize(max_occurs="unbounded")


class Subscribers(ComplexModel):
    __namespace__ = NAMESPACE
    currentPageNumber = Integer
    totalPages = Integer
    currentPageItems = Subscriber.customize(max_occurs="unbounded")


class LookupPreferences(ComplexModel):
    __namespace__ = NAMESPACE
    matchingMode = Unicode(values=["EQUALS", "CONTAINS"])
    sortingMode = Unicode(values=["ASCENDING", "DESCENDING"])
    pageNumber = Integer


class SubscriberSourceField(ComplexModel):
    __namespace__ = NAMESPACE
    name = Unicode
    type = Unicode(values=list(FIELD_TYPES))


class SubscriberSource(ComplexModel):
    __namespace__ = NAMESPACE
    identifier = Integer
    name = Unicode
    description = Unicode
    subscriberIdentifierFieldName = Unicode
    charset = Unicode
    locked = Boolean
    readOnly = Boolean
    fields = SubscriberSourceField.customize(max_occurs="unbounded")
    webForms = Unicode.customize(max_occurs="unbounded")


class SubscriptionIds(ComplexModel):
    __namespace__ = NAMESPACE
    webFormCode = Unicode
    currentPageNumber = Integer
    subscriberIds = Integer.customize(max_occurs="unbounded")


class DataExchangeStatus(ComplexModel):
    __namespace__ = NAMESPACE
    exchangeId = Unicode
    status = Unicode(values=["RUNNING", "FINISHED", "FAILED"])
    fileUrl = Unicode
    rows = Integer


def _emulator(ctx: Any) -> ContactSendEmulator:
    emulator: ContactSendEmulator = ctx.transport.req_env["sandbox.emulator"]
    return emulator


def _fault(code: str, message: str) -> Fault:
    return Fault(faultcode=f"Client.{code}", faultstring=message)


class ClabService(ServiceBase):
    """The operations; each delegates to the emulator, which holds the state."""

    @rpc(Unicode, Unicode, _returns=Unicode)
    def borrowToken(ctx, apiKey, userKey):
        return _emulator(ctx).borrow(apiKey or "", userKey or "")

    @rpc(Unicode, _returns=Boolean)
    def keepaliveToken(ctx, token):
        _emulator(ctx).session(token)["expires"] = time.time() + TOKEN_LIFE
        return True

    @rpc(Unicode, _returns=Boolean)
    def invalidateToken(ctx, token):
        _emulator(ctx).session(token)
        _emulator(ctx).state["tokens"].pop(token, None)
        return True

    @rpc(Unicode, _returns=SubscriberSource.customize(max_occurs="unbounded"))
    def findSubscriberSources(ctx, token):
        account = _emulator(ctx).account(token)
        return [_source(int(i), db) for i, db in account["userdbs"].items()]

    @rpc(Unicode, Integer, _returns=SubscriberSource)
    def getSubscriberSource(ctx, token, sourceId):
        return _source(sourceId, _emulator(ctx).userdb(token, sourceId))

    @rpc(Unicode, Integer, SubscriberAttribute, LookupPreferences, _returns=Subscribers)
    def findSubscribers(ctx, token, sourceId, attribute, lookupPreferences):
        emulator = _emulator(ctx)
        db = emulator.userdb(token, sourceId)
        prefs = lookupPreferences or LookupPreferences()
        key = attribute.key if attribute else None
        wanted = (attribute.value or "") if attribute else ""
        mode = prefs.matchingMode or "EQUALS"
        if key and key not in db["fields"]:
            raise _fault("InvalidAttribute", f"No field {key!r} in subscriber source {sourceId}")
        found = []
        for sid, values in db["subscribers"].items():
            value = str(values.get(key) or "") if key else ""
            if not key or (value == wanted if mode == "EQUALS" else wanted in value):
                found.append(int(sid))
        found.sort(reverse=prefs.sortingMode == "DESCENDING")
        number = max(1, prefs.pageNumber or 1)
        chunk = found[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
        items = [_subscriber(sid, db["subscribers"][str(sid)]) for sid in chunk]
        pages = (len(found) + PAGE_SIZE - 1) // PAGE_SIZE
        return Subscribers(currentPageNumber=number, totalPages=pages, currentPageItems=items)

    @rpc(Unicode, Integer, Integer, _returns=Subscriber)
    def getSubscriber(ctx, token, sourceId, subscriberId):
        db = _emulator(ctx).userdb(token, sourceId)
        return _subscriber(subscriberId, _stored(db, subscriberId))

    @rpc(Unicode, Integer, Subscriber, _returns=Subscriber)
    def addSubscriber(ctx, token, sourceIdentifier, subscriber):
        emulator = _emulator(ctx)
        db = emulator.userdb(token, sourceIdentifier)
        values = _typed(db, subscriber.attributes if subscriber else [])
        identifier = db["identifier"]
        if not values.get(identifier):
            raise _fault("MissingIdentifier", f"The field {identifier} is required")
        if any(s.get(identifier) == values[identifier] for s in db["subscribers"].values()):
            raise _fault("DuplicateSubscriber", f"{identifier} {values[identifier]} exists")
        sid = emulator.add(db, values)
        return _subscriber(sid, db["subscribers"][str(sid)])

    @rpc(Unicode, Integer, Subscriber, _returns=Subscriber)
    def updateSubscriber(ctx, token, sourceId, subscriber):
        db = _emulator(ctx).userdb(token, sourceId)
        stored = _stored(db, subscriber.identifier if subscriber else None)
        values = _typed(db, subscriber.attributes or [])
        identifier = db["identifier"]
        if identifier in values and not values[identifier]:
            raise _fault("MissingIdentifier", f"The field {identifier} cannot be emptied")
        stored.update(values)  # only the attributes passed change
        return _subscriber(subscriber.identifier, stored)

    @rpc(Unicode, Integer, Integer, _returns=Boolean)
    def removeSubscriber(ctx, token, sourceId, subscriberId):
        db = _emulator(ctx).userdb(token, sourceId)
        _stored(db, subscriberId)
        del db["subscribers"][str(subscriberId)]
        for subscribed in db["webforms"].values():
            if subscriberId in subscribed:
                subscribed.remove(subscriberId)
        return True

    @rpc(Unicode, Unicode, Integer, Boolean, _returns=Boolean)
    def modifySubscriberSubscriptionStatus(ctx, token, webFormCode, subscriberId, isSubscribed):
        emulator = _emulator(ctx)
        db = emulator.webform_userdb(token, webFormCode or "")
        _stored(db, subscriberId)
        emulator.subscribe(db, webFormCode, subscriberId, bool(isSubscribed))
        return True

    @rpc(Unicode, Unicode, Integer, _returns=SubscriptionIds)
    def findSubscriptionsBy(ctx, token, webFormCode, pageNumber):
        db = _emulator(ctx).webform_userdb(token, webFormCode or "")
        subscribed = sorted(db["webforms"][webFormCode])
        number = max(1, pageNumber or 1)
        size = SUBSCRIPTIONS_PAGE_SIZE
        chunk = subscribed[(number - 1) * size : number * size]
        return SubscriptionIds(
            webFormCode=webFormCode, currentPageNumber=number, subscriberIds=chunk
        )

    @rpc(Unicode, Integer, _returns=Unicode)
    def startSubscriberDataExchange(ctx, token, sourceId):
        emulator = _emulator(ctx)
        db = emulator.userdb(token, sourceId)
        exchange = uuid.uuid4().hex
        emulator.exports[exchange] = {"api_key": emulator.session(token)["api_key"], "polls": 0,
                                      "csv": _csv(db)}  # fmt: skip
        return exchange

    @rpc(Unicode, Unicode, _returns=DataExchangeStatus)
    def getSubscriberDataExchangeStatus(ctx, token, exchangeId):
        emulator = _emulator(ctx)
        emulator.session(token)
        found = emulator.exports.get(exchangeId or "")
        if found is None:
            raise _fault("NoSuchDataExchange", f"Data exchange {exchangeId} not found")
        found["polls"] += 1
        if found["polls"] < 2:  # the first poll finds it still running
            return DataExchangeStatus(exchangeId=exchangeId, status="RUNNING")
        host = ctx.transport.req_env["HTTP_HOST"]
        return DataExchangeStatus(
            exchangeId=exchangeId,
            status="FINISHED",
            fileUrl=f"http://{host}/contactsend/exchange/{exchangeId}.csv",
            rows=found["csv"].count("\n") - 1,
        )


def _csv(db: dict[str, Any]) -> str:
    out = io.StringIO()
    names = list(db["fields"])
    writer = csv.writer(out)
    writer.writerow(["identifier", *names])
    for sid, values in sorted(db["subscribers"].items(), key=lambda item: int(item[0])):
        writer.writerow(
            [sid, *(_wire(values[n]) if values.get(n) is not None else "" for n in names)]
        )
    return out.getvalue()


def _source(identifier: int, db: dict[str, Any]) -> SubscriberSource:
    return SubscriberSource(
        identifier=identifier,
        name=db["name"],
        description=db.get("description", ""),
        subscriberIdentifierFieldName=db["identifier"],
        charset="UTF-8",
        locked=False,
        readOnly=False,
        fields=[SubscriberSourceField(name=n, type=t) for n, t in db["fields"].items()],
        webForms=sorted(db["webforms"]),
    )


def _subscriber(sid: int, values: dict[str, Any]) -> Subscriber:
    attributes = [
        SubscriberAttribute(key=k, value=_wire(v)) for k, v in values.items() if v is not None
    ]
    return Subscriber(identifier=sid, attributes=attributes)


def _wire(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _stored(db: dict[str, Any], sid: int | None) -> dict[str, Any]:
    stored: dict[str, Any] | None = db["subscribers"].get(str(sid))
    if stored is None:
        raise _fault("NoSuchSubscriber", f"Subscriber {sid} not found")
    return stored


def _typed(db: dict[str, Any], attributes: list[SubscriberAttribute]) -> dict[str, Any]:
    """Attribute values checked and converted to their field's type (a fault otherwise)."""
    values: dict[str, Any] = {}
    for attribute in attributes:
        kind = db["fields"].get(attribute.key)
        if kind is None:
            raise _fault("InvalidAttribute", f"No field {attribute.key!r} in the subscriber source")
        raw = attribute.value
        if raw in (None, ""):
            values[attribute.key] = None
            continue
        try:
            if kind == "INTEGER":
                values[attribute.key] = int(raw)
            elif kind == "DATE":
                values[attribute.key] = date.fromisoformat(raw).isoformat()
            elif kind == "BOOLEAN":
                if raw not in ("true", "false"):
                    raise ValueError(raw)
                values[attribute.key] = raw == "true"
            else:
                values[attribute.key] = raw
        except ValueError as exc:
            raise _fault(
                "InvalidValue", f"{raw!r} is not a valid {kind} for {attribute.key}"
            ) from exc
    return values


def soap_application() -> Application:
    """The spyne application; one per emulator, as spyne caches the WSDL it serves
    (with its server's address) on the application."""
    return Application(
        [ClabService],
        tns=NAMESPACE,
        name="ClabService",
        in_protocol=Soap11(validator="lxml"),
        out_protocol=Soap11(),
    )


DEFAULT_FIELDS = {
    "EMAIL": "STRING",
    "firstName": "STRING",
    "lastName": "STRING",
    "company": "STRING",
    "city": "STRING",
    "country": "STRING",
    "phone": "STRING",
    "birthDate": "DATE",
    "loyaltyPoints": "INTEGER",
    "vip": "BOOLEAN",
}
DEFAULT_WEBFORMS = ("newsletter", "offers")


class ContactSendEmulator(Emulator):
    """ContactSend: accounts (apiKey + userKey) with userdbs, subscribers and webforms."""

    vendor = "contactsend"

    def __init__(self) -> None:
        super().__init__()
        self.wsgi = WsgiApplication(soap_application())

    @route("GET", "/exchange/{name}")
    def exchange_file(self, request: SandboxRequest, name: str) -> SandboxResponse:
        found = self.exports.get(name.removesuffix(".csv"))
        if found is None:
            return self.error(404, "No such export")
        return SandboxResponse(
            body=found["csv"].encode(), headers={"Content-Type": "text/csv; charset=utf-8"}
        )

    def reset(self) -> None:
        self.state = {"accounts": {}, "tokens": {}, "next_userdb": 1000, "next_subscriber": 1}
        # Export files, kept beside the state (files, not data to persist).
        self.exports: dict[str, dict[str, Any]] = {}

    # --- SOAP over the sandbox's request/response types.

    @route("GET", "/soap/services")
    def wsdl(self, request: SandboxRequest) -> SandboxResponse:
        return self.soap(request)

    @route("POST", "/soap/services")
    def operation(self, request: SandboxRequest) -> SandboxResponse:
        return self.soap(request)

    def soap(self, request: SandboxRequest) -> SandboxResponse:
        """Run spyne's WSGI application on the request; ``sandbox.emulator`` in the
        environ lets the operations reach this emulator's state."""
        query = "&".join(f"{k}={v}" if v else k for k, v in request.query)
        host = request.header("host", "127.0.0.1")
        environ = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "/contactsend",
            "PATH_INFO": request.path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": request.header("content-type", "text/xml"),
            "CONTENT_LENGTH": str(len(request.body)),
            "SERVER_NAME": host.split(":")[0],
            "SERVER_PORT": host.split(":")[1] if ":" in host else "80",
            "HTTP_HOST": host,
            "HTTP_SOAPACTION": request.header("soapaction"),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(request.body),
            "wsgi.errors": io.StringIO(),
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "sandbox.emulator": self,
        }
        answer: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            answer["status"] = int(status.split()[0])
            answer["headers"] = dict(headers)

        body = b"".join(self.wsgi(environ, start_response))
        headers = {k: v for k, v in answer["headers"].items() if k.lower() != "content-length"}
        return SandboxResponse(status=answer["status"], body=body, headers=headers)

    def error(self, status: int, message: str, **extra: Any) -> SandboxResponse:
        # Faults injected by the server (429, 5xx) arrive as plain text, as a proxy in
        # front of the real service would answer them.
        return SandboxResponse(
            status=status, body=message.encode(), headers={"Content-Type": "text/plain"}
        )

    def rate_limit_key(self, request: SandboxRequest) -> str:
        return "contactsend"

    # --- State, used by the operations.

    def borrow(self, api_key: str, user_key: str) -> str:
        account = self.state["accounts"].get(api_key)
        if account is None or account["user_key"] != user_key:
            raise _fault("InvalidCredentials", "Invalid apiKey or userKey: access denied")
        token = uuid.uuid4().hex
        self.state["tokens"][token] = {"api_key": api_key, "expires": time.time() + TOKEN_LIFE}
        return token

    def session(self, token: str | None) -> dict[str, Any]:
        found: dict[str, Any] | None = self.state["tokens"].get(token or "")
        if found is None:
            raise _fault("InvalidToken", "Invalid or expired token")
        if found["expires"] < time.time():
            self.state["tokens"].pop(token, None)
            raise _fault("InvalidToken", "Invalid or expired token")
        return found

    def account(self, token: str | None) -> dict[str, Any]:
        account: dict[str, Any] = self.state["accounts"][self.session(token)["api_key"]]
        return account

    def userdb(self, token: str | None, source_id: int | None) -> dict[str, Any]:
        db: dict[str, Any] | None = self.account(token)["userdbs"].get(str(source_id))
        if db is None:
            raise _fault("NoSuchSubscriberSource", f"Subscriber source {source_id} not found")
        return db

    def webform_userdb(self, token: str | None, code: str) -> dict[str, Any]:
        for db in self.account(token)["userdbs"].values():
            if code in db["webforms"]:
                return db
        raise _fault("NoSuchWebForm", f"Web form {code!r} not found")

    def add(self, db: dict[str, Any], values: dict[str, Any]) -> int:
        sid = int(self.state["next_subscriber"])
        self.state["next_subscriber"] = sid + 1
        db["subscribers"][str(sid)] = {k: v for k, v in values.items() if v is not None}
        return sid

    def subscribe(self, db: dict[str, Any], code: str, sid: int, subscribed: bool) -> None:
        ids: list[int] = db["webforms"][code]
        if subscribed and sid not in ids:
            ids.append(sid)
        elif not subscribed and sid in ids:
            ids.remove(sid)

    # --- Control API.

    def create_account(
        self,
        name: str = "Sandbox userdb",
        api_key: str | None = None,
        user_key: str | None = None,
        fields: dict[str, str] | None = None,
        webforms: list[str] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """A new account with one userdb; answers what a user types into the form
        (``api_key``, ``user_key``), the ``userdb_id`` and the SOAP ``path``."""
        api_key = api_key or f"cs-api-{uuid.uuid4().hex[:16]}"
        user_key = user_key or f"cs-user-{uuid.uuid4().hex[:16]}"
        userdb_id = int(self.state["next_userdb"])
        self.state["next_userdb"] = userdb_id + 1
        fields = dict(fields or DEFAULT_FIELDS)
        bad = [t for t in fields.values() if t not in FIELD_TYPES]
        if bad:
            raise ValueError(f"unknown field types {bad}")
        self.state["accounts"][api_key] = {
            "user_key": user_key,
            "userdbs": {
                str(userdb_id): {
                    "name": name,
                    "identifier": "EMAIL",
                    "fields": fields,
                    "subscribers": {},
                    "webforms": {code: [] for code in (webforms or DEFAULT_WEBFORMS)},
                }
            },
        }
        return {
            "api_key": api_key,
            "user_key": user_key,
            "userdb_id": userdb_id,
            "account_id": api_key,
            "webforms": list(webforms or DEFAULT_WEBFORMS),
            "path": "/soap/services",
        }

    def _db(self, account: str, userdb: int | str | None = None) -> dict[str, Any]:
        dbs = self.state["accounts"][account]["userdbs"]
        found: dict[str, Any] = dbs[str(userdb)] if userdb else next(iter(dbs.values()))
        return found

    def seed(
        self,
        account: str,
        count: int,
        seed: int = 0,
        userdb: int | None = None,
        start: int = 0,
        subscribed: list[str] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """``count`` synthetic subscribers, subscribed through the ``subscribed`` webforms."""
        db = self._db(account, userdb)
        ids = []
        for person in people(count, seed, start):
            values = {
                "EMAIL": person.email,
                "firstName": person.first_name,
                "lastName": person.last_name,
                "company": person.company,
                "city": person.city,
                "country": person.country,
                "phone": person.phone,
            }
            sid = self.add(db, {k: v for k, v in values.items() if k in db["fields"]})
            for code in subscribed or ():
                self.subscribe(db, code, sid, True)
            ids.append(str(sid))
        return {"ids": ids}

    def action_subscribe(
        self, account: str, subscriber: int, webform: str, subscribed: bool = True, **_: Any
    ) -> dict[str, Any]:
        """A subscriber (un)subscribes through a webform, as from a campaign's link."""
        for db in self.state["accounts"][account]["userdbs"].values():
            if webform in db["webforms"]:
                self.subscribe(db, webform, int(subscriber), bool(subscribed))
                return {"ok": True}
        raise KeyError(webform)

    def action_update(
        self, account: str, subscriber: int, values: dict[str, Any], **_: Any
    ) -> dict[str, Any]:
        """A user edits a subscriber in the ContactSend app."""
        for db in self.state["accounts"][account]["userdbs"].values():
            if str(subscriber) in db["subscribers"]:
                db["subscribers"][str(subscriber)].update(values)
                return {"ok": True}
        raise KeyError(subscriber)

    def view(self, account: str | None = None) -> dict[str, Any]:
        """Accounts by apiKey, without their keys' secrets; ``live_tokens``: how many of
        the tokens borrowed with the key are neither invalidated nor expired."""
        accounts = self.state["accounts"]
        selected = {account: accounts[account]} if account else accounts
        now = time.time()
        live: dict[str, int] = {}
        for session in self.state["tokens"].values():
            if session["expires"] > now:
                live[session["api_key"]] = live.get(session["api_key"], 0) + 1
        return {
            key: {"userdbs": acc["userdbs"], "live_tokens": live.get(key, 0)}
            for key, acc in selected.items()
        }


EMULATOR = ContactSendEmulator
