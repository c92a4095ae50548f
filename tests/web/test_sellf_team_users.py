"""Per-team-user Sellf authorizations on the apps pages: the key once, then the user it
stands for (validated against Sellf's /users); one key serves several users."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from connectors.sandbox.control import SandboxControl
from sync.models import Account, AppAuthorization


@pytest.fixture
def team(sandbox: SandboxControl, settings: Any) -> dict[str, Any]:
    settings.SELLF_API_URL = sandbox.vendor_url("sellf", "/v2")
    return sandbox.create_account(
        "sellf",
        name="Rossi",
        users=[{"name": "Giulia Rossi"}, {"name": "Marco Bianchi"}],
    )


def connect(client: Client, api_key: str) -> Any:
    url = reverse("web:app_connect", args=["sellf"])
    return client.post(url, {"label": "Sellf", "api_key": api_key, "base_url": ""})


def test_the_connect_form_says_where_the_key_is(owner_client: Client) -> None:
    page = owner_client.get(reverse("web:app_connect", args=["sellf"])).content.decode()
    assert "Settings → API" in page


def test_after_the_key_the_owner_picks_the_sellf_user(
    owner_client: Client, team: dict[str, Any], account: Account
) -> None:
    answer = connect(owner_client, team["api_key"])
    auth = AppAuthorization.objects.get(account=account, vendor="sellf")
    assert answer.status_code == 302 and answer.url == reverse("web:app_team_user", args=[auth.pk])
    page = owner_client.get(answer.url).content.decode()
    assert "Giulia Rossi" in page and "Marco Bianchi" in page and "All team members" in page
    marco = str(team["users"][1]["id"])
    owner_client.post(answer.url, {"user_id": marco})
    auth.refresh_from_db()
    assert auth.settings["user_id"] == marco
    assert auth.label == "Sellf — Marco Bianchi"
    assert auth.secrets == {"api_key": team["api_key"]}


def test_a_user_not_in_the_team_is_refused(
    owner_client: Client, team: dict[str, Any], account: Account
) -> None:
    connect(owner_client, team["api_key"])
    auth = AppAuthorization.objects.get(account=account, vendor="sellf")
    answer = owner_client.post(reverse("web:app_team_user", args=[auth.pk]), {"user_id": "999"})
    assert answer.status_code == 400
    auth.refresh_from_db()
    assert "user_id" not in auth.settings


def test_one_key_serves_a_second_user_without_typing_it_again(
    owner_client: Client, team: dict[str, Any], account: Account
) -> None:
    giulia, marco = (str(u["id"]) for u in team["users"])
    connect(owner_client, team["api_key"])
    first = AppAuthorization.objects.get(account=account, vendor="sellf")
    url = reverse("web:app_team_user", args=[first.pk])
    owner_client.post(url, {"user_id": giulia})
    connect_page = owner_client.get(reverse("web:app_connect", args=["sellf"])).content.decode()
    assert f"{url}?new=1" in connect_page  # "skip this step and choose the user"
    owner_client.post(url, {"user_id": marco, "another": "1"})
    both = AppAuthorization.objects.filter(account=account, vendor="sellf").order_by("pk")
    assert [a.settings["user_id"] for a in both] == [giulia, marco]
    assert [a.secrets["api_key"] for a in both] == [team["api_key"]] * 2


def test_a_member_cannot_choose_and_an_outsider_cannot_see(
    owner_client: Client,
    member_client: Client,
    outsider_client: Client,
    team: dict[str, Any],
    account: Account,
) -> None:
    connect(owner_client, team["api_key"])
    auth = AppAuthorization.objects.get(account=account, vendor="sellf")
    url = reverse("web:app_team_user", args=[auth.pk])
    assert member_client.post(url, {"user_id": "all"}).status_code == 403
    assert outsider_client.get(url).status_code == 404
