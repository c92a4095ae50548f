"""Sellf allows 20 requests a second per API key [doc]: its writes keep to that through
the seam's gate (connectors/limits.py) alone, so 100 writes take about 5 s, not the 10 s
that a second pacer of the same rate in front of the gate made of them."""

from __future__ import annotations

import time
from typing import Any

from connectors.base import Change, Credentials
from connectors.http import Http
from connectors.limits import limits_of
from connectors.sandbox.control import SandboxControl
from connectors.sellf.connector import SellfConnector

WRITES = 100


def test_a_hundred_writes_take_five_seconds_at_twenty_a_second(
    sandbox: SandboxControl, settings: Any
) -> None:
    assert limits_of("sellf").per_second == 20
    team = sandbox.create_account("sellf", name="Paced")
    credentials = Credentials(secrets={"api_key": team["api_key"]}, settings={"user_id": "all"})
    connector = SellfConnector(credentials, "people", Http())
    changes = [
        Change(
            "create",
            f"k{i}",
            fields={
                "first_name": "Pat",
                "last_name": f"Person {i}",
                "user_id": team["users"][0]["id"],
            },
        )
        for i in range(WRITES)
    ]
    sandbox.faults("sellf", rate_limits=True)  # the sandbox answers 429 past 20 a second
    before = sandbox.requests("sellf")["endpoints"]
    started = time.monotonic()
    results = connector.push(changes)
    elapsed = time.monotonic() - started
    after = sandbox.requests("sellf")["endpoints"]

    assert [r.error for r in results if r.error] == []
    writes = after.get("POST /v2/people", 0) - before.get("POST /v2/people", 0)
    assert writes == WRITES, after
    # 20 a second (the gate counts a second as 1.1 s, for the vendor's clock): 5-5.5 s
    # plus the answers' time; twice paced it was 10 s.
    assert 4.5 <= elapsed <= 7.5, f"{WRITES} writes took {elapsed:.1f} s"
