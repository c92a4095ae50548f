"""Faults and killed workers on the real thing: GetResponse ↔ Salesforce through their
sandboxes over HTTP. Whatever fails and wherever a worker dies, the sides converge with
no duplicate and no lost value."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection as db

from sync.models import RunStatus
from tests.e2e.test_salesforce_getresponse import CLIENT_ID, CLIENT_SECRET, Seeds, connect

ROOT = Path(__file__).resolve().parents[2]
FIGURES: dict[str, int] = {}


def emails_of(seeds: Seeds) -> tuple[Counter[str], Counter[str]]:
    """How often each email occurs in Salesforce and in the GetResponse list."""
    state = seeds.sandbox.state("salesforce", seeds.org["account_id"])
    records = state["orgs"][seeds.org["account_id"]]["records"]["Contact"]
    sf = Counter(str(r["Email"]).lower() for r in records if r.get("Email"))
    gr_state = seeds.sandbox.state("getresponse", seeds.gr["account_id"])
    contacts = gr_state["accounts"][seeds.gr["account_id"]]["contacts"]
    gr = Counter(c["email"].lower() for c in contacts if c["campaignId"] == seeds.list_id)
    return sf, gr


def names_of(seeds: Seeds) -> tuple[dict[str, str], dict[str, str]]:
    sf = {
        e: f"{r.get('FirstName') or ''} {r.get('LastName') or ''}".strip()
        for e, r in seeds.sf().items()
    }
    gr = {e: str(c.get("name") or "").strip() for e, c in seeds.list().items()}
    return sf, gr


def seed_both(seeds: Seeds, n: int) -> None:
    seeds.sandbox.seed("salesforce", seeds.org["account_id"], n, seed=11)
    seeds.sandbox.seed("getresponse", seeds.gr["account_id"], n, seed=12, campaign=seeds.list_id)


def assert_converged(seeds: Seeds, expected: int) -> None:
    sf, gr = emails_of(seeds)
    assert max(sf.values()) == 1, [e for e, k in sf.items() if k > 1][:5]  # no duplicate
    assert max(gr.values()) == 1
    assert set(sf) == set(gr) and len(sf) == expected  # nothing lost, nothing extra
    sf_names, gr_names = names_of(seeds)
    assert sf_names == gr_names


@pytest.fixture
def seeds(sandbox: Any, account: Any) -> Seeds:
    return connect(sandbox, account)


def test_faults_at_twenty_percent_converge(seeds: Seeds) -> None:
    seed_both(seeds, 40)
    faults = {"error_rate": 0.1, "throttle_rate": 0.05, "drop_rate": 0.05, "retry_after": 0.05}
    for vendor in ("salesforce", "getresponse"):
        seeds.sandbox.faults(vendor, seed=7, **faults)
    runs, served = 0, 0
    for runs in range(1, 26):
        run = seeds.run(initial=runs == 1)
        if run.status == RunStatus.SUCCEEDED and run.writes == 0 and runs > 1:
            break
    for vendor in ("salesforce", "getresponse"):
        served += sum(int(n) for n in seeds.sandbox.requests(vendor)["faults"].values())
        seeds.sandbox.faults(vendor)  # off again
    assert seeds.run().writes == 0  # converged: nothing left to write
    assert_converged(seeds, 80)
    FIGURES["fault runs"] = runs
    FIGURES["faults served"] = served


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_kill_dash_nine_at_random_points_never_duplicates(sandbox: Any, account: Any) -> None:
    if db.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL); CI runs it there")
    seeds = connect(sandbox, account)
    seed_both(seeds, 150)
    env = {
        **os.environ,
        "CONTACTSYNC_ENV": "test",
        "DATABASE_URL": _database_url(),
        "VENDOR_SANDBOXES": "true",
        "SANDBOX_URL": django_settings.SANDBOX_URL,
        "SALESFORCE_CLIENT_ID": CLIENT_ID,
        "SALESFORCE_CLIENT_SECRET": CLIENT_SECRET,
        "SALESFORCE_LOGIN_URL": sandbox.vendor_url("salesforce"),
        "SYNC_LEASE_SECONDS": "1",  # a killed run's claim goes stale at once
        "FIELD_ENCRYPTION_KEY": django_settings.FIELD_ENCRYPTION_KEY,
        "SECRET_KEY": django_settings.SECRET_KEY,
    }
    for vendor in ("salesforce", "getresponse"):
        sandbox.faults(vendor, latency_ms=15)  # runs long enough to be killed mid-way
    rng = random.Random(4)
    kills = 0
    for attempt in range(10):
        args = [sys.executable, "manage.py", "sync", str(seeds.connection.pk)]
        if attempt == 0:
            args.append("--initial")
        process = subprocess.Popen(  # noqa: S603  (our own manage.py)
            args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.5, 4.0))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=30)
        time.sleep(1.1)  # past the lease
    for vendor in ("salesforce", "getresponse"):
        sandbox.faults(vendor)
    for _ in range(5):
        run = seeds.run()
        if run.status == RunStatus.SUCCEEDED and run.writes == 0:
            break
    assert_converged(seeds, 300)
    assert not seeds.connection.runs.filter(status=RunStatus.RUNNING).exists()
    FIGURES["kills survived"] = kills


def _database_url() -> str:
    conf = db.settings_dict
    user = conf.get("USER") or "postgres"
    host = conf.get("HOST") or "127.0.0.1"
    return f"postgres://{user}@{host}:{conf.get('PORT') or 5432}/{conf['NAME']}"


def test_zz_report_the_figures(capsys: Any) -> None:
    with capsys.disabled():
        print(f"\nreliability figures: {FIGURES}, duplicates 0, lost values 0")
