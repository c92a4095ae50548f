"""Benchmark against the floor (issue 18 point 6): an initial two-way sync between two
vendors' sandboxes with their real rate limits on and injected latency on every call.
Not a test.

N contacts in one app and N others in the other (no shared emails: every contact is
created on the other side), one in-process sandbox server on a loopback port, the real
engine on a fresh SQLite file (``--db postgres`` for PostgreSQL at ``DATABASE_URL``).
Prints the wall time, the API calls each side cost per endpoint, the floor with its
terms, the ratios, and where the wall time went (each connector's reads, details and
writes, and the engine's own work between them).

    .venv/bin/python bench/floor.py [--n 10000] [--latency-ms 50]
        [--pair getresponse-salesforce|mailchimp-salesforce|sellf-getresponse]

The floor (``floor_of``) is the fewest calls the vendors' documented API allows for
this sync (``floor_calls``: each term with its source in ../shared/apis), at their
published rate and parallelism (connectors/limits.py), each call costing the latency:
the two sides work at once, and a side's writes wait for the other side's reads. It
leaves out the schema calls (describe, custom fields, tags) and the engine's own time,
so it is a lower bound. GetResponse's term is its details: list rows lack tags and
custom fields, so a first sync reads every contact once, at 80 a second at best.
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import configure_django  # noqa: E402  (after the path)


@dataclass(frozen=True)
class Calls:
    """Calls of one kind on one side of the floor: how many, and what bounds them
    beyond the side's own limits (``Limits``: in flight, a second)."""

    what: str
    calls: int
    write: bool = False
    # Each call needs the previous one's answer (a cursor to follow): one at a time.
    chained: bool = False
    # The endpoint's own rate, under the side's (GetResponse's batch: 1 a second).
    per_second: float = 0.0


def seconds(calls: list[Calls], parallel: int, per_second: float, latency: float) -> float:
    """The least time ``calls`` can take on one account: every call costs ``latency``,
    at most ``parallel`` at once (waves), at most ``per_second`` (the side's rate, and
    each endpoint's own), and chained calls one after another."""
    total = sum(c.calls for c in calls)
    if not total:
        return 0.0
    bounds = [math.ceil(total / max(1, parallel)) * latency]
    if per_second:
        bounds.append((total - 1) / per_second + latency)
    for c in calls:
        if c.chained:
            bounds.append(c.calls * latency)
        if c.per_second and c.calls:
            bounds.append((c.calls - 1) / c.per_second + latency)
    return max(bounds)


def floor_calls(vendor: str, n: int) -> list[Calls]:
    """The fewest calls the vendor's documented API allows for an initial two-way sync
    where ``n`` records are listed on this side and ``n`` others created on it (no
    shared email). Sources: ../shared/apis (the notes' sections in brackets). Not
    counted on any side: the schema (describe, custom fields, tags), once per run."""
    if vendor == "getresponse":
        pages = math.ceil(n / 1000)
        return [
            # GET /contacts, perPage max 1,000 [2.3 List]; pages by number, so they need
            # not wait for one another once the first has told TotalPages.
            Calls("list pages", pages),
            # GET /contacts/{id}: list rows omit tags and custom fields, "so fetch the
            # detail per contact" [2.3 List, doc]; `fields=` only narrows the list rows.
            # A first sync knows no contact yet, so every one is read.
            Calls("details", n),
            # POST /contacts/batch: ≤1,000 contacts a call, 1 call a second, 80 calls per
            # 10 minutes [2.3 Batch create, repo imports.md]. (POST /imports takes 20 MB
            # in one call, but finishes asynchronously after a review whose duration is
            # not published, 2 at once per account [2.3 Import]: not the faster way.)
            Calls("batch creates", pages, write=True, per_second=1.0),
            # Creates answer 202 with no id [2.3 Create]: the new ids are listed, 1,000 a
            # call, after the batches.
            Calls("ids of the created", pages, write=True),
        ]
    if vendor == "salesforce":
        return [
            # SOQL, up to 2,000 records a page, each next page through nextRecordsUrl
            # [1.3]: one after another.
            Calls("SOQL pages", math.ceil(n / 2000), chained=True),
            # sObject Collections create, ≤200 records a call, the ids in the answer
            # [1.5]. (Bulk API 2.0 [1.10] needs fewer calls at 10,000 but is processed
            # asynchronously in an unpublished time: not the faster way.)
            Calls("Collections creates", math.ceil(n / 200), write=True),
        ]
    if vendor == "mailchimp":
        return [
            # GET /lists/{id}/members, count ≤1,000, merge fields and tags in the rows
            # [3.2]; pages by offset, independent once the first told total_items.
            Calls("member pages", math.ceil(n / 1000)),
            # POST /lists/{id}, ≤500 members a call, answers the new ids [3.4 Bulk].
            Calls("batch subscribe", math.ceil(n / 500), write=True),
        ]
    if vendor == "sellf":
        return [
            # GET /people, 50 a page [1.4], custom fields in the rows [1.5]; pages by
            # number, each one's meta.has_more known only from its answer: one at a time.
            Calls("list pages", math.ceil(n / 50), chained=True),
            # POST /people, one a call: no batch create is documented [1.5].
            Calls("creates", n, write=True),
        ]
    raise ValueError(vendor)


@dataclass(frozen=True)
class Floor:
    seconds: float
    sides: dict[str, float]
    calls: dict[str, int]
    terms: list[str]


def floor_of(vendors: tuple[str, str], n: int, latency: float) -> Floor:
    """The floor of an initial sync of ``n`` + ``n``: each side's calls at its published
    parallelism and rate, the two sides at once; and, as a chain, a side's writes wait
    for the other side's reads (its records are what gets written)."""
    from connectors.limits import VENDOR_LIMITS

    plan = {v: floor_calls(v, n) for v in vendors}

    def time_of(vendor: str, calls: list[Calls]) -> float:
        limits = VENDOR_LIMITS[vendor]
        return seconds(calls, limits.parallel, limits.per_second, latency)

    sides, terms = {}, []
    for vendor in vendors:
        other = vendors[1] if vendor == vendors[0] else vendors[0]
        alone = time_of(vendor, plan[vendor])
        reads_then_writes = time_of(other, [c for c in plan[other] if not c.write]) + time_of(
            vendor, [c for c in plan[vendor] if c.write]
        )
        sides[vendor] = max(alone, reads_then_writes)
        terms.append(
            f"{vendor}: "
            + ", ".join(f"{c.what} {c.calls}" for c in plan[vendor])
            + f"; all its calls {alone:.1f} s, {other}'s reads then its writes "
            f"{reads_then_writes:.1f} s"
        )
    return Floor(
        seconds=max(sides.values()),
        sides=sides,
        calls={v: sum(c.calls for c in plan[v]) for v in vendors},
        terms=terms,
    )


class Breakdown:
    """Where the wall time goes: the time spent in each connector's reads (``fetch``:
    the listing's pages), ``details`` and writes (``push``), per vendor, from wrappers
    put on the connector classes for this benchmark only. Phases that overlap (reads
    of both sides at once, details pipelined with staging) are timed each on its own:
    ``busy`` is the time inside the calls summed, ``span`` the first start to the
    last end; what is left of the wall time is the engine's own work (staging,
    matching, planning, journaling in the database)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.busy: dict[tuple[str, str], float] = defaultdict(float)
        self.spans: dict[tuple[str, str], list[float]] = {}
        self.intervals: list[list[float]] = []

    def add(self, key: tuple[str, str], started: float, ended: float) -> None:
        with self.lock:
            self.busy[key] += ended - started
            span = self.spans.setdefault(key, [started, ended])
            span[0], span[1] = min(span[0], started), max(span[1], ended)
            self.intervals.append([started, ended])

    def wrap(self, cls: type, vendor: str) -> None:
        fetch, details, push = cls.fetch, cls.details, cls.push
        add = self.add

        def timed_fetch(connector: Any, cursor: Any) -> Iterator[Any]:
            pages = fetch(connector, cursor)
            while True:
                started = time.perf_counter()
                try:
                    page = next(pages)
                except StopIteration:
                    add((vendor, "read"), started, time.perf_counter())
                    return
                add((vendor, "read"), started, time.perf_counter())
                yield page

        def timed(method: Callable[..., Any], phase: str) -> Callable[..., Any]:
            def call(connector: Any, *args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return method(connector, *args, **kwargs)
                finally:
                    add((vendor, phase), started, time.perf_counter())

            return call

        cls.fetch = timed_fetch
        cls.details = timed(details, "details")
        cls.push = timed(push, "writes")

    def report(self, origin: float, wall: float) -> list[str]:
        lines = []
        for (vendor, phase), busy in sorted(self.busy.items()):
            first, last = self.spans[(vendor, phase)]
            lines.append(
                f"    {vendor:<11} {phase:<8} busy {busy:6.1f} s, "
                f"from {first - origin:6.1f} s to {last - origin:6.1f} s"
            )
        inside = _union(self.intervals)
        lines.append(f"    engine's own work (no connector call under way) {wall - inside:.1f} s")
        return lines


def _union(spans: list[list[float]]) -> float:
    """Length of the union of [start, end] intervals."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return total


def side_calls(counts: dict[str, int]) -> tuple[int, int]:
    """(reads, writes) among a vendor's counted endpoints."""
    reads = sum(v for k, v in counts.items() if k.startswith(("GET ", "HEAD ")))
    return reads, sum(counts.values()) - reads


PAIRS = {
    "getresponse-salesforce": ("getresponse", "salesforce"),
    "mailchimp-salesforce": ("mailchimp", "salesforce"),
    "sellf-getresponse": ("sellf", "getresponse"),
}
LABELS = {
    "getresponse": "GetResponse",
    "salesforce": "Salesforce",
    "mailchimp": "Mailchimp",
    "sellf": "Sellf",
}


@dataclass
class App:
    """One side's sandbox account: its authorization, its scope, and how many contacts
    its sandbox holds now."""

    authorization: Any
    scope: str
    count: Callable[[], int]


def open_app(control: Any, account: Any, vendor: str, n: int, start: int) -> App:
    """A sandbox account of ``vendor`` seeded with ``n`` contacts numbered from ``start``
    (the two sides never share an email), and an authorization of it."""
    from sync.models import AppAuthorization

    auth = AppAuthorization(account=account, vendor=vendor, label=LABELS[vendor])
    if vendor == "salesforce":
        org = control.create_account("salesforce", name="Bench CRM", api_max=10_000_000)
        org_id = org["account_id"]
        control.seed("salesforce", org_id, n, seed=1, start=start)
        auth.settings = {"instance_url": control.vendor_url("salesforce")}
        auth.secrets = {"access_token": org["access_token"], "refresh_token": org["refresh_token"]}
        auth.save()
        return App(
            auth,
            "Contact",
            lambda: len(control.state("salesforce", org_id)["orgs"][org_id]["records"]["Contact"]),
        )
    if vendor == "getresponse":
        gr = control.create_account("getresponse", name="Bench news", lists=["bench_list"])
        gr_id = gr["account_id"]
        control.seed("getresponse", gr_id, n, seed=2, start=start)
        auth.secrets = {"api_key": gr["api_key"]}
        auth.settings = {"page_size": 1000, "resolve_timeout": 30}
        auth.save()
        return App(
            auth,
            str(gr["lists"][0]["id"]),
            lambda: len(control.state("getresponse", gr_id)["accounts"][gr_id]["contacts"]),
        )
    if vendor == "mailchimp":
        mc = control.create_account("mailchimp", name="Bench audience", dc="us7")
        mc_id, list_id = mc["account_id"], str(mc["lists"][0]["id"])
        control.seed("mailchimp", mc_id, n, seed=3, start=start)
        auth.secrets = {"api_key": mc["api_key"]}
        auth.save()
        return App(
            auth,
            list_id,
            lambda: len(
                control.state("mailchimp", mc_id)["accounts"][mc_id]["lists"][list_id]["members"]
            ),
        )
    if vendor == "sellf":
        team = control.create_account("sellf", name="Bench team")
        team_id = team["team_id"]
        control.seed("sellf", team_id, n, seed=4, start=start)
        auth.secrets = {"api_key": team["api_key"]}
        auth.settings = {"user_id": team["users"][0]["id"]}
        auth.save()
        return App(
            auth,
            "people",
            lambda: len(control.state("sellf", team_id)["teams"][team_id]["people"]),
        )
    raise ValueError(vendor)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="contacts per app")
    parser.add_argument("--latency-ms", type=int, default=50, help="injected per call")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pair", choices=sorted(PAIRS), default="getresponse-salesforce")
    args = parser.parse_args()
    configure_django("bench_floor" if args.db == "sqlite" else None, flush=args.db == "postgres")
    from django.conf import settings

    from connectors.registry import connector_class
    from connectors.sandbox.control import SandboxControl
    from connectors.sandbox.server import SandboxServer
    from sync.engine import run_connection
    from sync.engine.mapping import ensure_default_mappings
    from sync.models import Account, Connection, Rule, SyncRun
    from sync.vendors import open_connector

    vendors = PAIRS[args.pair]
    server = SandboxServer(port=0).start()
    try:
        control = SandboxControl(server.url, timeout=300)
        settings.VENDOR_SANDBOXES, settings.SANDBOX_URL = True, server.url
        settings.SALESFORCE_LOGIN_URL = control.vendor_url("salesforce")
        settings.MAILCHIMP_API_URL_TEMPLATE = control.vendor_url("mailchimp", "/3.0")
        settings.SELLF_API_URL = control.vendor_url("sellf", "/v2")
        account = Account.objects.create(name="Bench", slug="bench-floor", tier="business")
        apps = [
            open_app(control, account, vendor, args.n, start)
            for vendor, start in zip(vendors, (500_000, 0), strict=True)
        ]
        connection = Connection.objects.create(
            account=account,
            name="floor",
            a_authorization=apps[0].authorization,
            a_scope=apps[0].scope,
            b_authorization=apps[1].authorization,
            b_scope=apps[1].scope,
            state="previewed",
            breaker_count=10 * args.n,
        )
        specs = []
        for side in "ab":
            # Closed, so that its share of the account's limits is not held into the run.
            with open_connector(connection.authorization(side), connection.scope(side)) as c:
                specs.append(c.fields())
        ensure_default_mappings(connection, specs[0], specs[1])
        for direction in ("a_to_b", "b_to_a"):
            Rule.objects.create(connection=connection, direction=direction)

        breakdown = Breakdown()
        for vendor in vendors:
            breakdown.wrap(connector_class(vendor), vendor)
            control.faults(vendor, latency_ms=args.latency_ms, rate_limits=True)
        before = {v: dict(control.requests(v)["endpoints"]) for v in vendors}
        print(
            f"{LABELS[vendors[0]]} ↔ {LABELS[vendors[1]]} initial sync: {args.n} + {args.n} "
            f"contacts, {args.latency_ms} ms a call, real rate limits on, {args.db}",
            flush=True,
        )
        started = time.perf_counter()
        run = run_connection(connection.pk, "manual", initial=True)
        wall = time.perf_counter() - started
        served = {v: control.requests(v) for v in before}

        latency = args.latency_ms / 1000
        floor = floor_of(vendors, args.n, latency)
        floor_seconds = floor.seconds
        # A run longer than SYNC_RUN_BUDGET_SECONDS stops at a checkpoint and its
        # continuation runs at once (synchronously here): count every run it took.
        runs = list(SyncRun.objects.filter(connection=connection, pk__gte=run.pk).order_by("pk"))
        print(
            f"runs {len(runs)} ({', '.join(r.status for r in runs)}), "
            f"writes {sum(r.writes for r in runs)}"
            + "".join(f", error: {r.error}" for r in runs if r.error)
        )
        print(
            f"wall time {wall:.1f} s; floor {floor_seconds:.1f} s; "
            f"ratio {wall / floor_seconds:.1f}×"
        )
        for vendor, answer in served.items():
            counts = {k: v - before[vendor].get(k, 0) for k, v in answer["endpoints"].items()}
            reads, writes = side_calls(counts)
            floor_count = floor.calls[vendor]
            side_floor = floor.sides[vendor]
            print(
                f"  {vendor:<11} calls {reads + writes:>6} (reads {reads}, writes {writes}); "
                f"floor {floor_count} calls, {side_floor:.1f} s; calls ratio "
                f"{(reads + writes) / floor_count:.1f}×; most in flight "
                f"{answer['max_in_flight']['*']}; 429s {answer['faults']['limited']}"
            )
            top = sorted(counts.items(), key=lambda kv: -kv[1])
            print("    " + ", ".join(f"{k} {v}" for k, v in top if v))
        print("floor's terms:")
        for term in floor.terms:
            print(f"  {term}")
        print("where the wall time went:")
        for line in breakdown.report(started, wall):
            print(line)
        print(
            "final state: "
            + ", ".join(f"{LABELS[v]} {app.count()}" for v, app in zip(vendors, apps, strict=True))
            + f" contacts (expected {2 * args.n} each)"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
