"""What a run learns about its authorizations is kept: refreshed tokens, API usage,
and which authorization failed."""

from __future__ import annotations

from typing import Any

from connectors.base import AuthError
from sync.models import AppAuthorization, Health
from tests.engine.support import sync, synced
from tests.fakes.connector import FakeConnector


def test_a_token_refreshed_during_a_run_is_stored_encrypted(
    fake_apps, fake_connection, monkeypatch
):
    original_fetch = FakeConnector.fetch

    def fetch_after_refresh(self: FakeConnector, cursor: Any):
        self.credentials.secrets["access_token"] = "refreshed-token"
        return original_fetch(self, cursor)

    monkeypatch.setattr(FakeConnector, "fetch", fetch_after_refresh)
    synced(fake_connection)
    for authorization in AppAuthorization.objects.filter(
        pk__in=[fake_connection.a_authorization_id, fake_connection.b_authorization_id]
    ):
        assert authorization.secrets["access_token"] == "refreshed-token"


def test_the_vendors_reported_usage_is_kept_on_the_authorization(
    fake_apps, fake_connection, monkeypatch
):
    monkeypatch.setattr(FakeConnector, "usage", lambda self: {"api_usage": {"used": 7, "max": 100}})
    synced(fake_connection)
    fake_connection.a_authorization.refresh_from_db()
    assert fake_connection.a_authorization.limit_info == {"api_usage": {"used": 7, "max": 100}}


def test_credentials_refused_while_opening_flag_that_sides_authorization(
    fake_apps, fake_connection, monkeypatch
):
    def refuse(self: FakeConnector):
        if self.app is fake_apps[1]:
            raise AuthError("token revoked")
        return original_fields(self)

    original_fields = FakeConnector.fields
    monkeypatch.setattr(FakeConnector, "fields", refuse)
    run = sync(fake_connection)
    assert run.status == "failed"
    assert fake_connection.state == "paused"
    fake_connection.b_authorization.refresh_from_db()
    fake_connection.a_authorization.refresh_from_db()
    assert fake_connection.b_authorization.health == Health.AUTH_FAILED
    assert "token revoked" in fake_connection.b_authorization.health_message
    assert fake_connection.a_authorization.health != Health.AUTH_FAILED
