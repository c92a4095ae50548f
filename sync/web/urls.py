"""Tenant pages (issue 7): apps, the connection wizard, dashboards, statistics,
conflicts and deletions, team and API tokens. Sign-in and password reset are Django's
auth views (config/urls.py, under accounts/)."""

from __future__ import annotations

from django.urls import path
from django.views.generic import RedirectView

from sync.web.views import apps, connections, duplicates, lookup, review, stats, team, wizard

app_name = "web"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="web:connections"), name="home"),
    path("account/switch/", team.account_switch, name="account_switch"),
    path("lookup/", lookup.caller_lookup, name="lookup"),
    # Apps
    path("apps/", apps.app_list, name="apps"),
    path("apps/<slug:vendor>/connect/", apps.app_connect, name="app_connect"),
    path("apps/auth/<int:pk>/test/", apps.app_test, name="app_test"),
    path("apps/auth/<int:pk>/user/", apps.app_team_user, name="app_team_user"),
    path("apps/auth/<int:pk>/reauthorize/", apps.app_reauthorize, name="app_reauthorize"),
    path("apps/auth/<int:pk>/disconnect/", apps.app_disconnect, name="app_disconnect"),
    # Connections: list, wizard (also the configuration editor), dashboard
    path("connections/", connections.connection_list, name="connections"),
    path("connections/new/", wizard.connection_new, name="connection_new"),
    path("connections/<int:pk>/", connections.connection_detail, name="connection"),
    path("connections/<int:pk>/live/", connections.connection_progress, name="connection_live"),
    path("connections/<int:pk>/pause/", connections.connection_pause, name="connection_pause"),
    path("connections/<int:pk>/resume/", connections.connection_resume, name="connection_resume"),
    path("connections/<int:pk>/run/", connections.connection_run_now, name="connection_run"),
    path(
        "connections/<int:pk>/resync/",
        connections.connection_full_resync,
        name="connection_resync",
    ),
    path(
        "connections/<int:pk>/confirm/",
        connections.connection_confirm_mass_change,
        name="connection_confirm",
    ),
    path("connections/<int:pk>/delete/", connections.connection_delete, name="connection_delete"),
    path("connections/<int:pk>/start/", wizard.connection_start, name="connection_start"),
    path("connections/<int:pk>/setup/scopes/", wizard.setup_scopes, name="setup_scopes"),
    path("connections/<int:pk>/setup/elements/", wizard.setup_entities, name="setup_entities"),
    path("connections/<int:pk>/setup/rules/", wizard.setup_rules, name="setup_rules"),
    path("connections/<int:pk>/setup/options/", wizard.setup_options, name="setup_options"),
    path("connections/<int:pk>/setup/mapping/", wizard.setup_mapping, name="setup_mapping"),
    path("connections/<int:pk>/setup/users/", wizard.setup_users, name="setup_users"),
    path("connections/<int:pk>/setup/preview/", wizard.setup_preview, name="setup_preview"),
    path(
        "connections/<int:pk>/setup/preview/status/",
        wizard.setup_preview_status,
        name="setup_preview_status",
    ),
    # Statistics, explain, conflicts, deletions, undo
    path("connections/<int:pk>/stats/", stats.connection_stats, name="stats"),
    path(
        "connections/<int:pk>/records/<int:link_pk>/", stats.record_explain, name="record_explain"
    ),
    path("connections/<int:pk>/events/<int:event_pk>/", stats.event_explain, name="event"),
    path("connections/<int:pk>/conflicts/", review.conflicts, name="conflicts"),
    path(
        "connections/<int:pk>/conflicts/<int:event_pk>/resolve/",
        review.conflict_resolve,
        name="conflict_resolve",
    ),
    path("connections/<int:pk>/deletions/", review.deletions, name="deletions"),
    path("connections/<int:pk>/duplicates/", duplicates.duplicates, name="duplicates"),
    path(
        "connections/<int:pk>/duplicates/decide/",
        duplicates.duplicates_decide,
        name="duplicates_decide",
    ),
    path("connections/<int:pk>/runs/<int:run_pk>/undo/", review.run_undo, name="run_undo"),
    # Team and API tokens
    path("team/", team.team, name="team"),
    path("team/members/<int:pk>/role/", team.member_role, name="member_role"),
    path("team/members/<int:pk>/remove/", team.member_remove, name="member_remove"),
    path("team/invitations/<int:pk>/revoke/", team.invitation_revoke, name="invitation_revoke"),
    path("invitations/<str:token>/", team.invitation_accept, name="invitation_accept"),
    path("tokens/", team.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", team.token_revoke, name="token_revoke"),
]
