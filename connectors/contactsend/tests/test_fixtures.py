"""ContactSend answers replayed from recorded envelopes (fixtures/, recorded from the
sandbox; the WSDL with the real service's address): zeep parses them through our seam."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import responses

from connectors.base import AuthError, ConnectorError, Credentials
from connectors.contactsend.connector import ContactSendConnector
from connectors.http import Http

FIXTURES = Path(__file__).parent / "fixtures"
WSDL = "https://soap.contactlab.it/soap/services?wsdl"
ENDPOINT = "https://soap.contactlab.it/soap/services"


@pytest.fixture
def app(settings: Any) -> ContactSendConnector:
    settings.CONTACTSEND_WSDL_URL = WSDL
    responses.get(WSDL, body=(FIXTURES / "clabservice.wsdl").read_bytes())
    credentials = Credentials(secrets={"api_key": "k", "user_key": "u"}, settings={})
    return ContactSendConnector(credentials, "1000", Http(retries=0))


@responses.activate
def test_a_fault_on_borrow_token_is_an_auth_error_with_its_text(
    app: ContactSendConnector,
) -> None:
    fault = (FIXTURES / "fault_borrowToken.xml").read_bytes()
    responses.post(ENDPOINT, body=fault, status=500, content_type="text/xml")
    with pytest.raises(AuthError, match="Invalid apiKey or userKey: access denied"):
        app.check()
    assert app.http.calls == 2  # the WSDL and one borrowToken: a fault is not retried


@responses.activate
def test_a_recorded_find_subscribers_answer_is_parsed(app: ContactSendConnector) -> None:
    responses.post(
        ENDPOINT,
        body=(FIXTURES / "findSubscribers.xml").read_bytes(),
        content_type="text/xml",
    )
    app.client._token, app.client._borrowed_at = "recorded", time.monotonic()
    rows = app.client.find("1000", "EMAIL", "chloe.nunez.3x0@example.org")
    assert [row.id for row in rows] == ["1", "2"]
    assert rows[0].attributes["EMAIL"] == "chloe.nunez.3x0@example.org"


@responses.activate
def test_an_answer_that_is_not_xml_is_a_transient_error(app: ContactSendConnector) -> None:
    responses.post(ENDPOINT, body=b"<html>proxy error", content_type="text/html")
    app.client._token, app.client._borrowed_at = "recorded", time.monotonic()
    with pytest.raises(ConnectorError) as caught:
        app.client.find("1000", "EMAIL", "x@example.it")
    assert not caught.value.permanent
