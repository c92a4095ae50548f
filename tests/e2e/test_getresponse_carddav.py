"""GetResponse ↔ CardDAV (Radicale), end to end with the default mapping (issue 21, 22):
a contact from GetResponse, whose one name field is a full name, becomes a card with a
structured name (N) split by nameparser and a display name (FN); a card whose only number
is a mobile (TEL;TYPE=CELL) gives GetResponse's phone that number. Real engine, real HTTP,
assertions on what the sandbox and Radicale hold afterwards."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import vobject

from connectors.sandbox.control import SandboxControl
from sync import setup
from sync.engine import run_connection
from sync.models import (
    Account,
    AppAuthorization,
    Connection,
    ConnectionState,
    Rule,
    SyncEvent,
)
from tests.plugins.radicale import RadicaleServer

pytestmark = pytest.mark.django_db(transaction=True)

MOBILE_ONLY_CARD = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:mobile-only-1\r\nFN:Bob Stone\r\nN:Stone;Bob;;;\r\n"
    "EMAIL;TYPE=INTERNET:bob.stone@example.com\r\nTEL;TYPE=CELL:+44 7911 123456\r\n"
    "END:VCARD\r\n"
)


def _cards(session: requests.Session, book: str) -> list[Any]:
    listing = session.request("PROPFIND", book, headers={"Depth": "1"}, timeout=10)
    cards = []
    for href in sorted(set(re.findall(r"<[^>]*href>([^<]+\.vcf)<", listing.text))):
        response = session.get(urlsplit(book)._replace(path=href).geturl(), timeout=10)
        response.raise_for_status()
        cards.append(vobject.readOne(response.content.decode()))
    return cards


def test_full_names_get_a_structured_name_and_a_mobile_only_card_its_phone(
    sandbox: SandboxControl, radicale: RadicaleServer, addressbook: str
) -> None:
    created = sandbox.create_account("getresponse", name="Newsletter")
    gr_account, gr_list = created["account_id"], created["lists"][0]["id"]
    sandbox.seed("getresponse", gr_account, 1, seed=4)
    state = sandbox.state("getresponse", gr_account)["accounts"][gr_account]
    (seeded,) = [c for c in state["contacts"] if c["campaignId"] == gr_list]
    sandbox.action(
        "getresponse",
        "edit",
        account=gr_account,
        contact=seeded["email"],
        name="Ann Marie van der Berg",
    )
    phone = requests.Session()
    phone.auth = (radicale.username, radicale.password)
    put = phone.put(addressbook + "mobile-only-1.vcf", data=MOBILE_ONLY_CARD.encode(), timeout=10)
    assert put.status_code == 201, put.text

    account = Account.objects.create(name="E2E", slug="e2e-gr-carddav")
    gr = AppAuthorization(account=account, vendor="getresponse", label="Newsletter")
    gr.secrets = {"api_key": created["api_key"]}
    gr.save()
    book = AppAuthorization(
        account=account,
        vendor="carddav",
        label="Radicale",
        settings={"url": f"{radicale.url}/", "username": radicale.username},
    )
    book.secrets = {"password": radicale.password}
    book.save()
    connection = Connection.objects.create(
        account=account,
        name="Newsletter ↔ Address book",
        a_authorization=gr,
        a_scope=gr_list,
        b_authorization=book,
        b_scope=urlsplit(addressbook).path,
        state=ConnectionState.INITIAL_SYNC,
    )
    for direction in ("a_to_b", "b_to_a"):
        Rule.objects.create(connection=connection, direction=direction)
    assert setup.ensure_default_mappings(connection) == ""
    pairs = set(connection.mappings.values_list("a_field", "b_field", "direction"))
    assert ("name", "full_name", "both") in pairs

    done = run_connection(connection.pk, "initial", initial=True)
    failed = list(
        SyncEvent.objects.filter(run=done).exclude(status="ok").values("action", "status", "error")
    )
    assert done.status == "succeeded", (done.status, failed)

    # GetResponse's full name → N split by nameparser (the particle stays with the
    # family name) and FN; never an empty N:;;;;.
    by_email = {str(c.email.value).lower(): c for c in _cards(phone, addressbook)}
    ann = by_email[seeded["email"].lower()]
    assert ann.fn.value == "Ann Marie van der Berg"
    assert (ann.n.value.given, ann.n.value.family) == ("Ann Marie", "van der Berg")

    # The mobile-only card reached GetResponse with that number as its phone.
    state = sandbox.state("getresponse", gr_account)["accounts"][gr_account]
    (bob,) = [c for c in state["contacts"] if c["email"] == "bob.stone@example.com"]
    assert bob["name"] == "Bob Stone"
    assert bob["custom"]["phone"] == ["+447911123456"]
    # And the card itself still holds one TEL, the mobile.
    card = by_email["bob.stone@example.com"]
    assert [(t.value, t.params.get("TYPE")) for t in card.tel_list] == [
        ("+44 7911 123456", ["CELL"])
    ]
