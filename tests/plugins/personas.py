"""Fixtures: the three personas every access test uses (see tests/conftest.py).

- ``owner``: alice, owner of the account "Acme" (``account``)
- ``member``: bob, member of Acme
- ``outsider``: charlie, owner of the account "Globex" (``other_account``)

``owner_client``, ``member_client`` and ``outsider_client`` are Django test clients
logged in as each of them. Every persona's password is ``PERSONA_PASSWORD`` (browser
tests log in through the real login form with it).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from sync.models import Account, Role, TeamUser, Tier

PERSONA_PASSWORD = "correct-horse-battery-staple"


def make_user(django_user_model: Any, username: str, email: str) -> Any:
    """A user with the shared persona password."""
    return django_user_model.objects.create_user(
        username=username, email=email, password=PERSONA_PASSWORD
    )


def logged_in_client(user: Any) -> Client:
    """A test client with ``user``'s session (no password round trip)."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def account(db: None) -> Account:
    """Acme, the tenant of ``owner`` and ``member``; on the Team plan."""
    return Account.objects.create(name="Acme", slug="acme", tier=Tier.TEAM)


@pytest.fixture
def other_account(db: None) -> Account:
    """Globex, the tenant of ``outsider``."""
    return Account.objects.create(name="Globex", slug="globex", tier=Tier.TEAM)


@pytest.fixture
def owner(django_user_model: Any, account: Account) -> Any:
    """alice, owner of Acme."""
    user = make_user(django_user_model, "alice", "alice@acme.test")
    TeamUser.objects.create(account=account, user=user, role=Role.OWNER)
    return user


@pytest.fixture
def member(django_user_model: Any, account: Account) -> Any:
    """bob, a (watch-only) member of Acme."""
    user = make_user(django_user_model, "bob", "bob@acme.test")
    TeamUser.objects.create(account=account, user=user, role=Role.MEMBER)
    return user


@pytest.fixture
def outsider(django_user_model: Any, other_account: Account) -> Any:
    """charlie, owner of Globex: must never see anything of Acme."""
    user = make_user(django_user_model, "charlie", "charlie@globex.test")
    TeamUser.objects.create(account=other_account, user=user, role=Role.OWNER)
    return user


@pytest.fixture
def owner_client(owner: Any) -> Client:
    return logged_in_client(owner)


@pytest.fixture
def member_client(member: Any) -> Client:
    return logged_in_client(member)


@pytest.fixture
def outsider_client(outsider: Any) -> Client:
    return logged_in_client(outsider)
