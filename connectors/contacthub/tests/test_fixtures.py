"""Contacthub customer JSON as the docs show it (fixtures/customer.json, apis/ 3B) read
into a Record, and answers of the wrong shape refused at the edge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

from connectors.base import ConnectorError, Credentials
from connectors.contacthub.connector import ContacthubConnector
from connectors.http import Http

FIXTURES = Path(__file__).parent / "fixtures"
API = "https://api.contactlab.it/hub/v1/workspaces/ws"


def offline_connector() -> ContacthubConnector:
    app = ContacthubConnector(
        Credentials(secrets={"token": "t"}, settings={"workspace_id": "ws", "node_id": "node-doc"}),
        "node-doc",
        Http(retries=0),
    )
    app._extended = [
        {"name": "loyaltyCard", "type": "string"},
        {"name": "points", "type": "number"},
    ]
    app._subscriptions = ["newsletter", "offers"]
    return app


def test_a_documented_customer_becomes_a_record() -> None:
    customer: dict[str, Any] = json.loads((FIXTURES / "customer.json").read_text())
    record = offline_connector().record(customer)
    assert record.key == "crm-123"
    assert record.fields["base.contacts.email"] == "m@x.it"
    assert record.fields["base.jobs.companyName"] == "ACME"
    assert record.fields["base.jobs.jobTitle"] == "CTO"
    assert record.fields["base.dob"] == "1980-01-31"
    assert (record.fields["tags"], record.fields["tags.auto"]) == (["vip"], ["a"])
    assert record.fields["extended.points"] == 12
    # "subscribed" and the 1.51 spec's "enable" are both understood.
    assert record.fields["subscription:newsletter"] is True
    assert record.fields["subscription:offers"] is False
    assert record.updated_at is not None and record.updated_at.year == 2017


@responses.activate
def test_a_listing_of_the_wrong_shape_is_a_transient_error(settings: Any) -> None:
    settings.CONTACTHUB_API_URL = "https://api.contactlab.it/hub/v1"
    responses.get(f"{API}/updates/last-offset", json={"lastOffset": 3})
    responses.get(f"{API}/customers", json={"elements": {"not": "a list"}})
    with pytest.raises(ConnectorError) as caught:
        list(offline_connector().fetch(None))
    assert not caught.value.permanent


@responses.activate
def test_malformed_json_is_a_transient_error(settings: Any) -> None:
    settings.CONTACTHUB_API_URL = "https://api.contactlab.it/hub/v1"
    responses.get(f"{API}/updates", body="{not json")
    with pytest.raises(ConnectorError, match="not JSON"):
        list(offline_connector().fetch({"offset": 1}))
