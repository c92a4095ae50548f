"""An emulator of Contactlab's Contacthub REST API (``https://api.contactlab.it/hub/v1``),
the subset our connector uses, mounted at ``/contacthub/hub/v1``.

- ``Authorization: Bearer <token>``; every path under ``/workspaces/{workspaceId}``; a
  required ``nodeId`` on listings, creates and the updates stream.
- ``GET /customers``: the paged envelope ``{"elements", "page": {size, totalElements,
  totalUnfilteredElements, totalPages, number}}``, 0-based ``page``, ``size`` <= 50, an
  out-of-range page empty; ``externalId`` filter.
- ``POST /customers`` 201; 409 ``Conflict with exiting customer {id}`` with
  ``data.customer.id`` when the email or externalId is already a customer of the node
  (our stand-in for the workspace's matching policy); ``PATCH`` merges the sections sent
  (objects deep, lists replaced); ``DELETE``; 423 "reindexing" on demand
  (``reindexing`` in a workspace's state counts the writes still refused).
- ``GET /updates`` (``offset`` exclusive, ``size`` <= 4000, default 50) over an
  append-only log of CREATE / UPDATE / DELETE, ``nextOffset``; ``GET /updates/last-offset``.
- ``GET /configuration/properties/extended`` (the extended schema).
- Errors ``{"message", "logref", "data", "errors": [{path, message, code, data}]}``.

OUR ASSUMPTION (apis/ 3B does not say): ``GET /configuration/subscriptions`` listing the
workspace's subscriptions (id, name, kind); validation messages and paths.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

from connectors.sandbox import Emulator, SandboxRequest, SandboxResponse, route
from connectors.sandbox.synthetic import people

MAX_PAGE = 50
MAX_UPDATES = 4000
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DEFAULT_EXTENDED = [
    {"name": "loyaltyCard", "type": "string"},
    {"name": "points", "type": "number"},
]
DEFAULT_SUBSCRIPTIONS = [
    {"id": "newsletter", "name": "Newsletter", "kind": "DIGITAL_MESSAGE"},
    {"id": "offers", "name": "Offers", "kind": "DIGITAL_MESSAGE"},
]


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def merge(stored: dict[str, Any], patch: dict[str, Any]) -> None:
    """PATCH semantics: objects merged key by key, anything else replaced."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(stored.get(key), dict):
            merge(stored[key], value)
        else:
            stored[key] = value


class ContacthubEmulator(Emulator):
    """Contacthub: workspaces with nodes, customers and the updates log."""

    vendor = "contacthub"

    def reset(self) -> None:
        self.state = {"workspaces": {}}

    def error(self, status: int, message: str, **extra: Any) -> SandboxResponse:
        body = {
            "message": message,
            "logref": uuid.uuid4().hex[:12],
            "data": extra.get("data", {}),
            "errors": extra.get("errors", []),
        }
        return SandboxResponse.json(body, status=status)

    # --- Auth and lookups.

    def workspace(self, request: SandboxRequest, workspace_id: str) -> dict[str, Any]:
        found: dict[str, Any] | None = self.state["workspaces"].get(workspace_id)
        token = request.header("authorization")
        if not token.startswith("Bearer ") or (found and token[7:] != found["token"]):
            raise self.fail(401, "The client is not authorized to access the API")
        if found is None:
            raise self.fail(403, f"workspace not found: {workspace_id}")
        return found

    def node(self, workspace: dict[str, Any], node_id: str | None) -> str:
        if not node_id:
            raise self.fail(
                400,
                "nodeId is required",
                errors=[{"path": "nodeId", "message": "required", "code": 0, "data": {}}],
            )
        if node_id not in workspace["nodes"]:
            raise self.fail(403, f"node not found {node_id}")
        return node_id

    def customer(self, workspace: dict[str, Any], customer_id: str) -> dict[str, Any]:
        found: dict[str, Any] | None = workspace["customers"].get(customer_id)
        if found is None:
            raise self.fail(404, f"customer not found {customer_id}")
        return found

    def log(self, workspace: dict[str, Any], operation: str, customer: dict[str, Any]) -> None:
        workspace["offset"] += 1
        workspace["log"].append(
            {
                "offset": workspace["offset"],
                "nodeId": customer["nodeId"],
                "operation": operation,
                "entity": {"type": "CUSTOMER", "data": dict(customer)},
            }
        )

    def writable(self, workspace: dict[str, Any]) -> None:
        if workspace["reindexing"] > 0:
            workspace["reindexing"] -= 1
            raise self.fail(423, "reindexing in progress, retry later")

    def validate(self, workspace: dict[str, Any], body: dict[str, Any]) -> None:
        errors = []
        base = body.get("base") or {}
        if not isinstance(base, dict):
            errors.append({"path": "/base", "message": "must be an object"})
            base = {}
        email = (base.get("contacts") or {}).get("email")
        if email is not None and not EMAIL.match(str(email)):
            errors.append({"path": "/base/contacts/email", "message": "not a valid email"})
        dob = base.get("dob")
        if dob is not None:
            try:
                date.fromisoformat(str(dob))
            except ValueError:
                errors.append({"path": "/base/dob", "message": "not a valid date"})
        names = {p["name"] for p in workspace["extended"]}
        for key in body.get("extended") or {}:
            if key not in names:
                errors.append({"path": f"/extended/{key}", "message": "unknown property"})
        if errors:
            for e in errors:
                e.update(code=0, data={})
            raise self.fail(400, "Validation failed", errors=errors)

    def existing(
        self, workspace: dict[str, Any], node: str, body: dict[str, Any], skip: str = ""
    ) -> str | None:
        """The customer the matching policy finds for ``body``: same externalId or email."""
        external = body.get("externalId")
        email = str(((body.get("base") or {}).get("contacts") or {}).get("email") or "").lower()
        for cid, customer in workspace["customers"].items():
            if cid == skip or customer["nodeId"] != node:
                continue
            if external and customer.get("externalId") == external:
                return cid
            theirs = str(((customer.get("base") or {}).get("contacts") or {}).get("email") or "")
            if email and theirs.lower() == email:
                return cid
        return None

    # --- Routes.

    @route("GET", "/hub/v1/workspaces/{workspace_id}/configuration/properties/extended")
    def extended(self, request: SandboxRequest, workspace_id: str) -> SandboxResponse:
        ws = self.workspace(request, workspace_id)
        return SandboxResponse.json({"properties": ws["extended"]})

    @route("GET", "/hub/v1/workspaces/{workspace_id}/configuration/subscriptions")
    def subscriptions(self, request: SandboxRequest, workspace_id: str) -> SandboxResponse:
        ws = self.workspace(request, workspace_id)
        return SandboxResponse.json({"elements": ws["subscriptions"]})

    @route("GET", "/hub/v1/workspaces/{workspace_id}/customers")
    def list_customers(self, request: SandboxRequest, workspace_id: str) -> SandboxResponse:
        ws = self.workspace(request, workspace_id)
        node = self.node(ws, request.arg("nodeId"))
        try:
            page = int(request.arg("page") or 0)
            size = int(request.arg("size") or 20)
        except ValueError:
            raise self.fail(400, "page and size must be integers") from None
        if page < 0 or not 1 <= size <= MAX_PAGE:
            raise self.fail(400, f"size must be between 1 and {MAX_PAGE}")
        external = request.arg("externalId")
        found = [
            c
            for c in ws["customers"].values()
            if c["nodeId"] == node
            and c["enabled"]
            and (not external or c.get("externalId") == external)
        ]
        elements = found[page * size : (page + 1) * size]
        return SandboxResponse.json(
            {
                "elements": elements,
                "page": {
                    "size": size,
                    "totalElements": len(found),
                    "totalUnfilteredElements": len(ws["customers"]),
                    "totalPages": math.ceil(len(found) / size),
                    "number": page,
                },
            }
        )

    @route("POST", "/hub/v1/workspaces/{workspace_id}/customers")
    def create_customer(self, request: SandboxRequest, workspace_id: str) -> SandboxResponse:
        ws = self.workspace(request, workspace_id)
        body = self.body(request)
        node = self.node(ws, body.get("nodeId"))
        self.writable(ws)
        self.validate(ws, body)
        existing = self.existing(ws, node, body)
        if existing:
            raise self.fail(
                409,
                f"Conflict with exiting customer {existing}",
                data={"customer": {"id": existing}},
            )
        customer = self.new_customer(node, body)
        ws["customers"][customer["id"]] = customer
        self.log(ws, "CREATE", customer)
        return SandboxResponse.json(customer, status=201)

    @route("GET", "/hub/v1/workspaces/{workspace_id}/customers/{customer_id}")
    def get_customer(
        self, request: SandboxRequest, workspace_id: str, customer_id: str
    ) -> SandboxResponse:
        ws = self.workspace(request, workspace_id)
        return SandboxResponse.json(self.customer(ws, customer_id))

    @route("PATCH", "/hub/v1/workspaces/{workspace_id}/customers/{customer_id}")
    def patch_customer(
        self, request: SandboxRequest, workspace_id: str, customer_id: str
    ) -> SandboxResponse:
        ws = self.workspace(request, workspace_id)
        customer = self.customer(ws, customer_id)
        body = self.body(request)
        self.writable(ws)
        self.validate(ws, body)
        body.pop("id", None)
        body.pop("nodeId", None)
        if "tags" in body:
            body["tags"] = {
                "manual": list((body["tags"] or {}).get("manual") or [])
            }  # auto is theirs
        probe = {**customer, **{k: v for k, v in body.items() if k == "externalId"}}
        if "base" in body:
            probe = {**probe, "base": {**customer["base"], **(body["base"] or {})}}
        existing = self.existing(ws, customer["nodeId"], probe, skip=customer_id)
        if existing:
            raise self.fail(
                409,
                f"Conflict with exiting customer {existing}",
                data={"customer": {"id": existing}},
            )
        merge(customer, body)
        customer["updatedAt"] = now()
        self.log(ws, "UPDATE", customer)
        return SandboxResponse.json(customer)

    @route("DELETE", "/hub/v1/workspaces/{workspace_id}/customers/{customer_id}")
    def delete_customer(
        self, request: SandboxRequest, workspace_id: str, customer_id: str
    ) -> SandboxResponse:
        ws = self.workspace(request, workspace_id)
        customer = self.customer(ws, customer_id)
        self.writable(ws)
        del ws["customers"][customer_id]
        self.log(ws, "DELETE", {"id": customer_id, "nodeId": customer["nodeId"]})
        return SandboxResponse.json({"id": customer_id})

    @route("GET", "/hub/v1/workspaces/{workspace_id}/updates")
    def updates(self, request: SandboxRequest, workspace_id: str) -> SandboxResponse:
        ws = self.workspace(request, workspace_id)
        node = self.node(ws, request.arg("nodeId"))
        try:
            offset = int(request.arg("offset") or 0)
            size = min(int(request.arg("size") or 50), MAX_UPDATES)
        except ValueError:
            raise self.fail(400, "offset and size must be integers") from None
        picked = []
        next_offset = offset
        for entry in ws["log"]:
            if entry["offset"] <= offset:
                continue
            if len(picked) >= size:
                break
            next_offset = entry["offset"]
            if entry["nodeId"] == node:
                picked.append({"operation": entry["operation"], "entity": entry["entity"]})
        return SandboxResponse.json({"nextOffset": next_offset, "updates": picked})

    @route("GET", "/hub/v1/workspaces/{workspace_id}/updates/last-offset")
    def last_offset(self, request: SandboxRequest, workspace_id: str) -> SandboxResponse:
        ws = self.workspace(request, workspace_id)
        self.node(ws, request.arg("nodeId"))
        return SandboxResponse.json({"lastOffset": ws["offset"]})

    def body(self, request: SandboxRequest) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError:
            raise self.fail(400, "Malformed JSON") from None
        if not isinstance(body, dict):
            raise self.fail(400, "The body must be a JSON object")
        return body

    def new_customer(self, node: str, body: dict[str, Any]) -> dict[str, Any]:
        stamp = now()
        base = dict(body.get("base") or {})
        base.setdefault("contacts", {})
        for sub in base.get("subscriptions") or []:
            sub.setdefault("registeredAt", stamp)
        return {
            "id": str(uuid.uuid4()),
            "nodeId": node,
            "externalId": body.get("externalId"),
            "enabled": True,
            "registeredAt": stamp,
            "updatedAt": stamp,
            "base": base,
            "extended": dict(body.get("extended") or {}),
            "tags": {"auto": [], "manual": list((body.get("tags") or {}).get("manual") or [])},
        }

    # --- Control API.

    def create_account(
        self, name: str = "Sandbox workspace", token: str | None = None, **_: Any
    ) -> dict[str, Any]:
        """A workspace with one node; answers what a user copies from Settings -> Sources
        (``token``, ``workspace_id``, ``node_id``) and ``path``."""
        workspace_id = str(uuid.uuid4())
        node_id = str(uuid.uuid4())
        token = token or f"ch-{uuid.uuid4().hex}"
        self.state["workspaces"][workspace_id] = {
            "token": token,
            "nodes": {node_id: {"name": name}},
            "customers": {},
            "log": [],
            "offset": 0,
            "reindexing": 0,
            "extended": [dict(p) for p in DEFAULT_EXTENDED],
            "subscriptions": [dict(s) for s in DEFAULT_SUBSCRIPTIONS],
        }
        return {
            "token": token,
            "workspace_id": workspace_id,
            "node_id": node_id,
            "account_id": workspace_id,
            "path": "/hub/v1",
        }

    def seed(
        self,
        account: str,
        count: int,
        seed: int = 0,
        start: int = 0,
        subscribed: list[str] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """``count`` synthetic customers in the workspace's first node."""
        ws = self.state["workspaces"][account]
        node = next(iter(ws["nodes"]))
        ids = []
        for person in people(count, seed, start):
            body = {
                "base": {
                    "firstName": person.first_name,
                    "lastName": person.last_name,
                    "contacts": {"email": person.email, "phone": person.phone},
                    "address": {"city": person.city, "country": person.country},
                    "jobs": [
                        {
                            "companyName": person.company,
                            "jobTitle": person.job_title,
                            "isCurrent": True,
                        }
                    ],
                    "subscriptions": [
                        {
                            "id": sid,
                            "name": sid.title(),
                            "kind": "DIGITAL_MESSAGE",
                            "subscribed": True,
                        }
                        for sid in subscribed or ()
                    ],
                },
                "tags": {"manual": list(person.tags)},
            }
            customer = self.new_customer(node, body)
            ws["customers"][customer["id"]] = customer
            self.log(ws, "CREATE", customer)
            ids.append(customer["id"])
        return {"ids": ids}

    def action_reindex(self, account: str, writes: int = 1, **_: Any) -> dict[str, Any]:
        """The next ``writes`` writes answer 423 (reindexing in progress)."""
        self.state["workspaces"][account]["reindexing"] = int(writes)
        return {"ok": True}

    def action_subscribe(
        self, account: str, customer: str, subscription: str, subscribed: bool = True, **_: Any
    ) -> dict[str, Any]:
        """A customer (un)subscribes in Contacthub."""
        ws = self.state["workspaces"][account]
        stored = ws["customers"][customer]
        subs = stored["base"].setdefault("subscriptions", [])
        for sub in subs:
            if sub["id"] == subscription:
                sub["subscribed"] = bool(subscribed)
                sub["updatedAt"] = now()
                break
        else:
            subs.append(
                {"id": subscription, "subscribed": bool(subscribed), "kind": "DIGITAL_MESSAGE"}
            )
        stored["updatedAt"] = now()
        self.log(ws, "UPDATE", stored)
        return {"ok": True}

    def action_tag(self, account: str, customer: str, tag: str, **_: Any) -> dict[str, Any]:
        """Contacthub's own automation adds an auto tag (read-only for us)."""
        ws = self.state["workspaces"][account]
        stored = ws["customers"][customer]
        stored["tags"]["auto"].append(tag)
        self.log(ws, "UPDATE", stored)
        return {"ok": True}

    def view(self, account: str | None = None) -> dict[str, Any]:
        selected = [account] if account else list(self.state["workspaces"])
        return {
            ws: {
                "customers": self.state["workspaces"][ws]["customers"],
                "offset": self.state["workspaces"][ws]["offset"],
            }
            for ws in selected
        }


EMULATOR = ContacthubEmulator
