"""A connection's lifecycle, decided in one place: pause, resume, start, run now, full
resync, and confirming a mass change the circuit breaker paused.

The tenant pages (sync/web/views/), the REST API (sync/api/views.py) and the ops console
(sync/admin.py) call these functions and only translate the outcome: a ``Refused`` becomes
an error message, a 409 or an admin warning, with the same words everywhere. Who may call
them (owners and admins of the account, ops staff) is checked by the callers, as each
interface authenticates differently.

The rules:

- *pause*: any started connection (initial sync, active, error) that is not paused yet.
- *resume*: from paused **and** from error — an error is a pause the engine chose, and
  the user who fixed its cause must be able to let it run again. It goes back to its
  initial sync when no real run has finished yet, else to active, and is due at once.
- *start*: a connection in setup (draft, previewed) begins its initial sync: the state,
  ``next_run_at`` (so the dispatcher retries it if the queued task is lost) and the queued
  first run.
- *run now* and *full resync*: a started connection that is not paused; the resync forgets
  both cursors first, so the run lists both sides whole.
- *confirm mass change*: a paused connection runs once through the circuit breaker.

The connectors take part through their hooks (connectors/base.py): ``start`` and
``resume`` are refused with the apps' own words when a connector's
``connection_problems`` objects (sync/setup.py), and once a connection starts, resumes or
is confirmed, each side's ``on_start`` registers what its app needs (Mailchimp: the list
webhook). That runs as a task (``tell_app``, queued through sync/tasks.py), never in the
web request: Mailchimp checks the webhook's address while it is asked, which a server
with one worker busy waiting could not answer. Its outcome is an ``AppCallback`` per
side, shown on the dashboard. When the last started connection reading a scope through
an authorization is paused or deleted, ``on_stop`` undoes it. A hook's vendor error
never blocks the transition: polling syncs all the same, and the dashboard (and the
outcome's message, when the task ran inline) says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from connectors.base import ConnectorError, Hooks
from connectors.registry import connector_class
from sync.models import (
    AppAuthorization,
    AppCallback,
    CallbackStatus,
    Connection,
    ConnectionState,
    Health,
    RunStatus,
    SyncRun,
    Trigger,
)

logger = logging.getLogger(__name__)

# A connection in setup: its first real run has not been asked for yet.
IN_SETUP = (ConnectionState.DRAFT, ConnectionState.PREVIEWED)
# A connection whose runs the dispatcher and "run now" may start.
RUNNABLE = (ConnectionState.INITIAL_SYNC, ConnectionState.ACTIVE, ConnectionState.ERROR)
RESUMABLE = (ConnectionState.PAUSED, ConnectionState.ERROR)


class Refused(Exception):
    """The connection's state does not allow this transition now; the message says why
    in words shown to the user as they are."""


@dataclass
class Outcome:
    """What a transition did: a message for the user, and the run it queued (``run`` is
    known at once when tasks run inline; ``queue_error`` says why queueing failed, in
    which case the connection is due and the dispatcher starts the run instead)."""

    connection: Connection
    message: str
    trigger: str = ""
    run: SyncRun | None = None
    queued: bool = False
    queue_error: str = ""


def can_pause(connection: Connection) -> bool:
    return connection.state in RUNNABLE


def can_resume(connection: Connection) -> bool:
    return connection.state in RESUMABLE


def can_run(connection: Connection) -> bool:
    return connection.state in RUNNABLE


def can_start(connection: Connection) -> bool:
    return connection.state in IN_SETUP


def can_confirm_mass_change(connection: Connection) -> bool:
    return connection.state == ConnectionState.PAUSED


def pause(connection: Connection, by: str, reason: str = "") -> Outcome:
    """Stop syncing until resumed; ``by`` names who paused it (kept as the reason when
    none is given)."""
    if connection.state in IN_SETUP:
        raise Refused(gettext("This connection has not started yet."))
    if connection.state == ConnectionState.PAUSED:
        raise Refused(gettext("This connection is paused already."))
    connection.state = ConnectionState.PAUSED
    connection.state_reason = reason or gettext("Paused by %(user)s.") % {"user": by}
    connection.save(update_fields=["state", "state_reason", "updated_at"])
    outcome = Outcome(connection, gettext("Paused. Nothing syncs until you resume."))
    return _tell_apps(outcome, "on_stop")


def initial_sync_done(connection: Connection) -> bool:
    """Whether a real run of ``connection`` has finished (fully or partly)."""
    return connection.runs.filter(
        dry_run=False, status__in=[RunStatus.SUCCEEDED, RunStatus.PARTIAL]
    ).exists()


def _wake(connection: Connection) -> None:
    """Out of paused or error into the state its history says, due at once."""
    connection.state = (
        ConnectionState.ACTIVE if initial_sync_done(connection) else ConnectionState.INITIAL_SYNC
    )
    connection.state_reason = ""
    connection.consecutive_failures = 0
    connection.next_run_at = timezone.now()
    connection.save(
        update_fields=["state", "state_reason", "consecutive_failures", "next_run_at", "updated_at"]
    )


def resume(connection: Connection) -> Outcome:
    """Resume a paused or failed connection; it runs at the next dispatch and catches up
    from its cursors."""
    if not can_resume(connection):
        state = connection.get_state_display().lower()
        raise Refused(
            gettext("Only a paused connection or one in error can resume; this one is %(state)s.")
            % {"state": state}
        )
    _refuse_what_apps_refuse(connection)
    _wake(connection)
    outcome = Outcome(connection, gettext("Resumed; it syncs again from where it stopped."))
    return _tell_apps(outcome, "on_start")


@dataclass
class Replacement:
    """What starting a connection replaces (``setup.replaced_side``): the records of
    ``app`` on ``side`` that ``source`` does not have are deleted, the others overwritten
    with ``source``'s. ``count``: how many would be deleted, from the latest preview
    (which runs in replace mode for such a connection); else ``at_most``, all the
    records ``app`` holds now; None when neither could be read."""

    side: str
    app: str
    source: str
    count: int | None = None
    at_most: int | None = None

    @property
    def warning(self) -> str:
        """The activation's words."""
        words = {"app": self.app, "source": self.source}
        text = (
            gettext(
                "The initial integration deletes the data already in %(app)s and replaces it "
                "with %(source)s's."
            )
            % words
        )
        if self.count is not None:
            text += " " + (
                ngettext(
                    "%(count)d %(app)s record would be deleted.",
                    "%(count)d %(app)s records would be deleted.",
                    self.count,
                )
                % {**words, "count": self.count}
            )
        elif self.at_most is not None:
            text += " " + (
                ngettext(
                    "Up to %(count)d %(app)s record would be deleted.",
                    "Up to %(count)d %(app)s records would be deleted.",
                    self.at_most,
                )
                % {**words, "count": self.at_most}
            )
        return text + " " + gettext("The deletions are journaled and can be undone.")


def replacement(connection: Connection, *, count_live: bool = True) -> Replacement | None:
    """What the activation of ``connection`` would replace (None: nothing; the decision
    is the connectors', ``replaced_at_activation``)."""
    from sync.setup import replaced_side

    side = replaced_side(connection)
    if side is None:
        return None
    other = "b" if side == "a" else "a"
    labels = {}
    for each in (side, other):
        vendor = connection.authorization(each).vendor
        labels[each] = str(getattr(connector_class(vendor), "label", vendor))
    found = Replacement(side, labels[side], labels[other])
    into = "b_to_a" if side == "a" else "a_to_b"
    preview = (
        connection.runs.filter(dry_run=True, status__in=[RunStatus.SUCCEEDED, RunStatus.PARTIAL])
        .order_by("-created_at", "-pk")
        .first()
    )
    if preview is not None and (preview.preview or {}).get("replace"):
        counts = ((preview.preview or {}).get("counts") or {}).get(into) or {}
        found.count = int(counts.get("delete") or 0)
    elif count_live:
        found.at_most = _records_held(connection, side)
    return found


def _records_held(connection: Connection, side: str) -> int | None:
    """How many records ``side``'s app holds in the connection's scope (one listing)."""
    from sync.vendors import open_connector

    try:
        with open_connector(connection.authorization(side), connection.scope(side)) as app:
            return sum(len(page.records) for page in app.fetch(None))
    except ConnectorError as exc:
        logger.warning("Counting the records of connection %s failed: %s", connection.pk, exc)
        return None


def start(connection: Connection, *, confirm_replace: bool = False) -> Outcome:
    """Begin the initial sync of a connection in setup and queue its first run. Where
    the activation replaces a side's records (``replacement``), only with
    ``confirm_replace``: the user's explicit consent; the first run then replaces them,
    through the circuit breaker (consented), journaled and undoable."""
    if not can_start(connection):
        raise Refused(gettext("This connection has already started."))
    _refuse_what_apps_refuse(connection)
    _refuse_missing_entities(connection)
    replacing = replacement(connection)
    if replacing is not None and not confirm_replace:
        raise Refused(
            replacing.warning + " " + gettext("Syncing starts only once you consent to it.")
        )
    connection.state = ConnectionState.INITIAL_SYNC
    connection.state_reason = ""
    # Due as well as queued: the dispatcher retries the initial sync if the task is lost.
    connection.next_run_at = timezone.now()
    connection.save(update_fields=["state", "state_reason", "next_run_at", "updated_at"])
    outcome = Outcome(
        connection, gettext("Syncing has started. The first run lists both apps whole.")
    )
    made = _create_missing_fields(connection)
    options: dict[str, Any] = {}
    if replacing is not None:
        options = {"replace_destination": True, "confirm_replace": True}
        options["confirm_mass_change"] = True  # the deletions are what was consented to
        outcome.message = gettext(
            "Syncing has started. The first run replaces the data in %(app)s with %(source)s's."
        ) % {"app": replacing.app, "source": replacing.source}
    outcome.message += made
    return _queue(_tell_apps(outcome, "on_start"), Trigger.INITIAL, **options)


def _create_missing_fields(connection: Connection) -> str:
    """The other app's custom fields made where the pair says (setup.py
    ``create_missing_fields``), before the first run so that it syncs them; what was
    done, in words (a vendor error never blocks the start)."""
    from sync.setup import create_missing_fields

    try:
        made = create_missing_fields(connection)
    except ConnectorError as exc:
        logger.warning("Creating the fields of connection %s failed: %s", connection.pk, exc)
        return " " + gettext(
            "The custom fields could not be created now (%(error)s); start a full resync "
            "once they exist."
        ) % {"error": exc}
    if not made:
        return ""
    return " " + gettext("New fields, paired with the other app's: %(fields)s.") % {
        "fields": ", ".join(made)
    }


def _refuse_unless_runnable(connection: Connection) -> None:
    if connection.state == ConnectionState.PAUSED:
        raise Refused(gettext("The connection is paused; resume it first."))
    if connection.state not in RUNNABLE:
        raise Refused(gettext("Start the connection first."))


def run_now(connection: Connection) -> Outcome:
    """Queue a run of a started connection (its initial sync while that is unfinished)."""
    _refuse_unless_runnable(connection)
    trigger = (
        Trigger.INITIAL if connection.state == ConnectionState.INITIAL_SYNC else Trigger.MANUAL
    )
    return _queue(Outcome(connection, gettext("A run is queued.")), trigger)


def run_or_start(connection: Connection, *, confirm_replace: bool = False) -> Outcome:
    """``start`` for a connection in setup, else ``run_now`` (the API's one "sync" verb)."""
    if can_start(connection):
        return start(connection, confirm_replace=confirm_replace)
    return run_now(connection)


def request_full_resync(connection: Connection) -> Outcome:
    """Forget both cursors and queue a run that lists both sides whole. Links keep
    matching, so nothing is duplicated."""
    _refuse_unless_runnable(connection)
    connection.cursor_a = None
    connection.cursor_b = None
    # Due now as well, so the scheduler still re-reads everything if the task is lost.
    connection.next_run_at = timezone.now()
    connection.save(update_fields=["cursor_a", "cursor_b", "next_run_at", "updated_at"])
    outcome = Outcome(connection, gettext("A full resync is queued: both apps are read whole."))
    return _queue(outcome, Trigger.RESYNC)


def confirm_mass_change(connection: Connection) -> Outcome:
    """Let a paused connection run once through the circuit breaker: the user checked
    the apps and the mass change (deletes, unsubscribes, overwrites) is wanted. Later
    runs are guarded again."""
    if not can_confirm_mass_change(connection):
        raise Refused(gettext("Only a paused connection has a change to confirm."))
    _wake(connection)
    outcome = _tell_apps(
        Outcome(connection, gettext("Confirmed; one run goes through with the change.")), "on_start"
    )
    trigger = (
        Trigger.INITIAL if connection.state == ConnectionState.INITIAL_SYNC else Trigger.MANUAL
    )
    return _queue(outcome, trigger, confirm_mass_change=True)


def _queue(outcome: Outcome, trigger: str, **options: Any) -> Outcome:
    """Queue a run of the outcome's connection through sync/tasks.py. If queueing fails
    the connection is made due, so the dispatcher's next tick starts it instead; the
    failure is reported, never raised (the state change stands)."""
    connection = outcome.connection
    outcome.trigger = trigger
    queued_at = timezone.now()
    try:
        from sync.tasks import enqueue_run

        result = enqueue_run(connection, trigger, **options)
    except Exception as exc:
        logger.exception("could not queue a run of connection %s", connection.pk)
        outcome.queue_error = str(exc) or type(exc).__name__
        Connection.objects.filter(pk=connection.pk).update(next_run_at=queued_at)
        connection.next_run_at = queued_at
        return outcome
    outcome.queued = True
    run = result if isinstance(result, SyncRun) else None
    if run is None:  # django-q2 answers with a task id; inline, the run exists already
        run = connection.runs.filter(trigger=trigger, created_at__gte=queued_at).first()
    outcome.run = run
    return outcome


# --- The connectors' hooks (connectors/base.py) ----------------------------------------------


def _refuse_what_apps_refuse(connection: Connection) -> None:
    """Refused with the apps' words when a side's connector objects to the connection."""
    from sync.setup import connection_problems

    problems = connection_problems(connection, starting=True)
    if problems:
        raise Refused(" ".join(problems))


def _refuse_missing_entities(connection: Connection) -> None:
    """Refused when the connection leaves out an entity it must sync (companies beside
    contacts where both apps have them, ``setup.entity_problems``): the wizard and the
    API refuse such a set already; this keeps a connection made another way (the admin,
    an older draft) from starting with its contacts' companies lost on the way."""
    from sync.setup import entity_problems

    problems = entity_problems(connection)
    if problems:
        raise Refused(" ".join(problems))


def webhook_url(authorization: AppAuthorization, base: str | None = None) -> str:
    """The public address at which ``authorization``'s app calls us (sync/hooks.py), under
    ``base`` or the product's ``PUBLIC_URL``."""
    return authorization.callback_url(base)


def _hooked(vendor: str, hook: str) -> bool:
    """Whether ``vendor``'s connector does something in ``hook``."""
    try:
        cls = connector_class(vendor)
    except (KeyError, ImportError, AttributeError):
        return False
    return getattr(cls, hook) is not getattr(Hooks, hook)


def _still_started(authorization_id: int, scope: str, but: int | None) -> bool:
    """Whether a started connection other than ``but`` reads ``scope`` through authorization
    ``authorization_id`` (then what ``on_start`` set up still serves it)."""
    return (
        Connection.objects.filter(state__in=RUNNABLE)
        .filter(
            Q(a_authorization_id=authorization_id, a_scope=scope)
            | Q(b_authorization_id=authorization_id, b_scope=scope)
        )
        .exclude(pk=but)
        .exists()
    )


def call_hook(
    authorization: AppAuthorization, scope: str, hook: str, base: str | None = None
) -> str:
    """Call ``hook`` (on_start, on_stop) of a connector on ``authorization`` and ``scope``
    (``base``: the public URL, when not PUBLIC_URL); the vendor's error in words ("" when
    done)."""
    from sync.vendors import open_connector

    try:
        with open_connector(authorization, scope) as connector:
            getattr(connector, hook)(webhook_url(authorization, base))
    except ConnectorError as exc:
        logger.warning("%s of %s (%s) failed: %s", hook, authorization.pk, scope, exc)
        return str(exc)
    return ""


def _tell_apps(outcome: Outcome, hook: str) -> Outcome:
    """Call ``hook`` on each side whose app has one: on_start always (it is idempotent),
    queued as a task; on_stop at once, only where no other started connection needs what
    it undoes."""
    connection = outcome.connection
    for side in ("a", "b"):
        authorization, scope = connection.authorization(side), connection.scope(side)
        if not _hooked(authorization.vendor, hook):
            continue
        if hook == "on_stop":
            if not _still_started(authorization.pk, scope, connection.pk):
                call_hook(authorization, scope, hook)
            continue
        _queue_on_start(connection, side)
        done = AppCallback.objects.filter(connection=connection, side=side).first()
        if done is not None and done.status == CallbackStatus.FAILED:  # the task ran inline
            outcome.message += " " + gettext(
                "%(app)s could not be asked to call back (%(error)s); its changes still arrive "
                "at each poll."
            ) % {"app": authorization.label, "error": done.message}
    return outcome


def _record_callback(connection_id: int, side: str, status: str, message: str = "") -> None:
    AppCallback.objects.update_or_create(
        connection_id=connection_id, side=side, defaults={"status": status, "message": message}
    )


def _queue_on_start(connection: Connection, side: str) -> None:
    """Queue ``tell_app`` for one side; shown as being registered until it has run."""
    _record_callback(connection.pk, side, CallbackStatus.QUEUED)
    try:
        from sync.tasks import enqueue_on_start

        enqueue_on_start(connection, side)
    except Exception as exc:
        logger.exception("could not queue on_start of connection %s side %s", connection.pk, side)
        _record_callback(connection.pk, side, CallbackStatus.FAILED, str(exc) or "not queued")


def tell_app(connection_id: int, side: str) -> str:
    """The task: ask one side's app to call back (its connector's ``on_start``), if the
    connection is still started (paused or deleted meanwhile, on_stop has had its turn),
    and record the outcome. Idempotent, as on_start is. Returns the status."""
    connection = (
        Connection.objects.filter(pk=connection_id, state__in=RUNNABLE)
        .select_related("a_authorization", "b_authorization")
        .first()
    )
    if connection is None:
        AppCallback.objects.filter(connection_id=connection_id, side=side).delete()
        return "not started"
    authorization, scope = connection.authorization(side), connection.scope(side)
    error = call_hook(authorization, scope, "on_start")
    status = CallbackStatus.FAILED if error else CallbackStatus.REGISTERED
    _record_callback(connection_id, side, status, error)
    return str(status)


@receiver(post_delete, sender=Connection)
def _stop_deleted(sender: type[Connection], instance: Connection, **kwargs: object) -> None:
    """A started connection deleted (pages, API, admin): on_stop once the delete is
    committed, where no other started connection needs what on_start set up."""
    if instance.state not in RUNNABLE:
        return  # never started, or paused: on_stop ran already
    sides = [(getattr(instance, f"{side}_authorization_id"), instance.scope(side)) for side in "ab"]

    def stop() -> None:
        for authorization_id, scope in sides:
            authorization = AppAuthorization.objects.filter(pk=authorization_id).first()
            if authorization is None or not _hooked(authorization.vendor, "on_stop"):
                continue
            if not _still_started(authorization_id, scope, None):
                call_hook(authorization, scope, "on_stop")

    transaction.on_commit(stop)


def authorizations_worked(connection: Connection) -> None:
    """A run that finished reading (and writing) both apps checked their authorizations
    as well as "Test" would: both are OK, checked now (the apps page shows it)."""
    AppAuthorization.objects.filter(
        pk__in=[connection.a_authorization_id, connection.b_authorization_id]
    ).update(health=Health.OK, health_message="", checked_at=timezone.now())
