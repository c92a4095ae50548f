"""What `make run` configures in development so that every app of the catalogue can be
connected without setting anything: each OAuth vendor's client and endpoints are its
emulator's under SANDBOX_URL (the clients the emulators create at start, their ``demo``),
and the CardDAV book is a local Radicale that bin/run starts. Google's CardDAV host is the
Google emulator's (connectors/google/sandbox.py), in front of a second user's book in
that Radicale.

config/settings.py applies these only when CONTACTSYNC_ENV is development and
VENDOR_SANDBOXES is on (refused in production), and never over a variable the operator
set. Nothing here is a secret: the values open only the local emulators.
"""

from __future__ import annotations

from connectors.google.sandbox import DEMO_CLIENT as GOOGLE_CLIENT
from connectors.mailchimp.sandbox import DEMO_CLIENT as MAILCHIMP_CLIENT
from connectors.salesforce.sandbox.schema import DEMO_ORG as SALESFORCE_ORG


def sandbox_settings(sandbox_url: str) -> list[tuple[str, str, str]]:
    """(environment variable, Django setting, development value) for each OAuth setting."""
    base = sandbox_url.rstrip("/")
    return [
        ("SALESFORCE_CLIENT_ID", "SOCIAL_AUTH_SALESFORCE_KEY", SALESFORCE_ORG["client_id"]),
        (
            "SALESFORCE_CLIENT_SECRET",
            "SOCIAL_AUTH_SALESFORCE_SECRET",
            SALESFORCE_ORG["client_secret"],
        ),
        ("SALESFORCE_LOGIN_URL", "SALESFORCE_LOGIN_URL", f"{base}/salesforce"),
        ("SALESFORCE_SANDBOX_LOGIN_URL", "SALESFORCE_SANDBOX_LOGIN_URL", f"{base}/salesforce/test"),
        ("GOOGLE_CLIENT_ID", "SOCIAL_AUTH_GOOGLE_KEY", GOOGLE_CLIENT["client_id"]),
        ("GOOGLE_CLIENT_SECRET", "SOCIAL_AUTH_GOOGLE_SECRET", GOOGLE_CLIENT["client_secret"]),
        ("GOOGLE_AUTH_URL", "GOOGLE_AUTH_URL", f"{base}/google/o/oauth2/v2/auth"),
        ("GOOGLE_TOKEN_URL", "GOOGLE_TOKEN_URL", f"{base}/google/token"),
        ("GOOGLE_USERINFO_URL", "GOOGLE_USERINFO_URL", f"{base}/google/v1/userinfo"),
        ("GOOGLE_CARDDAV_URL", "GOOGLE_CARDDAV_URL", f"{base}/google/carddav/"),
        ("MAILCHIMP_CLIENT_ID", "SOCIAL_AUTH_MAILCHIMP_KEY", MAILCHIMP_CLIENT["client_id"]),
        (
            "MAILCHIMP_CLIENT_SECRET",
            "SOCIAL_AUTH_MAILCHIMP_SECRET",
            MAILCHIMP_CLIENT["client_secret"],
        ),
        ("MAILCHIMP_AUTH_URL", "MAILCHIMP_AUTH_URL", f"{base}/mailchimp/oauth2/authorize"),
        ("MAILCHIMP_TOKEN_URL", "MAILCHIMP_TOKEN_URL", f"{base}/mailchimp/oauth2/token"),
        ("MAILCHIMP_METADATA_URL", "MAILCHIMP_METADATA_URL", f"{base}/mailchimp/oauth2/metadata"),
        ("MAILCHIMP_API_URL_TEMPLATE", "MAILCHIMP_API_URL_TEMPLATE", f"{base}/mailchimp/3.0"),
    ]
