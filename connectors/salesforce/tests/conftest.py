"""Fixtures of the Salesforce tests: the sandbox server and the personas, also when this
folder is run on its own (tests/conftest.py then is not loaded), and an org in the
sandbox whose connected app the OAuth settings point at."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.sandbox.control import SandboxControl
from tests.plugins.personas import account, member, owner, owner_client  # noqa: F401
from tests.plugins.sandbox import sandbox, sandbox_server, strict_sandbox  # noqa: F401


@pytest.fixture
def salesforce_login(sandbox: SandboxControl, settings: Any) -> SandboxControl:  # noqa: F811
    """The login hosts point at the sandbox (production at /salesforce, sandbox orgs at
    /salesforce/test) and the connected app's key and secret are the sandbox's."""
    base = sandbox.vendor_url("salesforce")
    settings.SALESFORCE_LOGIN_URL = base
    settings.SALESFORCE_SANDBOX_LOGIN_URL = f"{base}/test"
    settings.SOCIAL_AUTH_SALESFORCE_KEY = "contactsync-test-app"
    settings.SOCIAL_AUTH_SALESFORCE_SECRET = "contactsync-test-secret"
    return sandbox


def make_org(control: SandboxControl, **options: Any) -> dict[str, Any]:
    """An org registered with the test connected app (see ``salesforce_login``)."""
    return control.create_account(
        "salesforce",
        client_id="contactsync-test-app",
        client_secret="contactsync-test-secret",
        **options,
    )
