"""In development, `make run` configures the OAuth vendors against their emulators
(config/development.py) so every app of the catalogue connects without setting anything;
a vendor the operator configured keeps its own settings, and production ignores all of
it (issue 21, point 25)."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.fernet import Fernet

from tests.foundation.test_settings import run_python

PRINT_OAUTH = """
import json, django
from django.conf import settings
django.setup()
names = ["SOCIAL_AUTH_SALESFORCE_KEY", "SALESFORCE_LOGIN_URL", "SOCIAL_AUTH_GOOGLE_KEY",
         "GOOGLE_TOKEN_URL", "GOOGLE_CARDDAV_URL", "SOCIAL_AUTH_MAILCHIMP_KEY",
         "MAILCHIMP_API_URL_TEMPLATE"]
found = {name: getattr(settings, name) for name in names}
from connectors.sellf.connector import api_url
found["sellf"] = api_url()  # the hosts of apps with no OAuth follow VENDOR_SANDBOXES
print(json.dumps(found))
"""


def oauth_settings(tmp_path: Path, **env: str) -> dict[str, str]:
    result = run_python(tmp_path, PRINT_OAUTH, SANDBOX_URL="http://127.0.0.1:8765", **env)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_development_points_every_oauth_vendor_at_its_emulator(tmp_path: Path) -> None:
    found = oauth_settings(tmp_path, CONTACTSYNC_ENV="development")
    assert found == {
        "SOCIAL_AUTH_SALESFORCE_KEY": "sandbox-demo-client",
        "SALESFORCE_LOGIN_URL": "http://127.0.0.1:8765/salesforce",
        "SOCIAL_AUTH_GOOGLE_KEY": "sandbox-demo.apps.googleusercontent.com",
        "GOOGLE_TOKEN_URL": "http://127.0.0.1:8765/google/token",
        # Google's CardDAV host is the Google emulator's, in front of bin/run's Radicale.
        "GOOGLE_CARDDAV_URL": "http://127.0.0.1:8765/google/carddav/",
        "SOCIAL_AUTH_MAILCHIMP_KEY": "sandbox-demo-mailchimp",
        "MAILCHIMP_API_URL_TEMPLATE": "http://127.0.0.1:8765/mailchimp/3.0",
        "sellf": "http://127.0.0.1:8765/sellf/v2",
    }


def test_a_vendor_the_operator_configured_keeps_its_own_settings(tmp_path: Path) -> None:
    found = oauth_settings(tmp_path, CONTACTSYNC_ENV="development", SALESFORCE_CLIENT_ID="mine")
    assert found["SOCIAL_AUTH_SALESFORCE_KEY"] == "mine"
    assert found["SALESFORCE_LOGIN_URL"] == "https://login.salesforce.com"
    assert found["SOCIAL_AUTH_GOOGLE_KEY"] == "sandbox-demo.apps.googleusercontent.com"


def test_production_ignores_the_emulators(tmp_path: Path) -> None:
    found = oauth_settings(
        tmp_path,
        CONTACTSYNC_ENV="production",
        SECRET_KEY="k" * 60,
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="sync.example.com",
    )
    assert found["SOCIAL_AUTH_SALESFORCE_KEY"] == "" and found["SOCIAL_AUTH_GOOGLE_KEY"] == ""
    assert found["GOOGLE_TOKEN_URL"] == "https://oauth2.googleapis.com/token"
    assert found["GOOGLE_CARDDAV_URL"] == (
        "https://www.googleapis.com/carddav/v1/principals/{email}/lists/default/"
    )
    assert found["SALESFORCE_LOGIN_URL"] == "https://login.salesforce.com"
    assert found["MAILCHIMP_API_URL_TEMPLATE"] == "https://{dc}.api.mailchimp.com/3.0"
    assert found["sellf"] == "https://api.sellf.io/v2"
