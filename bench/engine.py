"""Benchmark of the sync engine on two in-memory fake apps (not a test).

Two fake apps with N contacts each (30% of them share an email with the other app): the
preview of the first sync (a dry run, staged in its scratch database), the initial sync,
a run with no change (delta reads), a run after 1% edits on each side, and a no-change
run with full listings only (apps without delta reads). Prints wall time, contacts per
second, peak RSS and write counts. Each is one run: the run budget
(SYNC_RUN_BUDGET_SECONDS) is lifted, so that a slow machine does not split the initial
sync into a chain of runs.

    .venv/bin/python bench/engine.py --db sqlite [--n 100000]
    .venv/bin/python bench/engine.py --db postgres [--n 100000]
    .venv/bin/python bench/engine.py --db both [--n 100000] [--until initial] [--no-preview]

``--db both`` runs SQLite, then PostgreSQL, each in a process of its own, one after
the other in one go (side by side on the same machine load); ``--until initial`` stops
after the initial sync (``preview``: after the preview); ``--no-preview`` starts with
the initial sync. Each run also prints the CPU time of this process and of its
PostgreSQL server process, which the load of a shared machine sways far less than the
wall time.

SQLite uses a fresh file in /tmp, of this process only; PostgreSQL uses DATABASE_URL or the database
``bench_engine`` on 127.0.0.1 (created if missing, its sync tables emptied first). Where
PostgreSQL's autovacuum is off, the link and event tables are vacuumed between runs
(untimed), as autovacuum would on a production server.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/bench_engine"


def configure(db: str) -> None:
    """Point Django at the benchmark database and migrate it."""
    if db == "sqlite":
        path = Path(f"/tmp/bench_engine-{os.getpid()}.sqlite3")
        files = [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm")]
        for file in files:
            file.unlink(missing_ok=True)
        atexit.register(lambda: [file.unlink(missing_ok=True) for file in files])
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    else:
        url = os.environ.get("DATABASE_URL", "")
        if not url.startswith("postgres"):
            os.environ["DATABASE_URL"] = url = DEFAULT_PG
        _create_pg_database(url)
    os.environ.setdefault("SYNC_RUN_BUDGET_SECONDS", str(10**6))
    os.environ.setdefault("CONTACTSYNC_ENV", "test")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.test_settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _create_pg_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed(n: int):  # type: ignore[no-untyped-def]
    """Two fake apps of ``n`` contacts, 30% overlapping by email."""
    from connectors import registry
    from tests.fakes.connector import FakeConnector

    registry.VENDORS["fake"] = "tests.fakes.connector.FakeConnector"
    FakeConnector.apps.clear()
    a = FakeConnector.make_app("bench-a", batch_size=200, page_size=500)
    b = FakeConnector.make_app("bench-b", batch_size=200, page_size=500)
    overlap = int(n * 0.3)
    for i in range(n):
        a.add(
            email=f"person{i}@example.com",
            first_name=f"First{i}",
            last_name=f"Last{i}",
            company=f"Company {i % 997}",
            phone=f"+39 02 {1000000 + i}",
            tags=["customer"] if i % 3 == 0 else [],
        )
    for j in range(n):
        i = j if j < overlap else n + j  # the first 30% share an email with A
        b.add(
            email=f"person{i}@example.com",
            first_name=f"First{i}",
            last_name=f"Last{i}",
            company=f"Company {i % 997}",
            phone=f"+39 02 {1000000 + i}",
            tags=["lead"] if j % 4 == 0 else [],
        )
    return a, b


def connection_between(a, b):  # type: ignore[no-untyped-def]
    from sync.engine import mapping
    from sync.models import Account, AppAuthorization, Connection, Rule

    Connection.objects.all().delete()
    Account.objects.filter(slug="bench").delete()
    account = Account.objects.create(name="Bench", slug="bench", tier="business")
    auths = [
        AppAuthorization.objects.create(
            account=account, vendor="fake", label=app.name, settings={"store": app.name}
        )
        for app in (a, b)
    ]
    connection = Connection.objects.create(
        account=account,
        name="bench",
        a_authorization=auths[0],
        b_authorization=auths[1],
        state="previewed",
        default_phone_country="IT",
    )
    mapping.ensure_default_mappings(connection, a.field_specs(), b.field_specs())
    for direction in ("a_to_b", "b_to_a"):
        Rule.objects.create(connection=connection, direction=direction)
    return connection


def vacuum_if_needed() -> None:
    """PostgreSQL's autovacuum cleans up the dead row versions every run leaves behind;
    where it is off (as on our CI machines), do its work between runs, untimed, so that
    each run is measured on the table a production server would have."""
    from django.db import connection as db

    if db.vendor != "postgresql":
        return
    with db.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        if cursor.fetchone()[0] == "on":
            return
        for table in ("sync_recordlink", "sync_syncevent"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def cpu_seconds() -> tuple[float, float]:
    """CPU time so far of this process and of its PostgreSQL server process (0 on
    SQLite, or where the server's /proc entry cannot be read). On a shared machine wall
    time follows the other sessions' load; CPU time much less so."""
    from django.db import connection as db

    usage = resource.getrusage(resource.RUSAGE_SELF)
    own = usage.ru_utime + usage.ru_stime
    if db.vendor != "postgresql":
        return own, 0.0
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return own, 0.0
    return own, (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def measure(label: str, connection, contacts: int, apps, trigger="manual", **options) -> float:  # type: ignore[no-untyped-def]
    from sync.engine import run_connection

    vacuum_if_needed()
    writes_before = sum(app.writes for app in apps)
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    run = run_connection(connection.pk, trigger, **options)
    seconds = time.perf_counter() - started
    own, server = (after - before for after, before in zip(cpu_seconds(), cpu_before, strict=True))
    vendor_writes = sum(app.writes for app in apps) - writes_before
    print(
        f"{label:<34} {seconds:8.2f} s  {contacts / seconds:10.0f} contacts/s  "
        f"writes {vendor_writes:7d}  api calls {run.api_calls:6d}  "
        f"peak RSS {rss_mb():6.0f} MB  CPU {own:.1f} s + server {server:.1f} s  "
        f"load {os.getloadavg()[0]:.1f}  status {run.status}"
        + (f"  ({run.error})" if run.error else ""),
        flush=True,
    )
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--n", type=int, default=100_000, help="contacts per app")
    parser.add_argument(
        "--until", choices=["preview", "initial", "all"], default="all", help="last run measured"
    )
    parser.add_argument(
        "--no-preview", action="store_true", help="start with the initial sync (no dry run)"
    )
    args = parser.parse_args()
    if args.db == "both":
        for db in ("sqlite", "postgres"):
            command = [sys.executable, __file__, "--db", db, "--n", str(args.n)]
            extra = ["--no-preview"] if args.no_preview else []
            subprocess.run([*command, "--until", args.until, *extra], check=True)
        return
    configure(args.db)
    from django.db import connection as db

    print(f"Engine benchmark: {args.n} contacts per app, 30% overlap, {db.vendor}")
    base = rss_mb()
    a, b = seed(args.n)
    # The fake apps stand in for remote apps: their records are kept out of the garbage
    # collector's walks, which would otherwise charge the engine for the fakes' size.
    gc.freeze()
    print(f"RSS before: {base:.0f} MB; with the two fake apps seeded: {rss_mb():.0f} MB")
    connection = connection_between(a, b)
    apps = (a, b)
    total = 2 * args.n
    if not args.no_preview:
        measure("preview (dry run)", connection, total, apps, "preview", dry_run=True, initial=True)
    if args.until == "preview":
        return
    measure("initial sync", connection, total, apps, initial=True)
    if args.until == "initial":
        return
    # The first delta read after the initial sync reads back the initial sync's own
    # writes (echoes, recognised by hash): reads only, no writes.
    measure("first delta run (echoes only)", connection, total, apps)
    measure("no-change run (delta reads)", connection, total, apps)
    edits = max(1, args.n // 100)
    # 1% on each side, different records: A's first contacts, B's last ones.
    for record_id in list(a.records)[:edits]:
        a.edit(record_id, company=f"Edited in A {record_id}")
    for record_id in list(b.records)[-edits:]:
        b.edit(record_id, company=f"Edited in B {record_id}")
    measure("1% edits on each side", connection, total, apps)
    measure("no-change run (delta reads)", connection, total, apps)
    for app in apps:
        app.delta = False
    measure("no-change run (full listings)", connection, total, apps)


if __name__ == "__main__":
    main()
