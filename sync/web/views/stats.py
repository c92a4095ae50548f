"""Statistics tab (created / updated / deleted / errors over time, per element (entity
type) and direction; the last 100 synced records, filterable by element) and the
per-record explain view."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

from django.core.paginator import Paginator
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode

from sync import setup
from sync.engine import mapping
from sync.engine.context import entity_order
from sync.models import (
    PRIMARY_ENTITY,
    Connection,
    Direction,
    EventAction,
    EventStatus,
    RecordLink,
    Rule,
    SyncEvent,
)
from sync.tenancy import get_scoped_or_404
from sync.web.charts import CATEGORY_OF_ACTION, SERIES, days_back, stacked_chart
from sync.web.describe import authorization_label, vendor_label
from sync.web.tenant import tenant_required
from sync.web.views.common import get_connection, side_labels

CHART_DAYS = 14
LAST_RECORDS = 100
PAGE_SIZE = 25


def _category(action: str, status: str) -> str | None:
    if status == EventStatus.ERROR:
        return "errors"
    return CATEGORY_OF_ACTION.get(action)


def statistics(
    connection: Any, today: date, entity: str = ""
) -> tuple[list[Any], list[dict[str, Any]]]:
    """Charts per direction over the last CHART_DAYS days (of ``entity`` alone when
    given), and totals per entity and direction, from one grouped query (the
    event_counts index)."""
    since = timezone.now() - timedelta(days=CHART_DAYS)
    events = SyncEvent.objects.filter(connection=connection, created_at__gte=since)
    if entity:
        events = events.filter(entity=entity)
    rows = (
        events.exclude(status=EventStatus.PREVIEW)
        .annotate(day=TruncDate("created_at"))
        .values("day", "entity", "action", "direction", "status")
        .annotate(n=Count("id"))
    )
    per_direction: dict[str, dict[date, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(int))
    )
    totals: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        category = _category(row["action"], row["status"])
        if category is None:
            continue
        per_direction[row["direction"]][row["day"]][category] += row["n"]
        totals[(row["entity"], row["direction"])][category] += row["n"]
    a_label, b_label = side_labels(connection)
    titles: dict[str, str] = {
        Direction.A_TO_B: f"{a_label} → {b_label}",
        Direction.B_TO_A: f"{b_label} → {a_label}",
    }
    days = days_back(today, CHART_DAYS)
    charts = [
        stacked_chart(titles[d], days, per_direction.get(d, {}))
        for d in (Direction.A_TO_B, Direction.B_TO_A)
        if connection.syncs(d)
    ]
    table = [
        {
            "entity": name,
            "label": setup.entity_label(name),
            "direction": titles.get(direction, direction or "—"),
            **{key: counts.get(key, 0) for key, _, _ in SERIES},
        }
        for (name, direction), counts in sorted(
            totals.items(), key=lambda item: (entity_order(item[0][0]), item[0])
        )
    ]
    return charts, table


def app_titles(connection: Connection) -> dict[str, str]:
    """Each direction by its apps, "ForceManager → Salesforce": the vendors' names, or
    the authorizations' where both sides are the same app."""
    authorizations = {side: connection.authorization(side) for side in ("a", "b")}
    vendors = {side: a.vendor for side, a in authorizations.items()}
    if vendors["a"] != vendors["b"]:
        names = {side: vendor_label(vendor) for side, vendor in vendors.items()}
    else:
        names = {side: authorization_label(a) for side, a in authorizations.items()}
    return {
        Direction.A_TO_B: f"{names['a']} → {names['b']}",
        Direction.B_TO_A: f"{names['b']} → {names['a']}",
    }


def synced_entities(connection: Connection) -> list[str]:
    """The elements the statistics can be filtered by: the contacts and every element
    the connection syncs or synced."""
    names = [PRIMARY_ENTITY, *connection.entities.values_list("entity", flat=True)]
    return sorted(dict.fromkeys(names), key=entity_order)


@tenant_required
def connection_stats(request: HttpRequest, pk: int) -> HttpResponse:
    """The statistics tab with the last 100 synced records, filterable by element,
    status and direction, 25 to a page; each record says its element, its direction
    by the apps' names and its result. The element column and filter appear once the
    connection syncs more than its contacts."""
    connection = get_connection(request, pk)
    entities = synced_entities(connection)
    entity = request.GET.get("entity", "")
    if entity not in entities:
        entity = ""
    charts, table = statistics(connection, timezone.localdate(), entity)
    status = request.GET.get("status", "")
    direction = request.GET.get("direction", "")
    events = SyncEvent.objects.filter(connection=connection).exclude(status=EventStatus.PREVIEW)
    if entity:
        events = events.filter(entity=entity)
    if status in EventStatus.values:
        events = events.filter(status=status)
    if direction in Direction.values:
        events = events.filter(direction=direction)
    last = list(events.select_related("link").order_by("-created_at", "-id")[:LAST_RECORDS])
    titles = app_titles(connection)
    for event in last:
        event.entity_label = setup.entity_label(event.entity)  # type: ignore[attr-defined]
        event.direction_title = titles.get(event.direction, "—")  # type: ignore[attr-defined]
    page = Paginator(last, PAGE_SIZE).get_page(request.GET.get("page"))
    chosen = (("entity", entity), ("status", status), ("direction", direction))
    filters = {k: v for k, v in chosen if v}
    query = urlencode(filters)
    # The record pages link back to this very list: filters and page (back_query).
    here = {**filters, **({"page": str(page.number)} if page.number > 1 else {})}
    return render(
        request,
        "web/stats.html",
        {
            "connection": connection,
            "charts": charts,
            "series": SERIES,
            "totals": table,
            "page": page,
            "status": status,
            "direction": direction,
            "statuses": [
                (s, label) for s, label in EventStatus.choices if s != EventStatus.PREVIEW
            ],
            "directions": [(d, titles[d]) for d in Direction.values],
            "entity": entity,
            "entities": [(e, setup.entity_label(e)) for e in entities] if len(entities) > 1 else [],
            "query": query,
            "back": quote(urlencode(here)) if here else "",
            "chart_days": CHART_DAYS,
        },
    )


def back_query(request: HttpRequest) -> str:
    """The statistics list's filters a record page was opened from (``?back=``), kept
    to the list's own parameters, for its "← Statistics" link."""
    wanted = QueryDict(request.GET.get("back", ""))
    kept = {k: wanted[k] for k in ("entity", "status", "direction", "page") if wanted.get(k)}
    return urlencode(kept)


def _vendor_value(fields: dict[str, Any] | None, key: str) -> Any:
    """A side's value of ``key``; a composite key ("first+last") joins its parts."""
    if not fields:
        return None
    parts = [fields.get(part) for part in key.split("+")]
    shown = [str(p) for p in parts if p not in (None, "", [])]
    return " ".join(shown) if len(parts) > 1 else parts[0]


def base_rows(
    connection: Connection, link: RecordLink, events: list[SyncEvent]
) -> list[dict[str, Any]]:
    """One row per mapped pair: its last synced value (normalized, computed from the
    fields the link remembers of side A, or of B when A has no record), each side's
    value as last synced, and the side the value last came from with when — read from
    the newest event that wrote the pair (an A → B event names B's field). The pairs'
    transforms are the connection's; their field types, which only the apps know, are
    not asked for on a page."""
    side = "a" if link.a_fields is not None else "b"
    fields = link.side(side).fields
    if fields is None:
        return []
    pairs = mapping.pairs_for(connection, entity=link.entity)  # the pairs of its element
    context = mapping.MappingContext(default_phone_country=connection.default_phone_country)
    synced = mapping.normalized_values(pairs, side, fields, context)
    rows = []
    for key, value in synced.items():
        a_field, _, b_field = key.partition("|")
        origin, when = "", None
        for event in events:  # newest first
            written = event.changes or {}
            if event.direction == Direction.A_TO_B and b_field in written:
                origin, when = "A", event.created_at
            elif event.direction == Direction.B_TO_A and a_field in written:
                origin, when = "B", event.created_at
            if origin:
                break
        rows.append(
            {
                "a_field": a_field,
                "b_field": b_field,
                "value": value,
                "a_value": _vendor_value(link.a_fields, a_field),
                "b_value": _vendor_value(link.b_fields, b_field),
                "side": origin,
                "when": when,
            }
        )
    return rows


@tenant_required
def record_explain(request: HttpRequest, pk: int, link_pk: int) -> HttpResponse:
    """Why a record synced as it did: the rule that matched (or why none), the key that
    linked it, each field's last synced value and side, the last error."""
    connection = get_connection(request, pk)
    link = get_scoped_or_404(
        RecordLink.objects.filter(connection=connection), connection.account, pk=link_pk
    )
    rule_ids = [r for r in (link.rules_matched or []) if isinstance(r, int)]
    rules = list(Rule.objects.filter(connection=connection, pk__in=rule_ids))
    events = list(
        link.events.exclude(status=EventStatus.PREVIEW).order_by("-created_at", "-id")[:50]
    )
    skip_reasons = [e for e in events if e.action == EventAction.SKIP and e.reason][:3]
    a_label, b_label = side_labels(connection)
    return render(
        request,
        "web/explain.html",
        {
            "connection": connection,
            "link": link,
            "rules": rules,
            "skip_reasons": skip_reasons,
            "last_failure": next((e for e in events if e.action == EventAction.ERROR), None),
            "base": base_rows(connection, link, events),
            "events": events[:20],
            "a_label": a_label,
            "b_label": b_label,
            "back": back_query(request),
        },
    )


@tenant_required
def event_explain(request: HttpRequest, pk: int, event_pk: int) -> HttpResponse:
    """One journal entry, with a link to its record's explain view when it has one."""
    connection = get_connection(request, pk)
    event = get_scoped_or_404(
        SyncEvent.objects.filter(connection=connection), connection.account, pk=event_pk
    )
    return render(
        request,
        "web/event.html",
        {"connection": connection, "event": event, "back": back_query(request)},
    )
