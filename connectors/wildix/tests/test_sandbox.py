"""The Wildix emulator's control API answers what a user types in the connect form."""

from __future__ import annotations

import requests

from connectors.sandbox.control import SandboxControl
from connectors.wildix.connector import WildixConnector


def test_new_accounts_answer_the_connect_forms_fields_and_path(sandbox: SandboxControl) -> None:
    answer = requests.post(
        f"{sandbox.url}/_sandbox/wildix/accounts",
        json={"name": "Form"},
        timeout=5,
    )
    assert answer.status_code in (200, 201), answer.text
    account = answer.json()
    assert {name for name, _label, _secret in WildixConnector.auth_fields} <= set(account)
    assert account["path"] == "/wildix/form" and account["api_key"].startswith("wsk-v1-")
    assert len(account["api_key"]) == 100


def test_errors_come_in_the_wildix_envelope(sandbox: SandboxControl) -> None:
    pbx = sandbox.create_account("wildix", name="errs")
    base = sandbox.vendor_url("wildix", "/errs/api/v1")
    auth = {"Authorization": f"Bearer {pbx['simple_token']}"}
    missing = requests.get(f"{base}/Phonebooks/999/Contacts/", headers=auth, timeout=5)
    assert missing.status_code == 404 and missing.json()["type"] == "error"
    book = pbx["phonebooks"][0]["id"]
    nameless = requests.post(
        f"{base}/Phonebooks/{book}/Contacts/",
        data={"data[email]": "x@y.z"},
        headers=auth,
        timeout=5,
    )
    assert nameless.status_code == 400 and "name" in nameless.json()["reason"]
