"""Benchmark of a Sellf ↔ GetResponse connection on the two sandboxes (not a test).

N Sellf people and N GetResponse contacts (``--overlap`` of them share an email), one
in-process sandbox server on a loopback port, the real engine on a fresh SQLite file:
an initial sync, a run with no change, a run after 1% of the GetResponse contacts were
edited in GetResponse, then a complete listing of both sides (as the hourly one, or a
resync) with nothing changed. Prints wall time and the API calls each
sandbox counted per side.

    .venv/bin/python bench/sellf_getresponse.py [--n 5000] [--overlap 0.3] [--paced]

Sellf allows 20 requests a second per key (Performance plan). Unpaced by default, so
that the run measures our code rather than the limit; the time a paced run would take
at least is printed too (Sellf's calls / 20). ``--paced`` runs with the limit on.

Measured 2026-12-01 on the shared 2-core machine (SQLite, ``--n 5000``, unpaced):
initial sync 237.9 s, 7000 writes, API calls Sellf 3604 / GetResponse 15552;
no-change run 36.8 s, 0 writes, Sellf 73 / GetResponse 3538.

GetResponse calls, ``--n 2000``, 2026-12-02, before → after batch creates and details
only for contacts whose changedOn moved: initial sync 6222 → 2013, no-change run (reads
the initial sync's writes back once) 1417 → 1404, 1% edited 37 → 37, complete listing
of both sides with nothing changed 3435 → 6.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import configure_django  # noqa: E402  (after the path)


def calls(control, vendor: str) -> int:  # type: ignore[no-untyped-def]
    return sum(control.requests(vendor)["endpoints"].values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="contacts per app")
    parser.add_argument("--overlap", type=float, default=0.3, help="share of shared emails")
    parser.add_argument("--paced", action="store_true", help="keep Sellf's 20 requests/s")
    args = parser.parse_args()
    configure_django("bench_sellf_getresponse")
    from django.conf import settings

    from connectors.sandbox.control import SandboxControl
    from connectors.sandbox.server import SandboxServer
    from sync.engine import run_connection
    from sync.engine.mapping import ensure_default_mappings
    from sync.models import Account, AppAuthorization, Connection, Rule
    from sync.vendors import open_connector

    server = SandboxServer(port=0).start()
    try:
        control = SandboxControl(server.url, timeout=120)
        settings.SELLF_API_URL = control.vendor_url("sellf", "/v2")
        # Every other vendor host points at the sandbox too (connectors/endpoints.py).
        settings.VENDOR_SANDBOXES, settings.SANDBOX_URL = True, server.url
        settings.SELLF_RATE_LIMIT = 20.0 if args.paced else 0.0
        team = control.create_account("sellf", name="Bench team")
        gr = control.create_account("getresponse", name="Bench news", lists=["bench_list"])
        shared = int(args.n * args.overlap)
        control.seed("sellf", team["team_id"], shared, seed=1, start=0)
        control.seed("sellf", team["team_id"], args.n - shared, seed=2, start=100_000)
        control.seed("getresponse", gr["account_id"], shared, seed=1, start=0)
        control.seed("getresponse", gr["account_id"], args.n - shared, seed=3, start=200_000)

        account = Account.objects.create(name="Bench", slug="bench", tier="business")
        sellf = AppAuthorization(account=account, vendor="sellf", label="Sellf")
        sellf.secrets = {"api_key": team["api_key"]}
        sellf.settings = {"user_id": team["users"][0]["id"]}
        sellf.save()
        getresponse = AppAuthorization(account=account, vendor="getresponse", label="GR")
        getresponse.secrets = {"api_key": gr["api_key"]}
        getresponse.save()
        connection = Connection.objects.create(
            account=account,
            name="bench",
            a_authorization=sellf,
            a_scope="people",
            b_authorization=getresponse,
            b_scope=str(gr["lists"][0]["id"]),
            state="previewed",
            breaker_count=10 * args.n,
        )
        specs = [
            open_connector(connection.authorization(s), connection.scope(s)).fields() for s in "ab"
        ]
        ensure_default_mappings(connection, specs[0], specs[1])
        for direction in ("a_to_b", "b_to_a"):
            Rule.objects.create(connection=connection, direction=direction)

        pacing = "paced at 20 req/s" if args.paced else "unpaced"
        print(f"Sellf ↔ GetResponse: {args.n} per side, {shared} shared emails, Sellf {pacing}")

        def edit_one_percent() -> None:
            # 1% of the GetResponse list edited in GetResponse's app (a new note).
            listed = control.state("getresponse", gr["account_id"])["accounts"]
            contacts = listed[gr["account_id"]]["contacts"]
            for contact in contacts[:: max(1, 100)][: max(1, len(contacts) // 100)]:
                control.action(
                    "getresponse",
                    "edit",
                    account=gr["account_id"],
                    contact=contact["contactId"],
                    note="edited for the bench",
                )

        phases: list[tuple[str, dict[str, bool], Callable[[], None] | None]] = [
            ("initial sync", {"initial": True}, None),
            ("no-change run", {}, None),
            ("1% edited", {}, edit_one_percent),
            ("full listing", {"initial": True}, None),  # both sides listed whole, no change
        ]
        for label, options, prepare in phases:
            if prepare is not None:
                prepare()
            before = {v: calls(control, v) for v in ("sellf", "getresponse")}
            endpoints = dict(control.requests("getresponse")["endpoints"])
            started = time.perf_counter()
            run = run_connection(connection.pk, "manual", **options)
            seconds = time.perf_counter() - started
            used = {v: calls(control, v) - before[v] for v in before}
            print(
                f"{label:<14} {seconds:8.1f} s  status {run.status}  writes {run.writes}  "
                f"API calls: Sellf {used['sellf']}, GetResponse {used['getresponse']}  "
                f"(paced Sellf side alone ≥ {used['sellf'] / 20:.0f} s)"
                + (f"  error: {run.error}" if run.error else ""),
                flush=True,
            )
            now = control.requests("getresponse")["endpoints"]
            spent = {k: n - endpoints.get(k, 0) for k, n in now.items() if n > endpoints.get(k, 0)}
            print("    GetResponse calls by endpoint:", dict(sorted(spent.items())), flush=True)
        state = control.state("sellf", team["team_id"])["teams"][team["team_id"]]
        listed = control.state("getresponse", gr["account_id"])["accounts"][gr["account_id"]]
        print(
            f"final state: Sellf people {len(state['people'])}, "
            f"GetResponse contacts {len(listed['contacts'])} (expected {2 * args.n - shared})"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
