"""Benchmark of the caller-ID lookup (sync/lookup.py) at N links (not a test).

One tenant with one connection of N links, each side with a phone and a mobile in the
index (4 entries per link), plus a second tenant of the same size whose numbers overlap
(isolation must not cost). Times ``lookup()`` — number normalization, the indexed query,
grouping and record links — for numbers typed in national and international formats,
hits and misses, and prints p50/p95/max in milliseconds.

    .venv/bin/python bench/lookup.py --db sqlite [--links 100000] [--queries 2000]
    DATABASE_URL=postgres://…/h_wildix .venv/bin/python bench/lookup.py --db postgres
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine import configure


def seed(links: int) -> list:  # type: ignore[type-arg]
    from sync.engine.bulk import insert_rows
    from sync.models import Account, AppAuthorization, Connection, PhoneEntry, RecordLink

    PhoneEntry.objects.all().delete()
    RecordLink.objects.all().delete()
    Connection.objects.all().delete()
    AppAuthorization.objects.all().delete()
    Account.objects.filter(slug__startswith="bench-lookup").delete()
    accounts = []
    for t in range(2):
        account = Account.objects.create(name=f"Bench {t}", slug=f"bench-lookup-{t}")
        auths = []
        for vendor in ("salesforce", "wildix"):
            auth = AppAuthorization(account=account, vendor=vendor, label=vendor)
            auth.secrets = {}
            auth.settings = {"instance_url": "https://acme.my.salesforce.com"}
            auth.save()
            auths.append(auth)
        connection = Connection.objects.create(
            account=account,
            name="bench",
            a_authorization=auths[0],
            b_authorization=auths[1],
            default_phone_country="IT",
        )
        insert_rows(
            RecordLink,
            [
                {"connection_id": connection.pk, "a_id": f"003{i:012d}", "b_id": str(i)}
                for i in range(links)
            ],
        )
        ids = list(RecordLink.objects.filter(connection=connection).values_list("pk", "b_id"))
        rows = []
        for pk, b_id in ids:
            i = int(b_id)
            for side, auth, record_id in (("a", auths[0], f"003{i:012d}"), ("b", auths[1], b_id)):
                for number in (f"+39021{i:07d}", f"+39347{i:07d}"):
                    rows.append(
                        {
                            "account_id": account.pk,
                            "link_id": pk,
                            "authorization_id": auth.pk,
                            "side": side,
                            "vendor": auth.vendor,
                            "record_id": record_id,
                            "phone": number,
                            "name": f"Person {i}",
                            "company": "Acme",
                        }
                    )
            if len(rows) >= 20_000:
                insert_rows(PhoneEntry, rows)
                rows = []
        insert_rows(PhoneEntry, rows)
        accounts.append(account)
    return accounts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--reuse", action="store_true", help="keep an index seeded before")
    args = parser.parse_args()
    configure(args.db)
    from django.db import connection as db

    from sync.lookup import lookup
    from sync.models import PhoneEntry

    started = time.monotonic()
    from sync.models import Account

    if args.reuse and PhoneEntry.objects.count() == 8 * args.links:
        account = Account.objects.get(slug="bench-lookup-0")
    else:
        account, _other = seed(args.links)
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute(f"ANALYZE {PhoneEntry._meta.db_table}")
    print(
        f"seeded {args.links} links x 2 tenants, {PhoneEntry.objects.count()} phone entries "
        f"in {time.monotonic() - started:.1f}s ({db.vendor})"
    )
    rng = random.Random(16)
    formats = [
        lambda i: f"021 {i // 10000:03d} {i % 10000:04d}",  # national, spaces
        lambda i: f"+39021{i:07d}",  # E.164
        lambda i: f"0039-347-{i:07d}",  # international prefix, dashes
        lambda i: f"347 {i:07d}",  # national mobile
    ]
    timings, hits = [], 0
    for q in range(args.queries):
        i = rng.randrange(args.links if q % 10 else 10 * args.links)  # ~10% misses
        typed = formats[q % len(formats)](i % 10_000_000)
        t0 = time.perf_counter()
        _numbers, people = lookup(account, typed)
        timings.append((time.perf_counter() - t0) * 1000)
        hits += bool(people)
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(
        f"{args.queries} lookups, {hits} hits: p50 {p50:.2f} ms, p95 {p95:.2f} ms, "
        f"max {timings[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
