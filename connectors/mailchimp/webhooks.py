"""Registering the list webhooks of Mailchimp connections.

Each connection reading a Mailchimp audience registers the audience's webhook at its
authorization's secret URL (``$PUBLIC_URL/hooks/mailchimp/<token>/``), for the events
subscribe, unsubscribe, profile, cleaned and upemail, from the sources user and admin
(not api, so our own writes do not echo). Polling goes on as well: a lost callback only
delays a change to the next scheduled run.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings

from connectors.base import ConnectorError
from connectors.mailchimp.connector import MailchimpConnector

if TYPE_CHECKING:
    from sync.models import AppAuthorization, Connection

logger = logging.getLogger(__name__)


def hook_url(authorization: AppAuthorization, base: str | None = None) -> str:
    """The secret callback URL of ``authorization``."""
    root = (base or settings.PUBLIC_URL).rstrip("/")
    return f"{root}/hooks/mailchimp/{authorization.webhook_token}/"


def register(connection: Connection, base: str | None = None) -> list[str]:
    """Register the webhook of each Mailchimp side of ``connection``; the audiences done.
    A refusal (Mailchimp could not reach the URL) is logged, not raised: polling covers."""
    from sync.vendors import open_connector

    done = []
    for side in ("a", "b"):
        authorization = connection.authorization(side)
        if authorization.vendor != "mailchimp":
            continue
        connector = open_connector(authorization, connection.scope(side))
        assert isinstance(connector, MailchimpConnector)
        try:
            connector.register_webhook(hook_url(authorization, base))
        except ConnectorError as exc:
            logger.warning(
                "Mailchimp webhook of connection %s not registered: %s", connection.pk, exc
            )
            continue
        done.append(connection.scope(side))
    return done
