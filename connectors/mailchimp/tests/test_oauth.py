"""The Mailchimp OAuth flow end to end: social-auth's Mailchimp backend → the sandbox's
authorize, token and metadata endpoints → an encrypted AppAuthorization that opens a
connector on the data centre the metadata named; a refusal stores nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from social_django.models import UserSocialAuth

from connectors.mailchimp.connector import MailchimpConnector
from connectors.sandbox.control import SandboxControl
from sync.models import Account, AppAuthorization, Health
from sync.vendors import open_connector

from .conftest import CLIENT_ID, CLIENT_SECRET


def connect(client: Client, account: Account) -> Any:
    """Start the connect as the apps page does, follow Mailchimp's redirect back."""
    session = client.session
    session["oauth_pending"] = {"account_id": account.pk, "vendor": "mailchimp", "next": ""}
    session.save()
    begun = client.post(reverse("social:begin", args=["mailchimp"]))
    assert begun.status_code == 302
    query = parse_qs(urlsplit(begun["Location"]).query)
    assert query["client_id"] == [CLIENT_ID] and query["response_type"] == ["code"]
    consent = requests.get(begun["Location"], allow_redirects=False, timeout=10)
    assert consent.status_code == 302, consent.text
    back = urlsplit(consent.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


def test_connect_stores_the_token_and_the_data_centre_of_the_metadata(
    mailchimp: SandboxControl, owner_client: Client, account: Account
) -> None:
    made = mailchimp.create_account("mailchimp", name="Shop", dc="us19")
    mailchimp.action(
        "mailchimp",
        "oauth_app",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        account=made["account_id"],
    )
    done = connect(owner_client, account)
    assert done.status_code == 302
    auth = AppAuthorization.objects.get(account=account, vendor="mailchimp")
    assert auth.settings["dc"] == "us19" and auth.health == Health.OK
    assert set(auth.secrets) == {"access_token"}  # tokens never expire: nothing to refresh
    assert not UserSocialAuth.objects.exists(), "tokens must not land in extra_data"
    page = owner_client.get(done["Location"])
    assert [str(m) for m in get_messages(page.wsgi_request)] == ["Mailchimp is connected for Shop."]
    connector = open_connector(auth, made["lists"][0]["id"])
    assert isinstance(connector, MailchimpConnector)
    connector.check()
    assert made["lists"][0]["id"] in {s.id for s in connector.scopes()}
    # Connecting again updates the same authorization.
    connect(owner_client, account)
    assert AppAuthorization.objects.filter(account=account, vendor="mailchimp").count() == 1


def test_a_refused_connect_stores_nothing(
    mailchimp: SandboxControl, owner_client: Client, account: Account
) -> None:
    made = mailchimp.create_account("mailchimp", name="Shop")
    mailchimp.action(
        "mailchimp",
        "oauth_app",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        account=made["account_id"],
        approve=False,
    )
    done = connect(owner_client, account)
    assert done.status_code == 302
    assert not AppAuthorization.objects.filter(vendor="mailchimp").exists()


def test_the_apps_page_offers_the_sign_in_and_it_ends_in_an_authorization(
    mailchimp: SandboxControl, owner_client: Client, account: Account
) -> None:
    made = mailchimp.create_account("mailchimp", name="Shop", dc="us21")
    mailchimp.action(
        "mailchimp",
        "oauth_app",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        account=made["account_id"],
    )
    connect_url = reverse("web:app_connect", args=["mailchimp"])
    page = owner_client.get(reverse("web:apps")).content.decode()
    assert f'href="{connect_url}?with=oauth"' in page and "Sign in with Mailchimp" in page
    assert "sign in with Mailchimp" in owner_client.get(connect_url).content.decode()
    offer = owner_client.get(f"{connect_url}?with=oauth")
    assert "Continue to Mailchimp" in offer.content.decode()
    handover = owner_client.post(f"{connect_url}?with=oauth")
    begin = reverse("social:begin", args=["mailchimp"])
    assert f'action="{begin}"' in handover.content.decode()
    begun = owner_client.post(begin)
    consent = requests.get(begun["Location"], allow_redirects=False, timeout=10)
    back = urlsplit(consent.headers["Location"])
    done = owner_client.get(f"{back.path}?{back.query}")
    assert done.status_code == 302
    auth = AppAuthorization.objects.get(account=account, vendor="mailchimp")
    assert auth.settings["dc"] == "us21" and set(auth.secrets) == {"access_token"}


def test_a_member_is_not_offered_the_sign_in(
    mailchimp: SandboxControl, member: Any, account: Account
) -> None:
    client = Client()
    client.force_login(member)
    assert "Sign in with Mailchimp" not in client.get(reverse("web:apps")).content.decode()
    assert client.post(
        reverse("web:app_connect", args=["mailchimp"]) + "?with=oauth"
    ).status_code in (403, 404)
    assert not AppAuthorization.objects.filter(account=account).exists()
