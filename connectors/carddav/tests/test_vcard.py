"""vcard.py on cards in the styles of Apple (3.0), Nextcloud (4.0) and Google (3.0)."""

from __future__ import annotations

from pathlib import Path

import pytest
import vobject

from connectors.carddav.vcard import Card, VCardError, card_from_fields

FIXTURES = Path(__file__).parent / "fixtures"


def raw(name: str) -> str:
    """The fixture's exact text (read_text would turn CRLF into LF)."""
    return (FIXTURES / name).read_bytes().decode()


def load(name: str) -> Card:
    return Card.parse(raw(name))


def meaning(card: Card, *names: str) -> list[tuple[str | None, str, list[list[str]], str]]:
    """The parsed content of the lines named (group, name, params, value), in order."""
    return [(ln.group, ln.name, ln.params, ln.value) for ln in card.lines if ln.name in names]


def test_v3_card_reads_names_company_and_preferred_values() -> None:
    fields = load("apple_v3.vcf").to_fields()
    assert fields["first_name"] == "Jürgen"
    assert fields["last_name"] == "Müller"
    assert fields["full_name"] == "Dr. Jürgen Müller"
    assert fields["company"] == "Bäckerei Müller GmbH, Berlin"
    assert fields["department"] == "Vertrieb"
    assert fields["job_title"] == "Geschäftsführer"
    assert fields["email"] == "juergen@baeckerei.example"
    assert fields["website"] == "https://baeckerei.example"


def test_v3_card_maps_emails_and_phones_by_type() -> None:
    fields = load("apple_v3.vcf").to_fields()
    assert fields["email_work"] == "juergen@baeckerei.example"
    assert fields["email_home"] == "j.mueller@mail.example"
    assert fields["mobile"] == "+49 171 1234567"
    assert fields["phone_work"] == "+49 30 1234567"  # the work fax is not a phone
    assert fields["phone_home"] == "+49 30 7654321"
    assert fields["phone"] == "+49 30 1234567"


def test_v3_address_of_a_grouped_adr_is_read() -> None:
    fields = load("apple_v3.vcf").to_fields()
    assert (fields["street"], fields["city"], fields["postal_code"], fields["country"]) == (
        "Hauptstraße 1",
        "Berlin",
        "10115",
        "Deutschland",
    )
    assert fields["region"] is None


def test_folded_note_unfolds_into_one_unescaped_value() -> None:
    note = load("apple_v3.vcf").to_fields()["notes"]
    assert note == (
        "Bevorzugt Kontakt per E-Mail. Lieferungen nur dienstags und donnerstags; bitte "
        "vorher anrufen.\nZweite Zeile mit Ümläuten."
    )


def test_categories_are_tags_and_rev_is_the_update_time() -> None:
    card = load("apple_v3.vcf")
    assert card.to_fields()["tags"] == ["Kunde", "VIP"]
    assert card.revision() is not None
    assert card.revision().isoformat() == "2024-03-05T10:20:30+00:00"


def test_v4_card_prefers_pref_1_and_reads_tel_uris_as_numbers() -> None:
    fields = load("nextcloud_v4.vcf").to_fields()
    assert fields["email"] == "zoe@acme.example"
    assert fields["email_home"] == "zoe@home.example"
    assert fields["mobile"] == "+46-70-123-45-67"
    assert fields["phone_work"] == "+46-8-123-456"
    assert fields["first_name"] == "Zoë"
    assert fields["uid"] == "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1"


def test_lf_only_card_with_cjk_text_reads() -> None:
    fields = load("google_v3.vcf").to_fields()
    assert fields["full_name"] == "田中 由紀 (Yuki Tanaka)"
    assert fields["company"] == "株式会社サンプル"
    assert fields["mobile"] == "090-1234-5678"
    assert fields["tags"] == ["myContacts"]


@pytest.mark.parametrize("name", ["apple_v3.vcf", "nextcloud_v4.vcf"])
def test_unchanged_card_serializes_byte_for_byte(name: str) -> None:
    text = raw(name)
    assert Card.parse(text).serialize() == text


def test_lf_card_serializes_with_crlf_and_the_same_lines() -> None:
    text = raw("google_v3.vcf")
    assert Card.parse(text).serialize() == text.replace("\n", "\r\n")


def test_writing_email_replaces_only_the_preferred_one() -> None:
    card = load("apple_v3.vcf")
    card.apply({"email": "new@baeckerei.example"})
    emails = card.all("EMAIL")
    assert [e.value for e in emails] == ["new@baeckerei.example", "j.mueller@mail.example"]
    assert emails[0].params == [["type", "INTERNET"], ["type", "WORK"], ["type", "pref"]]


def test_clearing_the_work_phone_removes_only_that_tel() -> None:
    card = load("apple_v3.vcf")
    card.apply({"phone_work": None})
    assert [t.value for t in card.all("TEL")] == [
        "+49 171 1234567",
        "+49 30 7654321",
        "+49 30 1234568",
    ]


def test_writing_a_missing_home_email_adds_a_typed_email() -> None:
    card = load("google_v3.vcf")
    card.apply({"email_home": "yuki@home.example"})
    added = card.all("EMAIL")[-1]
    assert added.value == "yuki@home.example"
    assert added.types == {"internet", "home"}
    assert card.to_fields()["email"] == "yuki@example.jp"


def test_v4_uri_phone_is_written_back_as_a_tel_uri() -> None:
    card = load("nextcloud_v4.vcf")
    card.apply({"mobile": "+46 70 999 99 99"})
    assert card.first("TEL", lambda ln: "cell" in ln.types).value == "tel:+46-70-999-99-99"
    assert card.to_fields()["mobile"] == "+46-70-999-99-99"


def test_update_keeps_photo_birthday_groups_and_x_properties_verbatim() -> None:
    original = load("nextcloud_v4.vcf")
    kept = ("PHOTO", "BDAY", "X-SOCIALPROFILE", "X-CUSTOM-FIELD", "PRODID", "UID", "ADR")
    card = load("nextcloud_v4.vcf")
    card.apply({"email": "zoe@new.example", "tags": ["friends"], "job_title": "CTO"})
    reread = Card.parse(card.serialize())
    assert meaning(reread, *kept) == meaning(original, *kept)
    assert reread.first("PHOTO").value.endswith("RU5ErkJggg==")


def test_v3_base64_photo_and_apple_groups_survive_an_update() -> None:
    original = load("apple_v3.vcf")
    kept = ("PHOTO", "BDAY", "X-ABUID", "X-ABLABEL", "X-ABADR", "URL", "ADR")
    card = load("apple_v3.vcf")
    card.apply({"last_name": "Meier", "notes": "neu"})
    reread = Card.parse(card.serialize())
    assert meaning(reread, *kept) == meaning(original, *kept)


def test_changing_names_keeps_a_hand_written_full_name() -> None:
    card = load("apple_v3.vcf")
    card.apply({"first_name": "Karl"})
    assert card.to_fields()["full_name"] == "Dr. Jürgen Müller"
    assert card.first("N").value == "Müller;Karl;Karl;Dr.;"


def test_changing_names_updates_a_generated_full_name() -> None:
    card = load("nextcloud_v4.vcf")
    card.apply({"last_name": "Berg"})
    assert card.to_fields()["full_name"] == "Zoë Berg"


def test_address_write_keeps_the_other_address_parts() -> None:
    card = load("apple_v3.vcf")
    card.apply({"city": "Potsdam", "postal_code": "14467"})
    assert card.first("ADR").value == ";;Hauptstraße 1;Potsdam;;14467;Deutschland"
    assert card.first("ADR").group == "item1"


def test_commas_and_semicolons_are_escaped_and_read_back() -> None:
    card = card_from_fields("u-1", {"company": "Smith, Jones; Partners", "notes": "a,b;c\\d"})
    fields = Card.parse(card.serialize()).to_fields()
    assert fields["company"] == "Smith, Jones; Partners"
    assert fields["notes"] == "a,b;c\\d"


def test_tags_are_written_as_one_categories_line() -> None:
    card = load("apple_v3.vcf")
    card.apply({"tags": ["VIP", "Lieferant, neu"]})
    assert [c.value for c in card.all("CATEGORIES")] == ["VIP,Lieferant\\, neu"]
    assert card.to_fields()["tags"] == ["VIP", "Lieferant, neu"]


def test_new_card_has_version_uid_fn_n_and_parses_with_vobject() -> None:
    card = card_from_fields("k-42", {"first_name": "Ann", "last_name": "Lee", "mobile": "+1 5"})
    parsed = vobject.readOne(card.serialize())
    assert parsed.version.value == "3.0"
    assert parsed.uid.value == "k-42"
    assert parsed.fn.value == "Ann Lee"
    assert parsed.n.value.family == "Lee"
    assert parsed.tel.params["TYPE"] == ["CELL"]


def test_long_unicode_values_are_folded_at_75_octets_on_character_boundaries() -> None:
    card = card_from_fields("k-1", {"notes": "Ünïcödé " * 30})
    physical = card.serialize().split("\r\n")
    assert max(len(row.encode()) for row in physical) <= 75
    assert Card.parse(card.serialize()).to_fields()["notes"] == ("Ünïcödé " * 30).strip()


def test_writing_an_unknown_or_read_only_field_is_refused() -> None:
    with pytest.raises(VCardError):
        load("google_v3.vcf").apply({"uid": "other"})


def test_a_line_that_is_not_a_content_line_is_kept_verbatim() -> None:
    text = raw("google_v3.vcf").replace("\n", "\r\n").replace("END:VCARD", "garbage\r\nEND:VCARD")
    card = Card.parse(text)
    card.apply({"job_title": "CTO"})
    assert "\r\ngarbage\r\n" in card.serialize()
    assert card.to_fields()["job_title"] == "CTO"


def test_text_without_a_vcard_is_refused() -> None:
    with pytest.raises(VCardError):
        Card.parse("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")


# --- Issue 21, point 22: a name in the form the app needs; a mobile-only card's phone.


def test_a_card_made_from_a_full_name_only_has_its_structured_name() -> None:
    # As from GetResponse, whose one name field pairs with FN: never an empty N:;;;;.
    card = card_from_fields("g-1", {"full_name": "Ann Marie Lee", "email": "ann@x.test"})
    assert card.first("N").value == "Lee;Ann Marie;;;"
    parsed = vobject.readOne(card.serialize())
    assert (parsed.n.value.family, parsed.n.value.given) == ("Lee", "Ann Marie")
    single = card_from_fields("g-2", {"full_name": "Madonna"})
    assert single.first("N").value == ";Madonna;;;"


def test_a_new_full_name_moves_a_generated_structured_name_but_not_a_hand_written_one() -> None:
    generated = card_from_fields("g-3", {"full_name": "Ann Lee"})
    generated.apply({"full_name": "Ann Smith"})
    assert generated.first("N").value == "Smith;Ann;;;"
    hand_written = load("apple_v3.vcf")  # FN "Dr. Jürgen Müller", N "Müller;Jürgen;…"
    hand_written.apply({"full_name": "Jürgen Müller-Lüdenscheidt"})
    assert hand_written.first("N").value.startswith("Müller;Jürgen;")


def test_a_card_with_only_a_mobile_number_has_it_as_its_phone() -> None:
    card = card_from_fields("m-1", {"full_name": "Ann Lee", "mobile": "+39 333 1234567"})
    fields = Card.parse(card.serialize()).to_fields()
    assert fields["phone"] == fields["mobile"] == "+39 333 1234567"
    # Written back unchanged (or to a new card with both), the number stays one line.
    card.apply({"phone": "+39 333 1234567"})
    copy = card_from_fields("m-2", {"phone": "+39 333 1234567", "mobile": "+39 333 1234567"})
    assert len(card.all("TEL")) == len(copy.all("TEL")) == 1
    # Another phone is a voice line of its own; the mobile stays.
    card.apply({"phone": "+39 06 7654321"})
    assert card.to_fields()["phone"] == "+39 06 7654321"
    assert card.to_fields()["mobile"] == "+39 333 1234567"
