"""Each side's vendor writes in a thread of its own (issue 18 point 6: a sync near its
vendors' floor).

The run's thread plans, journals and settles each chunk (apply.py); it hands each side's
changes of a chunk to that side's ``SideWriter``, which sends them through ``push`` in its
own thread. The two apps are then written at once, and the run's thread journals and
settles other chunks while the writes are under way. Changes of several chunks that queue
up while a side is busy go out in one ``push`` while they fit its batch size (GetResponse
creates 1,000 contacts a call, one call a second: two chunks of 500 in one call halve
its batches).

A writer thread makes HTTP calls only, never a database query (SQLite has one writer,
and Django's connections are per thread): what needs the database before a batch, the
claim's renewal, is handed to the run's thread through a ``Relay``, which that thread
serves while it waits for the writes (``Applier.finish``).
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from connectors.base import Change, Connector, ConnectorError, Result


class NotSent(ConnectorError):
    """A change that was never sent: its side's writes stopped at an earlier failure, or
    the run ended before its turn."""


class Relay:
    """Calls a writer thread needs made on the run's thread (the database's): ``call``
    from the writer blocks until the run's thread has ``serve``d it."""

    def __init__(self) -> None:
        self.calls: queue.Queue[tuple[Callable[[], None], Future[None]]] = queue.Queue()

    def call(self, function: Callable[[], None]) -> None:
        future: Future[None] = Future()
        self.calls.put((function, future))
        future.result()  # raises what the call raised (ClaimLost), in the writer

    def serve(self) -> None:
        """Make the calls waiting (run's thread only)."""
        while True:
            try:
                function, future = self.calls.get_nowait()
            except queue.Empty:
                return
            try:
                function()
            except BaseException as exc:  # handed back to the writer that asked
                future.set_exception(exc)
            else:
                future.set_result(None)


@dataclass
class Job:
    """One chunk's changes for one side, and the answers by change key once written."""

    changes: list[Change]
    answers: Future[dict[str, Result]] = field(default_factory=Future)


Push = Callable[[Connector, str, list[Change], Callable[[], None] | None], dict[str, Result]]


class SideWriter:
    """Writes one side's jobs in order, in a thread of its own. ``before_batch`` runs in
    that thread before each batch (the claim's check; it relays what needs the
    database). After a failed push the side sends nothing more: the jobs after it get
    ``NotSent`` (the run stops at the failure and the next run writes them)."""

    def __init__(
        self,
        connector: Connector,
        side: str,
        push: Push,
        before_batch: Callable[[], None] | None = None,
    ) -> None:
        self.connector = connector
        self.side = side
        self.push = push
        self.before_batch = before_batch
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self.failure: BaseException | None = None
        self.stopping = False
        self.thread = threading.Thread(target=self._work, name=f"write-{side}", daemon=True)
        self.thread.start()

    def submit(self, changes: list[Change]) -> Job:
        job = Job(changes)
        self.jobs.put(job)
        return job

    def close(self) -> None:
        """Stop once the push under way has ended; jobs not started are not sent."""
        self.stopping = True
        self.jobs.put(None)
        self.thread.join()

    def _work(self) -> None:
        size = max(1, self.connector.capabilities.batch_size)
        waiting: deque[Job | None] = deque()
        while True:
            job = waiting.popleft() if waiting else self.jobs.get()
            if job is None:
                return
            jobs, count = [job], len(job.changes)
            # What queued up while the last push was under way joins this one while it
            # fits one batch; the first job that does not fit waits for the next.
            while not waiting:
                try:
                    queued = self.jobs.get_nowait()
                except queue.Empty:
                    break
                if queued is None or count + len(queued.changes) > size:
                    waiting.append(queued)
                    break
                jobs.append(queued)
                count += len(queued.changes)
            self._send(jobs)

    def _send(self, jobs: list[Job]) -> None:
        if self.failure is not None or self.stopping:
            for job in jobs:
                job.answers.set_exception(
                    NotSent(f"not sent: {self.failure}" if self.failure else "not sent")
                )
            return
        changes = [change for job in jobs for change in job.changes]
        try:
            answers = self.push(self.connector, self.side, changes, self.before_batch)
        except BaseException as exc:  # raised in the run's thread, at the job's chunk
            self.failure = exc
            for job in jobs:
                job.answers.set_exception(exc)
            return
        for job in jobs:
            job.answers.set_result({c.key: answers[c.key] for c in job.changes if c.key in answers})
