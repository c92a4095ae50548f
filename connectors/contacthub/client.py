"""Contacthub's REST API (customers, the updates stream, workspace configuration).

Docs: https://docs.contactlab.com/docs/development/hub-api (OpenAPI 1.51 in
github.com/psantori/api-reference), error format github.com/contactlab/api-standards.
Answers are checked at the edge: a body of the wrong shape is a transient
``ConnectorError`` (the next run reads again), never a half-read record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import requests

from connectors.base import ConnectorError
from connectors.http import default_classify

if TYPE_CHECKING:
    from connectors.http import Http

DEFAULT_API_URL = "https://api.contactlab.it/hub/v1"
MAX_PAGE_SIZE = 50
UPDATES_PAGE_SIZE = 500


def classify(response: requests.Response) -> ConnectorError:
    """Contacthub errors: ``{message, logref, data, errors}``; 423 (reindexing) and 409
    keep their status so the connector can act on them."""
    error = default_classify(response)
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        details = "; ".join(
            f"{e.get('path')}: {e.get('message')}"
            for e in body.get("errors") or []
            if isinstance(e, dict)
        )
        error.args = (f"Contacthub {response.status_code}: {body['message']} {details}".strip(),)
        error.data = body.get("data") or {}  # type: ignore[attr-defined]
    if response.status_code == 423:
        error.permanent = False  # reindexing: the same write succeeds later
    return error


def expect(body: Any, kind: type, what: str) -> Any:
    if not isinstance(body, kind):
        raise ConnectorError(f"Contacthub answered {what} of the wrong shape")
    return body


class ContacthubClient:
    """Calls under ``/workspaces/{workspace}`` with the source's bearer token."""

    def __init__(self, http: Http, *, base_url: str, token: str, workspace: str, node: str):
        http.classify = classify
        http.session.headers["Authorization"] = f"Bearer {token}"
        self.http = http
        self.prefix = f"{base_url.rstrip('/')}/workspaces/{workspace}"
        self.node = node

    def get(self, path: str, **params: Any) -> Any:
        return self.http.json("GET", f"{self.prefix}{path}", params=params)

    def extended_properties(self) -> list[dict[str, Any]]:
        # GET /configuration/properties/extended: the workspace's extended schema.
        body = expect(self.get("/configuration/properties/extended"), dict, "the schema")
        return [p for p in body.get("properties") or [] if isinstance(p, dict) and p.get("name")]

    def subscriptions(self) -> list[dict[str, Any]]:
        body = expect(self.get("/configuration/subscriptions"), dict, "the subscriptions")
        return [s for s in body.get("elements") or [] if isinstance(s, dict) and s.get("id")]

    def customer_pages(self, size: int) -> Iterator[tuple[list[dict[str, Any]], int]]:
        """Pages of the node's customers (GET /customers, 0-based page) with the total."""
        page = 0
        while True:
            body = expect(
                self.get("/customers", nodeId=self.node, page=page, size=size), dict, "customers"
            )
            elements = expect(body.get("elements"), list, "customers")
            total = int(expect(body.get("page"), dict, "a page").get("totalElements") or 0)
            yield [expect(c, dict, "a customer") for c in elements], total
            if len(elements) < size or (page + 1) * size >= total:
                return
            page += 1

    def count(self) -> int:
        body = expect(self.get("/customers", nodeId=self.node, page=0, size=1), dict, "customers")
        return int(expect(body.get("page"), dict, "a page").get("totalElements") or 0)

    def last_offset(self) -> int:
        # GET /updates/last-offset: where a new cursor starts without replaying history.
        body = expect(
            self.get("/updates/last-offset", nodeId=self.node, entity="CUSTOMER"), dict, "an offset"
        )
        return int(body.get("lastOffset") or 0)

    def updates(self, offset: int) -> tuple[list[dict[str, Any]], int]:
        """One page of the updates stream after ``offset`` (exclusive), and nextOffset."""
        body = expect(
            self.get(
                "/updates",
                nodeId=self.node,
                entity="CUSTOMER",
                offset=offset,
                size=UPDATES_PAGE_SIZE,
            ),
            dict,
            "updates",
        )
        updates = [u for u in expect(body.get("updates"), list, "updates") if isinstance(u, dict)]
        return updates, int(body.get("nextOffset") or offset)

    def customer(self, customer_id: str) -> dict[str, Any]:
        found: dict[str, Any] = expect(self.get(f"/customers/{customer_id}"), dict, "a customer")
        return found

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = expect(
            self.http.json("POST", f"{self.prefix}/customers", json={"nodeId": self.node, **body}),
            dict,
            "a customer",
        )
        return found

    def patch(self, customer_id: str, body: dict[str, Any]) -> dict[str, Any]:
        # A PATCH of the same sections is harmless to repeat: retried after a 5xx or 423.
        found: dict[str, Any] = expect(
            self.http.json(
                "PATCH", f"{self.prefix}/customers/{customer_id}", json=body, idempotent=True
            ),
            dict,
            "a customer",
        )
        return found

    def delete(self, customer_id: str) -> None:
        self.http.request("DELETE", f"{self.prefix}/customers/{customer_id}")
