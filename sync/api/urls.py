"""REST API v1 (issue 8), mounted at /api/v1/ by config/urls.py."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import DefaultRouter

from sync.api import views
from sync.api.lookup import LookupView

app_name = "api"

router = DefaultRouter()
router.register("authorizations", views.AuthorizationViewSet, basename="authorization")
router.register("connections", views.ConnectionViewSet, basename="connection")
router.register("runs", views.RunViewSet, basename="run")
router.register("connectors", views.ConnectorViewSet, basename="connector")

urlpatterns = [path("lookup", LookupView.as_view(), name="lookup"), *router.urls]
