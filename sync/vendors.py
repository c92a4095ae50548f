"""Build a connector for an authorization: the only place the engine, the pages and the
API turn an AppAuthorization into a live Connector."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.base import Connector, Credentials
from connectors.http import Http
from connectors.registry import connector_class

if TYPE_CHECKING:
    from sync.models import AppAuthorization


def open_connector(
    authorization: AppAuthorization, scope: str = "", http: Http | None = None
) -> Connector:
    """A connector for ``authorization`` limited to ``scope``; it sets the seam's base URL
    and auth headers itself from the credentials."""
    cls = connector_class(authorization.vendor)
    credentials = Credentials(secrets=authorization.secrets, settings=dict(authorization.settings))
    return cls(credentials, scope, http or Http())
