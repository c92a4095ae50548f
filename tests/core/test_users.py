"""Automatic user linking (sync/users.py): names match whatever their accents, case,
spacing and word order; emails match first; ambiguous names link nobody."""

from __future__ import annotations

from connectors.base import VendorUser
from sync.users import name_key, suggest_links


def test_names_match_without_accents_case_spaces_or_word_order() -> None:
    assert name_key("José  Pérez") == name_key("jose perez") == name_key("Pérez, José")
    assert name_key("José Pérez") != name_key("José Pereira")


def test_email_links_before_names_and_each_user_once() -> None:
    a = [VendorUser("1", "Ann Smith", "ann@x.example"), VendorUser("2", "Ann Smith")]
    b = [VendorUser("b1", "A. Smith", "ANN@x.example"), VendorUser("b2", "ann smith")]
    assert suggest_links(a, b) == {"1": "b1"}  # "Ann Smith" is two people on side A


def test_a_name_two_users_share_links_nobody() -> None:
    a = [VendorUser("1", "Mario Rossi")]
    b = [VendorUser("b1", "mario rossi"), VendorUser("b2", "Rossi, Mario")]
    assert suggest_links(a, b) == {}
