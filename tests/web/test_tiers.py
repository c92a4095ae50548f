"""Plan gates (sync/tiers.py): ForceManager is offered on the Business plan only. The
catalogue greys it with the plan that has it; the connect page, the wizard, the API and
the ops console refuse it in the same words; entities beyond contacts need Business."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sync import tiers
from sync.models import Account, AppAuthorization, Connection
from tests.api.conftest import token_client
from tests.core.test_capabilities import admin_form_data

WORDS = "ForceManager needs the Business plan; your plan is Team."


@pytest.fixture
def forcemanager(account: Account) -> AppAuthorization:
    """A ForceManager authorization made before the plan changed (or by ops)."""
    auth = AppAuthorization(account=account, vendor="forcemanager", label="Field")
    auth.secrets = {"public_key": "p", "private_key": "k"}
    auth.save()
    return auth


def catalogue_card(page: str, label: str) -> str:
    start = page.index(f"<h3>{label}</h3>")
    return page[page.rindex("<li", 0, start) : page.index("</li>", start)]


def test_the_catalogue_greys_forcemanager_with_the_plan_that_has_it(
    owner_client: Client, account: Account
) -> None:
    card = catalogue_card(owner_client.get(reverse("web:apps")).content.decode(), "ForceManager")
    assert "unavailable" in card and "ForceManager needs the Business plan." in card
    assert reverse("web:app_connect", args=["forcemanager"]) not in card
    account.tier = "business"
    account.save()
    card = catalogue_card(owner_client.get(reverse("web:apps")).content.decode(), "ForceManager")
    assert "unavailable" not in card
    assert reverse("web:app_connect", args=["forcemanager"]) in card


def test_the_connect_page_refuses_an_app_outside_the_plan(owner_client: Client) -> None:
    url = reverse("web:app_connect", args=["forcemanager"])
    answer = owner_client.post(url, {"label": "Field", "public_key": "p", "private_key": "k"})
    assert answer["Location"] == reverse("web:apps")
    assert not AppAuthorization.objects.filter(vendor="forcemanager").exists()
    page = owner_client.get(reverse("web:apps")).content.decode()
    assert WORDS in page


def test_the_wizard_refuses_a_connection_with_an_app_outside_the_plan(
    owner_client: Client, auth_a: AppAuthorization, forcemanager: AppAuthorization
) -> None:
    answer = owner_client.post(
        reverse("web:connection_new"),
        {"name": "x", "a_authorization": auth_a.pk, "b_authorization": forcemanager.pk},
    )
    assert answer.status_code == 400
    assert WORDS in answer.content.decode()
    assert not Connection.objects.filter(name="x").exists()


def test_the_api_refuses_an_app_and_a_connection_outside_the_plan(
    owner: Any, account: Account, auth_a: AppAuthorization, forcemanager: AppAuthorization
) -> None:
    api = token_client(owner, account)
    made = api.post(
        "/api/v1/authorizations/",
        {"vendor": "forcemanager", "label": "Field", "secrets": {"public_key": "p"}},
        format="json",
    )
    assert made.status_code == 400 and made.json()["vendor"] == [WORDS]
    answer = api.post(
        "/api/v1/connections/",
        {"name": "x", "a_authorization": auth_a.pk, "b_authorization": forcemanager.pk},
        format="json",
    )
    assert answer.status_code == 400 and answer.json()["b_authorization"] == [WORDS]
    assert not Connection.objects.filter(name="x").exists()


def test_the_ops_console_refuses_a_connection_outside_the_plan(
    admin_client: Client, account: Account, auth_a: AppAuthorization, forcemanager: Any
) -> None:
    url = reverse("admin:sync_connection_add")
    data = admin_form_data(admin_client.get(url)) | {
        "account": account.pk,
        "name": "x",
        "a_authorization": auth_a.pk,
        "b_authorization": forcemanager.pk,
    }
    answer = admin_client.post(url, data)
    assert WORDS in answer.content.decode()
    assert not Connection.objects.filter(name="x").exists()


def test_entities_beyond_contacts_need_the_business_plan(account: Account) -> None:
    tiers.check_entities(account, ["contact"])
    with pytest.raises(tiers.NotInPlan, match="Syncing opportunities needs the Business plan"):
        tiers.check_entities(account, ["contact", "opportunity"])
    account.tier = "business"
    tiers.check_entities(account, ["company", "contact", "opportunity", "task"])
