"""URL map: the ops console (admin), the REST API, webhooks and the tenant pages."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from sync import hooks

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("sync.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("hooks/<slug:vendor>/<str:token>/", hooks.receive, name="webhook"),
    path("oauth/", include("social_django.urls", namespace="social")),
    path("accounts/", include("django.contrib.auth.urls")),
    # The header's language switcher posts to Django's set_language (``i18n/setlang/``).
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("sync.web.urls")),
]
