"""Two address books of a real Radicale, synced both ways by the real engine (issue 13):
the same cards with the same UIDs, cards sharing emails listed in another order on each
side, and phones that are not valid numbers."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import requests

from connectors.carddav.connector import FIELDS
from connectors.carddav.vcard import Card
from sync.engine import run_connection
from sync.engine.mapping import ensure_default_mappings
from sync.models import Account, AppAuthorization, Connection, ConnectionState, RecordLink, Rule
from tests.plugins.radicale import RadicaleServer


def vcard(uid: str, first: str, last: str, email: str, tel: str, title: str = "Staff") -> str:
    return (
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{first} {last}\r\nN:{last};{first};;;\r\n"
        f"EMAIL;TYPE=INTERNET:{email}\r\nTEL;TYPE=WORK,VOICE:{tel}\r\nTITLE:{title}\r\n"
        "END:VCARD\r\n"
    )


# A household, an info@ address shared by three, and two people with one email each.
PEOPLE = [
    ("lee-ann", "Ann", "Lee", "home@lee.test", "+44 20 7946 0001"),
    ("lee-bob", "Bob", "Lee", "home@lee.test", "+44 20 7946 0002"),
    ("shop-1", "Carla", "Rossi", "info@shop.test", "+39 02 1234 5601"),
    ("shop-2", "Dario", "Rossi", "info@shop.test", "+39 02 1234 5602"),
    ("shop-3", "Elena", "Rossi", "info@shop.test", "+39 02 1234 5603"),
    ("solo-1", "Farid", "Haddad", "farid@solo.test", "+33 1 42 68 53 00"),
    ("solo-2", "Grace", "Kim", "grace@solo.test", "+1 650 253 0000"),
]


@pytest.fixture
def books(radicale: RadicaleServer) -> tuple[str, str]:
    return radicale.create_addressbook(), radicale.create_addressbook()


@pytest.fixture
def client(radicale: RadicaleServer) -> requests.Session:
    session = requests.Session()
    session.auth = (radicale.username, radicale.password)
    return session


@pytest.fixture
def connection(account: Account, radicale: RadicaleServer, books: tuple[str, str]) -> Connection:
    auths = []
    for label in ("A", "B"):
        auth = AppAuthorization(
            account=account,
            vendor="carddav",
            label=f"Radicale {label}",
            settings={"url": f"{radicale.url}/", "username": radicale.username},
        )
        auth.secrets = {"password": radicale.password}
        auth.save()
        auths.append(auth)
    connection = Connection.objects.create(
        account=account,
        name="Radicale A ↔ B",
        a_authorization=auths[0],
        a_scope=urlsplit(books[0]).path,
        b_authorization=auths[1],
        b_scope=urlsplit(books[1]).path,
        state=ConnectionState.ACTIVE,
        deletions_a_to_b="delete",
        deletions_b_to_a="delete",
    )
    ensure_default_mappings(connection, FIELDS, FIELDS)
    for direction in ("a_to_b", "b_to_a"):
        Rule.objects.create(connection=connection, direction=direction, name="Everyone")
    return connection


def put(client: requests.Session, book: str, name: str, text: str) -> None:
    client.put(book + name, data=text.encode(), timeout=10).raise_for_status()


def cards(client: requests.Session, book: str) -> dict[str, Card]:
    """Every card of the book by file name, as another client reads them."""
    listing = client.request("PROPFIND", book, headers={"Depth": "1"}, timeout=10)
    names = re.findall(r"<(?:\w+:)?href>[^<]*/([^/<]+\.vcf)</", listing.text)
    return {n: Card.parse(client.get(book + n, timeout=10).text) for n in names}


def synced(connection: Connection) -> None:
    run = run_connection(connection.pk, "manual")
    assert run.status == "succeeded", run.error


@pytest.mark.django_db
def test_identical_books_with_shared_emails_converge_each_card_on_its_own_counterpart(
    connection: Connection, books: tuple[str, str], client: requests.Session
) -> None:
    book_a, book_b = books
    # The same cards, the same UIDs; file names (the listing order) differ per book.
    for n, person in enumerate(PEOPLE):
        put(client, book_a, f"a-{n}.vcf", vcard(*person))
    for n, person in enumerate(reversed(PEOPLE)):
        put(client, book_b, f"b-{n}.vcf", vcard(*person))
    first = run_connection(connection.pk, "initial", initial=True)
    assert first.status == "succeeded", first.error
    assert first.writes == 0  # the books already agree

    uid_a = {n: c.uid for n, c in cards(client, book_a).items()}
    uid_b = {n: c.uid for n, c in cards(client, book_b).items()}
    links = RecordLink.objects.filter(connection=connection)
    assert links.count() == len(PEOPLE)
    for link in links:
        assert uid_a[link.a_id] == uid_b[link.b_id]  # every card on its own counterpart
    assert first.match_summary["matching"]["matched by identity"] == len(PEOPLE)

    # Every edit of a card sharing an email reaches its own counterpart, both ways.
    by_uid_a = {u: n for n, u in uid_a.items()}
    by_uid_b = {u: n for n, u in uid_b.items()}
    put(client, book_a, by_uid_a["shop-2"], vcard(*PEOPLE[3], title="Edited in A"))
    put(client, book_b, by_uid_b["lee-ann"], vcard(*PEOPLE[0], title="Edited in B"))
    synced(connection)
    now_a, now_b = cards(client, book_a), cards(client, book_b)
    assert now_b[by_uid_b["shop-2"]].to_fields()["job_title"] == "Edited in A"
    assert now_a[by_uid_a["lee-ann"]].to_fields()["job_title"] == "Edited in B"
    for uid in ("shop-1", "shop-3", "lee-bob"):
        assert now_a[by_uid_a[uid]].to_fields()["job_title"] == "Staff"
        assert now_b[by_uid_b[uid]].to_fields()["job_title"] == "Staff"

    # A deletion of a card sharing an email removes its own counterpart only.
    client.delete(book_a + by_uid_a["shop-1"], timeout=10).raise_for_status()
    synced(connection)
    left_b = {c.uid for c in cards(client, book_b).values()}
    assert left_b == {p[0] for p in PEOPLE} - {"shop-1"}
    assert len(cards(client, book_a)) == len(left_b)


@pytest.mark.django_db
def test_phones_that_are_not_valid_numbers_survive_unchanged_both_ways(
    connection: Connection, books: tuple[str, str], client: requests.Session
) -> None:
    book_a, book_b = books
    put(client, book_a, "x.vcf", vcard("x-1", "Xavi", "Roig", "xavi@x.test", "+11 849 9014115"))
    put(client, book_b, "y.vcf", vcard("y-1", "Yuki", "Sato", "yuki@y.test", "+78 478 7219035"))
    first = run_connection(connection.pk, "initial", initial=True)
    assert first.status == "succeeded", first.error
    phones_a = {
        c.to_fields()["email"]: c.to_fields()["phone"] for c in cards(client, book_a).values()
    }
    phones_b = {
        c.to_fields()["email"]: c.to_fields()["phone"] for c in cards(client, book_b).values()
    }
    assert (
        phones_a
        == phones_b
        == {
            "xavi@x.test": "+11 849 9014115",
            "yuki@y.test": "+78 478 7219035",
        }
    )
    # Converged: nothing to write, and the numbers are still as typed.
    again = run_connection(connection.pk, "manual")
    assert again.status == "succeeded" and again.writes == 0
