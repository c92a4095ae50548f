"""Connection list, dashboard / activity monitor with the live progress bar, pause,
resume, run now, and deletion of a connection."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from sync import lifecycle
from sync.models import (
    CallbackStatus,
    Connection,
    ConnectionState,
    EventAction,
    EventStatus,
    RunStatus,
    SyncEvent,
    SyncRun,
    Trigger,
)
from sync.tenancy import scoped
from sync.web import describe
from sync.web.tenant import require_manager, tenant_required
from sync.web.views.common import get_connection, side_labels

# Phases of a run in order, with the words the progress bar uses.
PHASES: list[tuple[str, str]] = [
    ("list_a", _("Reading side A")),
    ("list_b", _("Reading side B")),
    ("check", _("Checking the changes")),
    ("write", _("Writing")),
]
LIVE = (RunStatus.QUEUED, RunStatus.RUNNING)
# Events that are not real changes: the dry run's and the ones awaiting a decision.
NOT_APPLIED = (EventStatus.PREVIEW,)


@tenant_required
def connection_list(request: HttpRequest) -> HttpResponse:
    """The account's connections with their state and last run."""
    connections = (
        scoped(Connection, request.tenant.account)
        .select_related("a_authorization", "b_authorization", "current_run")
        .order_by("name")
    )
    return render(request, "web/connections.html", {"connections": connections})


def progress_context(connection: Connection) -> dict[str, Any]:
    """What the progress bar shows: the run in flight (or the last real one), each
    phase's done/total and an overall percentage."""
    run = connection.current_run
    if run is None or run.dry_run:
        run = connection.runs.filter(dry_run=False).order_by("-created_at", "-pk").first()
    phases = []
    overall = 0.0
    if run is not None:
        progress = run.progress or {}
        names = [name for name, _ in PHASES]
        current = names.index(run.phase) if run.phase in names else -1
        finished = run.status not in LIVE
        for index, (name, title) in enumerate(PHASES):
            data = progress.get(name) or {}
            done = int(data.get("done") or 0)
            total = int(data.get("total") or 0)
            if finished or index < current:
                share = 1.0
            elif total:
                share = min(1.0, done / total)
            else:
                share = 0.0
            phases.append(
                {
                    "name": name,
                    "title": title,
                    "done": done,
                    "total": total,
                    "percent": round(share * 100),
                    "current": index == current,
                }
            )
            overall += share / len(PHASES)
    running = run is not None and run.status in LIVE
    # Started, and its first run not begun yet: queued (or waiting for the retry the
    # dispatcher makes), so the page keeps asking until the run appears.
    waiting = not running and connection.state == ConnectionState.INITIAL_SYNC
    # Whether each side's app calls back (on_start, a task): followed until it is known.
    callbacks = [
        {"label": describe.side_label(connection, c.side), "status": c.status, "message": c.message}
        for c in connection.callbacks.order_by("side")
    ]
    registering = any(c["status"] == CallbackStatus.QUEUED for c in callbacks)
    return {
        "connection": connection,
        "run": run,
        "callbacks": callbacks,
        "live": running or waiting or registering,
        "waiting": waiting,
        "phases": phases,
        "overall": round(overall * 100),
    }


def activity_counts(connection: Connection, since: Any) -> dict[str, int]:
    """New A→B, new B→A, updates and errors since ``since`` (the event_counts index:
    connection, action, direction, created_at)."""
    rows = (
        SyncEvent.objects.filter(connection=connection, created_at__gte=since)
        .exclude(status__in=NOT_APPLIED)
        .values("action", "direction")
        .annotate(n=Count("id"))
    )
    counts = {"created_a_to_b": 0, "created_b_to_a": 0, "updated": 0, "errors": 0}
    for row in rows:
        if row["action"] == EventAction.CREATE:
            key = f"created_{row['direction']}"
            if key in counts:
                counts[key] += row["n"]
        elif row["action"] == EventAction.UPDATE:
            counts["updated"] += row["n"]
        elif row["action"] == EventAction.ERROR:
            counts["errors"] += row["n"]
    counts["errors"] += (
        SyncEvent.objects.filter(
            connection=connection, status=EventStatus.ERROR, created_at__gte=since
        )
        .exclude(action=EventAction.ERROR)
        .count()
    )
    return counts


def _last_skips(connection: Connection) -> dict[str, int]:
    """Records the last finished run skipped or held, by reason (SyncRun.match_summary),
    each reason in the page's language."""
    run = connection.runs.filter(dry_run=False).exclude(match_summary={}).order_by("-pk").first()
    skipped = (run.match_summary.get("skipped") or {}) if run else {}
    return {str(describe.SKIP_REASONS.get(reason, reason)): n for reason, n in skipped.items()}


@tenant_required
def connection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The dashboard: state, live progress, activity over the last day and week,
    next run, recent runs, and what waits for a decision."""
    connection = get_connection(request, pk)
    now = timezone.now()
    a_label, b_label = side_labels(connection)
    pending = connection.events.filter(status=EventStatus.PENDING_REVIEW).count()
    conflicts = connection.events.filter(action=EventAction.CONFLICT, status=EventStatus.OK).count()
    context = progress_context(connection)
    context.update(
        {
            "a_label": a_label,
            "b_label": b_label,
            "day": activity_counts(connection, now - timedelta(days=1)),
            "week": activity_counts(connection, now - timedelta(days=7)),
            "runs": recent_runs(connection),
            "pending_reviews": pending,
            "open_conflicts": conflicts,
            # Issue 13: held duplicates and the last run's skips by reason.
            "held_duplicates": connection.links.exclude(held="").count(),
            "last_skips": _last_skips(connection),
            "config": describe.describe_configuration(connection),
            "can_pause": lifecycle.can_pause(connection),
            "can_resume": lifecycle.can_resume(connection),
            "can_run": lifecycle.can_run(connection),
            "can_confirm": lifecycle.can_confirm_mass_change(connection),
            "in_setup": lifecycle.can_start(connection),
        }
    )
    return render(request, "web/connection.html", context)


@tenant_required
def connection_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of the dashboard, polled by htmx while a run is in flight."""
    connection = get_connection(request, pk)
    return render(request, "web/_live.html", progress_context(connection))


def transition(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """Apply the lifecycle transition ``name`` (sync/lifecycle.py) and say what happened."""
    connection = get_connection(request, pk)
    require_manager(request)
    try:
        if name == "pause":
            outcome = lifecycle.pause(connection, by=request.user.get_username())
        elif name == "start":
            consent = request.POST.get("confirm_replace") == "1"
            outcome = lifecycle.start(connection, confirm_replace=consent)
        else:
            outcome = getattr(lifecycle, name)(connection)
    except lifecycle.Refused as exc:
        messages.error(request, str(exc))
        return redirect("web:connection", pk=connection.pk)
    if outcome.queue_error:
        messages.error(
            request,
            gettext("The run could not be started: %(error)s") % {"error": outcome.queue_error},
        )
    messages.success(request, outcome.message)
    return redirect("web:connection", pk=connection.pk)


@tenant_required
@require_POST
def connection_pause(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop syncing until resumed."""
    return transition(request, pk, "pause")


@tenant_required
@require_POST
def connection_resume(request: HttpRequest, pk: int) -> HttpResponse:
    """Resume a paused connection or one in error; it catches up from its cursors."""
    return transition(request, pk, "resume")


@tenant_required
@require_POST
def connection_run_now(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a run now."""
    return transition(request, pk, "run_now")


@tenant_required
@require_POST
def connection_full_resync(request: HttpRequest, pk: int) -> HttpResponse:
    """Forget the cursors and read both apps whole."""
    return transition(request, pk, "request_full_resync")


@tenant_required
@require_POST
def connection_confirm_mass_change(request: HttpRequest, pk: int) -> HttpResponse:
    """Run a paused connection once through the circuit breaker."""
    return transition(request, pk, "confirm_mass_change")


@tenant_required
def connection_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a connection (after confirmation); the apps' data stays untouched."""
    connection = get_connection(request, pk)
    require_manager(request)
    if request.method == "POST":
        name = connection.name
        connection.delete()
        messages.success(
            request,
            gettext("“%(name)s” is deleted. No contact was changed in either app.")
            % {"name": name},
        )
        return redirect("web:connections")
    return render(request, "web/connection_delete.html", {"connection": connection})


def recent_runs(connection: Connection, limit: int = 10) -> list[SyncRun]:
    """The last real runs, each with a one-line ``summary`` of its counts."""
    runs = list(connection.runs.filter(dry_run=False).order_by("-created_at", "-pk")[:limit])
    for run in runs:
        run.summary = run_summary(run)  # type: ignore[attr-defined]
    return runs


def run_summary(run: SyncRun) -> str:
    """One line of a run's counts, e.g. "A → B: 3 create, 1 update"; an undo says what
    it wrote back (it keeps no counts per action, only its writes)."""
    if run.trigger == Trigger.UNDO:
        values = {"run": run.undo_of_id, "count": run.writes}
        if run.undo_of_id:
            return (
                ngettext(
                    "Undid run %(run)s: %(count)d write put back",
                    "Undid run %(run)s: %(count)d writes put back",
                    run.writes,
                )
                % values
            )
        return (
            ngettext(
                "Undo: %(count)d write put back", "Undo: %(count)d writes put back", run.writes
            )
            % values
        )
    parts = []
    for direction, actions in (run.counts or {}).items():
        if isinstance(actions, dict):
            inner = ", ".join(_action_count(a, n) for a, n in actions.items() if n)
            if inner:
                parts.append(f"{direction.replace('_to_', ' → ').upper()}: {inner}")
    if not parts and run.writes:
        return ngettext("%(count)d write", "%(count)d writes", run.writes) % {"count": run.writes}
    return "; ".join(parts) or gettext("no changes")


def _action_count(action: str, n: int) -> str:
    """ "3 create": a count of one journal action, in the run summary's words (English
    keeps the action's key as the noun; the catalogues give each language its plural)."""
    counted: dict[str, str] = {
        EventAction.CREATE: ngettext("%(count)d create", "%(count)d create", n),
        EventAction.UPDATE: ngettext("%(count)d update", "%(count)d update", n),
        EventAction.DELETE: ngettext("%(count)d delete", "%(count)d delete", n),
        EventAction.TRASH: ngettext("%(count)d trash", "%(count)d trash", n),
        EventAction.REMOVE_FROM_LIST: ngettext(
            "%(count)d remove_from_list", "%(count)d remove_from_list", n
        ),
        EventAction.MARK: ngettext("%(count)d mark", "%(count)d mark", n),
        EventAction.TAG: ngettext("%(count)d tag", "%(count)d tag", n),
        EventAction.UNSUBSCRIBE: ngettext("%(count)d unsubscribe", "%(count)d unsubscribe", n),
        EventAction.SKIP: ngettext("%(count)d skip", "%(count)d skip", n),
        EventAction.CONFLICT: ngettext("%(count)d conflict", "%(count)d conflict", n),
        EventAction.ERROR: ngettext("%(count)d error", "%(count)d errors", n),
        EventAction.UNDO: ngettext("%(count)d undo", "%(count)d undo", n),
    }
    words = counted.get(action)
    return words % {"count": n} if words else f"{n} {action}"
