"""The Google OAuth flow end to end: the apps page → social-auth → the sandbox's consent
screen and token endpoint → an encrypted AppAuthorization of the session's account; and
every way it stops (refused, scopes unticked, no refresh token, a foreign account)
showing a message and storing nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.messages import get_messages
from django.db import connection as db
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from social_django.models import UserSocialAuth

from connectors.carddav.connector import PRESETS
from connectors.google.connector import GoogleContactsConnector
from connectors.sandbox.control import SandboxControl
from sync.models import Account, AppAuthorization, Health, Role, TeamUser
from sync.vendors import open_connector
from sync.web.tenant import SESSION_KEY

from .conftest import CARDDAV_SCOPE, CLIENT_ID, GoogleCardDav, make_google_account


@pytest.fixture(autouse=True)
def reachable_address_book(google_carddav: GoogleCardDav, addressbook: str) -> None:
    """A connect checks the address book (connectors/oauth_common.py): Google's CardDAV
    host is the sandbox's, in front of Radicale, holding one book."""


def begin(client: Client) -> str:
    """Press "Connect Google Contacts"; the URL of Google's consent screen."""
    start = client.post(reverse("web:app_connect", args=["google"]))
    assert start.status_code == 200
    begin_url = reverse("social:begin", args=["google"])
    page = start.content.decode()
    assert f'action="{begin_url}"' in page and 'method="post"' in page
    begun = client.post(begin_url)
    assert begun.status_code == 302
    return str(begun["Location"])


def authorize(client: Client) -> HttpResponse:
    """Begin, let the sandbox's consent screen answer, come back to the callback."""
    consent = requests.get(begin(client), allow_redirects=False, timeout=10)
    assert consent.status_code == 302, consent.text
    back = urlsplit(consent.headers["Location"])
    response: HttpResponse = client.get(f"{back.path}?{back.query}")
    return response


def said(client: Client, response: HttpResponse) -> list[str]:
    """The messages the page the callback redirects to shows."""
    page = client.get(response["Location"])
    return [str(m) for m in get_messages(page.wsgi_request)] or [page.content.decode()]


def stored_secrets_text(auth: AppAuthorization) -> str:
    with db.cursor() as cursor:
        cursor.execute("SELECT secrets_json FROM sync_appauthorization WHERE id = %s", [auth.pk])
        return str(cursor.fetchone()[0])


def test_the_consent_screen_asks_for_contacts_and_offline_access(
    google: SandboxControl, owner_client: Client
) -> None:
    make_google_account(google)
    query = parse_qs(urlsplit(begin(owner_client)).query)
    assert query["client_id"] == [CLIENT_ID]
    assert set(query["scope"][0].split()) == {"openid", "email", CARDDAV_SCOPE}
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    assert query["state"][0] and "redirect_state" not in query["redirect_uri"][0]


def test_connect_stores_the_tokens_encrypted_on_the_account(
    google: SandboxControl, owner_client: Client, account: Account
) -> None:
    make_google_account(google, "ann@gmail.com")
    done = authorize(owner_client)
    assert done.status_code == 302 and done["Location"] == reverse("web:apps")
    auth = AppAuthorization.objects.get(account=account, vendor="google")
    assert auth.settings == {"email": "ann@gmail.com"}
    assert auth.label == "Google Contacts (ann@gmail.com)"
    assert auth.health == Health.OK
    assert auth.secrets["access_token"].startswith("ya29.")
    assert auth.secrets["refresh_token"] and auth.secrets["expires_at"] > 0
    raw = stored_secrets_text(auth)
    assert auth.secrets["access_token"] not in raw and auth.secrets["refresh_token"] not in raw
    assert not UserSocialAuth.objects.exists(), "tokens must not land in extra_data"
    assert said(owner_client, done) == ["Google Contacts is connected for ann@gmail.com."]
    assert "oauth_pending" not in owner_client.session


def test_the_authorization_opens_the_google_connector_on_the_accounts_address_book(
    google: SandboxControl, owner_client: Client, account: Account, settings: Any
) -> None:
    make_google_account(google, "ann@gmail.com")
    authorize(owner_client)
    # Google's own host, as in production (the connect itself reached the sandbox's book).
    settings.GOOGLE_CARDDAV_URL = PRESETS["google"].url
    connector = open_connector(AppAuthorization.objects.get(account=account, vendor="google"))
    assert isinstance(connector, GoogleContactsConnector)
    assert connector.collection == (
        "https://www.googleapis.com/carddav/v1/principals/ann@gmail.com/lists/default/"
    )


def test_authorizing_again_updates_the_same_authorization(
    google: SandboxControl, owner_client: Client, account: Account
) -> None:
    make_google_account(google)
    authorize(owner_client)
    first = AppAuthorization.objects.get(account=account, vendor="google").secrets
    done = authorize(owner_client)
    [auth] = AppAuthorization.objects.filter(account=account, vendor="google")
    assert auth.secrets["refresh_token"] != first["refresh_token"]
    assert said(owner_client, done) == ["Google Contacts is re-authorized for ann@gmail.com."]


def test_another_google_account_is_a_second_authorization(
    google: SandboxControl, owner_client: Client, account: Account
) -> None:
    make_google_account(google, "ann@gmail.com")
    authorize(owner_client)
    make_google_account(google, "ann.work@example.com")  # now signed in in the browser
    authorize(owner_client)
    emails = AppAuthorization.objects.filter(account=account).values_list("settings", flat=True)
    assert sorted(s["email"] for s in emails) == ["ann.work@example.com", "ann@gmail.com"]


def test_refusing_at_google_shows_a_message_and_stores_nothing(
    google: SandboxControl, owner_client: Client
) -> None:
    make_google_account(google)
    google.action("google", "consent", approve=False)
    done = authorize(owner_client)
    assert done.status_code == 302 and done["Location"] == reverse("web:apps")
    assert said(owner_client, done) == [
        "Google Contacts was not connected: access was not allowed at Google."
    ]
    assert not AppAuthorization.objects.exists()
    assert "oauth_pending" not in owner_client.session


def test_unticking_the_contacts_scope_is_refused(
    google: SandboxControl, owner_client: Client
) -> None:
    make_google_account(google)
    google.action("google", "consent", scopes=["openid", "email"])
    done = authorize(owner_client)
    assert "access to the contacts was not allowed" in said(owner_client, done)[0]
    assert not AppAuthorization.objects.exists()


def test_a_new_grant_without_a_refresh_token_is_refused_with_a_clear_message(
    google: SandboxControl, owner_client: Client
) -> None:
    make_google_account(google)
    google.action("google", "consent", refresh_token=False)
    done = authorize(owner_client)
    [message] = said(owner_client, done)
    assert "no refresh token" in message and "allow offline access" in message
    assert not AppAuthorization.objects.exists()


def test_re_authorizing_without_a_new_refresh_token_keeps_the_one_held(
    google: SandboxControl, owner_client: Client, account: Account
) -> None:
    make_google_account(google)
    authorize(owner_client)
    held = AppAuthorization.objects.get(account=account).secrets["refresh_token"]
    google.action("google", "consent", refresh_token=False)
    authorize(owner_client)
    [auth] = AppAuthorization.objects.filter(account=account)
    assert auth.secrets["refresh_token"] == held


def test_the_authorization_lands_in_the_sessions_current_account_only(
    google: SandboxControl, owner: Any, account: Account, other_account: Account
) -> None:
    TeamUser.objects.create(account=other_account, user=owner, role=Role.OWNER)
    client = Client()
    client.force_login(owner)
    session = client.session
    session[SESSION_KEY] = other_account.pk
    session.save()
    make_google_account(google)
    authorize(client)
    assert AppAuthorization.objects.get(vendor="google").account == other_account
    assert not AppAuthorization.objects.filter(account=account).exists()


def test_a_pending_connect_for_an_account_the_user_does_not_manage_stores_nothing(
    google: SandboxControl, owner_client: Client, other_account: Account
) -> None:
    make_google_account(google)
    consent_url = begin(owner_client)
    session = owner_client.session  # tampered with, or the role was lost meanwhile
    session["oauth_pending"] = {**session["oauth_pending"], "account_id": other_account.pk}
    session.save()
    consent = requests.get(consent_url, allow_redirects=False, timeout=10)
    back = urlsplit(consent.headers["Location"])
    done = owner_client.get(f"{back.path}?{back.query}")
    assert done.status_code == 302
    [message] = said(owner_client, done)
    assert message.startswith("Google Contacts was not connected: only an owner or admin")
    assert not AppAuthorization.objects.exists()


def test_a_member_cannot_start_the_connect(google: SandboxControl, member: Any) -> None:
    client = Client()
    client.force_login(member)
    response = client.post(reverse("web:app_connect", args=["google"]))
    assert response.status_code == 403
    assert not AppAuthorization.objects.exists()


def test_a_connect_whose_address_book_cannot_be_reached_is_refused_with_the_reason(
    google: SandboxControl, owner_client: Client, account: Account, settings: Any
) -> None:
    # Issue 21: the connect reaches the address book before it counts as OK, and says on
    # the apps page what went wrong, rather than "This app offers no lists" later.
    settings.GOOGLE_CARDDAV_URL = "http://127.0.0.1:9/"  # nothing listens there
    make_google_account(google, "ann@gmail.com")
    done = authorize(owner_client)
    assert not AppAuthorization.objects.filter(account=account, vendor="google").exists()
    [message] = said(owner_client, done)
    assert message.startswith("Google Contacts was not connected: ")
    assert "127.0.0.1:9" in message
