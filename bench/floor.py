"""Benchmark against the floor (issue 18 point 6): an initial two-way sync between the
GetResponse and Salesforce sandboxes with the vendors' real rate limits on and injected
latency on every call. Not a test.

N contacts in a GetResponse list and N other Contacts in a Salesforce org (no shared
emails: every contact is created on the other side), one in-process sandbox server on a
loopback port, the real engine on a fresh SQLite file (``--db postgres`` for
PostgreSQL at ``DATABASE_URL``). Prints the wall time, the API calls each side cost
(reads and writes), the floor and the ratios.

    .venv/bin/python bench/floor.py [--n 10000] [--latency-ms 50]

The floor is what the vendors' published batch sizes, rates and parallelism allow at
best, each side's calls in the order a sync needs them (its listing, then the other
side's records written), the two vendors working at once:

- GetResponse: a listing of ``perPage`` 1,000 rows a call; creates through
  ``POST /contacts/batch``, 1,000 a call at 1 call a second; 80 calls a second and 10 in
  parallel overall (connectors/limits.py, ../shared/apis section 2);
- Salesforce: SOQL pages of 2,000 records; sObject Collections of 200; 25 in parallel.

A call costs the injected latency; calls in parallel overlap. The floor counts only
the calls that move contacts (no describe, no list of tags), so it is a lower bound.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import configure_django  # noqa: E402  (after the path)


@dataclass(frozen=True)
class Phase:
    """Calls of one kind on one side: how many, and how fast they may go."""

    calls: int
    parallel: int
    per_second: float = 0.0  # 0: bounded by latency and parallelism only

    def seconds(self, latency: float) -> float:
        waves = math.ceil(self.calls / self.parallel) * latency
        paced = (self.calls - 1) / self.per_second if self.per_second and self.calls else 0.0
        return max(waves, paced + latency if paced else waves)


def floor_phases(n: int) -> dict[str, list[Phase]]:
    """The fewest calls an initial sync of ``n`` + ``n`` contacts needs, per side."""
    from connectors.limits import VENDOR_LIMITS

    gr, sf = VENDOR_LIMITS["getresponse"], VENDOR_LIMITS["salesforce"]
    return {
        "getresponse": [
            # Listing: perPage's maximum of 1,000 (sequential pages by offset).
            Phase(math.ceil(n / 1000), 1, gr.per_second),
            # POST /contacts/batch: 1,000 contacts a call, 1 call a second.
            Phase(math.ceil(n / 1000), gr.parallel, 1.0),
        ],
        "salesforce": [
            # SOQL: 2,000 records a page, pages follow nextRecordsUrl one by one.
            Phase(math.ceil(n / 2000), 1),
            # sObject Collections create: 200 a call.
            Phase(math.ceil(n / 200), sf.parallel),
        ],
    }


def side_calls(counts: dict[str, int]) -> tuple[int, int]:
    """(reads, writes) among a vendor's counted endpoints."""
    reads = sum(v for k, v in counts.items() if k.startswith(("GET ", "HEAD ")))
    return reads, sum(counts.values()) - reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="contacts per app")
    parser.add_argument("--latency-ms", type=int, default=50, help="injected per call")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    configure_django("bench_floor" if args.db == "sqlite" else None, flush=args.db == "postgres")
    from django.conf import settings

    from connectors.sandbox.control import SandboxControl
    from connectors.sandbox.server import SandboxServer
    from sync.engine import run_connection
    from sync.engine.mapping import ensure_default_mappings
    from sync.models import Account, AppAuthorization, Connection, Rule, SyncRun
    from sync.vendors import open_connector

    server = SandboxServer(port=0).start()
    try:
        control = SandboxControl(server.url, timeout=300)
        settings.VENDOR_SANDBOXES, settings.SANDBOX_URL = True, server.url
        settings.SALESFORCE_LOGIN_URL = control.vendor_url("salesforce")
        org = control.create_account("salesforce", name="Bench CRM", api_max=10_000_000)
        gr = control.create_account("getresponse", name="Bench news", lists=["bench_list"])
        control.seed("salesforce", org["account_id"], args.n, seed=1, start=0)
        control.seed("getresponse", gr["account_id"], args.n, seed=2, start=500_000)

        account = Account.objects.create(name="Bench", slug="bench-floor", tier="business")
        salesforce = AppAuthorization(account=account, vendor="salesforce", label="CRM")
        salesforce.settings = {"instance_url": control.vendor_url("salesforce")}
        salesforce.secrets = {
            "access_token": org["access_token"],
            "refresh_token": org["refresh_token"],
        }
        salesforce.save()
        getresponse = AppAuthorization(account=account, vendor="getresponse", label="GR")
        getresponse.secrets = {"api_key": gr["api_key"]}
        getresponse.settings = {"page_size": 1000, "resolve_timeout": 30}
        getresponse.save()
        connection = Connection.objects.create(
            account=account,
            name="floor",
            a_authorization=getresponse,
            a_scope=str(gr["lists"][0]["id"]),
            b_authorization=salesforce,
            b_scope="Contact",
            state="previewed",
            breaker_count=10 * args.n,
        )
        specs = [
            open_connector(connection.authorization(s), connection.scope(s)).fields() for s in "ab"
        ]
        ensure_default_mappings(connection, specs[0], specs[1])
        for direction in ("a_to_b", "b_to_a"):
            Rule.objects.create(connection=connection, direction=direction)

        for vendor in ("getresponse", "salesforce"):
            control.faults(vendor, latency_ms=args.latency_ms, rate_limits=True)
        before = {v: dict(control.requests(v)["endpoints"]) for v in ("getresponse", "salesforce")}
        print(
            f"GetResponse ↔ Salesforce initial sync: {args.n} + {args.n} contacts, "
            f"{args.latency_ms} ms a call, real rate limits on, {args.db}",
            flush=True,
        )
        started = time.perf_counter()
        run = run_connection(connection.pk, "manual", initial=True)
        wall = time.perf_counter() - started
        served = {v: control.requests(v) for v in before}

        latency = args.latency_ms / 1000
        phases = floor_phases(args.n)
        floor_seconds = max(sum(p.seconds(latency) for p in ph) for ph in phases.values())
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
            floor_calls = sum(p.calls for p in phases[vendor])
            side_floor = sum(p.seconds(latency) for p in phases[vendor])
            print(
                f"  {vendor:<11} calls {reads + writes:>6} (reads {reads}, writes {writes}); "
                f"floor {floor_calls} calls, {side_floor:.1f} s; calls ratio "
                f"{(reads + writes) / floor_calls:.1f}×; most in flight "
                f"{answer['max_in_flight']['*']}; 429s {answer['faults']['limited']}"
            )
            top = sorted(counts.items(), key=lambda kv: -kv[1])[:4]
            print("    " + ", ".join(f"{k} {v}" for k, v in top if v))
        listed = control.state("getresponse", gr["account_id"])["accounts"][gr["account_id"]]
        records = control.state("salesforce", org["account_id"])["orgs"][org["account_id"]]
        print(
            f"final state: GetResponse contacts {len(listed['contacts'])}, "
            f"Salesforce Contacts {len(records['records']['Contact'])} (expected {2 * args.n} each)"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
