"""What the pages ask of connectors and the engine, in one place.

Connector calls go through ``sync.vendors.open_connector``; the engine and the task queue
are imported lazily (they are separate modules the pages only call into). Vendor errors
come back as ``ConnectorError``; these helpers turn them into an authorization's health
or into a message for the user, never into a page crash.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import timezone

from connectors.base import AuthError, ConnectorError, FieldSpec, RateLimited, Scope, VendorUser
from connectors.registry import connector_class
from sync.models import AppAuthorization, Connection, Health
from sync.vendors import open_connector

logger = logging.getLogger(__name__)


def vendor_label(vendor: str) -> str:
    """The connector's display name; the raw key for a vendor no longer registered."""
    try:
        return str(connector_class(vendor).label)
    except (KeyError, ImportError, AttributeError):
        return vendor


def health_of(error: ConnectorError | None) -> str:
    """The health an authorization has after a check that raised ``error``."""
    if error is None:
        return Health.OK
    if isinstance(error, AuthError):
        return Health.AUTH_FAILED
    if isinstance(error, RateLimited):
        return Health.RATE_LIMITED
    return Health.ERROR


def run_check(authorization: AppAuthorization) -> ConnectorError | None:
    """Call the connector's ``check()``; the error it raised, or None when it passed.
    Works on an unsaved authorization too (the connect form checks before saving)."""
    try:
        with open_connector(authorization) as connector:
            connector.check()
    except ConnectorError as exc:
        return exc
    return None


def check_authorization(authorization: AppAuthorization) -> ConnectorError | None:
    """Check and store the resulting health with the vendor's message."""
    error = run_check(authorization)
    authorization.health = health_of(error)
    authorization.health_message = str(error) if error else ""
    authorization.checked_at = timezone.now()
    authorization.save(update_fields=["health", "health_message", "checked_at"])
    return error


def connections_using(authorization: AppAuthorization) -> list[Connection]:
    return list(
        Connection.objects.filter(
            Q(a_authorization=authorization) | Q(b_authorization=authorization)
        ).order_by("name")
    )


@dataclass
class SideInfo:
    """What one side of a connection offers, as read from its connector; ``error`` is
    the vendor's message when it could not be read."""

    fields: list[FieldSpec]
    scopes: list[Scope]
    users: list[VendorUser]
    error: str = ""

    def spec(self, key: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.key == key), None)


def side_info(
    connection: Connection,
    side: str,
    *,
    fields: bool = True,
    scopes: bool = False,
    users: bool = False,
) -> SideInfo:
    """Read fields / scopes / users of ``side`` from its connector (only what is asked)."""
    info = SideInfo(fields=[], scopes=[], users=[])
    try:
        with open_connector(connection.authorization(side), connection.scope(side)) as connector:
            if fields:
                info.fields = list(connector.fields())
            if scopes:
                info.scopes = list(connector.scopes())
            if users:
                info.users = list(connector.users())
    except ConnectorError as exc:
        info.error = str(exc)
    return info


def authorization_scopes(authorization: AppAuthorization) -> tuple[list[Scope], str]:
    """The scopes an authorization offers, or the vendor's error message."""
    try:
        with open_connector(authorization) as connector:
            return list(connector.scopes()), ""
    except ConnectorError as exc:
        return [], str(exc)


def engine_call(name: str, *args: Any, **kwargs: Any) -> Any:
    """Call the engine's entry point ``sync.engine.<name>`` (the pages' one way in,
    which their tests replace)."""
    import sync.engine

    return getattr(sync.engine, name)(*args, **kwargs)
