"""Registering the list webhooks of Mailchimp connections.

A connection reading a Mailchimp audience registers the audience's webhook when it
starts or resumes, and removes it when the last started connection reading the audience
through the same authorization is paused or deleted: the connector's ``on_start`` and
``on_stop`` hooks, called by sync/lifecycle.py. The webhook calls the authorization's
secret URL (``$PUBLIC_URL/hooks/mailchimp/<token>/``) for the events subscribe,
unsubscribe, profile, cleaned and upemail, from the sources user and admin (not api, so
our own writes do not echo). Polling goes on as well: a lost callback only delays a
change to the next scheduled run.

``register`` is for connections started before the hooks existed (``manage.py
mailchimp_webhooks``) and for a public URL other than PUBLIC_URL.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sync.models import Connection

logger = logging.getLogger(__name__)


def register(connection: Connection, base: str | None = None) -> list[str]:
    """Register the webhook of each Mailchimp side of ``connection`` (idempotent); the
    audiences done. A refusal (Mailchimp could not reach the URL) is logged, not raised:
    polling covers."""
    from sync.lifecycle import call_hook

    done = []
    for side in ("a", "b"):
        authorization = connection.authorization(side)
        if authorization.vendor != "mailchimp":
            continue
        if call_hook(authorization, connection.scope(side), "on_start", base) == "":
            done.append(connection.scope(side))
    return done
