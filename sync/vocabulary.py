"""Names of the core's codes in the user's words, where the core needs them itself (setup's
refusals, the plan gates' messages) as well as the pages (sync/web/describe.py, which
holds the rest of the pages' vocabularies)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# Each entity type a connection may sync (sync/engine/context.py ENTITY_ORDER): its name
# for one record and for several ("Syncs contacts, companies").
ENTITIES: dict[str, tuple[Promise, Promise]] = {
    "company": (_("company"), _("companies")),
    "contact": (_("contact"), _("contacts")),
    "lead": (_("lead"), _("leads")),
    "opportunity": (_("opportunity"), _("opportunities")),
    "activity": (_("activity"), _("activities")),
    "event": (pgettext_lazy("calendar", "event"), pgettext_lazy("calendar", "events")),
    "task": (_("task"), _("tasks")),
}


def entity_label(entity: str, plural: bool = False) -> str:
    """An entity type's name ("contact", "contacts"); its key for a type not listed."""
    names = ENTITIES.get(entity)
    return str(names[plural]) if names else entity
