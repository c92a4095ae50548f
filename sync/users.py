"""Owners across the two sides, decided in one place: which users of side A and side B
are the same person ("Automatic link"), storing the links, each side's default user for
owners without a link, and how an owner value crosses a connection.

The wizard's Users step (sync/web/views/wizard.py), the REST API (sync/api/) and the ops
console (sync/admin.py) call ``suggest_links``, ``save_links``, ``link_automatically`` and
``check_default_user``; the engine reads ``owner_map`` into its MappingContext
(sync/engine/context.py), so an owner ↔ owner field pair translates owner ids through
the links (sync/engine/mapping.py).

Automatic linking pairs users with the same email (case-insensitive), then users whose
names match once normalized: accents, case, punctuation and extra spaces ignored, and the
order of the words too ("Pérez, José" is "jose perez"). A name or email shared by two
users of one side is ambiguous and links nobody; each user is linked at most once.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from connectors.base import ConnectorError, VendorUser
from sync.engine.mapping import OwnerMap
from sync.models import Connection, UserLink

SIDES = ("a", "b")


class Invalid(ValueError):
    """A link or default user that is not possible; the message says why."""


def name_key(name: str) -> str:
    """A person's name as automatic linking compares it: without accents, case,
    punctuation and extra spaces, its words sorted (so "Pérez, José" equals "jose
    perez")."""
    plain = unicodedata.normalize("NFKD", name or "")
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).casefold()
    words = "".join(ch if ch.isalnum() else " " for ch in plain).split()
    return " ".join(sorted(words))


def _unique_index(users: Iterable[VendorUser], key: str) -> dict[str, str]:
    """Normalized email or name -> user id, leaving out values two users share."""
    index: dict[str, str] = {}
    shared: set[str] = set()
    for user in users:
        value = user.email.strip().casefold() if key == "email" else name_key(user.name)
        if not value:
            continue
        if value in index and index[value] != user.id:
            shared.add(value)
        index.setdefault(value, user.id)
    return {value: user_id for value, user_id in index.items() if value not in shared}


def suggest_links(a_users: list[VendorUser], b_users: list[VendorUser]) -> dict[str, str]:
    """A user id -> B user id for the users "Automatic link" pairs: same email first,
    then the same normalized name (``name_key``); each B user linked at most once."""
    links: dict[str, str] = {}
    taken: set[str] = set()
    for key in ("email", "name"):
        a_index, b_index = _unique_index(a_users, key), _unique_index(b_users, key)
        for value, a_id in a_index.items():
            b_id = b_index.get(value)
            if b_id is None or a_id in links or b_id in taken:
                continue
            links[a_id] = b_id
            taken.add(b_id)
    return links


@dataclass
class Team:
    """Both sides' users (``error``: a side's vendor message when they could not be
    read)."""

    users: dict[str, list[VendorUser]] = field(default_factory=lambda: {"a": [], "b": []})
    error: str = ""

    def by_id(self, side: str) -> dict[str, VendorUser]:
        return {u.id: u for u in self.users[side]}


def read_team(connection: Connection) -> Team:
    """Both sides' users, from their connectors."""
    from sync.vendors import open_connector

    team = Team()
    for side in SIDES:
        try:
            with open_connector(connection.authorization(side), connection.scope(side)) as app:
                team.users[side] = list(app.users())
        except ConnectorError as exc:
            team.error = team.error or str(exc)
    return team


def save_links(
    connection: Connection,
    chosen: dict[str, str],
    team: Team,
    suggested: dict[str, str] | None = None,
) -> list[UserLink]:
    """Replace ``connection``'s links with ``chosen`` (A user id -> B user id; unknown
    ids are refused, as is a B user linked twice). ``suggested``: the automatic links,
    so that a link equal to its suggestion is recorded as automatic."""
    a_by_id, b_by_id = team.by_id("a"), team.by_id("b")
    unknown = [a for a, b in chosen.items() if a not in a_by_id or b not in b_by_id]
    if unknown:
        raise Invalid(
            _("These users are not users of the apps: %(users)s.") % {"users": ", ".join(unknown)}
        )
    values = list(chosen.values())
    twice = sorted({b for b in values if values.count(b) > 1})
    if twice:
        names = ", ".join(b_by_id[b].name for b in twice)
        raise Invalid(
            _("Each user of side B can be linked to one user of side A only: %(users)s.")
            % {"users": names}
        )
    if suggested is None:
        suggested = suggest_links(team.users["a"], team.users["b"])
    with transaction.atomic():
        connection.user_links.all().delete()
        return UserLink.objects.bulk_create(
            UserLink(
                connection=connection,
                a_user_id=a,
                a_user_label=a_by_id[a].name,
                b_user_id=b,
                b_user_label=b_by_id[b].name,
                auto=suggested.get(a) == b,
            )
            for a, b in chosen.items()
        )


def link_automatically(connection: Connection, team: Team | None = None) -> list[UserLink]:
    """ "Automatic link": keep the links made by hand, add the automatic ones for the
    users still unlinked on both sides."""
    team = team or read_team(connection)
    if team.error:
        raise Invalid(_("The users could not be read: %(error)s") % {"error": team.error})
    suggested = suggest_links(team.users["a"], team.users["b"])
    by_hand = {
        link.a_user_id: link.b_user_id for link in connection.user_links.all() if not link.auto
    }
    chosen = dict(by_hand)
    taken = set(by_hand.values())
    for a_id, b_id in suggested.items():
        if a_id not in chosen and b_id not in taken:
            chosen[a_id] = b_id
            taken.add(b_id)
    return save_links(connection, chosen, team, suggested)


def check_default_user(user_id: str, side: str, team: Team) -> None:
    """A default user is one of ``side``'s users (blank: none)."""
    if user_id and team.error:
        raise Invalid(_("The users could not be read: %(error)s") % {"error": team.error})
    if user_id and user_id not in team.by_id(side):
        raise Invalid(
            _("Choose one of the users of side %(side)s as its default user.")
            % {"side": side.upper()}
        )


# --- Owner values across the connection (the engine's part) --------------------------------


def owner_map(connection: Connection) -> OwnerMap:
    """``connection``'s user links and default users, for the engine."""
    links = dict(connection.user_links.values_list("a_user_id", "b_user_id"))
    return OwnerMap(
        links=links,
        defaults={"a": connection.default_user_a, "b": connection.default_user_b},
    )
