"""``manage.py demo``: the ops superuser and a demo tenant for the embedded default.

Idempotent: a re-run finds what exists, resets the passwords to the configured ones (so
the credentials it prints always work) and creates nothing twice. Credentials come from
DEMO_ADMIN_USER / DEMO_ADMIN_PASSWORD / DEMO_USER / DEMO_PASSWORD.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from sync.models import Account, Role, TeamUser, Tier

logger = logging.getLogger(__name__)

DEMO_ACCOUNT_SLUG = "demo"
DEMO_ACCOUNT_NAME = "Demo Company"


def create_demo_connections(account: Account, user: Any) -> None:
    """Demo app authorizations and a demo connection for ``account``, talking to the
    vendor emulators at settings.SANDBOX_URL. Must stay idempotent.

    Two GetResponse sandbox accounts (shop and newsletter, 10 people in both) and an
    active two-way connection between their lists, due at once. Their API keys and list
    ids are fixed (connectors/getresponse/sandbox.py DEMO_ACCOUNTS) and the sandbox
    creates them when it starts, so it does not matter which of the two starts first.
    """
    from django.utils import timezone

    from connectors.getresponse.sandbox import DEMO_ACCOUNTS
    from sync.models import AppAuthorization, Connection, ConnectionState, DeletionMode, Rule

    sides = []
    for spec in DEMO_ACCOUNTS:
        authorization, _ = AppAuthorization.objects.get_or_create(
            account=account,
            vendor="getresponse",
            label=f"GetResponse sandbox: {spec['name']}",
            defaults={"owner": user},
        )
        authorization.secrets = {"api_key": spec["key"]}
        # The API host is the sandbox's through VENDOR_SANDBOXES (development only).
        authorization.settings.pop("base_url", None)
        authorization.save()
        sides.append((authorization, spec["campaign"]))
    (a_auth, a_scope), (b_auth, b_scope) = sides
    connection, created = Connection.objects.get_or_create(
        account=account,
        name="Demo: shop ↔ newsletter",
        defaults={
            "a_authorization": a_auth,
            "a_scope": a_scope,
            "b_authorization": b_auth,
            "b_scope": b_scope,
            "deletions_a_to_b": DeletionMode.TRASH_TAG,
            "deletions_b_to_a": DeletionMode.TRASH_TAG,
            "interval_minutes": max(5, account.limit("min_interval_minutes")),
            "state": ConnectionState.ACTIVE,
            "next_run_at": timezone.now(),
        },
    )
    if created:
        # A two-way connection starts with one filterless rule per direction.
        for direction, name in (("a_to_b", "Shop → newsletter"), ("b_to_a", "Newsletter → shop")):
            Rule.objects.create(connection=connection, direction=direction, name=name)
    logger.info("Demo connection %s ready (sandbox at %s)", connection, settings.SANDBOX_URL)


def ensure_user(username: str, password: str, email: str, *, superuser: bool) -> Any:
    """The user ``username``, created if missing, with ``password`` set either way."""
    user_model = get_user_model()
    user, _created = user_model.objects.get_or_create(username=username, defaults={"email": email})
    user.set_password(password)
    if superuser:
        user.is_staff = True
        user.is_superuser = True
    user.save()
    return user


class Command(BaseCommand):
    help = "Create the ops superuser and a demo tenant with a demo user (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        admin_user = os.environ.get("DEMO_ADMIN_USER", "admin")
        admin_password = os.environ.get("DEMO_ADMIN_PASSWORD", "")
        demo_user = os.environ.get("DEMO_USER", "demo")
        demo_password = os.environ.get("DEMO_PASSWORD", "")
        if settings.PRODUCTION and not (admin_password and demo_password):
            # The well-known defaults below must never guard a real deployment.
            raise CommandError(
                "In production set DEMO_ADMIN_PASSWORD and DEMO_PASSWORD (or do not run demo)."
            )
        admin_password = admin_password or "admin"
        demo_password = demo_password or "demo"
        if admin_user == demo_user:
            raise CommandError("DEMO_ADMIN_USER and DEMO_USER must differ.")

        with transaction.atomic():
            ensure_user(admin_user, admin_password, "admin@example.com", superuser=True)
            user = ensure_user(demo_user, demo_password, "demo@example.com", superuser=False)
            account, _ = Account.objects.get_or_create(
                slug=DEMO_ACCOUNT_SLUG,
                defaults={
                    "name": DEMO_ACCOUNT_NAME,
                    "tier": Tier.BUSINESS,
                },  # every app of the catalogue to try
            )
            TeamUser.objects.update_or_create(
                account=account, user=user, defaults={"role": Role.OWNER}
            )
            create_demo_connections(account, user)

        base = settings.PUBLIC_URL.rstrip("/")
        self.stdout.write(
            f"Ops console   {base}/admin/\n"
            f"  superuser   {admin_user} / {admin_password}\n"
            f"Demo tenant   {base}/  ({account.name})\n"
            f"  user        {demo_user} / {demo_password}\n"
        )
