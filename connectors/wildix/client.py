"""The Wildix PBX API (WMS ``/api/v1``) over the HTTP seam: typed at the edge, errors
classified.

Docs: each PBX serves its reference at ``https://{NAME}.wildixin.com/api/v1/doc/`` (admin
login needed, not public); what we know comes from public client code and is collected in
shared/apis/sellf-wildix-contactlab-forcemanager.md section 2. Facts marked UNCONFIRMED
there are gathered in ``ASSUMPTIONS`` below, in one place.

The PBX host is tenant input: ``pbx_base_url`` maps a PBX name through the operator's
``WILDIX_PBX_URL_TEMPLATE`` (``https://{name}.wildixin.com`` in production) or takes a full
host, and the session is pinned to the validated address (connectors/hosts.py).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from connectors.base import AuthError, ConnectorError, RateLimited, RecordGone
from connectors.hosts import HostError, pin_session, tenant_host
from connectors.http import Http, parse_retry_after

# UNCONFIRMED facts about the WMS API, and what we assume (apis notes, section 2 and 9):
ASSUMPTIONS = {
    # Largest ``count`` a listing honours; integrators page by 100.
    "max_page_size": 100,
    # The error body's message field: ``{"type": "error", "reason": "…"}``.
    "error_message_field": "reason",
    # Listings without ``sort`` come in a stable order (by id), so offset paging is sound.
    "default_order_is_stable": True,
    # A contact needs a non-empty ``name``: WMS shows it in the phonebook and on calls.
    "name_required": True,
}
MAX_PAGE_SIZE = ASSUMPTIONS["max_page_size"]
CONTACT_FIELDS = (
    "name",
    "organization",
    "email",
    "phone",
    "office",
    "mobile",
    "fax",
    "home",
    "address",
    "country",
    "note",
    "document_id",
)
_PBX_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
WILDIX_DOMAIN = ".wildixin.com"


def pbx_base_url(pbx: str) -> str:
    """The ``/api/v1`` URL of the PBX a tenant named: a bare name goes through the
    operator's template, a full host (an on-premise PBX) is taken as typed. Raises
    HostError when the name or host is not acceptable (validated in connectors/hosts.py
    when the session is pinned)."""
    typed = (pbx or "").strip().lower().rstrip("/")
    if typed.endswith(WILDIX_DOMAIN) and "://" not in typed:
        typed = typed[: -len(WILDIX_DOMAIN)]  # "acme.wildixin.com" is the PBX "acme"
    if _PBX_NAME.match(typed):
        template = str(getattr(settings, "WILDIX_PBX_URL_TEMPLATE", "https://{name}.wildixin.com"))
        return template.format(name=typed).rstrip("/") + "/api/v1"
    if "." not in typed.split("://")[-1]:
        raise HostError(f"{pbx!r} is not a PBX name or host.")
    origin = typed if "://" in typed else f"https://{typed}"
    return origin + "/api/v1"


def classify(response: requests.Response) -> ConnectorError:
    """WMS's ``{"type": "error", "reason": …}`` body and status to an error class."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    reason = body.get(ASSUMPTIONS["error_message_field"]) or body.get("message")
    message = f"Wildix {status}: {reason or response.text[:300]}"
    if status in (401, 403):
        return AuthError(message, status=status)
    if status == 429:  # none documented; honour Retry-After should a PBX send one
        return RateLimited(
            message, retry_after=parse_retry_after(response.headers.get("Retry-After"), 30.0)
        )
    if status in (404, 410):
        return RecordGone(message, status=status)
    return ConnectorError(message, permanent=status < 500, status=status)


@dataclass(frozen=True)
class Phonebook:
    """A row of ``GET /api/v1/Phonebooks/``."""

    id: str
    name: str

    @classmethod
    def from_json(cls, data: Any) -> Phonebook:
        if not isinstance(data, dict) or "id" not in data:
            raise ConnectorError("Wildix phonebook without an id", permanent=False)
        return cls(id=str(data["id"]), name=str(data.get("name") or data["id"]))


@dataclass(frozen=True)
class Contact:
    """A phonebook contact; every field is a string on the wire, empty when unset."""

    id: str
    values: dict[str, str]

    @classmethod
    def from_json(cls, data: Any) -> Contact:
        if not isinstance(data, dict) or data.get("id") in (None, ""):
            raise ConnectorError("Wildix contact without an id", permanent=False)
        values = {}
        for key in CONTACT_FIELDS:
            value = data.get(key)
            values[key] = "" if value is None else str(value)
        return cls(id=str(data["id"]), values=values)


def result_of(body: Any) -> Any:
    """The ``result`` of a ``{"type": "result", "result": …}`` envelope."""
    if not isinstance(body, dict) or body.get("type") != "result" or "result" not in body:
        raise ConnectorError("Wildix answered without a result envelope", permanent=False)
    return body["result"]


def records_of(body: Any) -> tuple[list[Any], int | None]:
    """A listing's records and ``total``; some endpoints answer a bare array."""
    result = result_of(body)
    if isinstance(result, list):
        return result, None
    if isinstance(result, dict) and isinstance(result.get("records"), list):
        total = result.get("total")
        try:
            return result["records"], int(total) if total is not None else None
        except (TypeError, ValueError) as exc:
            raise ConnectorError("Wildix listing with a malformed total") from exc
    raise ConnectorError("Wildix listing without records", permanent=False)


def form_body(values: dict[str, Any]) -> dict[str, str]:
    """``data[name]=…`` form fields, as WMS integrations post them."""
    return {f"data[{key}]": "" if value is None else str(value) for key, value in values.items()}


class WildixClient:
    """The calls the connector makes, every one through the seam ``http``. The host is
    validated and the session pinned on the first call, so that a bad host surfaces as
    a permanent ConnectorError of that call, not when the connector is built."""

    def __init__(self, http: Http, pbx: str, username: str, secret: str) -> None:
        self.http = http
        self.pbx = pbx
        http.classify = classify
        http.session.headers["Accept"] = "application/json"
        if self.uses_bearer(username, secret):
            # Company API key (wsk-v1-…) or Simple Token: both are Bearer tokens.
            # https://docs.wildix.com/guides/2026/05/25/company-api-key-pbx-guide
            http.session.headers["Authorization"] = f"Bearer {secret}"
        else:
            # Basic auth of a WMS user (https://wildix.atlassian.net/wiki/x/oBPOAQ).
            pair = base64.b64encode(f"{username}:{secret}".encode()).decode()
            http.session.headers["Authorization"] = f"Basic {pair}"
        self._ready = False

    @staticmethod
    def uses_bearer(username: str, secret: str) -> bool:
        """A key that says it is one, or no user name (the form's "apikey"), is a token."""
        return secret.startswith("wsk-v1-") or username.strip().lower() in ("", "apikey", "token")

    def prepare(self) -> None:
        if self._ready:
            return
        try:
            base = pbx_base_url(self.pbx)
            parts = urlsplit(base)
            pinned = tenant_host(f"{parts.scheme}://{parts.netloc}")
        except HostError as exc:
            raise ConnectorError(f"Wildix PBX: {exc}", permanent=True) from exc
        pin_session(self.http.session, pinned)
        self.http.base_url = base
        self._ready = True

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        self.prepare()
        return self.http.json(method, path, **kwargs)

    # GET /api/v1/Phonebooks/ (n8n-nodes-wildix PhonebookDescription.ts)
    def phonebooks(self) -> list[Phonebook]:
        found: list[Phonebook] = []
        for rows, _total in self._pages("Phonebooks/", {}, MAX_PAGE_SIZE):
            found.extend(Phonebook.from_json(row) for row in rows)
        return found

    def check(self) -> None:
        records_of(self.json("GET", "Phonebooks/", params={"start": 0, "count": 1}))

    # GET /api/v1/Phonebooks/{pb}/Contacts/?start&count (boecomp/update-phonebook)
    def contact_pages(self, phonebook: str, count: int) -> Iterator[tuple[list[Contact], int]]:
        """Pages of a phonebook's contacts, each with the ``total`` reported with it."""
        for rows, total in self._pages(f"Phonebooks/{phonebook}/Contacts/", {}, count):
            yield [Contact.from_json(row) for row in rows], total

    def _pages(
        self, path: str, params: dict[str, Any], count: int
    ) -> Iterator[tuple[list[Any], int]]:
        start = 0
        while True:
            body = self.json("GET", path, params={**params, "start": start, "count": count})
            rows, total = records_of(body)
            known = total if total is not None else start + len(rows)
            yield rows, known
            start += len(rows)
            if not rows or len(rows) < count or (total is not None and start >= total):
                return

    # POST /api/v1/Phonebooks/{pb}/Contacts/ with data[...] (contact2wildix.py)
    def create_contact(self, phonebook: str, values: dict[str, Any]) -> str:
        # Not idempotent: a lost answer is re-matched by the engine through document_id.
        result = result_of(
            self.json("POST", f"Phonebooks/{phonebook}/Contacts/", data=form_body(values))
        )
        if not isinstance(result, dict) or result.get("id") in (None, ""):
            raise ConnectorError("Wildix create answered without an id", permanent=False)
        return str(result["id"])

    # PUT /api/v1/Phonebooks/{pb}/Contacts/{id}/ (partial update)
    def update_contact(self, phonebook: str, contact_id: str, values: dict[str, Any]) -> None:
        result_of(
            self.json(
                "PUT", f"Phonebooks/{phonebook}/Contacts/{contact_id}/", data=form_body(values)
            )
        )

    # DELETE /api/v1/Phonebooks/{pb}/Contacts/{id}/
    def delete_contact(self, phonebook: str, contact_id: str) -> None:
        self.json("DELETE", f"Phonebooks/{phonebook}/Contacts/{contact_id}/")
