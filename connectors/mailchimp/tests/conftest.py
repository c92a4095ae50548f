"""Fixtures of the Mailchimp tests: the sandbox (its API host and its OAuth endpoints
standing in for Mailchimp's) and the personas, also when this folder is run on its own
(tests/conftest.py is then not loaded)."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.sandbox.control import SandboxControl
from tests.plugins.personas import (  # noqa: F401
    account,
    member,
    other_account,
    outsider,
    owner,
    owner_client,
)
from tests.plugins.sandbox import sandbox, sandbox_server  # noqa: F401

CLIENT_ID = "contactsync-test-mailchimp"
CLIENT_SECRET = "contactsync-test-secret"  # the sandbox's, not a real secret


@pytest.fixture
def mailchimp(sandbox: SandboxControl, settings: Any) -> SandboxControl:  # noqa: F811
    """Every data centre's API host, and login.mailchimp.com, are the sandbox's."""
    settings.MAILCHIMP_API_URL_TEMPLATE = sandbox.vendor_url("mailchimp", "/3.0")
    settings.MAILCHIMP_AUTH_URL = sandbox.vendor_url("mailchimp", "/oauth2/authorize")
    settings.MAILCHIMP_TOKEN_URL = sandbox.vendor_url("mailchimp", "/oauth2/token")
    settings.MAILCHIMP_METADATA_URL = sandbox.vendor_url("mailchimp", "/oauth2/metadata")
    settings.SOCIAL_AUTH_MAILCHIMP_KEY = CLIENT_ID
    settings.SOCIAL_AUTH_MAILCHIMP_SECRET = CLIENT_SECRET
    return sandbox
