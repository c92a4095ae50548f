"""GetResponse callbacks: which lists they concern, and the shared-secret check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import RequestFactory

from connectors.base import AuthError, Credentials
from connectors.getresponse.connector import GetResponseConnector
from connectors.http import Http

BATCH = (Path(__file__).parent / "fixtures" / "webhook_batch.json").read_text()


def connector(secret: str = "") -> GetResponseConnector:
    secrets = {"api_key": "k", "webhook_secret": secret} if secret else {"api_key": "k"}
    return GetResponseConnector(Credentials(secrets=secrets, settings={}), "V8r1", Http())


def test_a_batch_of_events_names_every_list_it_touches() -> None:
    request = RequestFactory().post("/hooks/getresponse/t/", BATCH, content_type="application/json")
    assert connector().parse_webhook(request) == ["V8r1", "V8r2"]


def test_a_single_event_names_its_list() -> None:
    event = json.dumps(json.loads(BATCH)[2])
    request = RequestFactory().post("/hooks/getresponse/t/", event, content_type="application/json")
    assert connector().parse_webhook(request) == ["V8r2"]


def test_a_legacy_callback_names_its_campaign() -> None:
    request = RequestFactory().get(
        "/hooks/getresponse/t/",
        {
            "action": "subscribe",
            "CONTACT_ID": "c9",
            "CAMPAIGN_ID": "V8r1",
            "contact_email": "x@y.z",
        },
    )
    assert connector().parse_webhook(request) == ["V8r1"]


def test_the_configured_secret_must_be_in_the_url() -> None:
    request = RequestFactory().post(
        "/hooks/getresponse/t/?secret=wrong", BATCH, content_type="application/json"
    )
    with pytest.raises(AuthError):
        connector(secret="s3cret").parse_webhook(request)


def test_the_right_secret_is_accepted() -> None:
    request = RequestFactory().post(
        "/hooks/getresponse/t/?secret=s3cret", BATCH, content_type="application/json"
    )
    assert connector(secret="s3cret").parse_webhook(request) == ["V8r1", "V8r2"]
