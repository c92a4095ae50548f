"""The CardDAV connector against a real Radicale server on loopback."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import pytest
import requests

from connectors.base import AuthError, Change, Page, RecordGone
from connectors.carddav.connector import CardDavConnector, resource_name
from connectors.carddav.tests.conftest import MakeConnector
from connectors.carddav.vcard import Card
from tests.plugins.radicale import RadicaleServer

RICH_CARD = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:rich-1\r\nFN:Ann Lee\r\nN:Lee;Ann;;;\r\n"
    "EMAIL;TYPE=INTERNET,WORK:ann@work.example\r\nEMAIL;TYPE=INTERNET,HOME:ann@home.example\r\n"
    "TEL;TYPE=CELL:+44 7700 900123\r\nBDAY:1985-02-03\r\n"
    "PHOTO;ENCODING=b;TYPE=PNG:iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk\r\n"
    " YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==\r\n"
    "X-CUSTOM;X-PARAM=keep:custom value\\, with comma\r\nitem1.X-ABLabel:assistant\r\n"
    "item1.TEL:+44 20 7946 0000\r\nCATEGORIES:vip\r\nEND:VCARD\r\n"
)


def create(connector: CardDavConnector, count: int, prefix: str = "c") -> list[str]:
    """Create ``count`` contacts through the connector; return their ids."""
    changes = [
        Change("create", f"{prefix}{i}", fields={"first_name": f"N{i}", "email": f"{i}@x.test"})
        for i in range(count)
    ]
    results = connector.push(changes)
    assert all(r.error is None for r in results)
    return [r.id for r in results if r.id]


def read_all(connector: CardDavConnector, cursor: object = None) -> list[Page]:
    return list(connector.fetch(cursor))


def put_card(phone: requests.Session, connector: CardDavConnector, name: str, text: str) -> None:
    response = phone.put(connector.collection + name, data=text.encode(), timeout=10)
    assert response.status_code in (201, 204), response.text


def server_card(phone: requests.Session, connector: CardDavConnector, name: str) -> Card:
    response = phone.get(connector.collection + name, timeout=10)
    response.raise_for_status()
    return Card.parse(response.content.decode())


# --- Discovery and authorization


def test_scopes_lists_the_users_address_books(
    make_connector: MakeConnector, radicale: RadicaleServer, addressbook: str
) -> None:
    other = radicale.create_addressbook()
    scopes = {s.id for s in make_connector(scope="").scopes()}
    assert {urlsplit(addressbook).path, urlsplit(other).path} <= scopes


def test_discovery_starts_from_the_well_known_url(
    make_connector: MakeConnector, radicale: RadicaleServer, addressbook: str
) -> None:
    connector = make_connector(scope="", url=f"{radicale.url}/.well-known/carddav")
    assert urlsplit(addressbook).path in {s.id for s in connector.scopes()}


def test_check_accepts_the_right_password(connector: CardDavConnector) -> None:
    connector.check()
    assert connector.http.calls == 1


def test_bad_password_raises_auth_error(make_connector: MakeConnector) -> None:
    with pytest.raises(AuthError):
        make_connector(password="wrong").check()


def test_bad_password_on_fetch_raises_auth_error(make_connector: MakeConnector) -> None:
    with pytest.raises(AuthError):
        read_all(make_connector(password="wrong"))


# --- Reads


def test_full_listing_spans_several_pages_and_only_the_last_is_complete(
    connector: CardDavConnector,
) -> None:
    ids = create(connector, 12)
    connector.page_size = 5
    pages = read_all(connector)
    assert [len(p.records) for p in pages] == [5, 5, 2]
    assert [p.complete for p in pages] == [False, False, True]
    assert sorted(r.id for p in pages for r in p.records) == sorted(ids)
    assert pages[0].cursor is None and pages[-1].cursor["sync_token"]


def test_pages_read_ahead_hold_every_card_once_and_deletions_on_the_last(
    connector: CardDavConnector, phone: requests.Session
) -> None:
    """Multigets run at most two ahead of the page being read (issue 18); the pages
    still hold each card once, and cards deleted after the listing but before their
    multiget are reported deleted on the last page."""
    ids = create(connector, 23)
    connector.page_size = 4
    pages = connector.fetch(None)
    first = next(pages)
    assert len(first.records) == 4 and not first.deleted
    # Pages 2 and 3 may be fetched already; pages 4 to 6 are not asked for before the
    # engine reads on, so at least their 11 cards are reported gone.
    seen = {r.id for r in first.records}
    for name in sorted(set(ids) - seen):
        phone.delete(connector.collection + name, timeout=10).raise_for_status()
    rest = list(pages)
    read = [r.id for p in [first, *rest] for r in p.records]
    deleted = rest[-1].deleted
    assert len(rest) == 5
    assert sorted(read + deleted) == sorted(ids)
    assert len(deleted) >= 11
    assert all(not p.deleted for p in rest[:-1])
    assert [p.complete for p in [first, *rest]] == [False] * 5 + [True]


def test_a_listing_closed_early_sends_no_more_multigets(connector: CardDavConnector) -> None:
    create(connector, 30)
    connector.page_size = 3
    calls = connector.http.calls
    pages = connector.fetch(None)
    next(pages)
    pages.close()
    # sync-token and ETag listing, the first multiget and at most two read ahead.
    assert connector.http.calls - calls <= 5
    assert not [t for t in threading.enumerate() if t.name.startswith("carddav-read")]


def test_listing_reads_fields_of_a_card_written_by_another_client(
    connector: CardDavConnector, phone: requests.Session
) -> None:
    put_card(phone, connector, "rich-1.vcf", RICH_CARD)
    (record,) = read_all(connector)[0].records
    assert record.id == "rich-1.vcf"
    assert record.fields["email_home"] == "ann@home.example"
    assert record.fields["mobile"] == "+44 7700 900123"
    assert record.fields["tags"] == ["vip"]


def test_delta_reports_changes_and_deletions_since_the_token(
    connector: CardDavConnector,
) -> None:
    first, second, _third = create(connector, 3)
    cursor = read_all(connector)[-1].cursor
    connector.push([Change("update", "u", id=first, fields={"job_title": "CEO"})])
    connector.push([Change("delete", "d", id=second)])
    (page,) = read_all(connector, cursor)
    assert [r.id for r in page.records] == [first]
    assert page.records[0].fields["job_title"] == "CEO"
    assert page.deleted == [second]
    assert not page.complete
    assert page.cursor != cursor


def test_delta_without_changes_costs_one_request(connector: CardDavConnector) -> None:
    create(connector, 5)
    cursor = read_all(connector)[-1].cursor
    calls = connector.http.calls
    (page,) = read_all(connector, cursor)
    assert (page.records, page.deleted, page.cursor) == ([], [], cursor)
    assert connector.http.calls - calls == 1


def test_garbled_sync_token_falls_back_to_a_complete_listing(
    connector: CardDavConnector,
) -> None:
    ids = create(connector, 3)
    pages = read_all(connector, {"sync_token": "http://radicale.org/ns/sync/garbage"})
    assert pages[-1].complete
    assert sorted(r.id for p in pages for r in p.records) == sorted(ids)
    (after,) = read_all(connector, pages[-1].cursor)
    assert after.records == [] and not after.complete


def test_server_without_sync_tokens_lists_whole_then_only_when_etags_move(
    connector: CardDavConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As servers without RFC 6578 answer: no sync-token property on the collection.
    monkeypatch.setattr(connector.client, "sync_token", lambda collection: None)
    first, _ = create(connector, 2)
    listing = read_all(connector)
    assert listing[-1].complete and "etag_digest" in listing[-1].cursor
    (unchanged,) = read_all(connector, listing[-1].cursor)
    assert unchanged.records == [] and not unchanged.complete
    connector.push([Change("update", "u", id=first, fields={"notes": "moved"})])
    moved = read_all(connector, unchanged.cursor)
    assert moved[-1].complete and len(moved[-1].records) == 2


# --- Writes


def test_created_card_has_the_key_as_uid_and_name(
    connector: CardDavConnector, phone: requests.Session
) -> None:
    (result,) = connector.push([Change("create", "key-1", fields={"full_name": "Kim"})])
    assert result.id == "key-1.vcf"
    card = server_card(phone, connector, "key-1.vcf")
    assert (card.uid, card.to_fields()["full_name"]) == ("key-1", "Kim")


def test_retried_create_returns_the_existing_card_without_a_duplicate(
    connector: CardDavConnector,
) -> None:
    change = Change("create", "same-key", fields={"email": "one@x.test"})
    (first,) = connector.push([change])
    (retry,) = connector.push([change])
    assert retry.error is None and retry.id == first.id
    records = [r for p in read_all(connector) for r in p.records]
    assert [r.fields["email"] for r in records] == ["one@x.test"]


def test_unsafe_keys_get_a_stable_resource_name(connector: CardDavConnector) -> None:
    (result,) = connector.push([Change("create", "a/b c:ü", fields={"full_name": "X"})])
    assert result.id == resource_name("a/b c:ü")
    assert result.id.endswith(".vcf") and "/" not in result.id


def test_update_keeps_photo_birthday_and_custom_properties(
    connector: CardDavConnector, phone: requests.Session
) -> None:
    put_card(phone, connector, "rich-1.vcf", RICH_CARD)
    before = server_card(phone, connector, "rich-1.vcf")
    read_all(connector)
    (result,) = connector.push(
        [Change("update", "u", id="rich-1.vcf", fields={"email": "ann@new.example"})]
    )
    assert result.error is None
    after = server_card(phone, connector, "rich-1.vcf")
    untouched = ("PHOTO", "BDAY", "X-CUSTOM", "X-ABLABEL", "TEL", "CATEGORIES", "UID", "N")
    for name in untouched:
        assert [(ln.group, ln.params, ln.value) for ln in after.all(name)] == [
            (ln.group, ln.params, ln.value) for ln in before.all(name)
        ], name
    assert [e.value for e in after.all("EMAIL")] == ["ann@new.example", "ann@home.example"]


def test_update_after_a_concurrent_edit_re_merges_instead_of_overwriting(
    connector: CardDavConnector, phone: requests.Session
) -> None:
    put_card(phone, connector, "rich-1.vcf", RICH_CARD)
    read_all(connector)  # the connector now holds the card's ETag
    edited = RICH_CARD.replace("CATEGORIES:vip", "TITLE:Chief of Staff\r\nCATEGORIES:vip")
    put_card(phone, connector, "rich-1.vcf", edited)
    statuses: list[int] = []
    connector.http.on_response.append(lambda response: statuses.append(response.status_code))
    (result,) = connector.push(
        [Change("update", "u", id="rich-1.vcf", fields={"email": "ann@new.example"})]
    )
    assert result.error is None
    assert 412 in statuses
    fields = server_card(phone, connector, "rich-1.vcf").to_fields()
    assert (fields["job_title"], fields["email"]) == ("Chief of Staff", "ann@new.example")


def test_update_that_changes_nothing_writes_nothing(connector: CardDavConnector) -> None:
    (card_id,) = create(connector, 1)
    read_all(connector)
    calls = connector.http.calls
    (result,) = connector.push([Change("update", "u", id=card_id, fields={"first_name": "N0"})])
    assert result.error is None and connector.http.calls == calls


def test_update_of_a_missing_card_fails_only_that_record(connector: CardDavConnector) -> None:
    (card_id,) = create(connector, 1)
    missing, ok = connector.push(
        [
            Change("update", "m", id="missing.vcf", fields={"notes": "x"}),
            Change("update", "o", id=card_id, fields={"notes": "y"}),
        ]
    )
    assert isinstance(missing.error, RecordGone)
    assert ok.error is None


def test_delete_of_a_card_changed_since_it_was_read_is_refused(
    connector: CardDavConnector, phone: requests.Session
) -> None:
    put_card(phone, connector, "rich-1.vcf", RICH_CARD)
    read_all(connector)
    put_card(phone, connector, "rich-1.vcf", RICH_CARD.replace("vip", "vip,new"))
    (result,) = connector.push([Change("delete", "d", id="rich-1.vcf")])
    assert result.error is not None
    assert phone.get(connector.collection + "rich-1.vcf", timeout=10).status_code == 200


def test_deleting_a_card_that_is_already_gone_succeeds(connector: CardDavConnector) -> None:
    (result,) = connector.push([Change("delete", "d", id="never-there.vcf")])
    assert result.error is None


def test_writing_a_read_only_field_fails_that_record(connector: CardDavConnector) -> None:
    (card_id,) = create(connector, 1)
    (result,) = connector.push([Change("update", "u", id=card_id, fields={"uid": "other"})])
    assert result.error is not None and result.error.permanent


def test_vcard_4_setting_creates_4_0_cards_the_server_accepts(
    make_connector: MakeConnector, phone: requests.Session
) -> None:
    connector = make_connector(vcard_version="4.0")
    (result,) = connector.push(
        [Change("create", "v4", fields={"first_name": "Zoë", "mobile": "+46 70 1"})]
    )
    assert result.error is None
    card = server_card(phone, connector, "v4.vcf")
    assert card.version == "4.0"
    assert card.first("TEL").types == {"cell"}
    assert card.to_fields()["full_name"] == "Zoë"
