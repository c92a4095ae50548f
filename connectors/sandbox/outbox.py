"""Calls an emulator makes back to the product (Mailchimp's webhooks, GetResponse's
callbacks): queued while an action runs and made after it has answered, outside the
emulator's lock (the receiver may call the API back at once), one at a time in the
order the events happened. A failed delivery is logged and dropped, as the vendors
that do not retry drop theirs."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

logger = logging.getLogger(__name__)


class Outbox:
    """Mixin of an Emulator (it needs ``vendor`` and ``lock``) that calls back."""

    vendor: str
    lock: threading.RLock
    _outbox: queue.Queue[tuple[str, Callable[[], Any]]] | None = None

    def deliver_later(self, url: str, send: Callable[[], Any]) -> None:
        """Queue ``send()``, a request to ``url``, for the delivery thread."""
        if self._outbox is None:
            self._outbox = queue.Queue()
            threading.Thread(target=self._deliver, args=(self._outbox,), daemon=True).start()
        self._outbox.put((url, send))

    def _deliver(self, outbox: queue.Queue[tuple[str, Callable[[], Any]]]) -> None:
        while True:
            url, send = outbox.get()
            try:
                send()
            except requests.RequestException as exc:
                logger.warning("%s sandbox call back to %s failed: %s", self.vendor, url, exc)
            finally:
                outbox.task_done()

    def action_deliveries(self, timeout: float = 10.0, **_: Any) -> dict[str, Any]:
        """Wait until the queued calls are delivered (tests call this)."""
        outbox = self._outbox
        deadline = time.time() + timeout
        while outbox is not None and outbox.unfinished_tasks and time.time() < deadline:
            self.lock.release()  # the receiver may call the API meanwhile
            try:
                time.sleep(0.02)
            finally:
                self.lock.acquire()
        return {"pending": outbox.unfinished_tasks if outbox else 0}
