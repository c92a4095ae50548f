"""Benchmark: the initial two-way sync of a Mailchimp audience with a Salesforce org, both
their sandboxes over HTTP on loopback, the real engine.

N members in the audience and N Contacts in the org (different people, so each side
receives N creates), then:

1. the initial sync: Mailchimp receives its N creates through batch subscribe (500 a
   call, so about N / 500 write calls, not N), Salesforce through sObject collections;
2. a run with no change, which must write nothing.

For each run: wall time, the requests each sandbox answered (per side, and the write
calls among them), records written. The database is a fresh SQLite file in a temporary
folder unless DATABASE_URL is set.

    .venv/bin/python bench/mailchimp.py             # N = 10000
    .venv/bin/python bench/mailchimp.py --n 2000
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

WRITES = ("POST", "PUT", "PATCH", "DELETE")


def setup_django(folder: str, sandbox_url: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("VAR_DIR", folder)
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["MAILCHIMP_API_URL_TEMPLATE"] = f"{sandbox_url}/mailchimp/3.0"
    # Salesforce's instance address is accepted on the sandbox only when sandboxes are on.
    os.environ["VENDOR_SANDBOXES"] = "true"
    os.environ["SANDBOX_URL"] = sandbox_url
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def counts(control: Any, vendor: str) -> tuple[int, int]:
    """(all requests, write requests) the vendor's sandbox answered so far."""
    endpoints = control.requests(vendor)["endpoints"]
    total = sum(endpoints.values())
    writes = sum(v for k, v in endpoints.items() if k.split(" ", 1)[0] in WRITES)
    return total, writes


def bench(n: int) -> list[dict[str, Any]]:
    from connectors.sandbox.control import SandboxControl
    from sync.engine import run_connection
    from sync.engine.mapping import ensure_default_mappings
    from sync.models import Account, AppAuthorization, Connection, ConnectionState, Rule
    from sync.vendors import open_connector

    control = SandboxControl(os.environ["BENCH_SANDBOX_URL"], timeout=600)
    org = control.create_account("salesforce", name="Bench CRM")
    mc = control.create_account("mailchimp", name="Bench audience", dc="us7")
    started = time.monotonic()
    control.seed("salesforce", org["account_id"], n, seed=1)
    control.seed("mailchimp", mc["account_id"], n, seed=2, start=n)  # other people
    print(json.dumps({"n": n, "seed_seconds": round(time.monotonic() - started, 2)}), flush=True)
    account = Account.objects.create(name=f"Bench {n}", slug=f"bench-mc-{n}-{time.time_ns()}")
    salesforce = AppAuthorization.objects.create(
        account=account,
        vendor="salesforce",
        label="Bench CRM",
        secrets_json="{}",
        settings={
            "instance_url": control.vendor_url("salesforce"),
            "instance": "production",
        },
    )
    salesforce.secrets = {
        "access_token": org["access_token"],
        "refresh_token": org["refresh_token"],
    }
    salesforce.save()
    mailchimp = AppAuthorization(account=account, vendor="mailchimp", label="Bench audience")
    mailchimp.secrets = {"api_key": mc["api_key"]}
    mailchimp.save()
    connection = Connection.objects.create(
        account=account,
        name=f"CRM ↔ audience ({n})",
        a_authorization=salesforce,
        a_scope="Contact",
        b_authorization=mailchimp,
        b_scope=str(mc["lists"][0]["id"]),
        state=ConnectionState.ACTIVE,
        unsubscribes="opt_out",
        breaker_share=1.0,
        breaker_count=10 * n,
    )
    specs = []
    for side in "ab":  # closed: ContactSend's token is given back
        with open_connector(connection.authorization(side), connection.scope(side)) as connector:
            specs.append(connector.fields())
    ensure_default_mappings(connection, specs[0], specs[1])
    for direction in ("a_to_b", "b_to_a"):
        Rule.objects.create(connection=connection, direction=direction, name="Everyone")

    rows = []
    for label, options in (("initial", {"initial": True}), ("no change", {})):
        sf_before, mc_before = counts(control, "salesforce"), counts(control, "mailchimp")
        begin = time.monotonic()
        run = run_connection(connection.pk, "manual", **options)
        sf_after, mc_after = counts(control, "salesforce"), counts(control, "mailchimp")
        row = {
            "n": n,
            "run": label,
            "status": run.status,
            "seconds": round(time.monotonic() - begin, 2),
            "writes": run.writes,
            "salesforce_calls": sf_after[0] - sf_before[0],
            "salesforce_write_calls": sf_after[1] - sf_before[1],
            "mailchimp_calls": mc_after[0] - mc_before[0],
            "mailchimp_write_calls": mc_after[1] - mc_before[1],
        }
        if run.error:
            row["error"] = run.error[:300]
        print(json.dumps(row), flush=True)
        rows.append(row)
    state = control.state("mailchimp", mc["account_id"])
    members = state["accounts"][mc["account_id"]]["lists"][mc["lists"][0]["id"]]["members"]
    print(json.dumps({"n": n, "mailchimp_members_after": len(members)}), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="members and contacts per side")
    args = parser.parse_args()
    from connectors.sandbox.server import SandboxServer

    server = SandboxServer(port=0).start()
    os.environ["BENCH_SANDBOX_URL"] = server.url
    try:
        with tempfile.TemporaryDirectory() as folder:
            setup_django(folder, server.url)
            bench(args.n)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
