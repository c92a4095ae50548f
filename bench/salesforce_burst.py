"""Benchmark: the Salesforce connector's delta cursor when many records share one
``SystemModstamp`` second, against the sandbox over HTTP on loopback (strict mode).

N Contacts are listed; then, with the org's clock stopped, B of them change in one second
and three deltas run: the one that reads the burst, a quiet one (everything re-read in the
overlap must be left out), and one after a change in the next second. For each: wall time,
records delivered (each exactly once), the cursor's size in bytes.

    .venv/bin/python bench/salesforce_burst.py                 # N = 20000, B = 2000
    .venv/bin/python bench/salesforce_burst.py --n 5000 --burst 500
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="Contacts in the org")
    parser.add_argument("--burst", type=int, default=2_000, help="changes in one second")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings

    from connectors.base import Credentials
    from connectors.http import Http
    from connectors.salesforce.connector import SalesforceConnector
    from connectors.sandbox.control import SandboxControl
    from connectors.sandbox.server import SandboxServer

    server = SandboxServer(port=0, strict=True).start()
    settings.VENDOR_SANDBOXES = True
    settings.SANDBOX_URL = server.url
    control = SandboxControl(server.url, timeout=300)
    org = control.create_account("salesforce", name="Burst bench", api_max=10**8)
    for start in range(0, args.n, 5000):
        control.seed("salesforce", org["account_id"], min(5000, args.n - start), seed=1)
    credentials = Credentials(
        secrets={"access_token": org["access_token"]},
        settings={"instance_url": control.vendor_url("salesforce")},
    )
    connector = SalesforceConnector(credentials, "Contact", Http())

    def poll(label: str, cursor: Any) -> Any:
        delivered: Counter[str] = Counter()
        began = time.perf_counter()
        for page in connector.fetch(cursor):
            delivered.update(r.id for r in page.records)
            cursor = page.cursor or cursor
        took = time.perf_counter() - began
        most = max(delivered.values(), default=0)
        size = len(json.dumps(cursor))
        print(
            f"{label:<28} {took:7.2f} s  {len(delivered):6d} delivered "
            f"(at most {most}x each)  cursor {size} bytes"
        )
        return cursor

    try:
        cursor = poll("listing", None)
        control.action("salesforce", "clock", at="now")
        state = control.state("salesforce", org["account_id"])["orgs"][org["account_id"]]
        ids = [r["Id"] for r in state["records"]["Contact"]][: args.burst]
        for start in range(0, len(ids), 200):
            chunk = [{"id": i, "Title": "Burst"} for i in ids[start : start + 200]]
            connector.client.update("Contact", chunk)
        cursor = poll(f"delta: {len(ids)} in one second", cursor)
        cursor = poll("delta: quiet", cursor)
        control.action("salesforce", "clock", advance=1)
        connector.client.update("Contact", [{"id": i, "Title": "Next"} for i in ids[:10]])
        poll("delta: 10 the next second", cursor)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
