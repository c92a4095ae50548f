"""The connection's Duplicates page (issue 13): groups of records sharing an email that
matching could not tell apart, held out of the sync; the tenant links two records by hand
or marks records distinct, and later runs honour the decision."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_POST

from sync.engine import match
from sync.models import RecordLink
from sync.web.tenant import require_manager, tenant_required
from sync.web.views.common import get_connection, side_labels


@tenant_required
def duplicates(request: HttpRequest, pk: int) -> HttpResponse:
    """Held groups, records of both apps side by side."""
    connection = get_connection(request, pk)
    a_label, b_label = side_labels(connection)
    return render(
        request,
        "web/duplicates.html",
        {
            "connection": connection,
            "groups": match.held_groups(connection),
            "a_label": a_label,
            "b_label": b_label,
        },
    )


@tenant_required
@require_POST
def duplicates_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Link an A record with a B record by hand, or mark the chosen records distinct."""
    connection = get_connection(request, pk)
    require_manager(request)
    decision = request.POST.get("decision")
    try:
        if decision == "link":
            match.link_by_hand(connection, int(request.POST["a"]), int(request.POST["b"]))
            messages.success(request, gettext("Linked; the next run syncs them as one contact."))
        elif decision == "distinct":
            chosen = [int(v) for v in request.POST.getlist("link")]
            n = match.mark_distinct(connection, chosen)
            done = ngettext(
                "%(count)d contact marked distinct; the next run syncs it.",
                "%(count)d contacts marked distinct; the next run syncs each.",
                n,
            )
            messages.success(request, done % {"count": n})
        else:
            messages.error(request, gettext("Choose what to do."))
    except (KeyError, ValueError, RecordLink.DoesNotExist):
        messages.error(request, gettext("Choose one held contact of each app to link."))
    return redirect("web:duplicates", pk=connection.pk)
