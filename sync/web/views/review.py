"""What waits for a person: conflicts (apply the other side's value), deletions awaiting
review (approve or dismiss, in bulk), and undoing a run."""

from __future__ import annotations

import logging
from collections import Counter

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_POST

from sync.engine.sides import target_of
from sync.models import (
    Connection,
    DeletionMode,
    EventAction,
    EventStatus,
    RunStatus,
    SyncEvent,
    SyncRun,
    Trigger,
)
from sync.tenancy import get_scoped_or_404
from sync.web import describe, services
from sync.web.tenant import require_manager, tenant_required
from sync.web.views.common import get_connection, side_labels

logger = logging.getLogger(__name__)
PAGE_SIZE = 50


def conflict_rows(
    event: SyncEvent, labels: dict[str, dict[str, str]] | None = None
) -> list[dict[str, object]]:
    """A conflict's fields by their labels: the value that won (kept) and the one that
    lost. The planner journals a pair as {"a", "b", "won", "lost"}; older events as
    {"new", "lost"}."""
    names = {"a": "A", "b": "B"}
    rows = []
    for name, change in (event.changes or {}).items():
        if isinstance(change, dict):
            won = change.get("won")
            kept = change.get(won) if won in ("a", "b") else change.get("new")
            rows.append(
                {
                    "field": name,
                    "label": describe.pair_labels(name, labels or {"a": {}, "b": {}}, names),
                    "kept": kept,
                    "lost": change.get("lost"),
                    "won": won or "",
                    "old": change.get("old"),
                }
            )
    return rows


@tenant_required
def conflicts(request: HttpRequest, pk: int) -> HttpResponse:
    """Open conflicts, newest first, with the losing values."""
    connection = get_connection(request, pk)
    events = connection.events.filter(action=EventAction.CONFLICT, status=EventStatus.OK)
    page = Paginator(events.order_by("-created_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    labels = (
        {side: describe.field_labels(connection, side) for side in ("a", "b")}
        if page.object_list
        else None
    )
    for event in page.object_list:
        event.rows = conflict_rows(event, labels)  # type: ignore[attr-defined]
    a_label, b_label = side_labels(connection)
    return render(
        request,
        "web/conflicts.html",
        {
            "connection": connection,
            "page": page,
            "a_label": a_label,
            "b_label": b_label,
        },
    )


@tenant_required
@require_POST
def conflict_resolve(request: HttpRequest, pk: int, event_pk: int) -> HttpResponse:
    """Apply the losing (other side's) value of a conflict."""
    connection = get_connection(request, pk)
    event = get_scoped_or_404(
        SyncEvent.objects.filter(connection=connection, action=EventAction.CONFLICT),
        connection.account,
        pk=event_pk,
    )
    require_manager(request)
    try:
        services.engine_call("resolve_conflict", event, use="other")
    except Exception as exc:  # shown to the user; the conflict stays open
        logger.exception("resolving conflict %s failed", event.pk)
        messages.error(
            request, gettext("The other value could not be applied: %(error)s") % {"error": exc}
        )
    else:
        if event.label:
            done = gettext("The other side's value is applied to %(record)s.") % {
                "record": event.label
            }
        else:
            done = gettext("The other side's value is applied to the record.")
        messages.success(request, done)
    return redirect("web:conflicts", pk=connection.pk)


@tenant_required
def deletions(request: HttpRequest, pk: int) -> HttpResponse:
    """Deletions awaiting review. POST approves or dismisses the ticked ones."""
    connection = get_connection(request, pk)
    pending = connection.events.filter(status=EventStatus.PENDING_REVIEW)
    if request.method == "POST":
        require_manager(request)
        decision = request.POST.get("decision")
        ids = request.POST.getlist("event")
        chosen = list(pending.filter(pk__in=[i for i in ids if i.isdigit()]))
        if decision not in ("approve", "dismiss") or not chosen:
            messages.error(request, gettext("Tick at least one deletion, then approve or dismiss."))
        elif decision == "approve" and not request.POST.get("confirm"):
            return _confirm_approval(request, connection, chosen)
        else:
            try:
                services.engine_call("review_deletions", chosen, approve=decision == "approve")
            except Exception as exc:  # shown to the user; the deletions stay pending
                logger.exception("reviewing deletions of connection %s failed", connection.pk)
                messages.error(
                    request, gettext("The review could not be applied: %(error)s") % {"error": exc}
                )
            else:
                count = len(chosen)
                if decision == "approve":
                    done = ngettext(
                        "%(count)d deletion approved.", "%(count)d deletions approved.", count
                    )
                else:
                    done = ngettext(
                        "%(count)d deletion dismissed.", "%(count)d deletions dismissed.", count
                    )
                messages.success(request, done % {"count": count})
        return redirect("web:deletions", pk=connection.pk)
    page = Paginator(pending.order_by("-created_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    a_label, b_label = side_labels(connection)
    return render(
        request,
        "web/deletions.html",
        {
            "connection": connection,
            "page": page,
            "a_label": a_label,
            "b_label": b_label,
        },
    )


def approval_summary(connection: Connection, events: list[SyncEvent]) -> list[str]:
    """What approving ``events`` does, one line per app and deletion action, e.g.
    "Delete 3 contacts in Acme CRM". A deletion detected on one side acts on the other
    (its direction's target); the event's reason is the connection's deletion mode."""
    labels = dict(zip(("a", "b"), side_labels(connection), strict=True))
    counts: Counter[tuple[str, str]] = Counter()
    for event in events:
        counts[(target_of(event.direction), event.reason)] += 1
    lines = []
    for (side, mode), count in sorted(counts.items()):
        what = DeletionMode(mode).label if mode in DeletionMode.values else gettext("Delete")
        line = ngettext(
            "%(action)s: %(count)d contact in %(app)s",
            "%(action)s: %(count)d contacts in %(app)s",
            count,
        )
        lines.append(line % {"action": what, "count": count, "app": labels[side]})
    return lines


def _confirm_approval(
    request: HttpRequest, connection: Connection, chosen: list[SyncEvent]
) -> HttpResponse:
    return render(
        request,
        "web/deletions_confirm.html",
        {
            "connection": connection,
            "events": chosen,
            "summary": approval_summary(connection, chosen),
        },
    )


@tenant_required
def run_undo(request: HttpRequest, pk: int, run_pk: int) -> HttpResponse:
    """Undo a run: confirmation page (what will be written back), then POST."""
    connection = get_connection(request, pk)
    run = get_scoped_or_404(
        SyncRun.objects.filter(connection=connection), connection.account, pk=run_pk
    )
    require_manager(request)
    undoable = (
        not run.dry_run
        and run.trigger != Trigger.UNDO
        and run.status not in (RunStatus.QUEUED, RunStatus.RUNNING)
    )
    if request.method == "POST" and undoable:
        try:
            undo = services.engine_call("undo_run", run)
        except Exception as exc:  # shown to the user
            logger.exception("undo of run %s failed", run.pk)
            messages.error(
                request, gettext("The run could not be undone: %(error)s") % {"error": exc}
            )
        else:
            writes = getattr(undo, "writes", 0)
            done = ngettext(
                "Run %(run)s is undone (%(count)d write).",
                "Run %(run)s is undone (%(count)d writes).",
                writes,
            )
            messages.success(request, done % {"run": run.pk, "count": writes})
        return redirect("web:connection", pk=connection.pk)
    events = run.events.exclude(status=EventStatus.PREVIEW)
    return render(
        request,
        "web/undo.html",
        {
            "connection": connection,
            "run": run,
            "undoable": undoable,
            "event_count": events.count(),
            "events": events.order_by("-created_at")[:20],
        },
        status=200 if request.method == "GET" or undoable else 400,
    )
