"""A client polling one run a second for twenty minutes does not use up the API."""

from __future__ import annotations

from sync.models import SyncRun


def test_polling_a_run_has_its_own_cheap_allowance(owner_api, connection, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "5/hour", "run_status": "7200/hour"},
    }
    run = SyncRun.objects.create(
        connection=connection, trigger="manual", status="running", phase="write"
    )
    for _ in range(30):
        response = owner_api.get(f"/api/v1/runs/{run.pk}/status/")
        assert response.status_code == 200
    assert response.json()["status"] == "running" and response.json()["phase"] == "write"
    # The API's own bucket is untouched by the polling.
    assert owner_api.get("/api/v1/connections/").status_code == 200


def test_run_status_is_tenant_isolated(outsider_api, connection):
    run = SyncRun.objects.create(connection=connection, trigger="manual", status="running")
    assert outsider_api.get(f"/api/v1/runs/{run.pk}/status/").status_code == 404
