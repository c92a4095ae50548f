"""Google Contacts: the CardDAV connector on Google's preset, authorized through OAuth.

Everything CardDAV is inherited (sync-collection reads, conditional writes, re-merge on
412). What differs is where it points and how it signs in: the address book is the
signed-in account's default list on Google's CardDAV host, and the credentials are OAuth
tokens from connectors/google/oauth.py, refreshed once on a 401.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from connectors.base import ConnectorError, Credentials
from connectors.carddav.connector import CardDavConnector
from connectors.http import Http


class GoogleContactsConnector(CardDavConnector):
    """A Google account's contacts over CardDAV (vCard 3.0).

    Settings: ``email`` (the Google account, set by the OAuth flow); secrets:
    ``access_token``, ``refresh_token`` and ``expires_at``. Nothing else of the
    authorization is read: the address-book URL and the token endpoint come from the
    server's settings (``GOOGLE_CARDDAV_URL``, ``GOOGLE_TOKEN_URL``), so neither the bearer
    token nor the OAuth client's secret can be sent to another host.
    """

    vendor = "google"
    label = _("Google Contacts")
    description = _("The contacts of a Google account, signed in with Google (CardDAV).")
    auth_kind = "oauth"
    auth_fields = ()

    def __init__(self, credentials: Credentials, scope: str, http: Http) -> None:
        email = str(credentials.settings.get("email") or "")
        if not email:
            raise ConnectorError(
                "the Google account is unknown; authorize Google Contacts again", permanent=True
            )
        # The same secrets dict: a token refreshed into it is what the caller stores.
        google = Credentials(
            secrets=credentials.secrets, settings={"preset": "google", "email": email}
        )
        super().__init__(google, scope, http)
