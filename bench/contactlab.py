"""Benchmark: the initial sync of N ContactSend subscribers <-> N Contacthub customers.

Both sandboxes run in this process (one server, real HTTP on loopback: SOAP through zeep
for ContactSend, REST for Contacthub). Side A (Contacthub) and side B (ContactSend) are
each seeded with N people, ``--overlap`` of them the same people on both sides (matched
by email), the rest created across; the Contacthub customers are subscribed to
"newsletter", paired with ContactSend's webform "nl-weekly". Then:

1. the initial sync,
2. a run with no change (ContactSend has no change feed: a complete walk, compared by
   content hash; Contacthub reads its /updates stream),

For each run: wall time, the calls each sandbox answered (its own request counts, per
side), records written, and the run's status. The database is a fresh SQLite file in a
temporary folder unless DATABASE_URL is set.

    .venv/bin/python bench/contactlab.py               # N = 5000
    .venv/bin/python bench/contactlab.py --n 500
    .venv/bin/python bench/contactlab.py --bulk-export   # ContactSend read by its export
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(folder: str, sandbox_url: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("VAR_DIR", folder)
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["CONTACTSEND_WSDL_URL"] = f"{sandbox_url}/contactsend/soap/services?wsdl"
    os.environ["CONTACTHUB_API_URL"] = f"{sandbox_url}/contacthub/hub/v1"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def calls(control: Any, vendor: str) -> int:
    """Requests ``vendor``'s emulator has answered so far."""
    return int(sum(control.requests(vendor)["endpoints"].values()))


def bench(n: int, overlap: float, bulk_export: bool) -> list[dict[str, Any]]:
    from connectors.sandbox.control import SandboxControl
    from sync.engine import run_connection
    from sync.engine.mapping import ensure_default_mappings
    from sync.models import (
        Account,
        AppAuthorization,
        Connection,
        ConnectionState,
        FieldMapping,
        Rule,
    )
    from sync.vendors import open_connector

    control = SandboxControl(os.environ["BENCH_SANDBOX_URL"], timeout=600)
    control.reset()
    hub = control.create_account("contacthub", name="Bench")
    send = control.create_account("contactsend", name="Bench", webforms=["nl-weekly"])
    shared = int(n * overlap)
    control.seed("contacthub", hub["account_id"], n, seed=1, subscribed=["newsletter"])
    control.seed("contactsend", send["api_key"], shared, seed=1)
    control.seed("contactsend", send["api_key"], n - shared, seed=2, start=n)
    account = Account.objects.create(name=f"Bench {n}", slug=f"bench-{n}-{time.time_ns()}")
    hub_auth = AppAuthorization(account=account, vendor="contacthub", label="Contacthub")
    hub_auth.secrets = {"token": hub["token"]}
    hub_auth.settings = {"workspace_id": hub["workspace_id"], "node_id": hub["node_id"]}
    hub_auth.save()
    send_auth = AppAuthorization(account=account, vendor="contactsend", label="ContactSend")
    send_auth.secrets = {"api_key": send["api_key"], "user_key": send["user_key"]}
    send_auth.settings = {"bulk_export": bulk_export}
    send_auth.save()
    connection = Connection.objects.create(
        account=account,
        name="bench",
        a_authorization=hub_auth,
        a_scope=hub["node_id"],
        b_authorization=send_auth,
        b_scope=str(send["userdb_id"]),
        state=ConnectionState.INITIAL_SYNC,
        breaker_count=10 * n,
    )
    for direction in ("a_to_b", "b_to_a"):
        Rule.objects.create(connection=connection, direction=direction)
    specs = []
    for side in "ab":  # closed: ContactSend's token is given back
        with open_connector(connection.authorization(side), connection.scope(side)) as connector:
            specs.append(connector.fields())
    ensure_default_mappings(connection, specs[0], specs[1])
    FieldMapping.objects.create(
        connection=connection, a_field="subscription:newsletter", b_field="subscription:nl-weekly"
    )
    rows = []
    for label in ("initial sync", "no change"):
        before = {v: calls(control, v) for v in ("contacthub", "contactsend")}
        started = time.perf_counter()
        run = run_connection(connection.pk, "manual")
        seconds = time.perf_counter() - started
        after = {v: calls(control, v) for v in ("contacthub", "contactsend")}
        writes = sum(
            count
            for side in (run.counts or {}).values()
            if isinstance(side, dict)
            for op, count in side.items()
            if op in ("create", "update", "delete")
        )
        rows.append(
            {
                "n": n,
                "run": label + (" (export)" if bulk_export else ""),
                "status": run.status,
                "seconds": round(seconds, 1),
                "contacthub_calls": after["contacthub"] - before["contacthub"],
                "contactsend_calls": after["contactsend"] - before["contactsend"],
                "writes": writes,
                "counts": run.counts,
            }
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[5000])
    parser.add_argument("--overlap", type=float, default=0.5, help="share of shared people")
    parser.add_argument(
        "--bulk-export",
        action="store_true",
        help="list ContactSend through startSubscriberDataExchange instead of findSubscribers",
    )
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    from connectors.sandbox.server import SandboxServer

    server = SandboxServer().start()
    os.environ["BENCH_SANDBOX_URL"] = server.url
    try:
        with tempfile.TemporaryDirectory(prefix="bench-contactlab-") as folder:
            setup_django(folder, server.url)
            rows = [row for n in args.n for row in bench(n, args.overlap, args.bulk_export)]
    finally:
        server.stop()
    print()
    print(
        f"{'N':>6}  {'run':<23} {'status':<10} {'s':>7} "
        f"{'hub calls':>9} {'send calls':>10} {'writes':>7}"
    )
    for row in rows:
        print(
            f"{row['n']:>6}  {row['run']:<23} {row['status']:<10} {row['seconds']:>7} "
            f"{row['contacthub_calls']:>9} {row['contactsend_calls']:>10} {row['writes']:>7}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
