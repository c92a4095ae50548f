"""Benchmark of a no-change poll of a Wildix phonebook (not a test).

A phonebook of N contacts in the sandbox's Wildix emulator (over real HTTP on loopback)
synced two-way with an in-memory fake app. After the initial sync and the first poll
(which reads back the initial sync's own writes), a no-change poll is measured: Wildix
read calls (by the sandbox's own request counts), vendor writes, the run's wall time,
the part of it spent inside the HTTP seam (requests, the in-process sandbox answering,
transfer) and the rest: the engine's and the connectors' own time. Then the same with
a complete listing (the periodic one, ``SYNC_FULL_LISTING_MINUTES``), which is when
deletions are swept.

    .venv/bin/python bench/wildix_poll.py [--contacts 10000] [--db sqlite|postgres]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine import configure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--profile", action="store_true", help="cProfile the no-change poll")
    args = parser.parse_args()
    configure(args.db)
    from django.conf import settings

    from connectors import registry
    from connectors.http import Http
    from connectors.sandbox.control import SandboxControl
    from connectors.sandbox.server import SandboxServer
    from connectors.wildix.client import MAX_PAGE_SIZE
    from connectors.wildix.connector import FIELDS
    from sync.engine import mapping, run_connection
    from sync.models import Account, AppAuthorization, Connection, Rule
    from tests.fakes.connector import FakeConnector

    server = SandboxServer(port=0).start()
    control = SandboxControl(server.url)
    control.reset()
    settings.WILDIX_PBX_URL_TEMPLATE = server.url + "/wildix/{name}"
    settings.ALLOW_PRIVATE_HOSTS = True
    pbx = control.create_account("wildix", name="bench")
    control.seed("wildix", "bench", args.contacts, seed=16)
    registry.VENDORS["fake"] = "tests.fakes.connector.FakeConnector"
    FakeConnector.apps.clear()
    app = FakeConnector.make_app("bench-b", batch_size=200, page_size=500)

    Connection.objects.all().delete()
    Account.objects.filter(slug="bench-wildix").delete()
    account = Account.objects.create(name="Bench", slug="bench-wildix", tier="business")
    wildix = AppAuthorization(account=account, vendor="wildix", label="PBX")
    wildix.secrets = {"password": pbx["api_key"]}
    wildix.settings = {"pbx": "bench", "username": "apikey"}
    wildix.save()
    fake = AppAuthorization.objects.create(
        account=account, vendor="fake", label="app", settings={"store": app.name}
    )
    connection = Connection.objects.create(
        account=account,
        name="bench",
        a_authorization=wildix,
        a_scope=pbx["phonebooks"][0]["id"],
        b_authorization=fake,
        state="previewed",
        default_phone_country="IT",
        breaker_count=10 * args.contacts,
    )
    mapping.ensure_default_mappings(connection, FIELDS, app.field_specs())
    for direction in ("a_to_b", "b_to_a"):
        Rule.objects.create(connection=connection, direction=direction)

    def wildix_reads() -> int:
        counts = control.requests("wildix")["endpoints"]
        return sum(v for k, v in counts.items() if k.startswith("GET"))

    def wildix_writes() -> int:
        counts = control.requests("wildix")["endpoints"]
        return sum(v for k, v in counts.items() if not k.startswith("GET"))

    # Time spent inside the HTTP seam (the request, the sandbox answering it, the
    # transfer): what is left of a run's wall time is the engine's and the connectors'.
    in_http = [0.0]
    send = Http.request

    def timed_request(self: Http, *args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        try:
            return send(self, *args, **kwargs)  # type: ignore[arg-type]
        finally:
            in_http[0] += time.perf_counter() - started

    Http.request = timed_request  # type: ignore[assignment,method-assign]

    def measure(label: str, **options: object) -> float:
        reads, writes, app_writes = wildix_reads(), wildix_writes(), app.writes
        in_http[0] = 0.0
        started = time.perf_counter()
        run = run_connection(connection.pk, "manual", **options)
        seconds = time.perf_counter() - started
        connection.refresh_from_db()
        print(
            f"{label:<36} {seconds:7.2f} s  in HTTP {in_http[0]:6.2f} s  "
            f"outside HTTP {seconds - in_http[0]:6.2f} s  "
            f"Wildix reads {wildix_reads() - reads:5d}  "
            f"Wildix writes {wildix_writes() - writes:5d}  "
            f"app writes {app.writes - app_writes:6d}  "
            f"status {run.status}" + (f" ({run.error})" if run.error else ""),
            flush=True,
        )
        return seconds

    print(
        f"Wildix no-change poll: {args.contacts} contacts, page size {MAX_PAGE_SIZE}, "
        f"expected reads ceil(N / page) = {math.ceil(args.contacts / MAX_PAGE_SIZE)}"
    )
    measure("initial sync", initial=True)
    measure("first poll (reads back our writes)")
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(measure, "no-change poll (digest cursor)")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    measure("no-change poll (digest cursor)")
    settings.SYNC_FULL_LISTING_MINUTES = 0
    measure("no-change poll (complete listing)")
    server.stop()


if __name__ == "__main__":
    main()
