"""Emulator of the ForceManager API v4 subset the connector uses (mounted at /forcemanager).

Facts from ../shared/apis/sellf-wildix-contactlab-forcemanager.md (section 4), followed as
written: ``POST /api/v4/login`` → ``{"token"}``, sent back as ``X-Session-Key``; lists are
bare JSON arrays with ``X-FM-Page`` / ``X-FM-Next-Page`` / ``X-FM-Prev-Page`` /
``X-FM-Entity-Count`` headers, 50 a page by default, pages from 0; ``where=`` (also
``q=``) SQL-like filters; ``order=<field>`` sorts descending; lookups read as
``{"id", "value"}`` and written as plain ids, their values at ``/values?resourcename=``;
soft deletes (``deleted``, ``dateDeleted``); ``dateUpdated`` null until a first update;
extra fields named ``Z_…``, defined with ``POST /extrafields/{resource}``; POST answers
``{"Message": "entity created", "id"}``, PUT ``{"Message": "entity updated"}``; a missing
required field or an unknown id is a 400. Resources and required fields come from
entities.py. What is UNCONFIRMED is chosen as the connector's client.py lists it, once
(page size header ``Count``, the last page's ``X-FM-Next-Page`` equal to ``X-FM-Page``,
id order by default, deleted rows listed unless filtered, error body
``{"code", "message"}``, session lifetime 24 h).

State is plain JSON: ``{"seq", "clock", "options", "sessions", "instances": {id: {...}}}``;
an *instance* is one ForceManager account (a customer), not to be confused with its
``accounts`` resource (companies).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pycountry

from connectors.forcemanager.entities import ENTITY_TYPES, EntityType
from connectors.sandbox import Emulator, SandboxRequest, SandboxResponse, route
from connectors.sandbox.synthetic import Person, people

PAGE_SIZE = 50
SESSION_TTL = 24 * 3600.0
NOT_FOUND = 910
PATH = "/forcemanager/api/v4"
# One entity table per resource (events and tasks share calendars).
RESOURCES: dict[str, EntityType] = {e.resource: e for e in ENTITY_TYPES.values()}
REFERENCE_RESOURCES = {
    "company": "accounts",
    "contact": "contacts",
    "opportunity": "opportunities",
    "user": "users",
}
COMMON_DATES = ("dateCreated", "dateUpdated", "dateDeleted")
EXTRA_TYPES = ("datetime", "text", "decimal", "bit", "list", "multivalue")
VALUE_LISTS = {
    # ForceManager lists every country; pycountry's English names stand in for its own.
    "countries": sorted(getattr(c, "common_name", c.name) for c in pycountry.countries),
    "branches": ["Headquarter", "South"],
    "contactTypes": ["Customer", "Prospect", "Partner"],
    "accountTypes": ["Customer", "Prospect"],
    "accountStatuses": ["Active", "Inactive"],
    "opportunityStatuses": ["Open", "Won", "Lost"],
    "activityTypes": ["Visit", "Call", "Email"],
    "segments": ["Enterprise", "SMB", "Public sector"],
    "interests": ["Fleet", "Software", "Services"],
}
# New instances come with these extra fields, per resource.
PREDEFINED_EXTRA = {
    "contacts": (
        ("Z_Industry", "text", "Industry", ""),
        ("Z_Segment", "list", "Segment", "segments"),
        ("Z_Interests", "multivalue", "Interests", "interests"),
        ("Z_Employees", "decimal", "Employees", ""),
        ("Z_Vip", "bit", "VIP", ""),
        ("Z_Renewal", "datetime", "Renewal", ""),
    ),
    "accounts": (("Z_Sector", "text", "Sector", ""),),
    "opportunities": (("Z_Source", "text", "Lead source", ""),),
}
TOKEN = re.compile(
    r"\s*(?:(?P<paren>[()])|(?P<string>'(?:[^']|'')*')|(?P<op>>=|<=|!=|<>|=|>|<)"
    r"|(?P<word>[A-Za-z_][\w.]*)|(?P<number>-?\d+(?:\.\d+)?)|(?P<bad>\S))"
)


def wire_time(epoch: float | None) -> str | None:
    """ForceManager's form: UTC, milliseconds, ``Z``."""
    if epoch is None:
        return None
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(text: str) -> float:
    """A wire or ``where`` date to epoch seconds; ValueError when it is not one."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


class WhereError(ValueError):
    """A ``where`` the API cannot read."""


Predicate = Callable[[dict[str, Any]], bool]


class Where:
    """The ``where`` parser: comparisons ``field op value`` (``= != <> > < >= <=``,
    ``LIKE`` with ``%``) joined by ``AND`` (binding first) and ``OR``, with parentheses.
    Values are quoted strings (``''`` escapes a quote), numbers, ``true``, ``false``,
    ``null``. A lookup compares by its id; date fields compare as moments; text
    compares without regard to case (SQL Server's default collation)."""

    def __init__(self, text: str, fields: set[str], dates: set[str]) -> None:
        self.fields, self.dates = fields, dates
        self.tokens = self.tokenize(text)
        self.at = 0
        self.predicate = self.disjunction()
        if self.at != len(self.tokens):
            raise WhereError(f"unexpected {self.tokens[self.at][1]!r}")

    @staticmethod
    def tokenize(text: str) -> list[tuple[str, str]]:
        tokens = []
        for match in TOKEN.finditer(text):
            kind = match.lastgroup or "bad"
            value = match.group(kind)
            if kind == "bad":
                raise WhereError(f"unexpected {value!r}")
            tokens.append((kind, value))
        return tokens

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise WhereError("the condition ends too early")
        self.at += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token and token[0] == "word" and token[1].upper() == word:
            self.at += 1
            return True
        return False

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.keyword("OR"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def conjunction(self) -> Predicate:
        parts = [self.atom()]
        while self.keyword("AND"):
            parts.append(self.atom())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def atom(self) -> Predicate:
        if self.peek() == ("paren", "("):
            self.take()
            inner = self.disjunction()
            if self.take() != ("paren", ")"):
                raise WhereError("a parenthesis is not closed")
            return inner
        kind, name = self.take()
        if kind != "word" or name not in self.fields:
            raise WhereError(f"unknown field {name!r}")
        if self.keyword("LIKE"):
            kind, pattern = self.take()
            if kind != "string":
                raise WhereError("LIKE takes a quoted pattern")
            text = pattern[1:-1].replace("''", "'")
            regex = re.compile(
                "^" + ".*".join(map(re.escape, text.split("%"))) + "$", re.IGNORECASE | re.DOTALL
            )
            return lambda r: isinstance(r.get(name), str) and bool(regex.match(r[name]))
        kind, op = self.take()
        if kind != "op":
            raise WhereError(f"{name} needs a comparison")
        term = self.literal(name)
        return lambda r: self.compare(self.held(r, name), op, term)

    def literal(self, name: str) -> Any:
        kind, text = self.take()
        if kind == "string":
            value: Any = text[1:-1].replace("''", "'")
            if name in self.dates:
                try:
                    return parse_time(value)
                except ValueError as exc:
                    raise WhereError(f"{name}: not a date: {value}") from exc
            return value.casefold()
        if kind == "number":
            return float(text)
        if kind == "word" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if kind == "word" and text.lower() == "null":
            return None
        raise WhereError(f"{name}: unreadable value {text!r}")

    @staticmethod
    def held(record: dict[str, Any], name: str) -> Any:
        value = record.get(name)
        if isinstance(value, str):
            return value.casefold()
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int | float):
            return float(value)
        return value

    @staticmethod
    def compare(left: Any, op: str, right: Any) -> bool:
        if right is None or left is None:
            equal = left is right
            return equal if op == "=" else (not equal if op in ("!=", "<>") else False)
        if type(left) is not type(right):  # a text never equals a number or a bool
            return False
        if op == "=":
            return bool(left == right)
        if op in ("!=", "<>"):
            return bool(left != right)
        try:
            return bool(
                {">": left > right, "<": left < right, ">=": left >= right, "<=": left <= right}[op]
            )
        except TypeError:
            return False


class ForceManagerEmulator(Emulator):
    """ForceManager v4: instances (one key pair each) with users, value lists, extra
    fields and the records of every resource in entities.py."""

    vendor = "forcemanager"

    def reset(self) -> None:
        self.state = {
            "seq": 0,
            "clock": 0.0,
            "options": {"page_size": PAGE_SIZE, "session_ttl": SESSION_TTL},
            "sessions": {},
            "instances": {},
        }

    # --- Helpers.

    def new_id(self) -> int:
        self.state["seq"] += 1
        return int(self.state["seq"])

    def now(self) -> float:
        """Strictly increasing epoch seconds in whole milliseconds (the wire's precision)."""
        moment = max(round(time.time(), 3), round(self.state["clock"] + 0.001, 3))
        self.state["clock"] = moment
        return moment

    def error(self, status: int, message: str, **extra: Any) -> SandboxResponse:
        return SandboxResponse.json(
            {"code": extra.pop("code", status), "message": message}, status=status
        )

    def invalid(self, message: str) -> Exception:
        return self.fail(400, message)

    def missing(self, what: str) -> Exception:
        return self.fail(400, f"{what} does not exist", code=NOT_FOUND)

    def rate_limit_key(self, request: SandboxRequest) -> str:
        return request.header("x-session-key")

    def authenticate(self, request: SandboxRequest) -> dict[str, Any]:
        session = self.state["sessions"].get(request.header("x-session-key"))
        if session is None or session["expires"] < time.time():
            raise self.fail(401, "Invalid or expired session key")
        instance: dict[str, Any] = self.state["instances"][session["instance"]]
        return instance

    def find_instance(self, ref: str) -> dict[str, Any]:
        for instance in self.state["instances"].values():
            if str(ref) in (str(instance["id"]), instance["public_key"]):
                return instance
        raise KeyError(f"no ForceManager sandbox account {ref!r}")

    def body(self, request: SandboxRequest) -> dict[str, Any]:
        try:
            data = request.json()
        except ValueError as exc:
            raise self.invalid("The body is not JSON") from exc
        if not isinstance(data, dict):
            raise self.invalid("The body must be a JSON object")
        return data

    def entity(self, resource: str) -> EntityType:
        if resource not in RESOURCES:
            raise self.fail(404, f"No such resource: {resource}", code=NOT_FOUND)
        return RESOURCES[resource]

    # --- Login.

    # https://developer.forcemanager.com/ (Getting started)
    @route("POST", "/api/v4/login")
    def login(self, request: SandboxRequest) -> SandboxResponse:
        body = self.body(request)
        for instance in self.state["instances"].values():
            if (body.get("username"), body.get("password")) == (
                instance["public_key"],
                instance["private_key"],
            ):
                token = secrets.token_urlsafe(24)
                self.state["sessions"][token] = {
                    "instance": instance["id"],
                    "expires": time.time() + float(self.state["options"]["session_ttl"]),
                }
                return SandboxResponse.json({"token": token})
        raise self.fail(401, "Invalid public or private key")

    # --- Listings.

    def listing(
        self,
        request: SandboxRequest,
        rows: list[dict[str, Any]],
        fields: set[str],
        render: Callable[[dict[str, Any]], dict[str, Any]],
        base: str = "",
    ) -> SandboxResponse:
        """Filter (``where`` or ``q``, ANDed with ``base``), order, page and render."""
        dates = {f for f in fields if f.startswith("date") or f == "birthday"}
        chosen = sorted(rows, key=lambda r: r["id"])
        for text in (base, request.arg("where") or request.arg("q") or ""):
            if text.strip():
                try:
                    predicate = Where(text, fields, dates).predicate
                except WhereError as exc:
                    raise self.invalid(f"Invalid where: {exc}") from exc
                chosen = [r for r in chosen if predicate(r)]
        order = request.arg("order")
        if order:
            if order not in fields:
                raise self.invalid(f"Cannot order by {order}")
            chosen.sort(key=lambda r: (r.get(order) is not None, r.get(order) or 0), reverse=True)
        try:
            number = int(request.header("x-fm-page") or request.arg("page") or 0)
            size = int(request.header("count") or self.state["options"]["page_size"])
        except ValueError as exc:
            raise self.invalid("X-FM-Page and Count must be integers") from exc
        if number < 0 or size < 1:
            raise self.invalid("Pages start at 0 and hold at least one record")
        chunk = chosen[number * size : (number + 1) * size]
        more = len(chosen) > (number + 1) * size
        headers = {
            "X-FM-Page": str(number),
            "X-FM-Next-Page": str(number + 1 if more else number),
            "X-FM-Prev-Page": str(max(number - 1, 0)),
            "X-FM-Entity-Count": str(len(chunk)),
        }
        return SandboxResponse.json([render(r) for r in chunk], headers=headers)

    @route("GET", "/api/v4/users")
    def list_users(self, request: SandboxRequest) -> SandboxResponse:
        instance = self.authenticate(request)
        users = list(instance["users"].values())
        fields = {"id", "name", "email", "deleted", "branchId", *COMMON_DATES}
        return self.listing(request, users, fields, lambda u: self.render_user(instance, u))

    @route("GET", "/api/v4/users/{user_id}")
    def get_user(self, request: SandboxRequest, user_id: str) -> SandboxResponse:
        instance = self.authenticate(request)
        if user_id not in instance["users"]:
            raise self.missing(f"User {user_id}")
        return SandboxResponse.json(self.render_user(instance, instance["users"][user_id]))

    def render_user(self, instance: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
        out = {k: (wire_time(v) if k in COMMON_DATES else v) for k, v in user.items()}
        out["branchId"] = self.lookup(instance, "branches", user["branchId"])
        return out

    @route("GET", "/api/v4/values")
    def list_values(self, request: SandboxRequest) -> SandboxResponse:
        instance = self.authenticate(request)
        name = request.arg("resourcename") or ""
        if name not in instance["values"]:
            raise self.missing(f"The list of values {name!r}")
        return SandboxResponse.json(instance["values"][name])

    def lookup(self, instance: dict[str, Any], value_list: str, value_id: Any) -> Any:
        if value_id is None:
            return None
        for item in instance["values"].get(value_list, []):
            if item["id"] == value_id:
                return {"id": value_id, "value": item["value"]}
        return {"id": value_id, "value": ""}

    # --- Extra fields.

    @route("GET", "/api/v4/extrafields/{resource}")
    def list_extra_fields(self, request: SandboxRequest, resource: str) -> SandboxResponse:
        instance = self.authenticate(request)
        self.entity(resource)
        return SandboxResponse.json(instance["extrafields"].get(resource, []))

    @route("POST", "/api/v4/extrafields/{resource}")
    def create_extra_field(self, request: SandboxRequest, resource: str) -> SandboxResponse:
        instance = self.authenticate(request)
        self.entity(resource)
        body = self.body(request)
        name = str(body.get("fieldName") or "").strip()
        if not re.fullmatch(r"[A-Za-z]\w{0,60}", name.removeprefix("Z_")):
            raise self.invalid("fieldName is required: letters, digits and _")
        name = name if name.startswith("Z_") else f"Z_{name}"
        kind = body.get("type")
        if kind not in EXTRA_TYPES:
            raise self.invalid(f"type must be one of {', '.join(EXTRA_TYPES)}")
        defined = instance["extrafields"].setdefault(resource, [])
        if any(f["fieldName"].casefold() == name.casefold() for f in defined):
            raise self.invalid(f"The extra field {name} already exists")
        value_list = ""
        if kind in ("list", "multivalue"):
            value_list = str(body.get("valueListName") or name)
            instance["values"].setdefault(value_list, [])
        definition = {
            "id": self.new_id(),
            "entity": resource,
            "fieldName": name,
            "type": kind,
            "description": str(body.get("description") or name),
            "valueListName": value_list,
        }
        defined.append(definition)
        return SandboxResponse.json({"Message": "entity created", "id": definition["id"]})

    # --- Records of every resource.

    def fields_of(self, instance: dict[str, Any], resource: str) -> set[str]:
        entity = self.entity(resource)
        extra = {f["fieldName"] for f in instance["extrafields"].get(resource, [])}
        return {
            "id",
            "deleted",
            "salesRepIdCreated",
            "salesRepIdUpdated",
            "salesRepIdDeleted",
            *COMMON_DATES,
            *(spec.key for spec in entity.fields),
            *extra,
        }

    @route("GET", "/api/v4/{resource}")
    def list_records(self, request: SandboxRequest, resource: str) -> SandboxResponse:
        instance = self.authenticate(request)
        rows = list(instance["records"][self.entity(resource).resource].values())
        return self.listing(
            request,
            rows,
            self.fields_of(instance, resource),
            lambda r: self.render(instance, resource, r),
        )

    def record_of(self, instance: dict[str, Any], resource: str, record_id: str) -> dict[str, Any]:
        found: dict[str, Any] | None = instance["records"][resource].get(record_id)
        if found is None:
            raise self.missing(f"{resource} {record_id}")
        return found

    @route("GET", "/api/v4/{resource}/{record_id}")
    def get_record(self, request: SandboxRequest, resource: str, record_id: str) -> SandboxResponse:
        instance = self.authenticate(request)
        self.entity(resource)
        row = self.record_of(instance, resource, record_id)
        return SandboxResponse.json(self.render(instance, resource, row))

    @route("POST", "/api/v4/{resource}")
    def create_record(self, request: SandboxRequest, resource: str) -> SandboxResponse:
        instance = self.authenticate(request)
        self.entity(resource)
        row = self.insert(instance, resource, self.body(request), instance["api_user"])
        return SandboxResponse.json({"Message": "entity created", "id": row["id"]})

    @route("PUT", "/api/v4/{resource}/{record_id}")
    def update_record(
        self, request: SandboxRequest, resource: str, record_id: str
    ) -> SandboxResponse:
        instance = self.authenticate(request)
        self.entity(resource)
        row = self.record_of(instance, resource, record_id)
        if row["deleted"]:
            raise self.missing(f"{resource} {record_id}")
        self.apply(instance, resource, row, self.body(request), creating=False)
        row["dateUpdated"] = self.now()
        row["salesRepIdUpdated"] = instance["api_user"]
        return SandboxResponse.json({"Message": "entity updated"})

    @route("DELETE", "/api/v4/{resource}/{record_id}")
    def delete_record(
        self, request: SandboxRequest, resource: str, record_id: str
    ) -> SandboxResponse:
        instance = self.authenticate(request)
        self.entity(resource)
        row = self.record_of(instance, resource, record_id)
        if row["deleted"]:
            raise self.missing(f"{resource} {record_id}")
        self.soft_delete(instance, row)
        return SandboxResponse.json({"Message": "entity deleted"})

    def soft_delete(self, instance: dict[str, Any], row: dict[str, Any]) -> None:
        row.update(deleted=True, dateDeleted=self.now(), salesRepIdDeleted=instance["api_user"])

    def insert(
        self, instance: dict[str, Any], resource: str, body: dict[str, Any], author: int
    ) -> dict[str, Any]:
        entity = self.entity(resource)
        row: dict[str, Any] = {"id": 0, **dict.fromkeys(s.key for s in entity.fields)}
        if resource == "calendars":  # events and tasks: the shared resource's discriminator
            body = dict(body)
            row["isTask"] = bool(body.pop("isTask", False))
        self.apply(instance, resource, row, body, creating=True)
        row.update(
            id=self.new_id(),
            deleted=False,
            dateCreated=self.now(),
            dateUpdated=None,  # null until a first update [3p]
            dateDeleted=None,
            salesRepIdCreated=author,
            salesRepIdUpdated=None,
            salesRepIdDeleted=None,
        )
        instance["records"][resource][str(row["id"])] = row
        return row

    def apply(
        self,
        instance: dict[str, Any],
        resource: str,
        row: dict[str, Any],
        body: dict[str, Any],
        creating: bool,
    ) -> None:
        """Validate everything, then set: a 400 leaves the record unchanged."""
        entity = self.entity(resource)
        specs = {s.key: s for s in entity.fields if not s.read_only}
        references = {r.field: REFERENCE_RESOURCES[r.entity] for r in entity.references}
        extra = {f["fieldName"]: f for f in instance["extrafields"].get(resource, [])}
        changes: dict[str, Any] = {}
        for key, value in body.items():
            if key in references:
                changes[key] = self.reference(instance, key, references[key], value)
            elif key in entity.lookups:
                changes[key] = self.lookup_id(instance, key, entity.lookups[key], value)
            elif key in specs:
                changes[key] = self.typed(key, specs[key].type, value)
            elif key in extra:
                changes[key] = self.extra_value(instance, extra[key], value)
            else:
                raise self.invalid(f"Unknown field {key} for {resource}")
        for required in entity.required:
            value = changes.get(required, None if creating else row.get(required))
            if value in (None, ""):
                raise self.invalid(f"The field {required} is required")
        row.update(changes)

    def reference(self, instance: dict[str, Any], key: str, target: str, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.invalid(f"{key} takes the plain id of a record")
        held = instance["users"] if target == "users" else instance["records"][target]
        found = held.get(str(value))
        if found is None or found.get("deleted"):
            raise self.missing(f"{key} {value}")
        return value

    def lookup_id(self, instance: dict[str, Any], key: str, value_list: str, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.invalid(f"{key} takes the plain id of a value")
        if value not in {v["id"] for v in instance["values"].get(value_list, [])}:
            raise self.missing(f"{key} value {value}")
        return value

    def typed(self, key: str, kind: str, value: Any) -> Any:
        if value is None:
            return None
        if key == "gender":
            if value not in (0, 1) or isinstance(value, bool):
                raise self.invalid("gender is 0 (male) or 1 (female)")
            return value
        if kind == "bool":
            if not isinstance(value, bool):
                raise self.invalid(f"{key} takes true or false")
            return value
        if kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.invalid(f"{key} takes a number")
            return value
        if not isinstance(value, str):
            raise self.invalid(f"{key} takes text")
        if kind in ("date", "datetime"):
            try:
                parse_time(value)
            except ValueError as exc:
                raise self.invalid(f"{key} is not a date: {value}") from exc
        return value

    def extra_value(self, instance: dict[str, Any], spec: dict[str, Any], value: Any) -> Any:
        name, kind = spec["fieldName"], spec["type"]
        if value is None:
            return [] if kind == "multivalue" else None
        if kind == "list":
            return self.lookup_id(instance, name, spec["valueListName"], value)
        if kind == "multivalue":
            if not isinstance(value, list):
                raise self.invalid(f"{name} takes a list of value ids")
            return [self.lookup_id(instance, name, spec["valueListName"], v) for v in value]
        return self.typed(
            name,
            {"decimal": "number", "bit": "bool", "datetime": "datetime"}.get(kind, "text"),
            value,
        )

    def render(
        self, instance: dict[str, Any], resource: str, row: dict[str, Any]
    ) -> dict[str, Any]:
        """A record as the API answers it: references and lookups as ``{id, value}``
        (references with an empty value, as the vendor's example shows), dates on the wire."""
        entity = RESOURCES[resource]
        references = {r.field for r in entity.references}
        extra = {f["fieldName"]: f for f in instance["extrafields"].get(resource, [])}
        out: dict[str, Any] = {}
        for key, value in row.items():
            if key in COMMON_DATES:
                out[key] = wire_time(value)
            elif key in references:
                out[key] = None if value is None else {"id": value, "value": ""}
            elif key in entity.lookups:
                out[key] = self.lookup(instance, entity.lookups[key], value)
            elif key == "gender":
                out[key] = (
                    None if value is None else {"id": value, "value": ("Male", "Female")[value]}
                )
            elif key in extra and extra[key]["type"] == "list":
                out[key] = self.lookup(instance, extra[key]["valueListName"], value)
            elif key in extra and extra[key]["type"] == "multivalue":
                out[key] = [self.lookup(instance, extra[key]["valueListName"], v) for v in value]
            else:
                out[key] = value
        for name, spec in extra.items():  # defined after the record was written
            out.setdefault(name, [] if spec["type"] == "multivalue" else None)
        return out

    # --- Control API.

    def create_account(
        self,
        name: str = "Sandbox account",
        users: list[dict[str, str]] | None = None,
        public_key: str | None = None,
        private_key: str | None = None,
        account_id: str | None = None,
        values: dict[str, list[str]] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """An instance with its users (default: one administrator), value lists (``values``
        replaces some: an account without activity types) and the predefined extra
        fields; answers the keys a user would type (``public_key``, ``private_key``, the
        connector's auth fields) and ``path``."""
        public_key = public_key or f"fm-pub-{secrets.token_hex(8)}"
        if any(i["public_key"] == public_key for i in self.state["instances"].values()):
            raise ValueError("public_key already in use")
        instance_id = account_id or str(self.new_id())
        slug = re.sub(r"\W+", "", name.lower())[:20] or "account"
        instance: dict[str, Any] = {
            "id": instance_id,
            "name": name,
            "public_key": public_key,
            "private_key": private_key or secrets.token_hex(16),
            "users": {},
            "values": {},
            "extrafields": {resource: [] for resource in RESOURCES},
            "records": {resource: {} for resource in RESOURCES},
            "api_user": 0,
        }
        for list_name, texts in {**VALUE_LISTS, **(values or {})}.items():
            instance["values"][list_name] = [{"id": self.new_id(), "value": t} for t in texts]
        branch = instance["values"]["branches"][0]["id"]
        for spec in users or [{"name": "Admin", "email": f"admin@{slug}.example.com"}]:
            user_id = self.new_id()
            instance["users"][str(user_id)] = {
                "id": user_id,
                "name": spec.get("name") or f"User {user_id}",
                "email": spec.get("email") or f"user{user_id}@{slug}.example.com",
                "branchId": branch,
                "deleted": False,
                "dateCreated": self.now(),
                "dateUpdated": None,
                "dateDeleted": None,
            }
        instance["api_user"] = int(next(iter(instance["users"])))
        for resource, defined in PREDEFINED_EXTRA.items():
            for field_name, kind, label, value_list in defined:
                instance["extrafields"][resource].append(
                    {
                        "id": self.new_id(),
                        "entity": resource,
                        "fieldName": field_name,
                        "type": kind,
                        "description": label,
                        "valueListName": value_list,
                    }
                )
        self.state["instances"][instance_id] = instance
        return {
            "account_id": instance_id,
            "public_key": instance["public_key"],
            "private_key": instance["private_key"],
            "users": [
                {"id": u["id"], "name": u["name"], "email": u["email"]}
                for u in instance["users"].values()
            ],
            "path": PATH,
        }

    def seed(
        self,
        account: str,
        count: int,
        seed: int = 0,
        start: int | None = None,
        owner: int | None = None,
        resource: str = "contacts",
        **_: Any,
    ) -> dict[str, Any]:
        """``count`` synthetic records of ``resource`` owned by ``owner`` (default: the
        first user), created in the past so that later deltas stay small: contacts, each
        with its company as an account; accounts (companies) of distinct names;
        opportunities, activities, ``tasks`` or ``events`` (the two halves of
        ``calendars``), each with its company as an account. Answers the new ids."""
        instance = self.find_instance(account)
        rep = int(owner) if owner is not None else instance["api_user"]
        add = {
            "contacts": self.add_person,
            "accounts": self.add_company,
            "opportunities": self.add_opportunity,
            "activities": self.add_activity,
            "tasks": self.add_task,
            "events": self.add_event,
        }.get(resource)
        if add is None:
            raise ValueError(f"cannot seed {resource!r}")
        held = "calendars" if resource in ("tasks", "events") else resource
        offset = len(instance["records"][held]) if start is None else start
        ids = [add(instance, rep, p) for p in people(count, seed, offset)]
        return {"ids": [str(i) for i in ids]}

    def backdate(self, row: dict[str, Any], person: Person) -> None:
        row["dateCreated"] = round(row["dateCreated"] - person.age_days * 86400 - 1, 3)

    def add_company(self, instance: dict[str, Any], rep: int, person: Person) -> int:
        taken = {r["name"] for r in instance["records"]["accounts"].values()}
        name, number = person.company, 1
        while name in taken:
            number += 1
            name = f"{person.company} {number}"
        branch = instance["users"][str(rep)]["branchId"]
        body = {"name": name, "branchId": branch, "salesRepId1": rep, "city": person.city}
        row = self.insert(instance, "accounts", {**body, "phone": person.phone}, rep)
        self.backdate(row, person)
        return int(row["id"])

    def add_opportunity(self, instance: dict[str, Any], rep: int, person: Person) -> int:
        account = self.account_named(instance, person.company, rep)
        stages = instance["values"]["opportunityStatuses"]
        body = {
            "reference": f"{person.company}: {person.last_name}",
            "accountId1": account["id"],
            "salesRepId": rep,
            "total": float(len(person.email) * 100),
            "probability": 50.0,
            "statusId": stages[0]["id"],
            "salesForecastDate": "2027-03-31",
        }
        row = self.insert(instance, "opportunities", body, rep)
        self.backdate(row, person)
        account["dateCreated"] = min(account["dateCreated"], row["dateCreated"])
        return int(row["id"])

    def add_activity(self, instance: dict[str, Any], rep: int, person: Person) -> int:
        account = self.account_named(instance, person.company, rep)
        body = {
            "activityTypeId": instance["values"]["activityTypes"][0]["id"],
            "salesRepId": rep,
            "accountId": account["id"],
            "datetime": "2027-03-31T10:00:00.000Z",
            "comment": f"Visited {person.full_name}",
        }
        row = self.insert(instance, "activities", body, rep)
        self.backdate(row, person)
        return int(row["id"])

    def add_task(self, instance: dict[str, Any], rep: int, person: Person) -> int:
        return self.add_calendar(instance, rep, person, is_task=True)

    def add_event(self, instance: dict[str, Any], rep: int, person: Person) -> int:
        return self.add_calendar(instance, rep, person, is_task=False)

    def add_calendar(
        self, instance: dict[str, Any], rep: int, person: Person, *, is_task: bool
    ) -> int:
        account = self.account_named(instance, person.company, rep)
        body = {
            "subject": f"{'Call' if is_task else 'Meet'} {person.full_name}",
            "dateStart": "2027-03-31T00:00:00.000Z" if is_task else "2027-03-31T10:00:00.000Z",
            "dateEnd": None if is_task else "2027-03-31T11:00:00.000Z",
            "salesRepId": rep,
            "accountId": account["id"],
            "isTask": is_task,
        }
        row = self.insert(instance, "calendars", body, rep)
        self.backdate(row, person)
        return int(row["id"])

    def account_named(self, instance: dict[str, Any], name: str, rep: int) -> dict[str, Any]:
        for row in instance["records"]["accounts"].values():
            if row["name"] == name and not row["deleted"]:
                return row
        branch = instance["users"][str(rep)]["branchId"]
        body = {"name": name, "branchId": branch, "salesRepId1": rep}
        return self.insert(instance, "accounts", body, rep)

    def add_person(self, instance: dict[str, Any], rep: int, person: Person) -> int:
        account = self.account_named(instance, person.company, rep)
        body = {
            "accountId": account["id"],
            "firstName": person.first_name,
            "lastName": person.last_name,
            "salesRepId": rep,
            "email": person.email,
            "phone1": person.phone,
            "city": person.city,
            "comment": person.notes or None,
            "Z_Industry": "Retail",
        }
        row = self.insert(instance, "contacts", body, rep)
        self.backdate(row, person)
        account["dateCreated"] = min(account["dateCreated"], row["dateCreated"])
        return int(row["id"])

    def view(self, account: str | None = None) -> dict[str, Any]:
        """Instances as tests read them: records rendered per resource, contacts with
        their company's name."""
        selected = (
            [self.find_instance(account)] if account else list(self.state["instances"].values())
        )
        result = {}
        for instance in selected:
            records = {
                resource: [self.render(instance, resource, r) for r in rows.values()]
                for resource, rows in instance["records"].items()
            }
            accounts = instance["records"]["accounts"]
            for contact in records["contacts"]:
                held = accounts.get(str((contact.get("accountId") or {}).get("id")))
                contact["company"] = held["name"] if held else None
            result[instance["id"]] = {
                "public_key": instance["public_key"],
                "users": list(instance["users"].values()),
                "values": instance["values"],
                "extrafields": instance["extrafields"],
                "records": records,
            }
        return {"instances": result}

    def locate(
        self, account: str, contact: str, resource: str = "contacts"
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(instance, record) by instance id/public key and the record's id or (a
        contact's) email."""
        instance = self.find_instance(account)
        self.entity(resource)
        for row in instance["records"][resource].values():
            if contact in (str(row["id"]), str(row.get("email") or "").lower()):
                return instance, row
        raise KeyError(f"no {resource} {contact!r}")

    def action_options(self, **options: Any) -> dict[str, Any]:
        """Emulator behaviour: ``page_size`` (50 as the real API; smaller for tests) and
        ``session_ttl`` (seconds a session key lasts)."""
        unknown = set(options) - {"page_size", "session_ttl"}
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}")
        self.state["options"].update(options)
        return dict(self.state["options"])

    def action_expire_sessions(self, **_: Any) -> dict[str, Any]:
        """Every session key expires now (the next call answers 401)."""
        for session in self.state["sessions"].values():
            session["expires"] = 0
        return {"expired": len(self.state["sessions"])}

    def action_edit(
        self, account: str, contact: str, resource: str = "contacts", **changes: Any
    ) -> dict[str, Any]:
        """A user edits the record ``contact`` of ``resource`` (a contact by default) in
        ForceManager (any body a PUT takes)."""
        instance, row = self.locate(account, contact.lower(), resource)
        self.apply(instance, resource, row, changes, creating=False)
        row["dateUpdated"] = self.now()
        return {"edited": row["id"]}

    def action_add(self, account: str, company: str = "Walk-in", **fields: Any) -> dict[str, Any]:
        """A user adds a contact (with its company by name) in ForceManager."""
        instance = self.find_instance(account)
        rep = int(fields.setdefault("salesRepId", instance["api_user"]))
        fields.setdefault("accountId", self.account_named(instance, company, rep)["id"])
        row = self.insert(instance, "contacts", fields, rep)
        return {"id": str(row["id"])}

    def action_delete(
        self, account: str, contact: str, resource: str = "contacts"
    ) -> dict[str, Any]:
        """A user deletes the record ``contact`` of ``resource`` (a contact by default) in
        ForceManager (a soft delete)."""
        instance, row = self.locate(account, contact.lower(), resource)
        self.soft_delete(instance, row)
        return {"deleted": row["id"]}


EMULATOR = ForceManagerEmulator
