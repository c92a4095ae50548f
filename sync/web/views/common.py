"""Helpers shared by the connection pages."""

from __future__ import annotations

from collections.abc import Collection

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from sync.models import Connection
from sync.tenancy import get_scoped_or_404

# The set-up steps, in the order PieSync users know: apps, what & direction, the
# elements (entity types beyond contacts, where both apps have some), rules, options,
# mapping, users, preview & start. Each entry: (url name, title).
STEPS: list[tuple[str, str]] = [
    ("setup_scopes", _("What and which way")),
    ("setup_entities", _("Elements")),
    ("setup_rules", _("Rules")),
    ("setup_options", _("Options")),
    ("setup_mapping", _("Field mapping")),
    ("setup_users", _("Users")),
    ("setup_preview", _("Preview and start")),
]


def get_connection(request: HttpRequest, pk: int) -> Connection:
    """The current tenant's connection ``pk`` (404 for any other tenant's)."""
    return get_scoped_or_404(
        Connection.objects.select_related("a_authorization", "b_authorization", "account"),
        request.tenant.account,  # type: ignore[attr-defined]
        pk=pk,
    )


def side_labels(connection: Connection) -> tuple[str, str]:
    """How the pages name the two sides: "Salesforce · Contacts · Acme" (the vendor
    always, then the scope and the authorization's label; sync/web/describe.py)."""
    from sync.web.describe import side_label

    return side_label(connection, "a"), side_label(connection, "b")


def form_status(request: HttpRequest) -> int:
    """Status of a page re-rendered with form errors: 400, except for htmx requests,
    whose 4xx responses htmx would not swap in."""
    return 200 if getattr(request, "htmx", False) else 400


def steps_context(
    connection: Connection, current: str, skip: Collection[str] = ()
) -> dict[str, object]:
    """The step list of the wizard at ``current``; steps in ``skip`` (nothing to do for
    this connection, e.g. Users where a side has no owners) are left out, unless it is
    the current one."""
    steps = [(name, title) for name, title in STEPS if name not in skip or name == current]
    names = [name for name, _ in steps]
    index = names.index(current)
    return {
        "steps": [
            {
                "name": name,
                "title": title,
                "number": i + 1,
                "current": name == current,
                "done": i < index,
            }
            for i, (name, title) in enumerate(steps)
        ],
        "next_step": steps[index + 1][0] if index + 1 < len(steps) else "",
        "previous_step": steps[index - 1][0] if index > 0 else "",
        "is_setup": connection.state in ("draft", "previewed"),
    }
