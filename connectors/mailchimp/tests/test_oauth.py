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
