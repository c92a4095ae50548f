"""Matching records seen for the first time to the other side (DESIGN.md 4.4, issue 13).

Order of trust:
1. a **stable identity** both sides declare (``FieldSpec.identity``: the same namespace on
   both connectors, e.g. the vCard UID of two CardDAV books): equal values are the same
   person, whatever their emails say;
2. the **normalized email**, when it names one record on each side;
3. an email that occurs more than once on either side is a **group**: its records are
   paired by a second key (normalized full name, then phone); only unambiguous pairs are
   linked. What is left on both sides is an ambiguous group: *held*, linked not at all,
   listed for the tenant (the connection's Duplicates page) to link by hand or mark
   distinct. Never first-wins.

Pure decisions over plain values; ``sync/engine/stage.py`` applies them to the links.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from connectors.base import FieldSpec
from sync.engine.sides import other
from sync.models import RecordLink

# Why a link is held (RecordLink.held); also the summary's reason.
AMBIGUOUS = "ambiguous group"
# Summary reasons of records that were not synced as they were read (run.counts).
NO_EMAIL = "no email"
DUPLICATE_EMAIL = "duplicate email"
OUT_OF_SCOPE = "out of scope"

_NAME_COMMONS = {"first_name", "last_name", "full_name"}


DOMAIN = "domain"  # the identity of companies: their website's domain


@dataclass(frozen=True)
class Identity:
    """The field of each side carrying an identity both sides share, and its namespace."""

    a: str = ""
    b: str = ""
    namespace: str = ""

    def get(self, side: str) -> str:
        return self.a if side == "a" else self.b


def identity_fields(specs: dict[str, list[FieldSpec]], entity: str = "contact") -> Identity:
    """The first pair of fields declaring the same ``identity`` namespace; for companies
    without one, their websites (a domain names one company: issue 17's "matched by name
    or domain"); an empty Identity when the two apps share none."""
    theirs = {s.identity: s.key for s in specs.get("b", []) if s.identity}
    for spec in specs.get("a", []):
        if spec.identity and spec.identity in theirs:
            return Identity(spec.key, theirs[spec.identity], spec.identity)
    if entity == "company":
        sites = {
            side: next((s.key for s in specs.get(side, []) if s.common == "website"), "")
            for side in ("a", "b")
        }
        if sites["a"] and sites["b"]:
            return Identity(sites["a"], sites["b"], DOMAIN)
    return Identity()


def identity_of(fields: dict[str, Any], key: str | None, namespace: str = "") -> str:
    """The record's identity value (stripped text, at most 255 characters), "" if none;
    a website as its domain (``https://www.Acme.example/about`` -> ``acme.example``)."""
    if not key:
        return ""
    value = fields.get(key)
    if value in (None, ""):
        return ""
    if namespace == DOMAIN:
        return domain_key(value)
    return str(value).strip()[:255]


def domain_key(value: Any) -> str:
    """The host of a website or bare domain, lower case, without ``www.``, port or path;
    "" for a value with no dotted host."""
    text = str(value).strip().casefold()
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    host = re.split(r"[/?#:@\s]", text, maxsplit=1)[0].strip(".")
    host = host.removeprefix("www.")
    return host[:255] if "." in host else ""


def company_key(value: Any) -> str:
    """A company's name as a match key: accents, case and punctuation ignored, white
    space collapsed (``"ACME, Inc."`` and ``"Acme Inc"`` are one key)."""
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = re.sub(r"[.'’]", "", text)  # S.r.l. -> srl, O'Neil -> oneil
    text = re.sub(r"[^\w\s&]", " ", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class SecondKeys:
    """The pair keys (``Pair.key``) whose normalized values identify a person inside an
    email group: names first, then phones."""

    names: tuple[str, ...]
    phones: tuple[str, ...]

    @classmethod
    def of(cls, pairs: list[Any], specs: dict[str, list[FieldSpec]]) -> SecondKeys:
        commons = {s.key: s.common for s in specs.get("a", [])}
        names, phones = [], []
        for pair in pairs:
            parts = pair.a_field.split("+")
            if pair.transform == "full_name" or any(commons.get(p) in _NAME_COMMONS for p in parts):
                names.append(pair.key)
            elif pair.transform == "phone" or "phone" in (pair.a_type, pair.b_type):
                phones.append(pair.key)
        return cls(tuple(names), tuple(phones))

    def name(self, values: dict[str, Any]) -> str:
        """Normalized full name: the name values, case-folded, spaces collapsed."""
        text = " ".join(str(values[k]) for k in self.names if values.get(k))
        return " ".join(text.casefold().split())

    def phones_of(self, values: dict[str, Any]) -> frozenset[str]:
        return frozenset(str(values[k]) for k in self.phones if values.get(k))


@dataclass
class Member:
    """One record of an email group: on the side being read (``ref`` = record id) or a
    free link of the other side (``ref`` = the link)."""

    ref: Any
    name: str
    phones: frozenset[str]


@dataclass
class GroupOutcome:
    """How a group was settled: ``pairs`` (record id, link), records and links ``held``,
    records left ``new`` (people the other side does not have), and ``by`` counts."""

    pairs: list[tuple[str, Any]] = field(default_factory=list)
    held_records: list[str] = field(default_factory=list)
    held_links: list[Any] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    by: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def pair_group(records: list[Member], links: list[Member]) -> GroupOutcome:
    """Pair a duplicate-email group: by name where exactly one record on each side has it,
    then by a shared phone among those left with the same name. Both sides left with
    unpaired members -> every one of them is held (no guess). Only records left -> they
    are new people; only links left -> they stay free (people this side lacks)."""
    outcome = GroupOutcome()
    left_r, left_l = _pair_by(
        records, links, lambda m: frozenset([m.name]) if m.name else frozenset(), outcome
    )
    outcome.by["name"] = len(outcome.pairs)
    before = len(outcome.pairs)
    left_r, left_l = _pair_by(left_r, left_l, lambda m: m.phones, outcome, same_name=True)
    outcome.by["phone"] = len(outcome.pairs) - before
    if left_r and left_l:
        outcome.held_records = [m.ref for m in left_r]
        outcome.held_links = [m.ref for m in left_l]
    else:
        outcome.new = [m.ref for m in left_r]
    return outcome


def _pair_by(
    records: list[Member],
    links: list[Member],
    keys_of: Any,
    outcome: GroupOutcome,
    *,
    same_name: bool = False,
) -> tuple[list[Member], list[Member]]:
    """Pair a record and a link when each is the other's only partner (a member sharing
    a key value with it; with ``same_name``, only among members of the same name)."""

    def partners(m: Member, others: list[Member]) -> list[Member]:
        mine = keys_of(m)
        return [o for o in others if mine & keys_of(o) and (not same_name or o.name == m.name)]

    pairs = []
    for r in records:
        found = partners(r, links)
        if len(found) == 1 and partners(found[0], records) == [r]:
            pairs.append((r, found[0]))
    outcome.pairs.extend((r.ref, ln.ref) for r, ln in pairs)
    paired = {id(m) for pair in pairs for m in pair}
    return (
        [m for m in records if id(m) not in paired],
        [m for m in links if id(m) not in paired],
    )


@dataclass
class Matches:
    """What ``match_records`` decided for a page's unlinked records of one side."""

    links: dict[str, Any] = field(default_factory=dict)  # record id -> link to adopt it
    held: dict[str, str] = field(default_factory=dict)  # record id -> why it is held
    held_links: list[Any] = field(default_factory=list)  # free links of the other side
    identities: dict[str, str] = field(default_factory=dict)  # record id -> identity


def match_records(
    ctx: Any, side: str, records: list[Any], keys: dict[str, str], links: Any
) -> Matches:
    """Decide, for records of ``side`` without a link, which free link of the other side
    each adopts (by identity, else email, else second key inside an email group) and
    which are held. Records not in ``links`` nor ``held`` get a new half link. Counts go
    to ``ctx.match_stats``."""
    result = Matches()
    stats = ctx.match_stats
    identity = identity_fields(ctx.specs, ctx.entity)
    id_field = identity.get(side)
    result.identities = {r.id: identity_of(r.fields, id_field, identity.namespace) for r in records}
    claimed: set[int] = set()
    # A shared id decides before anything else; a company's domain only for the
    # companies their name did not pair (a name is what users see and keep unique).
    late = identity.namespace == DOMAIN
    if not late:
        _match_identities(side, records, links, result, claimed, stats)
    rest = [r for r in records if r.id not in result.links]
    groups: dict[str, list[Any]] = defaultdict(list)
    for record in rest:
        if keys[record.id]:
            groups[keys[record.id]].append(record)
    if groups:
        _match_keys(ctx, side, groups, links, result, claimed, stats)
    if late:
        claimed.update(link.pk for link in result.links.values())
        left = [r for r in records if r.id not in result.links and r.id not in result.held]
        _match_identities(side, left, links, result, claimed, stats)
    return result


def _match_identities(
    side: str,
    records: list[Any],
    links: Any,
    result: Matches,
    claimed: set[int],
    stats: dict[str, int],
) -> None:
    """Pair ``records`` by their identity (``result.identities``) with the free link
    holding the same one, trusted only when it names one record on each side."""
    wanted = {result.identities[r.id] for r in records if result.identities[r.id]}
    if not wanted:
        return
    by_identity: dict[str, list[Any]] = defaultdict(list)
    for link in links.filter(identity_key__any=list(wanted)):
        if link.pk not in claimed:
            by_identity[link.identity_key].append(link)
    seen: dict[str, int] = defaultdict(int)
    for record in records:
        seen[result.identities[record.id]] += 1
    for record in records:
        value = result.identities[record.id]
        found = by_identity.get(value, [])
        if value and seen[value] == 1 and len(found) == 1 and found[0].side_id(side) is None:
            result.links[record.id] = found[0]
            claimed.add(found[0].pk)
            stats["matched by identity"] += 1


def _match_keys(
    ctx: Any,
    side: str,
    groups: dict[str, list[Any]],
    links: Any,
    result: Matches,
    claimed: set[int],
    stats: dict[str, int],
) -> None:
    """Pair records by their match key (email; a company's name), and inside a group
    sharing one by a second key (name, then phone); hold what cannot be told apart."""
    other_side = other(side)
    free: dict[str, list[Any]] = defaultdict(list)
    others: dict[str, int] = defaultdict(int)
    taken: dict[str, int] = defaultdict(int)
    for link in links.filter(match_key__any=list(groups)).order_by("pk"):
        # A record found deleted holds its key no more, and neither does the record
        # linked to it: a company deleted and made again under the same name (on one
        # side or both) is one holder of the name, not two.
        other_gone = link.side_id(other_side) is not None and link.side(other_side).gone
        if link.side_id(other_side) is not None and not other_gone:
            others[link.match_key] += 1
        if link.side_id(side) is not None:
            if not (link.side(side).gone or other_gone):
                taken[link.match_key] += 1
        elif not link.held and link.pk not in claimed and link.side_id(other_side) is not None:
            free[link.match_key].append(link)  # (a link of no record at all is nobody)
    second = SecondKeys.of(ctx.pairs, ctx.specs)
    for key, members in groups.items():
        candidates = free.get(key, [])
        if len(members) == 1 and not taken[key] and others[key] <= 1:
            if candidates:
                result.links[members[0].id] = candidates[0]
            continue  # One record on each side (or none on the other): plain email match.
        stats[DUPLICATE_EMAIL] += len(members)
        mine = [_member(ctx, second, side, r.id, r.fields) for r in members]
        theirs = [
            _member(
                ctx,
                second,
                other_side,
                ln,
                ln.side(other_side).pending or ln.side(other_side).fields or {},
            )
            for ln in candidates
        ]
        outcome = pair_group(mine, theirs)
        for record_id, link in outcome.pairs:
            result.links[record_id] = link
        stats["paired by name"] += outcome.by["name"]
        stats["paired by phone"] += outcome.by["phone"]
        for record_id in outcome.held_records:
            result.held[record_id] = (
                f"{AMBIGUOUS}: {key} ({len(outcome.held_records)} in {side.upper()}, "
                f"{len(outcome.held_links)} in {other_side.upper()} not told apart by name "
                "or phone)"
            )
        result.held_links.extend(outcome.held_links)
        stats[AMBIGUOUS] += len(outcome.held_records) + len(outcome.held_links)


def _member(ctx: Any, second: SecondKeys, side: str, ref: Any, fields: dict[str, Any]) -> Member:
    values = ctx.side_values(side, fields)
    return Member(ref, second.name(values), second.phones_of(values))


def skip_reason(reason: str) -> str:
    """The summary's reason for a planner's skip ("no email", "out of scope", other)."""
    for known in (NO_EMAIL, OUT_OF_SCOPE, DUPLICATE_EMAIL, AMBIGUOUS):
        if reason.startswith(known):
            return known
    return "other"


def summary(ctx: Any, skips: dict[str, int], connection: Any) -> dict[str, Any]:
    """The run summary's matching part (issue 13): records skipped by reason, records of
    duplicate-email groups and how they were paired, and the links held for the tenant."""
    stats = dict(ctx.match_stats)
    skipped = {k: v for k, v in skips.items() if v}
    for reason in (NO_EMAIL, OUT_OF_SCOPE):
        skipped.setdefault(reason, 0)
    skipped[AMBIGUOUS] = stats.get(AMBIGUOUS, 0)
    # A duplicate email alone no longer skips a record (its group is paired, or the
    # leftover people synced as people of their own): the reason stays, at 0, so a
    # summary reads the same before and after; "matching" says how groups were settled.
    skipped[DUPLICATE_EMAIL] = skips.get(DUPLICATE_EMAIL, 0)
    held = RecordLink.objects.filter(connection=connection).exclude(held="").count()
    return {
        "skipped": skipped,
        "held": {AMBIGUOUS: held},
        "matching": {k: v for k, v in stats.items() if v},
    }


# --- The tenant's decisions on held groups (the connection's Duplicates page).


def held_groups(connection: Any) -> list[dict[str, Any]]:
    """The held links of ``connection`` by email: each group's A and B records with the
    values a person tells people apart by."""
    groups: dict[str, dict[str, Any]] = {}
    held = RecordLink.objects.filter(connection=connection).exclude(held="").order_by("pk")
    for link in held:
        group = groups.setdefault(link.match_key, {"email": link.match_key, "a": [], "b": []})
        side = "a" if link.a_id else "b"
        fields = link.side(side).pending or link.side(side).fields or {}
        shown = {k: v for k, v in fields.items() if v not in (None, "", [], {}) and k != "uid"}
        group[side].append({"pk": link.pk, "id": link.side_id(side), "fields": shown})
    return list(groups.values())


def link_by_hand(connection: Any, a_pk: int, b_pk: int) -> None:
    """Link the held A record of link ``a_pk`` with the held B record of link ``b_pk``
    (the tenant says they are one person): one link, planned by the next run."""
    with transaction.atomic():
        held = RecordLink.objects.select_for_update().filter(connection=connection)
        held = held.exclude(held="")
        a = held.get(pk=a_pk, a_id__isnull=False, b_id__isnull=True)
        b = held.get(pk=b_pk, b_id__isnull=False, a_id__isnull=True)
        b_values = (b.b_id, b.b_pending or b.b_fields, b.b_updated_at)
        b.delete()  # first: a record has one link (unique per side)
        a.b_id, a.b_pending, a.b_updated_at = b_values
        a.held, a.dirty = "", True
        a.save(update_fields=["b_id", "b_pending", "b_updated_at", "held", "dirty"])


def mark_distinct(connection: Any, pks: list[int]) -> int:
    """The tenant says these held records are people of their own: released, so that
    the next run creates each on the other side. Returns how many were released."""
    held = RecordLink.objects.filter(connection=connection, pk__in=pks).exclude(held="")
    return held.update(held="", dirty=True)
