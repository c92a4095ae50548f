"""The Google emulator's OAuth endpoints over HTTP, where the flow tests do not reach:
codes are single-use and bound to their redirect URI, clients must authenticate, and a
refresh answer carries no new refresh token."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from connectors.sandbox.control import SandboxControl

from .conftest import CLIENT_ID, CLIENT_SECRET, make_google_account

REDIRECT = "http://testserver/oauth/complete/google/"


def consent(google: SandboxControl, **extra: str) -> dict[str, list[str]]:
    """The query Google's consent screen redirects back with."""
    query = {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "openid email https://www.googleapis.com/auth/carddav",
        "access_type": "offline",
        "state": "s-1",
        **extra,
    }
    url = google.vendor_url("google", "/o/oauth2/v2/auth?" + urlencode(query))
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    return parse_qs(urlsplit(answer.headers["Location"]).query)


def token(google: SandboxControl, **form: str) -> requests.Response:
    body = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **form}
    return requests.post(google.vendor_url("google", "/token"), data=body, timeout=10)


def exchange(google: SandboxControl, code: str, **extra: str) -> requests.Response:
    return token(google, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, **extra)


def test_a_code_is_exchanged_once(google: SandboxControl) -> None:
    make_google_account(google)
    code = consent(google)["code"][0]
    first = exchange(google, code)
    assert first.status_code == 200
    assert {"access_token", "refresh_token", "expires_in", "scope"} <= set(first.json())
    assert exchange(google, code).json()["error"] == "invalid_grant"


def test_a_code_is_bound_to_its_redirect_uri(google: SandboxControl) -> None:
    make_google_account(google)
    code = consent(google)["code"][0]
    answer = token(google, grant_type="authorization_code", code=code, redirect_uri="http://x/")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_a_wrong_client_secret_is_invalid_client(google: SandboxControl) -> None:
    make_google_account(google)
    code = consent(google)["code"][0]
    answer = exchange(google, code, client_secret="guessed")
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_a_second_grant_without_prompt_consent_gets_no_refresh_token(
    google: SandboxControl,
) -> None:
    make_google_account(google)
    exchange(google, consent(google)["code"][0])
    again: dict[str, Any] = exchange(google, consent(google)["code"][0]).json()
    assert "access_token" in again and "refresh_token" not in again
    forced = exchange(google, consent(google, prompt="consent")["code"][0]).json()
    assert "refresh_token" in forced


def test_a_refresh_gives_a_new_access_token_only(google: SandboxControl) -> None:
    make_google_account(google)
    granted = exchange(google, consent(google)["code"][0]).json()
    refreshed = token(google, grant_type="refresh_token", refresh_token=granted["refresh_token"])
    assert refreshed.status_code == 200
    assert refreshed.json()["access_token"] != granted["access_token"]
    assert "refresh_token" not in refreshed.json()
    google.action("google", "revoke", account="ann@gmail.com")
    revoked = token(google, grant_type="refresh_token", refresh_token=granted["refresh_token"])
    assert revoked.status_code == 400 and revoked.json()["error"] == "invalid_grant"
