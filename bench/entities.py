"""Benchmark: the seed's initial sync Salesforce → ForceManager with several elements
(issue 17): N companies, 3N contacts and N opportunities, on the sandboxes over HTTP
(one in-process sandbox server on a loopback port) and the real engine on a fresh SQLite
file (``--db postgres`` for PostgreSQL at ``DATABASE_URL``). Not a test.

    .venv/bin/python bench/entities.py [--n 500] [--db sqlite|postgres] [--latency-ms 0]

Salesforce holds N Accounts, 3N Contacts (three to an Account) and N Opportunities (one
to an Account); ForceManager starts empty. Prints the wall time of the initial run (with
its continuations), the calls each side served per endpoint, what ForceManager holds
afterwards, the journal per element and the process's peak RSS (``getrusage``: the engine
and the sandbox server together, as they share the process). ``--latency-ms`` injects that
much latency into every call of both sandboxes (none by default: the engine's own cost).

The sandbox's seeded Contacts get an Account of their own company's name, which is not
one of the seeded Accounts; the bench points each at a seeded Account instead and drops
those extra Accounts, so the figures are exactly N / 3N / N. The Opportunities' stages
are set to ones ForceManager knows by the same name (Open, Won, Lost): stage values are
not translated between the apps, and ForceManager refuses Salesforce's other stages.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import configure_django  # noqa: E402  (after the path)

FM = "forcemanager"
FM_STAGES = ("Open", "Won", "Lost")


def peak_rss_mb() -> float:
    """The process's peak resident set so far, in MB (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed_salesforce(server: Any, control: Any, org_id: str, n: int) -> None:
    """``n`` Accounts, ``3n`` Contacts spread over them and ``n`` Opportunities, one
    on each Account, in the org (see the module's docstring)."""
    for start in range(0, n, 5000):
        control.seed("salesforce", org_id, min(5000, n - start), seed=1, sobject="Account")
    emulator = server.mounts["salesforce"].emulator
    with emulator.lock:
        accounts = list(emulator.find_org(org_id)["records"]["Account"])
    for start in range(0, 3 * n, 5000):
        control.seed("salesforce", org_id, min(5000, 3 * n - start), seed=2, sobject="Contact")
    with emulator.lock:
        records = emulator.find_org(org_id)["records"]
        for index, contact in enumerate(records["Contact"].values()):
            contact["AccountId"] = accounts[index % n]
        kept = set(accounts)
        for extra in [i for i in records["Account"] if i not in kept]:
            del records["Account"][extra]
    for start in range(0, n, 5000):
        control.seed("salesforce", org_id, min(5000, n - start), seed=3, sobject="Opportunity")
    with emulator.lock:
        deals = emulator.find_org(org_id)["records"]["Opportunity"].values()
        for index, deal in enumerate(deals):
            deal["StageName"] = FM_STAGES[index % len(FM_STAGES)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500, help="companies (3n contacts, n deals)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--latency-ms", type=int, default=0, help="injected per call")
    args = parser.parse_args()
    configure_django("bench_entities" if args.db == "sqlite" else None, flush=args.db == "postgres")
    from django.conf import settings

    from connectors.sandbox.control import SandboxControl
    from connectors.sandbox.server import SandboxServer
    from sync import setup
    from sync.engine import run_connection
    from sync.engine.mapping import ensure_default_mappings
    from sync.models import Account, AppAuthorization, Connection, Rule, SyncEvent, SyncRun
    from sync.vendors import open_connector

    server = SandboxServer(port=0).start()
    try:
        control = SandboxControl(server.url, timeout=600)
        settings.VENDOR_SANDBOXES, settings.SANDBOX_URL = True, server.url
        settings.SALESFORCE_LOGIN_URL = control.vendor_url("salesforce")
        account = Account.objects.create(name="Bench", slug="bench-entities", tier="business")
        org = control.create_account("salesforce", name="Bench CRM", api_max=10**9)
        seeding = time.perf_counter()
        seed_salesforce(server, control, org["account_id"], args.n)
        salesforce = AppAuthorization(account=account, vendor="salesforce", label="Bench CRM")
        salesforce.settings = {"instance_url": control.vendor_url("salesforce")}
        salesforce.secrets = {
            "access_token": org["access_token"],
            "refresh_token": org["refresh_token"],
        }
        salesforce.save()
        fm = control.create_account(FM, name="Bench field")
        forcemanager = AppAuthorization(account=account, vendor=FM, label="Bench field")
        forcemanager.secrets = {"public_key": fm["public_key"], "private_key": fm["private_key"]}
        forcemanager.save()
        connection = Connection.objects.create(
            account=account,
            name="Salesforce → ForceManager",
            a_authorization=salesforce,
            a_scope="Contact",
            b_authorization=forcemanager,
            b_scope="contacts",
            conflict_policy="a_wins",
            state="previewed",
            breaker_count=100 * args.n,
        )
        specs = []
        for side in "ab":
            with open_connector(connection.authorization(side), connection.scope(side)) as c:
                specs.append(c.fields())
        ensure_default_mappings(connection, specs[0], specs[1])
        Rule.objects.create(connection=connection, direction="a_to_b", name="Everyone")
        for entity in ("company", "opportunity"):
            setup.add_entity(connection, entity, direction="a_to_b")
        print(
            f"Salesforce → ForceManager initial sync: {args.n} companies, {3 * args.n} "
            f"contacts, {args.n} opportunities, {args.db}, {args.latency_ms} ms a call "
            f"(seeded in {time.perf_counter() - seeding:.1f} s, RSS {peak_rss_mb():.0f} MB)",
            flush=True,
        )
        vendors = ("salesforce", FM)
        if args.latency_ms:
            for vendor in vendors:
                control.faults(vendor, latency_ms=args.latency_ms)
        before = {v: dict(control.requests(v)["endpoints"]) for v in vendors}
        started = time.perf_counter()
        run = run_connection(connection.pk, "manual", initial=True)
        wall = time.perf_counter() - started
        served = {v: control.requests(v)["endpoints"] for v in vendors}

        # A run longer than SYNC_RUN_BUDGET_SECONDS continues in further runs (at once,
        # synchronously here): count every one.
        runs = list(SyncRun.objects.filter(connection=connection, pk__gte=run.pk).order_by("pk"))
        print(
            f"runs {len(runs)} ({', '.join(r.status for r in runs)}), "
            f"writes {sum(r.writes for r in runs)}"
            + "".join(f", error: {r.error}" for r in runs if r.error)
        )
        print(f"wall time {wall:.1f} s; peak RSS {peak_rss_mb():.0f} MB")
        for vendor in vendors:
            counts = {k: v - before[vendor].get(k, 0) for k, v in served[vendor].items()}
            counts = {k: v for k, v in counts.items() if v}
            print(f"  {vendor:<12} calls {sum(counts.values())}")
            for endpoint, calls in sorted(counts.items(), key=lambda kv: -kv[1]):
                print(f"    {calls:>7}  {endpoint}")
        events = SyncEvent.objects.filter(run__in=runs)
        journal = Counter(events.values_list("entity", "action", "status"))
        print(
            "journal: " + ", ".join(f"{e} {a} {s} {n}" for (e, a, s), n in sorted(journal.items()))
        )
        for entity, error in events.exclude(status="ok").values_list("entity", "error")[:5]:
            print(f"  e.g. {entity}: {error}")
        state = control.state(FM, fm["account_id"])["instances"][fm["account_id"]]["records"]
        held = {r: sum(not row["deleted"] for row in state[r]) for r in
                ("accounts", "contacts", "opportunities")}  # fmt: skip
        print(
            "ForceManager holds "
            + ", ".join(f"{n} {r}" for r, n in held.items())
            + f" (expected {args.n}, {3 * args.n}, {args.n})"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
