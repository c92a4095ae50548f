"""Views of the REST API v1.

Every queryset is scoped to the caller's current account (sync/tenancy.py), so another
tenant's ids answer 404. Members read; owners and admins write (403 for members).
Engine entry points and the task queue are imported lazily: they are separate modules,
and the API only calls into them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from django.db.models import Count, Model, ProtectedError, Q, QuerySet
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from connectors.base import ConnectorError
from connectors.registry import VENDORS, all_connectors, connector_class
from sync import lifecycle, setup
from sync.api import serializers as s
from sync.api.permissions import current_account, current_membership
from sync.api.throttling import RunStatusRateThrottle
from sync.models import (
    Account,
    AppAuthorization,
    Connection,
    Direction,
    EventAction,
    EventStatus,
    SyncEvent,
    SyncRun,
    Trigger,
)
from sync.tenancy import scoped
from sync.vendors import open_connector
from sync.web.services import check_authorization

M = TypeVar("M", bound=Model)

# Deletion-type events that may await review.
DELETION_ACTIONS = (
    EventAction.DELETE,
    EventAction.TRASH,
    EventAction.REMOVE_FROM_LIST,
    EventAction.MARK,
)


class Conflict(APIException):
    """409: the object's state does not allow this now (e.g. resume an active one)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the object's current state."
    default_code = "conflict"


class VendorUnavailable(APIException):
    """502: the vendor's API failed while answering this request."""

    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "The app could not be reached."
    default_code = "vendor_unavailable"


class EventPagination(PageNumberPagination):
    """The last 100 events by default; ``page_size`` up to 1000."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class TenantViewSetMixin:
    """Scopes querysets to the current account and hands it to the serializers."""

    request: Request

    @property
    def account(self) -> Account:
        account = current_account(self.request)
        if account is None:  # IsAccountMember lets no such request in; never guess one
            raise PermissionDenied("You are not a member of any account.")
        return account

    def tenant_queryset(self, model: type[M]) -> QuerySet[M]:
        """``model``'s rows of the current account (none while the schema is drawn)."""
        if getattr(self, "swagger_fake_view", False):
            return model._default_manager.none()
        return scoped(model, self.account)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()  # type: ignore[misc]
        context["account"] = self.account
        context["membership"] = current_membership(self.request)
        return context


# --- Authorizations


@extend_schema(tags=["authorizations"])
class AuthorizationViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Authorized app accounts. Credentials are write-only."""

    serializer_class = s.AuthorizationSerializer
    lookup_value_regex = "[0-9]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[AppAuthorization]:
        return self.tenant_queryset(AppAuthorization).order_by("label", "pk")

    def perform_destroy(self, instance: AppAuthorization) -> None:
        try:
            instance.delete()
        except ProtectedError as exc:
            names = sorted({c.name for c in exc.protected_objects})
            raise Conflict(
                "Connections still use this authorization: " + ", ".join(names) + "."
            ) from exc

    @extend_schema(request=None, responses=s.AuthorizationSerializer)
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        """Check the credentials with the vendor now and store the resulting health."""
        authorization = self.get_object()
        check_authorization(authorization)
        return Response(self.get_serializer(authorization).data)


# --- Connections


@extend_schema(tags=["connections"])
class ConnectionViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Connections with their options, rules and field mappings, and what they did."""

    serializer_class = s.ConnectionSerializer
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[Connection]:
        return (
            self.tenant_queryset(Connection)
            .prefetch_related("rules__filters", "rules__actions", "mappings")
            .order_by("name", "pk")
        )

    def get_serializer_class(self) -> type[BaseSerializer]:
        return ACTION_SERIALIZERS.get(self.action, s.ConnectionSerializer)

    def perform_create(self, serializer: BaseSerializer) -> None:
        connection = serializer.save()
        if "mappings" not in serializer.validated_data:
            s.add_default_mappings(connection)
        setup.add_mandatory_entities(connection)

    # -- state

    def _transition(self, name: str, *args: Any, **kwargs: Any) -> lifecycle.Outcome:
        """Apply lifecycle transition ``name`` (sync/lifecycle.py); a refusal is a 409."""
        try:
            return getattr(lifecycle, name)(self.get_object(), *args, **kwargs)
        except lifecycle.Refused as exc:
            raise Conflict(str(exc)) from exc

    def _state(self, outcome: lifecycle.Outcome) -> Response:
        return Response(
            s.ConnectionSerializer(outcome.connection, context=self.get_serializer_context()).data
        )

    def _queued(self, outcome: lifecycle.Outcome) -> Response:
        queued = {"connection": outcome.connection.pk, "trigger": outcome.trigger}
        return Response(
            s.QueuedSerializer({**queued, "run": outcome.run}).data,
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(request=s.ConnectionStateSerializer, responses=s.ConnectionSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        """Stop syncing until resumed."""
        body = s.ConnectionStateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reason = body.validated_data.get("reason") or ""
        return self._state(self._transition("pause", by=str(request.user), reason=reason))

    @extend_schema(request=None, responses=s.ConnectionSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        """Resume a paused (or failed) connection; it runs at the next scheduler tick."""
        return self._state(self._transition("resume"))

    @extend_schema(request=s.StartSerializer, responses={202: s.QueuedSerializer})
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str | None = None) -> Response:
        """Begin the initial sync of a connection in setup (409 once it has started, and
        409 saying what would be deleted where the activation replaces a side's records
        and ``confirm_replace`` is not true)."""
        return self._queued(self._transition("start", confirm_replace=_consent(request)))

    @extend_schema(request=None, responses={202: s.QueuedSerializer})
    @action(detail=True, methods=["post"])
    def full_resync(self, request: Request, pk: str | None = None) -> Response:
        """Forget both cursors and queue a run that reads both apps whole."""
        return self._queued(self._transition("request_full_resync"))

    @extend_schema(request=None, responses={202: s.QueuedSerializer})
    @action(detail=True, methods=["post"])
    def confirm_mass_change(self, request: Request, pk: str | None = None) -> Response:
        """Run a paused connection once through the circuit breaker."""
        return self._queued(self._transition("confirm_mass_change"))

    # -- users

    @extend_schema(
        methods=["GET"], request=None, responses=s.UsersSerializer, description="Both sides' users."
    )
    @extend_schema(methods=["POST"], request=s.UsersInputSerializer, responses=s.UsersSerializer)
    @action(detail=True, methods=["get", "post"])
    def users(self, request: Request, pk: str | None = None) -> Response:
        """Both sides' users, their links and default users (GET); link them (POST:
        ``automatic`` adds the automatic links, else ``links`` replaces them)."""
        from sync import users

        connection = self.get_object()
        team = users.read_team(connection)
        if team.error:
            raise VendorUnavailable(team.error)
        if request.method == "POST":
            body = s.UsersInputSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            data = body.validated_data
            try:
                for side in users.SIDES:
                    if f"default_user_{side}" in data:
                        users.check_default_user(data[f"default_user_{side}"], side, team)
                if data["automatic"]:
                    users.link_automatically(connection, team)
                elif "links" in data:
                    chosen = {link["a_user_id"]: link["b_user_id"] for link in data["links"]}
                    users.save_links(connection, chosen, team)
            except users.Invalid as exc:
                raise ValidationError({"non_field_errors": [str(exc)]}) from exc
            for side in users.SIDES:
                if f"default_user_{side}" in data:
                    setattr(connection, f"default_user_{side}", data[f"default_user_{side}"])
            connection.save(update_fields=["default_user_a", "default_user_b", "updated_at"])
        answer = {
            "users_a": team.users["a"],
            "users_b": team.users["b"],
            "links": connection.user_links.order_by("pk"),
            "suggested": users.suggest_links(team.users["a"], team.users["b"]),
            "default_user_a": connection.default_user_a,
            "default_user_b": connection.default_user_b,
        }
        return Response(s.UsersSerializer(answer).data)

    # -- elements (entity types beyond contacts, issue 17)

    def _entities(self, connection: Connection) -> list[Any]:
        """What both apps offer beyond the contacts (502 when an app cannot say)."""
        try:
            return setup.entity_choices(connection)
        except ConnectorError as exc:
            raise VendorUnavailable(str(exc)) from exc

    def _entity_answer(self, connection: Connection, entity: str, code: int) -> Response:
        found = next((c for c in self._entities(connection) if c.entity == entity), None)
        if found is None:  # synced, though an app no longer lists it
            row = connection.entities.get(entity=entity)
            found = setup.EntityChoice(
                entity, setup.entity_label(entity), row.enabled, row.direction, False, ""
            )
        return Response(s.EntitySerializer(found).data, status=code)

    @extend_schema(methods=["GET"], request=None, responses=s.EntitySerializer(many=True))
    @extend_schema(
        methods=["POST"], request=s.EntityInputSerializer, responses={201: s.EntitySerializer}
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def entities(self, request: Request, pk: str | None = None) -> Response:
        """The elements both apps offer beyond the contacts, each with whether this
        connection syncs it and which way (GET); sync one more, or change the direction
        of one (POST). Refused (400) in the words of the wizard: an element the plan
        lacks, or companies going against the contacts' direction."""
        connection = self.get_object()
        if request.method == "GET":
            return Response(s.EntitySerializer(self._entities(connection), many=True).data)
        body = s.EntityInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        entity = body.validated_data["entity"]
        try:
            setup.choose_entity(connection, entity, body.validated_data["direction"])
        except setup.Invalid as exc:
            raise ValidationError({exc.field or "non_field_errors": [exc.message]}) from exc
        return self._entity_answer(connection, entity, status.HTTP_201_CREATED)

    @extend_schema(
        methods=["PATCH"], request=s.EntityChangeSerializer, responses=s.EntitySerializer
    )
    @extend_schema(methods=["DELETE"], request=None, responses={204: None})
    @action(
        detail=True,
        methods=["patch", "delete"],
        url_path=r"entities/(?P<entity>[a-z_]+)",
        pagination_class=None,
    )
    def entity(self, request: Request, pk: str | None = None, entity: str = "") -> Response:
        """Change one synced element's direction or stop syncing it (``enabled: false``
        or DELETE; its links, mapping and rules stay); companies are refused while both
        apps have them."""
        connection = self.get_object()
        row = connection.entities.filter(entity=entity).first()
        if row is None:
            raise NotFound("This connection does not sync that element.")
        body = s.EntityChangeSerializer(data=request.data if request.method == "PATCH" else {})
        body.is_valid(raise_exception=True)
        enabled = body.validated_data.get("enabled", row.enabled)
        try:
            if request.method == "DELETE" or not enabled:
                setup.drop_entity(connection, entity)
            else:
                direction = body.validated_data.get("direction", row.direction)
                setup.choose_entity(connection, entity, direction)
        except setup.Invalid as exc:
            raise ValidationError({exc.field or "non_field_errors": [exc.message]}) from exc
        if request.method == "DELETE":
            return Response(status=status.HTTP_204_NO_CONTENT)
        return self._entity_answer(connection, entity, status.HTTP_200_OK)

    # -- runs

    @extend_schema(
        methods=["GET"],
        request=None,
        responses={200: s.RunSerializer, 404: OpenApiResponse(description="No preview yet")},
        description="The latest dry run of this connection, with counts and samples.",
    )
    @extend_schema(
        methods=["POST"],
        request=None,
        responses={202: s.QueuedSerializer},
        description="Start a dry run: the same plan as a real run, nothing written.",
    )
    @action(detail=True, methods=["get", "post"])
    def preview(self, request: Request, pk: str | None = None) -> Response:
        """Start a dry run (POST) or read the latest one (GET)."""
        connection = self.get_object()
        if request.method == "POST":
            from sync.tasks import queue_preview

            queued = queue_preview(connection)
            return Response(s.QueuedSerializer(queued).data, status=status.HTTP_202_ACCEPTED)
        run = connection.runs.filter(Q(trigger=Trigger.PREVIEW) | Q(dry_run=True)).first()
        if run is None:
            raise NotFound("This connection has no preview yet; POST to start one.")
        return Response(s.RunSerializer(run).data)

    @extend_schema(request=s.StartSerializer, responses={202: s.QueuedSerializer})
    @action(detail=True, methods=["post"])
    def sync(self, request: Request, pk: str | None = None) -> Response:
        """Run the connection now (queued at once). The first time, this starts the
        initial sync (with ``confirm_replace`` as ``start``)."""
        return self._queued(self._transition("run_or_start", confirm_replace=_consent(request)))

    @extend_schema(responses=s.RunSerializer(many=True))
    @action(detail=True, methods=["get"])
    def runs(self, request: Request, pk: str | None = None) -> Response:
        """The connection's runs, newest first."""
        connection = self.get_object()
        return self._paginated(connection.runs.all(), s.RunSerializer)

    # -- journal

    @extend_schema(
        responses=s.EventSerializer(many=True),
        parameters=[
            OpenApiParameter("status", str, enum=EventStatus.values),
            OpenApiParameter("direction", str, enum=Direction.values),
            OpenApiParameter("action", str, enum=EventAction.values),
            OpenApiParameter("entity", str, description="One element: contact, company, …"),
            OpenApiParameter("page_size", int, description="Up to 1000; 100 by default."),
        ],
    )
    @action(detail=True, methods=["get"], pagination_class=EventPagination)
    def events(self, request: Request, pk: str | None = None) -> Response:
        """The last synced records (100 per page), newest first, filterable (by element
        too)."""
        connection = self.get_object()
        events = connection.events.all()
        if request.query_params.get("entity"):
            events = events.filter(entity=request.query_params["entity"])
        for name, allowed in (
            ("status", EventStatus.values),
            ("direction", Direction.values),
            ("action", EventAction.values),
        ):
            value = request.query_params.get(name)
            if value:
                if value not in allowed:
                    return Response(
                        {name: [f"{value!r} is not one of {', '.join(allowed)}."]},
                        status=status.HTTP_400_BAD_REQUEST,
                    )
                events = events.filter(**{name: value})
        return self._paginated(events, s.EventSerializer)

    @extend_schema(
        responses=s.StatSerializer(many=True),
        parameters=[OpenApiParameter("days", int, description="1 to 366; 30 by default.")],
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def stats(self, request: Request, pk: str | None = None) -> Response:
        """Events per day, element, action and direction (dry runs excluded)."""
        connection = self.get_object()
        try:
            days = int(request.query_params.get("days", 30))
        except ValueError:
            days = 0
        if not 1 <= days <= 366:
            return Response(
                {"days": ["A whole number of days from 1 to 366."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        since = timezone.now() - timedelta(days=days)
        rows = (
            connection.events.filter(created_at__gte=since)
            .exclude(status=EventStatus.PREVIEW)
            .annotate(day=TruncDate("created_at"))
            .values("day", "entity", "direction", "action")
            .annotate(count=Count("pk"))
            .order_by("day", "entity", "direction", "action")
        )
        return Response(s.StatSerializer(rows, many=True).data)

    @extend_schema(responses=s.EventSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=EventPagination)
    def conflicts(self, request: Request, pk: str | None = None) -> Response:
        """Conflicts settled by the connection's policy; the losing value is kept."""
        connection = self.get_object()
        return self._paginated(
            connection.events.filter(action=EventAction.CONFLICT), s.EventSerializer
        )

    @extend_schema(request=s.ConflictResolutionSerializer, responses=s.EventSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path=r"conflicts/(?P<event_id>[0-9]+)/resolve",
        url_name="resolve-conflict",
    )
    def resolve_conflict(
        self, request: Request, pk: str | None = None, event_id: str | None = None
    ) -> Response:
        """Apply the value that lost the conflict instead."""
        connection = self.get_object()
        event = get_object_or_404(connection.events, pk=event_id, action=EventAction.CONFLICT)
        body = s.ConflictResolutionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        call_engine("resolve_conflict", event, use=body.validated_data["use"])
        event.refresh_from_db()
        return Response(s.EventSerializer(event).data)

    @extend_schema(responses=s.EventSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=EventPagination)
    def deletions(self, request: Request, pk: str | None = None) -> Response:
        """Deletions awaiting review."""
        connection = self.get_object()
        return self._paginated(pending_deletions(connection), s.EventSerializer)

    @extend_schema(request=s.EventIdsSerializer, responses=s.ReviewResultSerializer)
    @action(detail=True, methods=["post"], url_path="deletions/approve")
    def approve_deletions(self, request: Request, pk: str | None = None) -> Response:
        """Apply the given deletions awaiting review."""
        return self._review(request, approve=True)

    @extend_schema(request=s.EventIdsSerializer, responses=s.ReviewResultSerializer)
    @action(detail=True, methods=["post"], url_path="deletions/dismiss")
    def dismiss_deletions(self, request: Request, pk: str | None = None) -> Response:
        """Keep the records: the given deletions will not be applied."""
        return self._review(request, approve=False)

    def _review(self, request: Request, *, approve: bool) -> Response:
        connection = self.get_object()
        body = s.EventIdsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ids = set(body.validated_data["ids"])
        events = list(pending_deletions(connection).filter(pk__in=ids))
        missing = sorted(ids - {e.pk for e in events})
        if missing:
            return Response(
                {"ids": [f"Not awaiting review here: {', '.join(map(str, missing))}."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        handled = call_engine("review_deletions", events, approve)
        return Response({"count": handled if isinstance(handled, int) else len(events)})

    def _paginated(self, queryset: QuerySet[Any], serializer: type[BaseSerializer]) -> Response:
        page = self.paginate_queryset(queryset)
        if page is not None:
            return self.get_paginated_response(serializer(page, many=True).data)
        return Response(serializer(queryset, many=True).data)


ACTION_SERIALIZERS: dict[str, type[BaseSerializer]] = {
    "runs": s.RunSerializer,
    "events": s.EventSerializer,
    "conflicts": s.EventSerializer,
    "deletions": s.EventSerializer,
    "stats": s.StatSerializer,
}


def _consent(request: Request) -> bool:
    """The explicit ``confirm_replace`` of a start (anything else is no consent)."""
    body = s.StartSerializer(data=request.data or {})
    body.is_valid(raise_exception=True)
    return bool(body.validated_data["confirm_replace"])


def call_engine(name: str, *args: Any, **kwargs: Any) -> Any:
    """Call the engine entry point ``name``: 409 while a run holds the connection, 502
    when the vendor fails."""
    import sync.engine
    from sync.engine.review import ConnectionBusy

    try:
        return getattr(sync.engine, name)(*args, **kwargs)
    except ConnectionBusy as exc:
        raise Conflict(str(exc)) from exc
    except ConnectorError as exc:
        raise VendorUnavailable(str(exc)) from exc


def pending_deletions(connection: Connection) -> QuerySet[SyncEvent]:
    return connection.events.filter(status=EventStatus.PENDING_REVIEW, action__in=DELETION_ACTIONS)


# --- Runs


@extend_schema(tags=["runs"])
class RunViewSet(
    TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Runs of every connection of the account, newest first."""

    serializer_class = s.RunSerializer
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[SyncRun]:
        return self.tenant_queryset(SyncRun).order_by("-created_at", "-pk")

    @extend_schema(responses={200: s.RunStatusSerializer})
    @action(
        detail=True,
        methods=["get"],
        throttle_classes=[RunStatusRateThrottle],
        serializer_class=s.RunStatusSerializer,
    )
    def status(self, request: Request, pk: str | None = None) -> Response:
        """A run's status, phase and progress only: cheap to poll while a run goes, with
        its own rate (``API_STATUS_RATE``, default 2 a second) apart from the API's."""
        run = get_object_or_404(
            self.get_queryset().only(
                "id", "status", "phase", "progress", "started_at", "finished_at", "error"
            ),
            pk=pk,
        )
        return Response(s.RunStatusSerializer(run).data)

    @extend_schema(request=None, responses={201: s.RunSerializer})
    @action(detail=True, methods=["post"])
    def undo(self, request: Request, pk: str | None = None) -> Response:
        """Write the run's journaled old values back (a new run of trigger ``undo``)."""
        run = self.get_object()
        if run.dry_run:
            raise Conflict("A dry run wrote nothing; there is nothing to undo.")
        undo = call_engine("undo_run", run)
        return Response(s.RunSerializer(undo).data, status=status.HTTP_201_CREATED)


# --- Connector catalogue


def describe_connector(vendor: str) -> dict[str, Any]:
    cls = connector_class(vendor)
    caps = cls.capabilities
    return {
        "vendor": vendor,
        "label": cls.label,
        "description": cls.description,
        "auth_kind": cls.auth_kind,
        "auth_fields": [
            {"name": name, "label": label, "secret": secret}
            for name, label, secret in cls.auth_fields
        ],
        "capabilities": {name: getattr(caps, name) for name in caps.__dataclass_fields__},
        "entities": list(cls.entities),
    }


@extend_schema(tags=["connectors"])
class ConnectorViewSet(TenantViewSetMixin, viewsets.ViewSet):
    """The catalogue of apps that can be connected."""

    lookup_field = "vendor"
    lookup_value_regex = "[a-z0-9_]+"
    serializer_class = s.ConnectorSerializer

    @extend_schema(responses=s.ConnectorSerializer(many=True))
    def list(self, request: Request) -> Response:
        """Every registered connector with its auth kind, auth fields and capabilities."""
        return Response([describe_connector(vendor) for vendor in sorted(all_connectors())])

    @extend_schema(
        responses=s.ConnectorSerializer,
        parameters=[
            OpenApiParameter(
                "authorization",
                OpenApiTypes.INT,
                description="Read fields and scopes with this authorization (vendor HTTP).",
            ),
            OpenApiParameter("scope", str, description="Scope whose fields to read."),
        ],
    )
    def retrieve(self, request: Request, vendor: str | None = None) -> Response:
        """One connector; with ``authorization`` also the fields and scopes it offers."""
        if vendor not in VENDORS:
            raise NotFound(f"No connector {vendor!r}.")
        data = describe_connector(vendor)
        raw = request.query_params.get("authorization")
        if raw:
            if not raw.isdigit():
                return Response(
                    {"authorization": ["An authorization id."]},
                    status=status.HTTP_400_BAD_REQUEST,
                )
            authorization = get_object_or_404(
                scoped(AppAuthorization, self.account), pk=int(raw), vendor=vendor
            )
            try:
                chosen = request.query_params.get("scope", "")
                with open_connector(authorization, chosen) as connector:
                    data["scopes"] = [vars(scope) for scope in connector.scopes()]
                    data["fields"] = [vars(spec) for spec in connector.fields()]
            except ConnectorError as exc:
                raise VendorUnavailable(f"{data['label']}: {exc}") from exc
        return Response(s.ConnectorSerializer(data).data)
