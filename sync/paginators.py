"""A paginator for the journal tables (SyncEvent, SyncRun, RecordLink), which grow to
millions of rows: an exact ``COUNT(*)`` over them scans the table on PostgreSQL and makes
every admin changelist page slow."""

from __future__ import annotations

import json
import logging

from django.core.paginator import Paginator
from django.db import DatabaseError, connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

logger = logging.getLogger(__name__)


def planner_estimate(queryset: QuerySet) -> int | None:
    """PostgreSQL's own row estimate for ``queryset`` (from EXPLAIN, no table scan);
    None on other databases or when the planner cannot be asked."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().query.sql_with_params()
    try:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
    except DatabaseError:
        logger.warning("Could not estimate the row count of %s", queryset.model.__name__)
        return None
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """Counts exactly up to ``cap`` rows (a bounded ``COUNT`` over a ``LIMIT``ed
    subquery); beyond that it trusts PostgreSQL's planner estimate, or says ``cap``
    elsewhere. Page numbers past the estimate simply come out empty."""

    cap = 10_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return len(queryset)
        bounded = queryset.order_by()[: self.cap + 1].count()
        if bounded <= self.cap:
            return bounded
        return max(self.cap, planner_estimate(queryset) or 0)
