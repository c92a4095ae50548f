"""A two-way connection between a Radicale address book (side A) and the in-memory fake
app (side B), run by the real engine (sync.engine.run_connection) on the test database."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import requests

from connectors.carddav.connector import FIELDS
from connectors.carddav.vcard import Card
from sync.engine import run_connection
from sync.models import Account, AppAuthorization, Connection
from tests.fakes.connections import connection_with_fake
from tests.fakes.connector import FakeApp, FakeConnector
from tests.plugins.radicale import RadicaleServer

ANN = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ann-1\r\nFN:Ann Lee\r\nN:Lee;Ann;;;\r\n"
    "EMAIL;TYPE=INTERNET,WORK:ann@acme.example\r\nTEL;TYPE=WORK,VOICE:+44 20 7946 0001\r\n"
    "ORG:Acme\r\nBDAY:1985-02-03\r\nX-CUSTOM:keep me\r\n"
    "PHOTO;ENCODING=b;TYPE=PNG:iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk\r\n"
    " YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==\r\nEND:VCARD\r\n"
)


@pytest.fixture
def fake_b(fake_vendor: type[FakeConnector]) -> FakeApp:
    return fake_vendor.make_app("b")


@pytest.fixture
def connection(
    account: Account, radicale: RadicaleServer, addressbook: str, fake_b: FakeApp
) -> Connection:
    a = AppAuthorization.objects.create(
        account=account,
        vendor="carddav",
        label="Radicale",
        settings={"url": f"{radicale.url}/", "username": radicale.username},
    )
    a.secrets = {"password": radicale.password}
    a.save()
    return connection_with_fake(
        account, a, FIELDS, fake_b, a_scope=urlsplit(addressbook).path, name="Radicale ↔ fake"
    )


def cards(radicale: RadicaleServer, addressbook: str) -> dict[str, Card]:
    """Every card of the address book, by email, as another client reads them."""
    session = requests.Session()
    session.auth = (radicale.username, radicale.password)
    listing = session.request("PROPFIND", addressbook, headers={"Depth": "1"}, timeout=10)
    names = re.findall(r"<(?:\w+:)?href>[^<]*/([^/<]+\.vcf)</", listing.text)
    found = [Card.parse(session.get(addressbook + name, timeout=10).text) for name in names]
    return {card.to_fields()["email"]: card for card in found}


@pytest.mark.django_db
def test_edits_on_both_sides_meet_and_the_next_run_writes_nothing(
    connection: Connection, radicale: RadicaleServer, addressbook: str, fake_b: FakeApp
) -> None:
    phone = requests.Session()
    phone.auth = (radicale.username, radicale.password)
    phone.put(addressbook + "ann-1.vcf", data=ANN.encode(), timeout=10).raise_for_status()
    bob = fake_b.add(email="bob@beta.example", first_name="Bob", last_name="Stone", tags=["vip"])

    first = run_connection(connection.pk, "initial", initial=True)
    assert first.status == "succeeded", first.error
    assert "bob@beta.example" in cards(radicale, addressbook)
    (ann_b,) = fake_b.by_email("ann@acme.example")
    assert fake_b.get(ann_b)["company"] == "Acme"

    # Ann changes company on her phone; Bob's phone number is added on the fake side.
    phone.put(
        addressbook + "ann-1.vcf", data=ANN.replace("ORG:Acme", "ORG:Acme Ltd").encode(), timeout=10
    ).raise_for_status()
    fake_b.edit(bob, phone="+44 20 7946 0999")
    second = run_connection(connection.pk, "manual")
    assert second.status == "succeeded", second.error
    assert fake_b.get(ann_b)["company"] == "Acme Ltd"
    on_a = cards(radicale, addressbook)
    assert on_a["bob@beta.example"].to_fields()["phone"] == "+442079460999"
    ann = on_a["ann@acme.example"]
    assert ann.first("PHOTO").value.endswith("RU5ErkJggg==")
    assert [ln.value for ln in ann.all("X-CUSTOM")] == ["keep me"]
    assert ann.first("BDAY").value == "1985-02-03"

    third = run_connection(connection.pk, "manual")
    assert third.status == "succeeded", third.error
    assert third.writes == 0
