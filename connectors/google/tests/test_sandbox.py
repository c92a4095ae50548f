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


# --- Google's CardDAV host (the emulator's, in front of Radicale).

PROPFIND = (
    '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:current-user-principal/>'
    "</D:prop></D:propfind>"
)


def carddav(google: SandboxControl, access_token: str, path: str = "/") -> requests.Response:
    return requests.request(
        "PROPFIND",
        google.vendor_url("google", "/carddav" + path),
        data=PROPFIND,
        headers={"Authorization": f"Bearer {access_token}", "Depth": "0"},
        timeout=10,
    )


def access_token(google: SandboxControl, scope: str = "") -> str:
    extra = {"scope": scope} if scope else {}
    answer = exchange(google, consent(google, **extra)["code"][0])
    return str(answer.json()["access_token"])


def test_the_carddav_host_passes_a_contacts_token_on_to_radicale_under_its_mount(
    google: SandboxControl, google_carddav: Any, radicale: Any
) -> None:
    make_google_account(google)
    answer = carddav(google, access_token(google))
    assert answer.status_code == 207, answer.text
    # Radicale's principal of its user, as an href on Google's host (not Radicale's).
    assert f"<href>/google/carddav/{radicale.username}/</href>" in answer.text
    assert google.requests("google")["endpoints"]["PROPFIND /carddav/*"] == 1


def test_the_carddav_host_refuses_tokens_it_did_not_issue_for_the_contacts(
    google: SandboxControl, google_carddav: Any
) -> None:
    make_google_account(google)
    without_contacts = access_token(google, scope="openid email")
    for token_value in ("ya29.forged", without_contacts, ""):
        answer = carddav(google, token_value)
        assert answer.status_code == 401, token_value
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    expired = access_token(google)
    assert carddav(google, expired).status_code == 207
    google.action("google", "expire_tokens", account="ann@gmail.com")
    assert carddav(google, expired).status_code == 401


def test_the_carddav_host_without_a_book_behind_it_says_so(
    google: SandboxControl, sandbox_server: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(sandbox_server.mounts["google"].emulator, "carddav_upstream", None)
    make_google_account(google)
    answer = carddav(google, access_token(google))
    assert answer.status_code == 503 and "make run" in answer.json()["error_description"]
