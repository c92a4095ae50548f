"""The sync engine (DESIGN.md section 4).

Public entry points, used by the scheduler, the pages, the API and the commands:

- ``run_connection(connection_id, trigger, *, dry_run=False, initial=False,
  replace_destination=False) -> SyncRun`` — claim, read, match, plan, write, journal.
- ``preview(connection) -> SyncRun`` — a dry run: the same stage and plan in a scratch
  copy of the links (``scratch``), nothing written; counts per action per side and up
  to 20 samples each in ``SyncRun.preview``.
- ``undo_run(run) -> SyncRun`` — write a run's journaled old values back.
- ``resolve_conflict(event, use="other")`` — apply the losing value of a conflict.
- ``review_deletions(events, approve)`` — approve or dismiss deletions awaiting review.

Modules, in the order a run uses them: ``claim`` (the run's lease on its connection),
``context`` (connectors and options resolved once per run), ``scratch`` (a dry run's
scratch database), ``stage`` (reading a side's pages into the links; ``match`` pairs
records seen for the first time, ``edge`` cleans pages), ``planner`` (the pure decision
for one record pair), ``apply`` (writing decisions: journal, vendor batches, links),
``run`` (the orchestration: claim, phases, progress), ``outcome`` (what the run's end
means for the connection), ``review`` (undo, conflict resolution, deletion review).
Beneath them: ``sides`` (the side and direction vocabulary), ``mapping`` (pairs,
normalized values, hashes), ``normalize`` (email, phone, name, country), ``rules``
(filters and actions), ``bulk`` (fast inserts and updates), ``references`` (fields that
hold another entity's record id, translated through that entity's links). A connection
with several entities (``sync.models.ConnectionEntity``) runs them in reference order
in one run, each with its own context (``context.tracks_of``). Scheduling lives in
``sync/tasks.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sync.models import Connection, SyncRun

__all__ = ["preview", "resolve_conflict", "review_deletions", "run_connection", "undo_run"]

# The entry points import lazily: sync.models and the pages may import sync.engine.mapping
# before Django's apps are ready, and that must not pull the whole engine in.
_LAZY = {
    "run_connection": "sync.engine.run",
    "undo_run": "sync.engine.review",
    "resolve_conflict": "sync.engine.review",
    "review_deletions": "sync.engine.review",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(name)


def preview(connection: Connection, **kwargs: Any) -> SyncRun:
    """A dry run of ``connection``: the same plan as a real run, made in a scratch copy
    of its links (sync/engine/scratch.py), nothing written; counts per action and
    direction and up to 20 samples each land in ``SyncRun.preview``."""
    from sync.engine.run import run_connection
    from sync.models import Trigger
    from sync.setup import preview_options

    return run_connection(
        connection.pk, Trigger.PREVIEW, **{**preview_options(connection), **kwargs}
    )
