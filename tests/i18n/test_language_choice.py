"""How the language is chosen: the browser's Accept-Language, the header's switcher
(remembered on the user, across sign-out and sign-in), and English on the REST API
whatever the request says."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from sync.models import Account, ApiToken, UserPreference
from tests.plugins.personas import PERSONA_PASSWORD


def sign_in(client: Client, user: Any) -> None:
    response = client.post(
        reverse("login"), {"username": user.get_username(), "password": PERSONA_PASSWORD}
    )
    assert response.status_code == 302, response.content.decode()


def test_the_browser_language_chooses_the_pages_language(client: Client) -> None:
    italian = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="it-IT,it;q=0.9,en;q=0.5")
    assert italian.headers["Content-Language"] == "it"
    assert 'lang="it"' in italian.content.decode()
    assert "Password dimenticata?" in italian.content.decode()
    polish = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="pl")
    assert "Nie pamiętasz hasła?" in polish.content.decode()
    other = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="de")
    assert "Forgot your password?" in other.content.decode()


def test_the_header_offers_every_language_in_its_own_name(client: Client) -> None:
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="pl").content.decode()
    assert f'action="{reverse("set_language")}"' in page
    for code, name in (("en", "English"), ("it", "Italiano"), ("pl", "Polski")):
        assert f'value="{code}" lang="{code}"' in page and f">{name}</button>" in page
    assert 'value="pl" lang="pl" class="link" aria-current="true" disabled' in page


def test_choosing_polski_switches_the_page_and_is_remembered_after_signing_in_again(
    owner: Any, account: Account
) -> None:
    browser = Client(enforce_csrf_checks=True)
    sign_in_page = browser.get(reverse("login"))
    csrf = sign_in_page.cookies["csrftoken"].value
    browser.post(
        reverse("login"),
        {
            "username": owner.get_username(),
            "password": PERSONA_PASSWORD,
            "csrfmiddlewaretoken": csrf,
        },
    )
    team = reverse("web:team")
    assert "Team of Acme" in browser.get(team).content.decode()
    csrf = browser.cookies["csrftoken"].value
    chosen = browser.post(
        reverse("set_language"), {"language": "pl", "next": team, "csrfmiddlewaretoken": csrf}
    )
    assert chosen.status_code == 302 and chosen["Location"] == team  # keeps the page
    assert "Zespół Acme" in browser.get(team).content.decode()
    assert UserPreference.objects.get(user=owner).language == "pl"

    browser.post(reverse("logout"), {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value})
    # Another browser, which asks for English and has no language cookie.
    elsewhere = Client()
    sign_in(elsewhere, owner)
    page = elsewhere.get(team, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Zespół Acme" in page and 'lang="pl"' in page
    assert elsewhere.cookies[settings.LANGUAGE_COOKIE_NAME].value == "pl"


def test_the_switcher_needs_the_csrf_token(owner: Any) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    assert browser.post(reverse("set_language"), {"language": "pl"}).status_code == 403
    assert not UserPreference.objects.filter(user=owner).exists()


def test_a_language_not_offered_is_not_remembered(owner_client: Client, owner: Any) -> None:
    owner_client.post(reverse("set_language"), {"language": "de", "next": "/"})
    assert not UserPreference.objects.filter(user=owner).exists()


def test_the_remembered_language_wins_over_the_browser_and_the_cookie(
    owner_client: Client, owner: Any, account: Account
) -> None:
    UserPreference.objects.create(user=owner, language="it")
    owner_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "pl"
    page = owner_client.get(reverse("web:team"), HTTP_ACCEPT_LANGUAGE="pl").content.decode()
    assert "Team di Acme" in page


def test_the_api_answers_in_english_whatever_the_request_asks(owner: Any, account: Account) -> None:
    UserPreference.objects.create(user=owner, language="pl")
    api = APIClient()
    refused = api.get("/api/v1/connections/", HTTP_ACCEPT_LANGUAGE="it")
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Authentication credentials were not provided."}
    assert refused.headers["Content-Language"] == "en"
    _token, raw = ApiToken.issue(owner, account, "ci")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    api.cookies[settings.LANGUAGE_COOKIE_NAME] = "it"
    invalid = api.post("/api/v1/connections/", {}, format="json", HTTP_ACCEPT_LANGUAGE="it")
    assert invalid.status_code == 400
    messages = [m for errors in invalid.json().values() for m in errors]
    assert "This field is required." in messages, invalid.json()
