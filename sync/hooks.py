"""Webhook receivers: ``/hooks/<vendor>/<token>/``.

The token is the secret part of one AppAuthorization's webhook URL. The vendor's
connector verifies the call (``parse_webhook``: signature or shared secret) and says which
scopes changed; the active connections reading those scopes through this authorization
are queued for a run at once. Vendors give us seconds to answer (GetResponse: 5 s), so
nothing here calls the vendor: the run does the reading, in the worker.

A burst of callbacks (an import fires one per contact) queues one run per connection per
``WEBHOOK_DEBOUNCE_SECONDS``; the callbacks swallowed by the debounce pull the
connection's ``next_run_at`` forward to the end of the window instead, so a change made
while the queued run was already reading is picked up by the scheduler right after.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from connectors.base import AuthError, ConnectorError
from connectors.registry import VENDORS, connector_class
from sync import tasks
from sync.models import AppAuthorization, Connection, ConnectionState, Trigger
from sync.vendors import open_connector

logger = logging.getLogger(__name__)

# GetResponse retries unless the body is exactly this JSON (apis/ section 2.6).
OK_BODY = {"status": "OK"}


def _not_found() -> HttpResponse:
    # The same answer for an unknown vendor and an unknown token: reveals nothing.
    return JsonResponse({"status": "unknown webhook"}, status=404)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def receive(request: HttpRequest, vendor: str, token: str) -> HttpResponse:
    """Verify a vendor callback and queue the affected connections.

    GET goes to the connector too: GetResponse's legacy callbacks are GETs, and Mailchimp
    checks a webhook URL with a GET when it is registered (apis/ sections 2.6 and 3.5),
    to which the connector answers "no scopes". 404 for an unknown vendor or token, 403
    for a call the connector rejects; neither queues anything."""
    if vendor not in VENDORS or not connector_class(vendor).capabilities.webhooks:
        return _not_found()
    authorization = (
        AppAuthorization.objects.filter(vendor=vendor, webhook_token=token)
        .select_related("account")
        .first()
    )
    if authorization is None:
        return _not_found()
    try:
        with open_connector(authorization) as connector:
            scopes = connector.parse_webhook(request)
    except AuthError:
        logger.warning(
            "Rejected a forged %s webhook for authorization %s", vendor, authorization.pk
        )
        return JsonResponse({"status": "forbidden"}, status=403)
    except ConnectorError as exc:
        # A payload we cannot read; 400 so that the vendor does not retry it forever.
        logger.warning("Unreadable %s webhook for %s: %s", vendor, authorization.pk, exc)
        return JsonResponse({"status": "bad request"}, status=400)
    queued = queue_affected(authorization, scopes)
    logger.info(
        "%s webhook for authorization %s: scopes %s, %d run(s) queued",
        vendor,
        authorization.pk,
        scopes,
        queued,
    )
    return JsonResponse(OK_BODY)


def affected_connections(authorization: AppAuthorization, scopes: list[str]) -> list[Connection]:
    """Active connections that read one of ``scopes`` through ``authorization``."""
    if not scopes:
        return []
    return list(
        Connection.objects.filter(state=ConnectionState.ACTIVE).filter(
            Q(a_authorization=authorization, a_scope__in=scopes)
            | Q(b_authorization=authorization, b_scope__in=scopes)
        )
    )


def queue_affected(authorization: AppAuthorization, scopes: list[str]) -> int:
    """Queue a webhook run of each affected connection, debounced; how many were queued."""
    window = settings.WEBHOOK_DEBOUNCE_SECONDS
    queued = 0
    for connection in affected_connections(authorization, scopes):
        # cache.add is atomic (SET NX on Redis): of simultaneous callbacks one wins.
        if cache.add(f"webhook-debounce:{connection.pk}", 1, timeout=window):
            tasks.enqueue_run(connection, Trigger.WEBHOOK)
            queued += 1
        else:
            soon = timezone.now() + timedelta(seconds=window)
            Connection.objects.filter(
                Q(next_run_at__isnull=True) | Q(next_run_at__gt=soon),
                pk=connection.pk,
                state=ConnectionState.ACTIVE,
            ).update(next_run_at=soon)
    return queued
