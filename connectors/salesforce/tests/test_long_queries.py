"""SOQL travels in the URL of a GET, which Salesforce caps (with the headers) at 16,384
bytes: a batch of 200 contacts with long, non-ASCII company names still finds and creates
their Accounts, its IN lists cut to fit. Strict sandbox (it answers 414 past the cap)."""

from __future__ import annotations

import pytest

from connectors.base import Change, Credentials
from connectors.http import Http
from connectors.salesforce.connector import SalesforceConnector
from connectors.sandbox.control import SandboxControl

pytestmark = pytest.mark.usefixtures("strict_sandbox")


def test_a_batch_of_long_company_names_fits_the_url_limit(sandbox: SandboxControl) -> None:
    org = sandbox.create_account("salesforce", name="Long names")
    credentials = Credentials(
        secrets={"access_token": org["access_token"], "refresh_token": ""},
        settings={"instance_url": sandbox.vendor_url("salesforce")},
    )
    connector = SalesforceConnector(credentials, "Contact", Http(retries=1, backoff=0.0))
    company = "Żółć Gęślą Jaźń Spółdzielnia Mleczarska " * 5  # 200 characters
    changes = [
        Change(
            "create",
            f"k{i}",
            fields={"LastName": f"Person {i}", "Account.Name": f"{company}{i:03d}"},
        )
        for i in range(200)
    ]
    results = connector.push(changes)
    assert [r.error for r in results] == [None] * 200
    assert all(
        r.record and r.record.fields["Account.Name"] == f"{company}{i:03d}"
        for i, r in enumerate(results)
    )
    state = sandbox.state("salesforce", org["account_id"])["orgs"][org["account_id"]]
    assert len(state["records"]["Account"]) == 200
