"""Build a connector for an authorization: the only place the engine, the pages and the
API turn an AppAuthorization into a live Connector."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import transaction

from connectors.base import Connector, Credentials
from connectors.http import Http
from connectors.limits import default_store
from connectors.registry import connector_class

if TYPE_CHECKING:
    from sync.models import AppAuthorization


def open_connector(
    authorization: AppAuthorization, scope: str = "", http: Http | None = None
) -> Connector:
    """A connector for ``authorization`` limited to ``scope``; it sets the seam's base URL
    and auth headers itself from the credentials. Its seam shares the vendor's limits
    with every other run on the same authorization, or on what the connector says the
    vendor counts them against (``limits_key``; connectors/limits.py)."""
    cls = connector_class(authorization.vendor)
    credentials = Credentials(
        secrets=authorization.secrets,
        settings=dict(authorization.settings),
        store=partial(_store_secrets, authorization.pk) if authorization.pk else None,
    )
    connector = cls(credentials, scope, http or Http())
    if authorization.pk:
        holder = connector.limits_key() or str(authorization.pk)
        connector.http.share(f"{authorization.vendor}:{holder}", default_store())
    return connector


def _store_secrets(pk: int, changed: dict[str, Any]) -> None:
    """Merge ``changed`` secrets into authorization ``pk`` (a refreshed token), under a
    row lock so a re-authorization saved meanwhile keeps its other secrets."""
    from sync.models import AppAuthorization

    with transaction.atomic():
        fresh = AppAuthorization.objects.select_for_update().filter(pk=pk).first()
        if fresh is not None:
            fresh.secrets = {**fresh.secrets, **changed}
            fresh.save(update_fields=["secrets_json"])
