"""A preview on the SQLite file database while another process saves a form (not a test:
tests/engine/test_preview_concurrency.py runs it).

    .venv/bin/python -m tests.engine.preview_probe --db /tmp/probe.sqlite3 --n 20000

The shape of ``make run``: one SQLite file in WAL mode with immediate transactions
(config/settings.py), the preview in one process (the worker), the form saved by another
(the web process). This process migrates a fresh file, seeds two fake apps of ``--n``
contacts each (bench/engine.py's seed: 30% shared by email), starts the saver process and,
once it is logged in, runs the preview. The saver posts the API-token form through the
whole Django stack (session, CSRF-exempt test client, the view, the INSERT) over and over
while the preview runs, timing each save. Prints one JSON line: the preview's outcome and
duration, what it left in the product's database, and every save's latency.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def configure(db: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ.pop("REDIS_URL", None)  # the embedded default: locmem cache, ORM broker
    os.environ["CONTACTSYNC_ENV"] = "test"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.test_settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def preview_side(db: Path, n: int) -> dict[str, Any]:
    """Seed, start the saver, preview; returns what the JSON line reports."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    configure(db)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from bench.engine import connection_between, seed
    from sync.engine import preview
    from sync.models import Connection, RecordLink, Role, SyncEvent, TeamUser

    call_command("migrate", verbosity=0)
    a, b = seed(n)
    connection = connection_between(a, b)
    Connection.objects.filter(pk=connection.pk).update(state="draft")
    user = get_user_model().objects.create_user("probe", "probe@example.com", "probe-password")
    TeamUser.objects.create(account=connection.account, user=user, role=Role.OWNER)
    saver = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "tests.engine.preview_probe", "--db", str(db), "--save"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert saver.stdout is not None
    assert saver.stdout.readline().strip() == "ready"  # logged in: the preview may start
    started = time.perf_counter()
    run = preview(connection, initial=True)
    seconds = time.perf_counter() - started
    out, _ = saver.communicate(timeout=120)
    connection.refresh_from_db()
    return {
        "preview_seconds": round(seconds, 3),
        "status": run.status,
        "error": run.error,
        "counts": run.counts,
        "phase": run.phase,
        "progress": run.progress,
        "links_left": RecordLink.objects.filter(connection=connection).count(),
        "events_left": SyncEvent.objects.filter(connection=connection).count(),
        "cursors": [connection.cursor_a, connection.cursor_b],
        "vendor_writes": a.writes + b.writes,
        "saves": json.loads(out.strip().splitlines()[-1]),
    }


def save_side(db: Path) -> dict[str, Any]:
    """Log in, say ready, then save the token form until the preview has ended, and
    five times more after it."""
    configure(db)
    from django.contrib.auth import get_user_model
    from django.test import Client

    from sync.models import RunStatus, SyncRun

    client = Client()
    client.force_login(get_user_model().objects.get(username="probe"))
    # The page is open already, as in a browser: the imports and template compilation
    # of a first request are not what is measured.
    assert client.get("/tokens/").status_code == 200
    print("ready", flush=True)
    deadline = time.monotonic() + 300
    while not SyncRun.objects.filter(dry_run=True, status=RunStatus.RUNNING).exists():
        if time.monotonic() > deadline:
            return {"during": [], "idle": []}
        time.sleep(0.02)
    saves: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        saves.append(_save(client, f"probe {len(saves)}"))
        if not saves[-1]["during"]:
            break
        time.sleep(0.5)
    # The same saves with no preview running: what a save costs on this machine now.
    idle = [_save(client, f"idle {i}") for i in range(5)]
    return {"during": [s for s in saves if s["during"]], "idle": idle}


def _save(client: Any, name: str) -> dict[str, Any]:
    """POST the token form once; its latency and where the preview was meanwhile."""
    from sync.models import ApiToken, RunStatus, SyncRun

    previews = SyncRun.objects.filter(dry_run=True)
    before = previews.values_list("phase", flat=True).get()
    started = time.perf_counter()
    response = client.post("/tokens/", {"name": name})
    latency = time.perf_counter() - started
    run = previews.values("status", "phase").get()
    saved = ApiToken.objects.filter(name=name)
    result = {
        "latency": round(latency, 4),
        "http": response.status_code,
        "saved": saved.exists(),
        "during": run["status"] == RunStatus.RUNNING,
        "phase": [before, run["phase"]],
    }
    saved.delete()  # the page lists the tokens: keep every save's page the same size
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--save", action="store_true", help="be the process that saves")
    args = parser.parse_args()
    if args.save:
        print(json.dumps(save_side(args.db)), flush=True)
    else:
        print(json.dumps(preview_side(args.db, args.n)), flush=True)


if __name__ == "__main__":
    main()
