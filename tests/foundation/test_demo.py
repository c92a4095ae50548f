"""``manage.py demo``: the ops superuser and the demo tenant, idempotent."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from sync.management.commands import demo
from sync.models import Account, AppAuthorization, Connection, Role, TeamUser

pytestmark = pytest.mark.django_db


def run_demo() -> str:
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def default_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DEMO_ADMIN_USER", "DEMO_ADMIN_PASSWORD", "DEMO_USER", "DEMO_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


def test_demo_prints_credentials_that_log_in_to_the_ops_console() -> None:
    output = run_demo()

    assert "superuser   admin / admin" in output
    assert Client().login(username="admin", password="admin")
    assert get_user_model().objects.get(username="admin").is_superuser


def test_demo_user_owns_the_demo_tenant() -> None:
    output = run_demo()

    membership = TeamUser.objects.get(user__username="demo")
    assert membership.account.slug == "demo"
    assert membership.role == Role.OWNER
    assert "user        demo / demo" in output
    assert not membership.user.is_staff


def test_running_demo_twice_creates_nothing_twice() -> None:
    run_demo()
    after_first = (AppAuthorization.objects.count(), Connection.objects.count())
    run_demo()

    assert (AppAuthorization.objects.count(), Connection.objects.count()) == after_first
    assert Account.objects.filter(slug="demo").count() == 1
    assert get_user_model().objects.count() == 2
    assert TeamUser.objects.count() == 1


def test_credentials_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_ADMIN_USER", "ops")
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "ops-pass-1")
    monkeypatch.setenv("DEMO_USER", "sales")
    monkeypatch.setenv("DEMO_PASSWORD", "sales-pass-1")

    output = run_demo()

    assert "ops / ops-pass-1" in output and "sales / sales-pass-1" in output
    assert Client().login(username="ops", password="ops-pass-1")
    assert Client().login(username="sales", password="sales-pass-1")


def test_a_rerun_with_a_new_password_makes_the_printed_one_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_demo()
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "changed-pass")

    run_demo()

    assert Client().login(username="admin", password="changed-pass")


def test_demo_asks_for_the_demo_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, Any]] = []
    monkeypatch.setattr(demo, "create_demo_connections", lambda a, u: calls.append((a, u)))

    run_demo()

    assert [(a.slug, u.username) for a, u in calls] == [("demo", "demo")]


def test_production_refuses_the_well_known_default_passwords(settings: Any) -> None:
    settings.PRODUCTION = True

    with pytest.raises(CommandError, match="set DEMO_ADMIN_PASSWORD and DEMO_PASSWORD"):
        run_demo()
    assert not get_user_model().objects.exists()
