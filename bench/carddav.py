"""Benchmark: a two-way sync between two address books of a real Radicale server.

For each N (default 1,000 and 10,000): N synthetic vCards on side A, side B empty; then

1. the initial sync (A's N cards are created on B),
2. a run with no change (must cost O(changes) requests, not O(N): sync-collection),
3. a run after 1% of the cards were edited on each side (by another CardDAV client),
4. one more run with no change, to show the sides converged (it writes nothing).

For each run: wall time, requests made by the connectors (SyncRun.api_calls), records
written, and the peak RSS of this process so far. Seeding writes the .vcf files straight
into Radicale's storage folder (N PUTs over HTTP would dominate the set-up); everything the
sync does goes over HTTP. The database is a fresh SQLite file in a temporary folder unless
DATABASE_URL is set.

    .venv/bin/python bench/carddav.py            # N = 1000 and 10000
    .venv/bin/python bench/carddav.py --n 2000   # any N
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(folder: str) -> None:
    """Django on a throw-away database (unless DATABASE_URL says otherwise), DEBUG off so
    that query logging does not inflate memory."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("VAR_DIR", folder)
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def synthetic_card(i: int, rng: random.Random) -> str:
    first = rng.choice(["Ann", "Bob", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hiro"])
    last = rng.choice(["Lee", "Müller", "Rossi", "Novak", "Silva", "Kim", "Dubois", "Ng"])
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"UID:bench-{i}",
        f"FN:{first} {last}",
        f"N:{last};{first};;;",
        f"EMAIL;TYPE=INTERNET,WORK:person{i}@bench.example",
        f"TEL;TYPE=WORK,VOICE:+44 20 7946 {i % 10000:04d}",
        f"TEL;TYPE=CELL:+44 7700 9{i % 100000:05d}",
        f"ORG:{rng.choice(['Acme', 'Globex', 'Initech', 'Umbrella'])} Ltd",
        f"TITLE:{rng.choice(['CEO', 'Engineer', 'Buyer', 'Sales'])}",
        f"ADR;TYPE=WORK:;;{i} High Street;London;;EC1A 1BB;United Kingdom",
        f"CATEGORIES:{rng.choice(['customer', 'lead', 'partner'])}",
        "BDAY:1980-01-01",
        "X-BENCH-ID:" + str(i),
        "END:VCARD",
    ]
    return "\r\n".join(lines) + "\r\n"


def seed(storage: Path, username: str, addressbook: str, n: int, prefix: str = "bench") -> None:
    """Write N .vcf files into the address book's folder in Radicale's storage."""
    folder = storage / username / urlsplit(addressbook).path.strip("/").split("/")[-1]
    assert folder.is_dir(), folder
    rng = random.Random(42)
    for i in range(n):
        card = synthetic_card(i, rng).replace(f"UID:bench-{i}", f"UID:{prefix}-{i}")
        (folder / f"{prefix}-{i}.vcf").write_text(card, newline="")


def warm(session: Any, addressbook: str) -> int:
    """One PROPFIND so Radicale builds its item cache of the seeded files now (it parses
    every card once), not during the measured runs; returns the number of cards."""
    return len(card_names(session, addressbook))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def edit_cards(session: Any, addressbook: str, names: list[str], title: str) -> None:
    """Another CardDAV client (a phone) changes TITLE on the given cards."""
    for name in names:
        response = session.get(addressbook + name, timeout=30)
        response.raise_for_status()
        text = response.content.decode()
        start = text.index("TITLE:")
        end = text.index("\n", start)
        text = text[:start] + f"TITLE:{title}\r" + text[end:]
        put = session.put(
            addressbook + name,
            data=text.encode(),
            headers={"If-Match": response.headers["ETag"], "Content-Type": "text/vcard"},
            timeout=30,
        )
        put.raise_for_status()


def card_names(session: Any, addressbook: str) -> list[str]:
    import re

    listing = session.request("PROPFIND", addressbook, headers={"Depth": "1"}, timeout=1800)
    return sorted(re.findall(r"<(?:\w+:)?href>[^<]*/([^/<]+\.vcf)</", listing.text))


def bench(n: int, edit_share: float, seed_both: bool) -> list[dict[str, Any]]:
    import requests

    from connectors.carddav.connector import FIELDS
    from sync.engine import run_connection
    from sync.engine.mapping import ensure_default_mappings
    from sync.models import (
        Account,
        AppAuthorization,
        Connection,
        ConnectionState,
        Rule,
    )
    from tests.plugins.radicale import running_radicale

    rows: list[dict[str, Any]] = []
    with running_radicale() as server:
        book_a, book_b = server.create_addressbook(), server.create_addressbook()
        phone = requests.Session()
        phone.auth = (server.username, server.password)
        started = time.monotonic()
        seed(server.storage, server.username, book_a, n)
        if seed_both:
            # Radicale's PUT checks the new UID against every card of the collection, so
            # N creates cost O(N^2) on its side; with --seed-both B starts with the same
            # people (other UIDs) and the initial sync matches them by email instead.
            seed(server.storage, server.username, book_b, n, prefix="twin")
        assert warm(phone, book_a) == n
        if seed_both:
            assert warm(phone, book_b) == n
        seeding = time.monotonic() - started
        account = Account.objects.create(name=f"Bench {n}", slug=f"bench-{n}-{time.time_ns()}")
        auths = []
        for label in ("A", "B"):
            auth = AppAuthorization(
                account=account,
                vendor="carddav",
                label=f"Radicale {label}",
                settings={"url": f"{server.url}/", "username": server.username},
            )
            auth.secrets = {"password": server.password}
            auth.save()
            auths.append(auth)
        connection = Connection.objects.create(
            account=account,
            name=f"Radicale A ↔ B ({n})",
            a_authorization=auths[0],
            a_scope=urlsplit(book_a).path,
            b_authorization=auths[1],
            b_scope=urlsplit(book_b).path,
            state=ConnectionState.ACTIVE,
            breaker_share=1.0,
        )
        ensure_default_mappings(connection, FIELDS, FIELDS)
        for direction in ("a_to_b", "b_to_a"):
            Rule.objects.create(connection=connection, direction=direction, name="Everyone")

        def measure(label: str, **kwargs: Any) -> dict[str, Any]:
            begin = time.monotonic()
            run = run_connection(connection.pk, "manual", **kwargs)
            row = {
                "n": n,
                "run": label,
                "status": run.status,
                "seconds": round(time.monotonic() - begin, 2),
                "requests": run.api_calls,
                "writes": run.writes,
                "peak_rss_mb": round(peak_rss_mb(), 1),
            }
            if run.error:
                row["error"] = run.error[:200]
            print(json.dumps(row), flush=True)
            rows.append(row)
            return row

        print(
            json.dumps(
                {"n": n, "seed_both": seed_both, "seed_and_warm_seconds": round(seeding, 2)}
            ),
            flush=True,
        )
        measure("initial sync", initial=True)
        measure("no change")
        k = max(1, int(n * edit_share))
        edit_cards(phone, book_a, card_names(phone, book_a)[:k], "Edited on A")
        edit_cards(phone, book_b, card_names(phone, book_b)[-k:], "Edited on B")
        measure(f"after {k} edits on each side")
        measure("no change (converged)")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--edit-share", type=float, default=0.01)
    parser.add_argument(
        "--seed-both",
        action="store_true",
        help="seed both address books with the same people (no creates in the initial sync)",
    )
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-carddav-") as folder:
        setup_django(folder)
        rows = [row for n in args.n for row in bench(n, args.edit_share, args.seed_both)]
    print()
    print(
        f"{'N':>6}  {'run':<32} {'status':<10} {'s':>8} {'requests':>9} {'writes':>7} {'RSS MB':>7}"
    )
    for row in rows:
        print(
            f"{row['n']:>6}  {row['run']:<32} {row['status']:<10} {row['seconds']:>8} "
            f"{row['requests']:>9} {row['writes']:>7} {row['peak_rss_mb']:>7}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
