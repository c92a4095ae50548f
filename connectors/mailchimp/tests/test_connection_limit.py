"""Mailchimp allows a user 10 simultaneous connections and refuses the 11th with a 429
(apis/ 3.6): however many runs of this process share a key, no more than 10 of their
requests are in flight at once. The sandbox enforces the real limit over HTTP."""

from __future__ import annotations

import threading
import time

from connectors.base import Credentials
from connectors.http import Http
from connectors.mailchimp.client import MAX_CONNECTIONS
from connectors.mailchimp.connector import MailchimpConnector
from connectors.sandbox.control import SandboxControl

THREADS = 16  # more than the limit, as 16 runs sharing one key would be
LATENCY_MS = 300  # each answer takes this long, so that requests overlap


def test_sixteen_threads_on_one_key_never_hold_more_than_ten_connections(
    mailchimp: SandboxControl,
) -> None:
    account = mailchimp.create_account("mailchimp", name="Busy", dc="us7")
    mailchimp.faults("mailchimp", latency_ms=LATENCY_MS, rate_limits=True)
    # No retries: a 429 would surface as an error here instead of being waited out.
    connectors = [
        MailchimpConnector(
            Credentials(secrets={"api_key": account["api_key"]}, settings={}),
            str(account["lists"][0]["id"]),
            Http(retries=0),
        )
        for _ in range(THREADS)
    ]
    errors: list[Exception] = []

    def check(connector: MailchimpConnector) -> None:
        try:
            connector.check()
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=check, args=(c,)) for c in connectors]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    elapsed = time.monotonic() - started
    served = mailchimp.requests("mailchimp")["faults"]
    assert errors == [], errors
    assert served["limited"] == 0, "the sandbox refused connections over the limit"
    # 16 requests of 0.3 s through 10 slots take at least two rounds.
    assert elapsed >= 2 * LATENCY_MS / 1000, elapsed
    assert MAX_CONNECTIONS == 10
