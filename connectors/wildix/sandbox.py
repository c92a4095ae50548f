"""Emulator of the Wildix PBX API subset the connector uses (WMS ``/api/v1``).

Mounted at ``/wildix/``; each PBX lives under its name: ``/wildix/{pbx}/api/v1/…``, which
is where ``WILDIX_PBX_URL_TEMPLATE`` points a PBX name in development and tests. As the
notes say of WMS (shared/apis/sellf-wildix-contactlab-forcemanager.md, section 2): paths
in any casing with an optional trailing slash; ``{"type": "result", "result": …}``
envelopes, listings as ``{records, total}`` paged by ``start``/``count`` (count capped at
100, UNCONFIRMED); ``{"type": "error", "reason": …}`` errors (field name UNCONFIRMED);
Basic auth of a PBX user, or a Bearer company API key (``wsk-v1-…``) or Simple Token;
form ``data[…]`` or JSON ``{"data": {…}}`` bodies; ``search`` over name, email,
extension, phones and organization. OUR ASSUMPTION: a contact needs a ``name``.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
from typing import Any
from urllib.parse import parse_qsl

from connectors.sandbox import Emulator, SandboxRequest, SandboxResponse, route
from connectors.sandbox.synthetic import people

API = "/{pbx}/api/v1"
MAX_COUNT = 100
CONTACT_FIELDS = (
    "name",
    "organization",
    "email",
    "phone",
    "office",
    "mobile",
    "fax",
    "home",
    "extension",
    "address",
    "country",
    "note",
    "type",
    "document_id",
    "document_from",
)
SEARCHED = ("name", "email", "extension", "phone", "fax", "mobile", "organization")


def api_key() -> str:
    """A company API key's shape: ``wsk-v1-`` and 93 alphanumerics (100 characters)."""
    alphabet = string.ascii_letters + string.digits
    return "wsk-v1-" + "".join(secrets.choice(alphabet) for _ in range(93))


class WildixEmulator(Emulator):
    """Wildix PBXes, each with users, tokens, phonebooks and contacts."""

    vendor = "wildix"

    def reset(self) -> None:
        self.state = {"seq": 0, "pbxes": {}}

    # --- Routing: WMS paths are case-insensitive.

    def resolve(self, request: SandboxRequest) -> tuple[Any, dict[str, str]]:
        return super().resolve(self._lowered(request))

    def endpoint(self, request: SandboxRequest) -> str:
        return super().endpoint(self._lowered(request))

    @staticmethod
    def _lowered(request: SandboxRequest) -> SandboxRequest:
        return SandboxRequest(
            request.method, request.path.lower(), request.query, request.headers, request.body
        )

    # --- Helpers.

    def error(self, status: int, message: str, **extra: Any) -> SandboxResponse:
        return SandboxResponse.json({"type": "error", "reason": message, **extra}, status=status)

    def result(self, result: Any) -> SandboxResponse:
        return SandboxResponse.json({"type": "result", "result": result})

    def new_id(self) -> str:
        self.state["seq"] += 1
        return str(self.state["seq"])

    def authenticate(self, request: SandboxRequest, pbx: str) -> dict[str, Any]:
        """The PBX, when the Authorization header is one of its users or tokens."""
        box = self.state["pbxes"].get(pbx.lower())
        header = request.header("authorization")
        if box is not None and header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                user, password = "", ""
            if box["users"].get(user) == password and password:
                return box
        if box is not None and header.startswith("Bearer ") and header[7:] in box["tokens"]:
            return box
        raise self.fail(401, "Authorization required")

    def data(self, request: SandboxRequest) -> dict[str, str]:
        """The contact fields of a form ``data[…]`` or JSON ``{"data": {…}}`` body."""
        content_type = request.header("content-type")
        if "json" in content_type:
            try:
                body = request.json()
            except ValueError as exc:
                raise self.fail(400, "Malformed JSON") from exc
            fields = body.get("data") if isinstance(body, dict) else None
            if not isinstance(fields, dict):
                raise self.fail(400, 'Body must be {"data": {…}}')
            return {str(k): "" if v is None else str(v) for k, v in fields.items()}
        pairs = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
        fields = {}
        for key, value in pairs:
            if key.startswith("data[") and key.endswith("]"):
                fields[key[5:-1]] = value
        return fields

    def page(self, request: SandboxRequest, rows: list[dict[str, Any]]) -> SandboxResponse:
        try:
            start = int(request.arg("start") or 0)
            count = int(request.arg("count") or MAX_COUNT)
        except ValueError as exc:
            raise self.fail(400, "start and count must be integers") from exc
        if start < 0 or count < 0:
            raise self.fail(400, "start and count must not be negative")
        count = min(count, MAX_COUNT)
        search = (request.arg("search") or "").lower()
        if search:
            rows = [r for r in rows if any(search in str(r.get(k, "")).lower() for k in SEARCHED)]
        return self.result({"records": rows[start : start + count], "total": len(rows)})

    def phonebook(self, box: dict[str, Any], phonebook_id: str) -> dict[str, Any]:
        found: dict[str, Any] | None = box["phonebooks"].get(phonebook_id)
        if found is None:
            raise self.fail(404, "Phonebook not found")
        return found

    def contact(
        self, box: dict[str, Any], contact_id: str, phonebook_id: str | None = None
    ) -> dict[str, Any]:
        found: dict[str, Any] | None = box["contacts"].get(contact_id)
        if found is None or (phonebook_id is not None and found["phonebook_id"] != phonebook_id):
            raise self.fail(404, "Contact not found")
        return found

    def store(self, box: dict[str, Any], phonebook_id: str, fields: dict[str, str]) -> str:
        self.phonebook(box, phonebook_id)
        unknown = set(fields) - set(CONTACT_FIELDS) - {"phonebook_id"}
        if unknown:
            raise self.fail(400, f"Unknown fields: {', '.join(sorted(unknown))}")
        if not fields.get("name", "").strip():
            raise self.fail(400, "Field name is required")  # OUR ASSUMPTION
        contact_id = self.new_id()
        contact = {key: "" for key in CONTACT_FIELDS}
        contact.update({k: v for k, v in fields.items() if k != "phonebook_id"})
        contact.update({"id": contact_id, "phonebook_id": phonebook_id})
        box["contacts"][contact_id] = contact
        return contact_id

    def change(self, contact: dict[str, Any], fields: dict[str, str]) -> None:
        unknown = set(fields) - set(CONTACT_FIELDS)
        if unknown:
            raise self.fail(400, f"Unknown fields: {', '.join(sorted(unknown))}")
        if "name" in fields and not fields["name"].strip():
            raise self.fail(400, "Field name is required")
        contact.update(fields)

    def in_phonebook(self, box: dict[str, Any], phonebook_id: str) -> list[dict[str, Any]]:
        return [c for c in box["contacts"].values() if c["phonebook_id"] == phonebook_id]

    # --- Phonebooks.

    @route("GET", API + "/phonebooks")
    def list_phonebooks(self, request: SandboxRequest, pbx: str) -> SandboxResponse:
        box = self.authenticate(request, pbx)
        return self.page(request, list(box["phonebooks"].values()))

    @route("GET", API + "/phonebooks/{phonebook_id}")
    def get_phonebook(
        self, request: SandboxRequest, pbx: str, phonebook_id: str
    ) -> SandboxResponse:
        return self.result(self.phonebook(self.authenticate(request, pbx), phonebook_id))

    # --- Contacts of one phonebook.

    @route("GET", API + "/phonebooks/{phonebook_id}/contacts")
    def list_book_contacts(
        self, request: SandboxRequest, pbx: str, phonebook_id: str
    ) -> SandboxResponse:
        box = self.authenticate(request, pbx)
        self.phonebook(box, phonebook_id)
        return self.page(request, self.in_phonebook(box, phonebook_id))

    @route("POST", API + "/phonebooks/{phonebook_id}/contacts")
    def create_book_contact(
        self, request: SandboxRequest, pbx: str, phonebook_id: str
    ) -> SandboxResponse:
        box = self.authenticate(request, pbx)
        return self.result({"id": self.store(box, phonebook_id, self.data(request))})

    @route("GET", API + "/phonebooks/{phonebook_id}/contacts/{contact_id}")
    def get_book_contact(
        self, request: SandboxRequest, pbx: str, phonebook_id: str, contact_id: str
    ) -> SandboxResponse:
        box = self.authenticate(request, pbx)
        return self.result(self.contact(box, contact_id, phonebook_id))

    @route("PUT", API + "/phonebooks/{phonebook_id}/contacts/{contact_id}")
    def update_book_contact(
        self, request: SandboxRequest, pbx: str, phonebook_id: str, contact_id: str
    ) -> SandboxResponse:
        box = self.authenticate(request, pbx)
        contact = self.contact(box, contact_id, phonebook_id)
        self.change(contact, self.data(request))
        return self.result(contact)

    @route("DELETE", API + "/phonebooks/{phonebook_id}/contacts/{contact_id}")
    def delete_book_contact(
        self, request: SandboxRequest, pbx: str, phonebook_id: str, contact_id: str
    ) -> SandboxResponse:
        box = self.authenticate(request, pbx)
        self.contact(box, contact_id, phonebook_id)
        del box["contacts"][contact_id]
        return self.result({"id": contact_id})

    # --- Contacts of every phonebook.

    @route("GET", API + "/contacts")
    def list_contacts(self, request: SandboxRequest, pbx: str) -> SandboxResponse:
        box = self.authenticate(request, pbx)
        rows = list(box["contacts"].values())
        phonebook_id = request.arg("phonebook_id")
        if phonebook_id:
            rows = [r for r in rows if r["phonebook_id"] == phonebook_id]
        return self.page(request, rows)

    @route("POST", API + "/contacts")
    def create_contact(self, request: SandboxRequest, pbx: str) -> SandboxResponse:
        box = self.authenticate(request, pbx)
        fields = self.data(request)
        return self.result({"id": self.store(box, fields.get("phonebook_id", ""), fields)})

    @route("GET", API + "/contacts/{contact_id}")
    def get_contact(self, request: SandboxRequest, pbx: str, contact_id: str) -> SandboxResponse:
        return self.result(self.contact(self.authenticate(request, pbx), contact_id))

    @route("PUT", API + "/contacts/{contact_id}")
    def update_contact(self, request: SandboxRequest, pbx: str, contact_id: str) -> SandboxResponse:
        contact = self.contact(self.authenticate(request, pbx), contact_id)
        self.change(contact, self.data(request))
        return self.result(contact)

    @route("DELETE", API + "/contacts/{contact_id}")
    def delete_contact(self, request: SandboxRequest, pbx: str, contact_id: str) -> SandboxResponse:
        box = self.authenticate(request, pbx)
        self.contact(box, contact_id)
        del box["contacts"][contact_id]
        return self.result({"id": contact_id})

    # --- Control API.

    def create_account(
        self,
        name: str | None = None,
        username: str = "admin",
        password: str | None = None,
        phonebooks: list[str] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """A PBX with one user, an API key, a Simple Token and its phonebooks; answers
        what a user would type in the connect form (``pbx``, ``username``,
        ``password``), the tokens, the phonebooks and the PBX's ``path``."""
        pbx = (name or f"pbx{len(self.state['pbxes']) + 1}").lower()
        if pbx in self.state["pbxes"]:
            raise ValueError(f"PBX {pbx!r} exists")
        password = password or secrets.token_urlsafe(12)
        key, token = api_key(), secrets.token_hex(20)
        box: dict[str, Any] = {
            "users": {username: password},
            "tokens": [key, token],
            "phonebooks": {},
            "contacts": {},
        }
        self.state["pbxes"][pbx] = box
        for book in phonebooks or ["Company"]:
            book_id = self.new_id()
            box["phonebooks"][book_id] = {
                "id": book_id,
                "name": book,
                "description": "",
                "type": "shared",  # UNCONFIRMED type values
            }
        return {
            "pbx": pbx,
            "username": username,
            "password": password,
            "api_key": key,
            "simple_token": token,
            "phonebooks": [{"id": b["id"], "name": b["name"]} for b in box["phonebooks"].values()],
            "path": f"/wildix/{pbx}",
        }

    def seed(
        self, account: str, count: int, seed: int = 0, phonebook: str | None = None, **_: Any
    ) -> dict[str, Any]:
        """``count`` synthetic contacts in ``phonebook`` (default: the PBX's first)."""
        box = self.state["pbxes"][account.lower()]
        phonebook_id = phonebook or next(iter(box["phonebooks"]))
        start = len(box["contacts"])
        ids = [
            self.store(
                box,
                phonebook_id,
                {
                    "name": person.full_name,
                    "organization": person.company,
                    "email": person.email,
                    "phone": person.phone,
                    "country": person.country,
                },
            )
            for person in people(count, seed, start)
        ]
        return {"ids": ids, "phonebook": phonebook_id}

    def view(self, account: str | None = None) -> dict[str, Any]:
        if account:
            data: dict[str, Any] = json.loads(json.dumps(self.state["pbxes"][account.lower()]))
            return data
        return self.state

    def action_edit(self, account: str, contact: str, **changes: Any) -> dict[str, Any]:
        """Edit a contact as a PBX user would in WMS."""
        found: dict[str, Any] = self.state["pbxes"][account.lower()]["contacts"][contact]
        found.update({k: str(v) for k, v in changes.items()})
        return found

    def action_delete(self, account: str, contact: str) -> dict[str, Any]:
        del self.state["pbxes"][account.lower()]["contacts"][contact]
        return {"deleted": contact}


EMULATOR = WildixEmulator
