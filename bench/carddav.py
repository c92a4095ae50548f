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
    # issue 13: both books hold the same cards (same UIDs, listed in another order),
    # 5% of them share an email with another card; reports wrong links and edits and
    # deletions delivered to each card's own counterpart
    .venv/bin/python bench/carddav.py --n 10000 --seed-both --same-uids --shared-emails 0.05
    # issue 18: the initial sync side by side with vdirsyncer's first sync of copies of
    # the same two books on the same Radicale (vdirsyncer in its own virtualenv)
    .venv/bin/python bench/carddav.py --n 10000 --seed-both --same-uids --initial-only \
        --vdirsyncer /tmp/carddav-venv/bin/vdirsyncer
    # where the initial sync's time goes (cProfile of this process, top 25 by own time)
    .venv/bin/python bench/carddav.py --n 2000 --seed-both --same-uids --initial-only \
        --profile /tmp/carddav.prof

For each run, ``cpu_s`` is this process's CPU time (user + system) and ``server_cpu_s``
Radicale's, read from /proc; vdirsyncer's ``cpu_s`` is its own (its child processes').
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import resource
import shutil
import subprocess
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


def shared_emails(n: int, rate: float, seed: int = 7) -> dict[int, int]:
    """Which cards use another card's email (households, info@ addresses, assistants):
    card index -> the index whose email it uses; about ``rate`` of all cards are in such
    a group (groups of 2-3, the same generator on both sides)."""
    rng = random.Random(seed)
    owners: dict[int, int] = {}
    for i in range(1, n):
        if rng.random() < rate / 2:
            # Share with a recent card: often its household, sometimes its group's owner.
            j = rng.randrange(max(0, i - 5), i)
            owners[i] = owners.get(j, j)
    return owners


def synthetic_card(i: int, rng: random.Random, email_of: dict[int, int] | None = None) -> str:
    first = rng.choice(["Ann", "Bob", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hiro"])
    last = rng.choice(["Lee", "Müller", "Rossi", "Novak", "Silva", "Kim", "Dubois", "Ng"])
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"UID:bench-{i}",
        f"FN:{first} {last}",
        f"N:{last};{first};;;",
        f"EMAIL;TYPE=INTERNET,WORK:person{(email_of or {}).get(i, i)}@bench.example",
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


def seed(
    storage: Path,
    username: str,
    addressbook: str,
    n: int,
    prefix: str = "bench",
    *,
    uid_prefix: str | None = None,
    email_of: dict[int, int] | None = None,
    shuffle: bool = False,
) -> None:
    """Write N .vcf files into the address book's folder in Radicale's storage. With
    ``shuffle`` the file names (hence the listing order) are a permutation of the cards;
    the file name's number is the card's index in ``order``."""
    folder = book_folder(storage, username, addressbook)
    assert folder.is_dir(), folder
    rng = random.Random(42)
    order = list(range(n))
    if shuffle:
        random.Random(3).shuffle(order)
    slot = {i: k for k, i in enumerate(order)}
    for i in range(n):
        uid = f"{uid_prefix or prefix}-{i}"
        card = synthetic_card(i, rng, email_of).replace(f"UID:bench-{i}", f"UID:{uid}")
        (folder / f"{prefix}-{slot[i]}.vcf").write_text(card, newline="")


def book_folder(storage: Path, username: str, addressbook: str) -> Path:
    return storage / username / urlsplit(addressbook).path.strip("/").split("/")[-1]


def warm(session: Any, addressbook: str) -> int:
    """One PROPFIND so Radicale builds its item cache of the seeded files now (it parses
    every card once), not during the measured runs; returns the number of cards."""
    return len(card_names(session, addressbook))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    """User + system CPU time of this process (or of its waited-for children)."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of another running process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime are fields 14 and 15 of stat(5); fields[0] is field 3 (state).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


VDIRSYNCER_CONFIG = """[general]
status_path = "{status}"

[pair bench]
a = "bench_a"
b = "bench_b"
collections = null
conflict_resolution = "a wins"

[storage bench_a]
type = "carddav"
url = "{a}"
username = "{username}"
password = "{password}"

[storage bench_b]
type = "carddav"
url = "{b}"
username = "{username}"
password = "{password}"
"""


def run_vdirsyncer(
    executable: str, server: Any, book_a: str, book_b: str, n: int
) -> dict[str, Any]:
    """vdirsyncer's first sync of two books (config in a temporary folder): ``discover``
    then ``sync``, timed together; its CPU time and Radicale's, measured apart."""
    with tempfile.TemporaryDirectory(prefix="bench-vdirsyncer-") as folder:
        config = Path(folder) / "config"
        config.write_text(
            VDIRSYNCER_CONFIG.format(
                status=Path(folder) / "status",
                a=book_a,
                b=book_b,
                username=server.username,
                password=server.password,
            )
        )
        env = {**os.environ, "VDIRSYNCER_CONFIG": str(config)}
        cpu_before = cpu_seconds(resource.RUSAGE_CHILDREN)
        server_before = process_cpu_seconds(server.pid)
        begin = time.monotonic()
        status = "succeeded"
        for command in (["discover"], ["sync"]):
            done = subprocess.run(
                [executable, "--verbosity", "WARNING", *command],
                env=env,
                input="y\n" * 4,
                capture_output=True,
                text=True,
                timeout=1800,
                check=False,
            )
            if done.returncode:
                status = f"failed ({' '.join(command)}: {done.stderr.strip()[-200:]})"
                break
    return {
        "n": n,
        "run": "vdirsyncer first sync",
        "status": status,
        "seconds": round(time.monotonic() - begin, 2),
        "requests": None,
        "writes": None,
        "cpu_s": round(cpu_seconds(resource.RUSAGE_CHILDREN) - cpu_before, 2),
        "server_cpu_s": round(process_cpu_seconds(server.pid) - server_before, 2),
        "peak_rss_mb": None,
    }


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


def bench_id(folder: Path, name: str | None) -> int | None:
    """The generated person (X-BENCH-ID) of a card file, None when it is gone."""
    path = folder / (name or "")
    if not name or not path.is_file():
        return None
    return int(_property(path.read_text(), "X-BENCH-ID"))


def title_of(folder: Path, name: str | None) -> str | None:
    path = folder / (name or "")
    if not name or not path.is_file():
        return None
    return _property(path.read_text(), "TITLE")


def _property(text: str, name: str) -> str:
    for line in text.splitlines():
        if line.startswith(f"{name}:"):
            return line[len(name) + 1 :].strip()
    return ""


def check_links(connection: Any, folders: tuple[Path, Path]) -> dict[str, int]:
    """Links whose two cards are different generated people (wrong links), and links
    without a counterpart (held or not yet created)."""
    from sync.models import RecordLink

    wrong = linked = half = 0
    for a_id, b_id in RecordLink.objects.filter(connection=connection).values_list("a_id", "b_id"):
        if a_id and b_id:
            linked += 1
            wrong += bench_id(folders[0], a_id) != bench_id(folders[1], b_id)
        else:
            half += 1
    return {"linked": linked, "wrong_links": wrong, "half_links": half}


def bench(
    n: int,
    edit_share: float,
    seed_both: bool,
    *,
    same_uids: bool = False,
    shared_rate: float = 0.0,
    initial_only: bool = False,
    vdirsyncer: str | None = None,
    profile: str | None = None,
) -> list[dict[str, Any]]:
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
        email_of = shared_emails(n, shared_rate) if shared_rate else {}
        seed(server.storage, server.username, book_a, n, email_of=email_of)
        if seed_both:
            # Radicale's PUT checks the new UID against every card of the collection, so
            # N creates cost O(N^2) on its side; with --seed-both B starts with the same
            # people (other UIDs unless --same-uids, listed in another order) and the
            # initial sync matches them.
            seed(
                server.storage,
                server.username,
                book_b,
                n,
                prefix="twin",
                uid_prefix="bench" if same_uids else None,
                email_of=email_of,
                shuffle=same_uids,
            )
        folders = (
            book_folder(server.storage, server.username, book_a),
            book_folder(server.storage, server.username, book_b),
        )
        assert warm(phone, book_a) == n
        if seed_both:
            assert warm(phone, book_b) == n
        twins: tuple[str, str] | None = None
        if vdirsyncer:
            # vdirsyncer syncs copies of the same two books (Radicale's item cache
            # included, so they need no second warming), so that neither run sees what
            # the other wrote.
            twins = (server.create_addressbook(), server.create_addressbook())
            for source, copy in zip((book_a, book_b), twins, strict=True):
                target = book_folder(server.storage, server.username, copy)
                shutil.rmtree(target)
                shutil.copytree(book_folder(server.storage, server.username, source), target)
                assert warm(phone, copy) == (n if source == book_a or seed_both else 0)
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
            deletions_a_to_b="delete",
            deletions_b_to_a="delete",
        )
        ensure_default_mappings(connection, FIELDS, FIELDS)
        for direction in ("a_to_b", "b_to_a"):
            Rule.objects.create(connection=connection, direction=direction, name="Everyone")

        def measure(label: str, **kwargs: Any) -> dict[str, Any]:
            profiler = cProfile.Profile() if profile and kwargs.get("initial") else None
            cpu_before, server_before = cpu_seconds(), process_cpu_seconds(server.pid)
            begin = time.monotonic()
            if profiler:
                profiler.enable()
            run = run_connection(connection.pk, "manual", **kwargs)
            if profiler:
                profiler.disable()
            row = {
                "n": n,
                "run": label,
                "status": run.status,
                "seconds": round(time.monotonic() - begin, 2),
                "requests": run.api_calls,
                "writes": run.writes,
                "cpu_s": round(cpu_seconds() - cpu_before, 2),
                "server_cpu_s": round(process_cpu_seconds(server.pid) - server_before, 2),
                "peak_rss_mb": round(peak_rss_mb(), 1),
            }
            if profiler and profile:
                profiler.dump_stats(profile)
                pstats.Stats(profile).sort_stats("tottime").print_stats(25)
            if run.error:
                row["error"] = run.error[:200]
            print(json.dumps(row), flush=True)
            rows.append(row)
            return row

        grouped = set(email_of) | set(email_of.values())
        print(
            json.dumps(
                {
                    "n": n,
                    "seed_both": seed_both,
                    "same_uids": same_uids,
                    "cards_sharing_an_email": len(grouped),
                    "seed_and_warm_seconds": round(seeding, 2),
                }
            ),
            flush=True,
        )
        if twins and vdirsyncer:
            theirs = run_vdirsyncer(vdirsyncer, server, *twins, n)
            print(json.dumps(theirs), flush=True)
            rows.append(theirs)
        first = measure("initial sync", initial=True)
        first.update(check_links(connection, folders))
        print(json.dumps({"after initial sync": check_links(connection, folders)}), flush=True)
        if twins:
            ratio = first["seconds"] / max(theirs["seconds"], 0.01)
            per_card = {
                who: round(1000 * (row["cpu_s"] + row["server_cpu_s"]) / n, 3)
                for who, row in (("ours", first), ("vdirsyncer", theirs))
            }
            print(
                json.dumps(
                    {
                        "n": n,
                        "wall_ratio_ours_to_vdirsyncer": round(ratio, 2),
                        "cpu_ms_per_card_client": {
                            "ours": round(1000 * first["cpu_s"] / n, 3),
                            "vdirsyncer": round(1000 * theirs["cpu_s"] / n, 3),
                        },
                        "cpu_ms_per_card_client_and_server": per_card,
                    }
                ),
                flush=True,
            )
        if initial_only:
            return rows
        measure("no change")
        k = max(1, int(n * edit_share))
        # Half of the edits (and deletions) on cards sharing an email: the cards that
        # first-wins matching left unlinked or linked to the wrong person.
        names_a, names_b = card_names(phone, book_a), card_names(phone, book_b)
        in_group_a = [m for m in names_a if bench_id(folders[0], m) in grouped]
        in_group_b = [m for m in names_b if bench_id(folders[1], m) in grouped]
        edit_a = (in_group_a[: k // 2] + [m for m in names_a if m not in in_group_a])[:k]
        # Never the same person on both sides: that is a conflict (one edit wins by
        # policy), not an edit lost.
        edited = {bench_id(folders[0], m) for m in edit_a}
        names_b = [m for m in names_b if bench_id(folders[1], m) not in edited]
        in_group_b = [m for m in in_group_b if m in names_b]
        edit_b = (in_group_b[-(k // 2) :] + [m for m in names_b if m not in in_group_b])[:k]
        edit_cards(phone, book_a, edit_a, "Edited on A")
        edit_cards(phone, book_b, edit_b, "Edited on B")
        measure(f"after {k} edits on each side")
        from sync.models import RecordLink

        def partner(side: str, name: str) -> str | None:
            link = RecordLink.objects.filter(connection=connection, **{f"{side}_id": name})
            row = link.values_list("b_id" if side == "a" else "a_id", flat=True).first()
            return row

        delivered_a = sum(title_of(folders[1], partner("a", m)) == "Edited on A" for m in edit_a)
        delivered_b = sum(title_of(folders[0], partner("b", m)) == "Edited on B" for m in edit_b)
        deletions = [m for m in in_group_a if m not in edit_a][:5] + names_a[-5:]
        gone = {m: partner("a", m) for m in deletions}
        for m in deletions:
            phone.delete(book_a + m, timeout=30).raise_for_status()
        measure(f"after {len(deletions)} deletions on A")
        measure("no change (converged)")
        result = {
            "n": n,
            "edits_delivered_a_to_b": f"{delivered_a}/{len(edit_a)}",
            "edits_delivered_b_to_a": f"{delivered_b}/{len(edit_b)}",
            "deletions_delivered": sum(
                bool(b) and not (folders[1] / b).exists() for b in gone.values()
            ),
            "deletions": len(deletions),
            "cards_a": len(card_names(phone, book_a)),
            "cards_b": len(card_names(phone, book_b)),
            **check_links(connection, folders),
        }
        print(json.dumps(result), flush=True)
        rows.append(result)
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
    parser.add_argument(
        "--same-uids",
        action="store_true",
        help="with --seed-both: B holds the same UIDs as A, listed in another order",
    )
    parser.add_argument(
        "--shared-emails",
        type=float,
        default=0.0,
        help="share of cards whose email another card also has (e.g. 0.05)",
    )
    parser.add_argument("--initial-only", action="store_true", help="stop after the initial sync")
    parser.add_argument(
        "--vdirsyncer",
        metavar="PATH",
        help="vdirsyncer executable: also time its first sync of copies of the two books",
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="cProfile the initial sync into FILE; print the top"
    )
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-carddav-") as folder:
        setup_django(folder)
        rows = [
            row
            for n in args.n
            for row in bench(
                n,
                args.edit_share,
                args.seed_both,
                same_uids=args.same_uids,
                shared_rate=args.shared_emails,
                initial_only=args.initial_only,
                vdirsyncer=args.vdirsyncer,
                profile=args.profile,
            )
        ]
    print()
    print(
        f"{'N':>6}  {'run':<32} {'status':<10} {'s':>8} {'requests':>9} {'writes':>7} "
        f"{'CPU s':>7} {'srv CPU':>7} {'RSS MB':>7}"
    )
    for row in rows:
        if "run" not in row:
            continue
        cells = {k: "-" if row.get(k) is None else row[k] for k in row}
        print(
            f"{row['n']:>6}  {row['run']:<32} {str(row['status'])[:10]:<10} {row['seconds']:>8} "
            f"{cells['requests']:>9} {cells['writes']:>7} {cells['cpu_s']:>7} "
            f"{cells['server_cpu_s']:>7} {cells['peak_rss_mb']:>7}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
