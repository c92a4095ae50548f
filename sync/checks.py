"""System checks run at start-up (``manage.py check``, runserver, qcluster): the run's
time budget, django-q's task timeout and the claim's lease must fit each other."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def check_run_timing(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """A run stops at a checkpoint after ``SYNC_RUN_BUDGET_SECONDS``; django-q kills a task
    after ``timeout`` and re-delivers it after ``retry``; a claim not renewed within
    ``SYNC_LEASE_SECONDS`` may be taken over. Each must leave room for the next."""
    q = getattr(settings, "Q_CLUSTER", {})
    timeout, retry = int(q.get("timeout") or 0), int(q.get("retry") or 0)
    budget = int(getattr(settings, "SYNC_RUN_BUDGET_SECONDS", 0))
    lease = int(getattr(settings, "SYNC_LEASE_SECONDS", 0))
    problems: list[Any] = []
    if timeout and retry <= timeout:
        problems.append(
            Error(
                f"Q_CLUSTER retry ({retry} s) must exceed its timeout ({timeout} s), or a "
                "task still running is delivered again.",
                id="sync.E001",
            )
        )
    if timeout and not 0 < budget <= timeout - 60:
        problems.append(
            Error(
                f"SYNC_RUN_BUDGET_SECONDS ({budget}) must be at least a minute below the task "
                f"timeout ({timeout} s), so that a run stops at a checkpoint before it is "
                "killed mid-write.",
                id="sync.E002",
            )
        )
    if lease < 120:
        problems.append(
            Warning(
                f"SYNC_LEASE_SECONDS ({lease}) is short: a run renews its claim between vendor "
                "calls, and one slow call with its retries may outlast it; the run then stops "
                "and another takes over.",
                id="sync.W001",
            )
        )
    return problems
