"""``manage.py mailchimp_webhooks``: register the list webhook of every active
connection with a Mailchimp side (idempotent: an existing webhook is kept)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db.models import Q

from connectors.mailchimp.webhooks import register


class Command(BaseCommand):
    help = "Register the Mailchimp list webhooks of active connections."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--base-url", default=None, help="public URL (default PUBLIC_URL)")

    def handle(self, *args: Any, base_url: str | None = None, **options: Any) -> None:
        from sync.models import Connection, ConnectionState

        connections = Connection.objects.filter(state=ConnectionState.ACTIVE).filter(
            Q(a_authorization__vendor="mailchimp") | Q(b_authorization__vendor="mailchimp")
        )
        for connection in connections:
            done = register(connection, base_url)
            self.stdout.write(f"connection {connection.pk}: webhooks for {done or 'none'}")
