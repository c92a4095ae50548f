"""The Google preset: its address-book URL, and OAuth bearer tokens refreshed once on 401.

Google's CardDAV takes only OAuth bearer tokens. To test that over real HTTP, a small
loopback gateway (gateway.py) plays Google's part: it serves a token endpoint and passes
CardDAV requests that carry the current access token on to Radicale.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from connectors.base import AuthError, Change, Credentials
from connectors.carddav.client import BearerAuth
from connectors.carddav.connector import CardDavConnector
from connectors.http import Http

from .gateway import Gateway


def google_connector(
    gateway: Gateway, addressbook: str, secrets: dict[str, str], settings: Any
) -> CardDavConnector:
    """The preset at the gateway; the token URL comes from the Django setting only."""
    settings.GOOGLE_TOKEN_URL = f"{gateway.url}/token"
    options = {"preset": "google", "email": "alice@example.com", "url": f"{gateway.url}/"}
    return CardDavConnector(
        Credentials(secrets=secrets, settings=options),
        urlsplit(addressbook).path,
        Http(retries=1, backoff=0.01),
    )


def test_google_preset_points_at_the_users_default_address_book() -> None:
    connector = CardDavConnector(
        Credentials(secrets={}, settings={"preset": "google", "email": "ann@gmail.com"}), "", Http()
    )
    assert connector.collection == (
        "https://www.googleapis.com/carddav/v1/principals/ann@gmail.com/lists/default/"
    )
    assert connector.vcard_version == "3.0"


def test_expired_access_token_is_refreshed_once_and_the_call_repeated(
    gateway: Gateway, addressbook: str, settings: Any
) -> None:
    secrets = {"access_token": "expired", "refresh_token": "refresh-1"}
    connector = google_connector(gateway, addressbook, secrets, settings)
    (result,) = connector.push([Change("create", "g-1", fields={"full_name": "Gina"})])
    assert result.error is None
    assert len(gateway.token_calls) == 1
    assert gateway.token_calls[0]["grant_type"] == ["refresh_token"]
    assert secrets["access_token"] == "fresh-token"  # handed back for the caller to store
    records = [r for page in connector.fetch(None) for r in page.records]
    assert [r.fields["full_name"] for r in records] == ["Gina"]
    assert len(gateway.token_calls) == 1


def test_refused_refresh_token_raises_auth_error(
    gateway: Gateway, addressbook: str, settings: Any
) -> None:
    connector = google_connector(
        gateway, addressbook, {"access_token": "expired", "refresh_token": "revoked"}, settings
    )
    with pytest.raises(AuthError):
        connector.check()
    assert len(gateway.token_calls) == 1


def test_the_token_url_comes_from_the_django_setting_never_the_authorization() -> None:
    # The refresh carries this server's client secret: only the server decides where to.
    options = {"preset": "google", "email": "ann@gmail.com", "token_url": "https://x.test/t"}
    connector = CardDavConnector(Credentials(secrets={}, settings=options), "", Http())
    assert isinstance(connector.client.auth, BearerAuth)
    assert connector.client.auth.token_url == "https://oauth2.googleapis.com/token"


def test_a_token_expiring_under_read_ahead_multigets_is_refreshed_once(
    gateway: Gateway, addressbook: str, settings: Any
) -> None:
    """Two multigets in flight answered 401 at once: one thread refreshes the token, the
    other repeats its call with the new one; the run does not fail."""
    gateway.access_token = "old-token"
    secrets = {"access_token": "old-token", "refresh_token": "refresh-1"}
    connector = google_connector(gateway, addressbook, secrets, settings)
    changes = [Change("create", f"g-{i}", fields={"full_name": f"G {i}"}) for i in range(12)]
    assert all(r.error is None for r in connector.push(changes))
    connector.page_size = 4
    listing = connector.client.etags

    def etags_then_expire(collection: str) -> dict[str, str]:
        found = listing(collection)
        gateway.access_token = "new-token"  # the old one expires after the listing
        return found

    connector.client.etags = etags_then_expire  # type: ignore[method-assign]
    records = [r for page in connector.fetch(None) for r in page.records]
    assert sorted(r.fields["full_name"] for r in records) == sorted(f"G {i}" for i in range(12))
    assert len(gateway.token_calls) == 1
    assert secrets["access_token"] == "new-token"
