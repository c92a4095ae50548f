"""Emulator of the Sellf API v2 subset the connector uses (mounted at /sellf).

Facts from ../shared/apis/sellf-wildix-contactlab-forcemanager.md (section 1) are
followed as written: header ``Api-Key``; list envelope ``{"meta": {"has_more",
"object"}, "data"}``; bare objects for single GET/POST/PUT; DELETE answers 200 with an
empty body; pages of 50 from ``page=1``; ``sort_by=field`` / ``-field``; filters
``attr:op=value`` (eq neq lt gt lte gte in contains, ``custom_fields.<key>:op``);
``tags`` (and ``rtags``) replace, ``atags`` appends; required first_name, last_name and
user_id; dates in UTC without ``Z`` with variable fractions. Where the notes say
UNCONFIRMED / OUR ASSUMPTION, the choice made here is, once:
- errors are ``{"message": ..., "errors": {field: [...]}}``; POST answers 201;
- a 429 from the real limit (20 a second) carries no Retry-After; injected ones do;
- ``tags:in=a,b`` matches people holding any of them, ``tags=a`` one holding ``a``;
- filters on dates accept the same ISO form as responses (a ``Z`` is tolerated).

State is plain JSON: ``{"seq", "options", "teams": {team_id: {...}}}``.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from connectors.sandbox import Emulator, RateLimits, SandboxRequest, SandboxResponse, route
from connectors.sandbox.synthetic import Person, people

PAGE_SIZE = 50
OPERATORS = ("eq", "neq", "lt", "gt", "lte", "gte", "in", "contains")
TEXT = (
    "code",
    "first_name",
    "last_name",
    "title",
    "vat",
    "website",
    "email",
    "email_secondary",
    "phone",
    "mobile",
    "fax",
    "skype",
    "address",
    "description",
)
PERSON_FILTERS = {
    "id",
    "user_id",
    "company_id",
    "first_name",
    "last_name",
    "code",
    "vat",
    "email",
    "prospect_status",
    "created_at",
    "updated_at",
    "tags",
}
PERSON_SORTS = {"id", "name", "first_name", "last_name", "created_at", "updated_at"}
COMPANY_FILTERS = {"id", "user_id", "name", "code", "vat", "created_at", "updated_at", "tags"}
DATES = {"created_at", "updated_at", "birthday"}
# New teams come with these contact custom fields (keys are system-generated in Sellf).
PREDEFINED_FIELDS = (
    {"key": "cf_industry_5f2a", "label": "Industry", "type": "text", "is_multiple": False},
    {"key": "cf_renewal_9c1d", "label": "Renewal date", "type": "date", "is_multiple": False},
    {"key": "cf_interests_3b7e", "label": "Interests", "type": "text", "is_multiple": True},
)
DEMO_KEY = "sandbox-demo-sellf"


def wire_time(epoch: float) -> str:
    """Sellf's form: UTC, no zone, a fraction only when there is one."""
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None).isoformat()


def parse_time(value: str) -> float:
    """A wire or filter date to epoch seconds."""
    return parse_moment(value).timestamp()


def parse_moment(value: str) -> datetime:
    """A wire or filter date as an aware UTC datetime (exact to the microsecond)."""
    text = value.strip().replace(" ", "T").rstrip("Zz")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        text += "T00:00:00"
    if "." in text:
        head, _, frac = text.partition(".")
        text = f"{head}.{(frac + '000000')[:6]}"
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class SellfEmulator(Emulator):
    """Sellf v2: teams (one API key each) with users, people, companies, custom fields."""

    vendor = "sellf"
    # https://developers.sellfcrm.com/#rate-limiting (Performance plan: 20 a second)
    rate_limits = RateLimits(per_second=20)

    def reset(self) -> None:
        self.state = {"seq": 0, "clock": 0.0, "options": {"page_size": PAGE_SIZE}, "teams": {}}

    # --- Helpers.

    def new_id(self) -> int:
        self.state["seq"] += 1
        return int(self.state["seq"])

    def now(self) -> float:
        """Strictly increasing epoch seconds: two writes never share an updated_at."""
        moment = max(time.time(), self.state["clock"] + 0.000001)
        self.state["clock"] = moment
        return moment

    def error(self, status: int, message: str, **extra: Any) -> SandboxResponse:
        return SandboxResponse.json(
            {"message": message, "errors": extra.pop("errors", {})}, status=status
        )

    def invalid(self, field: str, message: str) -> Exception:
        return self.fail(422, "Validation failed", errors={field: [message]})

    def rate_limit_key(self, request: SandboxRequest) -> str:
        return request.header("api-key")

    def authenticate(self, request: SandboxRequest) -> dict[str, Any]:
        key = request.header("api-key")
        for team in self.state["teams"].values():
            if key and team["api_key"] == key:
                return team
        raise self.fail(401, "Invalid or missing API key")

    def find_team(self, ref: str) -> dict[str, Any]:
        for team in self.state["teams"].values():
            if str(ref) in (str(team["id"]), team["api_key"]):
                return team
        raise KeyError(f"no Sellf sandbox team {ref!r}")

    def body(self, request: SandboxRequest) -> dict[str, Any]:
        try:
            data = request.json()
        except ValueError as exc:
            raise self.fail(400, "Body is not JSON") from exc
        if not isinstance(data, dict):
            raise self.fail(400, "Body must be a JSON object")
        return data

    def listing(self, request: SandboxRequest, items: list[dict[str, Any]]) -> SandboxResponse:
        try:
            number = int(request.arg("page") or 1)
        except ValueError as exc:
            raise self.fail(400, "page must be an integer") from exc
        if number < 1:
            raise self.fail(400, "pages start at 1")
        size = int(self.state["options"]["page_size"])
        chunk = items[(number - 1) * size : number * size]
        more = len(items) > number * size
        return SandboxResponse.json({"meta": {"has_more": more, "object": "list"}, "data": chunk})

    def select(
        self,
        request: SandboxRequest,
        items: list[dict[str, Any]],
        filters: set[str],
        sorts: set[str],
    ) -> list[dict[str, Any]]:
        """Apply ``attr:op=value`` filters (ANDed) and ``sort_by``."""
        chosen = sorted(items, key=lambda i: i["id"])
        for key, value in request.query:
            if key in ("page", "entity_type"):
                continue
            if key == "sort_by":
                name = value.lstrip("-")
                if name not in sorts:
                    raise self.fail(400, f"cannot sort by {name}")
                chosen.sort(key=lambda i: self.sort_value(i, name), reverse=value[:1] == "-")
                continue
            attr, _, op = key.partition(":")
            op = op or "eq"
            if op not in OPERATORS:
                raise self.fail(400, f"unknown operator {op}")
            if attr.startswith("custom_fields."):
                custom = attr.split(".", 1)[1]
                chosen = [
                    i
                    for i in chosen
                    if self.test((i.get("custom_fields") or {}).get(custom), op, value, custom)
                ]
            elif attr in filters:
                chosen = [i for i in chosen if self.test(i.get(attr), op, value, attr)]
            else:
                raise self.fail(400, f"unknown filter {attr}")
        return chosen

    @staticmethod
    def sort_value(item: dict[str, Any], name: str) -> Any:
        if name in ("id", "created_at", "updated_at"):
            return item[name]
        if name == "name" and "last_name" in item:
            return (str(item["last_name"] or "").lower(), str(item["first_name"] or "").lower())
        return str(item.get(name) or "").lower()

    def test(self, held: Any, op: str, term: str, attr: str) -> bool:
        """Whether a stored value satisfies ``op term``."""
        if isinstance(held, list):  # tags, multi-value custom fields
            items = {str(h) for h in held}
            if op in ("eq", "contains"):
                return term in items
            if op == "in":
                return bool(items & set(term.split(",")))
            if op == "neq":
                return term not in items
            raise self.fail(400, f"{op} does not apply to {attr}")
        if op == "in":
            return str(held) in term.split(",")
        if op == "contains":
            raise self.fail(400, "contains applies only to multi-value custom fields")
        if held is None:
            return op == "neq" and term != ""
        if attr in DATES:
            try:
                # Compared as the wire shows them (microseconds), not as floats.
                left = datetime.fromtimestamp(float(held), UTC)  # type: ignore[assignment]
                right = parse_moment(term)  # type: ignore[assignment]
            except ValueError as exc:
                raise self.fail(400, f"{attr}: not a date: {term}") from exc
        elif isinstance(held, int | float) and not isinstance(held, bool):
            try:
                left, right = float(held), float(term)
            except ValueError as exc:
                raise self.fail(400, f"{attr}: not a number: {term}") from exc
        else:
            left, right = str(held).lower(), term.lower()  # type: ignore[assignment]
        return {
            "eq": left == right,
            "neq": left != right,
            "lt": left < right,
            "gt": left > right,
            "lte": left <= right,
            "gte": left >= right,
        }[op]

    # --- Rendering.

    def render(self, item: dict[str, Any]) -> dict[str, Any]:
        out = dict(item)
        for key in DATES:
            if out.get(key) is not None:
                out[key] = wire_time(out[key])
        return out

    # --- Users and custom fields (read-only).

    @route("GET", "/v2/users")
    def list_users(self, request: SandboxRequest) -> SandboxResponse:
        team = self.authenticate(request)
        users = list(team["users"].values())
        if request.arg("email"):
            users = [u for u in users if u["email"].lower() == request.arg("email", "").lower()]
        return self.listing(request, [self.render(u) for u in users])

    @route("GET", "/v2/users/{user_id}")
    def get_user(self, request: SandboxRequest, user_id: str) -> SandboxResponse:
        team = self.authenticate(request)
        if user_id not in team["users"]:
            raise self.fail(404, "User not found")
        return SandboxResponse.json(self.render(team["users"][user_id]))

    @route("GET", "/v2/custom_fields")
    def list_custom_fields(self, request: SandboxRequest) -> SandboxResponse:
        team = self.authenticate(request)
        kind = request.arg("entity_type")
        fields = [f for f in team["custom_fields"] if not kind or f["entity_type"] == kind]
        return self.listing(request, fields)

    # --- Companies.

    @route("GET", "/v2/companies")
    def list_companies(self, request: SandboxRequest) -> SandboxResponse:
        team = self.authenticate(request)
        chosen = self.select(
            request,
            list(team["companies"].values()),
            COMPANY_FILTERS,
            {"id", "name", "created_at", "updated_at"},
        )
        return self.listing(request, [self.render(c) for c in chosen])

    @route("GET", "/v2/companies/{company_id}")
    def get_company(self, request: SandboxRequest, company_id: str) -> SandboxResponse:
        team = self.authenticate(request)
        if company_id not in team["companies"]:
            raise self.fail(404, "Company not found")
        return SandboxResponse.json(self.render(team["companies"][company_id]))

    @route("POST", "/v2/companies")
    def create_company(self, request: SandboxRequest) -> SandboxResponse:
        team = self.authenticate(request)
        body = self.body(request)
        if not body.get("name"):
            raise self.invalid("name", "can't be blank")
        self.owner(team, body.get("user_id"))
        company = self.add_company(team, str(body["name"]), int(body["user_id"]))
        return SandboxResponse.json(self.render(company), status=201)

    def add_company(self, team: dict[str, Any], name: str, user_id: int) -> dict[str, Any]:
        now = self.now()
        company = {
            "id": self.new_id(),
            "code": None,
            "name": name,
            "industry": None,
            "prospect_status": 0,
            "email": None,
            "tags": [],
            "user_id": user_id,
            "created_at": now,
            "updated_at": now,
        }
        team["companies"][str(company["id"])] = company
        return company

    def owner(self, team: dict[str, Any], user_id: Any) -> int:
        if user_id in (None, ""):
            raise self.invalid("user_id", "can't be blank")
        if str(user_id) not in team["users"]:
            raise self.invalid("user_id", "is not a user of this team")
        return int(user_id)

    # --- People.

    # http://developers.sellfcrm.com/#list-all-people
    @route("GET", "/v2/people")
    def list_people(self, request: SandboxRequest) -> SandboxResponse:
        team = self.authenticate(request)
        chosen = self.select(request, list(team["people"].values()), PERSON_FILTERS, PERSON_SORTS)
        return self.listing(request, [self.render(p) for p in chosen])

    def person_of(self, team: dict[str, Any], person_id: str) -> dict[str, Any]:
        if person_id not in team["people"]:
            raise self.fail(404, "Person not found")
        person: dict[str, Any] = team["people"][person_id]
        return person

    @route("GET", "/v2/people/{person_id}")
    def get_person(self, request: SandboxRequest, person_id: str) -> SandboxResponse:
        team = self.authenticate(request)
        return SandboxResponse.json(self.render(self.person_of(team, person_id)))

    @route("POST", "/v2/people")
    def create_person(self, request: SandboxRequest) -> SandboxResponse:
        team = self.authenticate(request)
        body = self.body(request)
        person = self.blank_person()
        self.apply(team, person, body, creating=True)
        team["people"][str(person["id"])] = person
        return SandboxResponse.json(self.render(person), status=201)

    @route("PUT", "/v2/people/{person_id}")
    def update_person(self, request: SandboxRequest, person_id: str) -> SandboxResponse:
        team = self.authenticate(request)
        person = self.person_of(team, person_id)
        self.apply(team, person, self.body(request), creating=False)
        return SandboxResponse.json(self.render(person))

    @route("DELETE", "/v2/people/{person_id}")
    def delete_person(self, request: SandboxRequest, person_id: str) -> SandboxResponse:
        team = self.authenticate(request)
        self.person_of(team, person_id)
        del team["people"][person_id]
        return SandboxResponse(status=200)

    def blank_person(self) -> dict[str, Any]:
        now = self.now()
        person: dict[str, Any] = {"id": self.new_id(), **dict.fromkeys(TEXT)}
        person.update(
            prospect_status=0,
            birthday=None,
            latitude=None,
            longitude=None,
            tags=[],
            company_id=None,
            user_id=None,
            custom_fields={},
            created_at=now,
            updated_at=now,
        )
        return person

    def apply(
        self, team: dict[str, Any], person: dict[str, Any], body: dict[str, Any], creating: bool
    ) -> None:
        """Validate everything, then set: a 422 leaves the person unchanged."""
        changes: dict[str, Any] = {}
        for key in TEXT:
            if key in body:
                value = body[key]
                if value is not None and not isinstance(value, str):
                    raise self.invalid(key, "must be a string")
                changes[key] = value
        for required in ("first_name", "last_name"):
            value = changes.get(required, None if creating else person[required])
            if not value:
                raise self.invalid(required, "can't be blank")
        if creating or "user_id" in body:
            changes["user_id"] = self.owner(team, body.get("user_id"))
        if "prospect_status" in body:
            if body["prospect_status"] not in (0, 1, 2, None):
                raise self.invalid("prospect_status", "must be 0, 1 or 2")
            changes["prospect_status"] = body["prospect_status"] or 0
        if "company_id" in body:
            company_id = body["company_id"]
            if company_id is not None and str(company_id) not in team["companies"]:
                raise self.invalid("company_id", "does not exist")
            changes["company_id"] = company_id
        if "birthday" in body:
            try:
                changes["birthday"] = parse_time(body["birthday"]) if body["birthday"] else None
            except (ValueError, AttributeError) as exc:
                raise self.invalid("birthday", "is not a date") from exc
        tags = list(person["tags"])
        for phantom in ("tags", "rtags", "atags"):
            if phantom in body:
                value = body[phantom]
                if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                    raise self.invalid(phantom, "must be a list of strings")
                tags = list(value) if phantom != "atags" else [*tags, *value]
        if any(p in body for p in ("tags", "rtags", "atags")):
            changes["tags"] = list(dict.fromkeys(t.strip() for t in tags if t.strip()))
        if "custom_fields" in body:
            changes["custom_fields"] = self.custom_values(team, person, body["custom_fields"])
        person.update(changes)
        person["updated_at"] = self.now()

    def custom_values(
        self, team: dict[str, Any], person: dict[str, Any], values: Any
    ) -> dict[str, Any]:
        if not isinstance(values, dict):
            raise self.invalid("custom_fields", "must be an object")
        specs = {f["key"]: f for f in team["custom_fields"] if f["entity_type"] == "contact"}
        merged = dict(person["custom_fields"])
        for key, value in values.items():
            spec = specs.get(key)
            if spec is None:
                raise self.invalid(f"custom_fields.{key}", "unknown custom field")
            if value is None:
                merged.pop(key, None)
                continue
            if spec["is_multiple"] and not isinstance(value, list):
                raise self.invalid(f"custom_fields.{key}", "must be a list")
            if spec["type"] == "date" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)):
                raise self.invalid(f"custom_fields.{key}", "must be YYYY-MM-DD")
            merged[key] = value
        return merged

    # --- Control API.

    def create_account(
        self,
        name: str = "Sandbox team",
        api_key: str | None = None,
        users: list[dict[str, str]] | None = None,
        team_id: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """A team with its users (default: one administrator) and the predefined
        contact custom fields; answers the API key a user would type and the path."""
        api_key = api_key or f"sandbox-{uuid.uuid4().hex}"
        if any(t["api_key"] == api_key for t in self.state["teams"].values()):
            raise ValueError("api_key already in use")
        team_id = team_id or str(self.new_id())
        slug = re.sub(r"\W+", "", name.lower())[:20] or "team"
        team: dict[str, Any] = {
            "id": team_id,
            "name": name,
            "api_key": api_key,
            "users": {},
            "people": {},
            "companies": {},
            "custom_fields": [
                {"entity_type": "contact", "extras": {}, **f} for f in PREDEFINED_FIELDS
            ],
        }
        for spec in users or [{"name": "Admin", "email": f"admin@{slug}.example.com"}]:
            user_id = self.new_id()
            team["users"][str(user_id)] = {
                "id": user_id,
                "name": spec.get("name") or f"User {user_id}",
                "email": spec.get("email") or f"user{user_id}@{slug}.example.com",
                "created_at": self.now(),
            }
        self.state["teams"][team_id] = team
        return {
            "team_id": team_id,
            "api_key": api_key,
            "users": [
                {"id": u["id"], "name": u["name"], "email": u["email"]}
                for u in team["users"].values()
            ],
            "path": "/sellf/v2",
        }

    def seed(
        self,
        account: str,
        count: int,
        seed: int = 0,
        user_id: int | None = None,
        start: int | None = None,
        tags: list[str] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """``count`` synthetic people owned by ``user_id`` (default: the first user),
        with their company, updated in the past so that deltas after seeding stay small."""
        team = self.find_team(account)
        owner = int(user_id) if user_id is not None else int(next(iter(team["users"])))
        offset = len(team["people"]) if start is None else start
        ids = [self.add_person(team, owner, p, tags) for p in people(count, seed, offset)]
        return {"ids": [str(i) for i in ids]}

    def add_person(
        self, team: dict[str, Any], owner: int, person: Person, tags: list[str] | None
    ) -> int:
        company = next((c for c in team["companies"].values() if c["name"] == person.company), None)
        if company is None:
            company = self.add_company(team, person.company, owner)
        record = self.blank_person()
        past = record["created_at"] - person.age_days * 86400 - 1
        record.update(
            first_name=person.first_name,
            last_name=person.last_name,
            email=person.email,
            phone=person.phone,
            title=person.job_title,
            address=person.city,
            description=person.notes or None,
            tags=list(tags if tags is not None else person.tags),
            company_id=company["id"],
            user_id=owner,
            custom_fields={"cf_industry_5f2a": "Retail"},
            created_at=past,
            updated_at=past + (record["id"] % 1000) / 1000,  # variable fractions
        )
        team["people"][str(record["id"])] = record
        return int(record["id"])

    def demo(self) -> None:
        if any(t["api_key"] == DEMO_KEY for t in self.state["teams"].values()):
            return
        self.create_account(
            name="Demo team",
            api_key=DEMO_KEY,
            team_id="demo",
            users=[
                {"name": "Giulia Rossi", "email": "giulia@demo.example"},
                {"name": "Marco Bianchi", "email": "marco@demo.example"},
            ],
        )
        team = self.state["teams"]["demo"]
        first, second = (int(u) for u in team["users"])
        for person in people(10, seed=424242):
            self.add_person(team, first, person, None)
        for person in people(10, seed=77, start=100):
            self.add_person(team, second, person, None)

    def view(self, account: str | None = None) -> dict[str, Any]:
        """Teams as tests read them: people with their company name, dates on the wire."""
        selected = [self.find_team(account)] if account else list(self.state["teams"].values())
        result = {}
        for team in selected:
            rendered = []
            for person in team["people"].values():
                company = team["companies"].get(str(person["company_id"]))
                rendered.append(
                    {**self.render(person), "company": company["name"] if company else None}
                )
            result[team["id"]] = {
                "api_key": team["api_key"],
                "users": list(team["users"].values()),
                "people": rendered,
                "companies": [self.render(c) for c in team["companies"].values()],
            }
        return {"teams": result}

    def locate(self, account: str, person: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(team, person) by team id/key and person id or email."""
        team = self.find_team(account)
        for candidate in team["people"].values():
            if person in (str(candidate["id"]), candidate["email"]):
                return team, candidate
        raise KeyError(f"no person {person!r}")

    def action_options(self, **options: Any) -> dict[str, Any]:
        """Emulator behaviour: ``page_size`` (50 as the real API; smaller for tests)."""
        unknown = set(options) - {"page_size"}
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}")
        self.state["options"].update(options)
        return dict(self.state["options"])

    def action_edit(self, account: str, person: str, **changes: Any) -> dict[str, Any]:
        """A user edits the person in Sellf's app (any body a PUT takes)."""
        team, found = self.locate(account, person)
        self.apply(team, found, changes, creating=False)
        return {"edited": found["id"]}

    def action_add(self, account: str, **fields: Any) -> dict[str, Any]:
        """A user adds a person in Sellf's app."""
        team = self.find_team(account)
        person = self.blank_person()
        fields.setdefault("user_id", int(next(iter(team["users"]))))
        self.apply(team, person, fields, creating=True)
        team["people"][str(person["id"])] = person
        return {"id": str(person["id"])}

    def action_delete(self, account: str, person: str) -> dict[str, Any]:
        """A user deletes the person in Sellf's app."""
        team, found = self.locate(account, person)
        del team["people"][str(found["id"])]
        return {"deleted": found["id"]}

    def action_age(self, account: str, seconds: float = 3600) -> dict[str, Any]:
        """Move every timestamp ``seconds`` into the past (tests of delta reads)."""
        team = self.find_team(account)
        for person in team["people"].values():
            person["created_at"] -= seconds
            person["updated_at"] -= seconds
        return {"aged": len(team["people"])}


EMULATOR = SellfEmulator
