"""The authorizations resource: create with write-only credentials, test, delete."""

from __future__ import annotations

from django.db import connection as db
from rest_framework.test import APIClient

from sync.models import AppAuthorization, Connection, Health
from tests.api.vendor import GOOD_KEY, WEBHOOK_SECRET

URL = "/api/v1/authorizations/"
NEW = {
    "vendor": "apitest",
    "label": "Marketing",
    "settings": {"instance": "eu"},
    "credentials": {"api_key": GOOD_KEY, "webhook_secret": WEBHOOK_SECRET},
}


def test_owner_creates_an_authorization_with_encrypted_credentials(owner_api: APIClient) -> None:
    response = owner_api.post(URL, NEW, format="json")
    assert response.status_code == 201
    created = AppAuthorization.objects.get(pk=response.json()["id"])
    assert created.secrets == NEW["credentials"]
    with db.cursor() as cursor:
        cursor.execute("SELECT secrets_json FROM sync_appauthorization WHERE id = %s", [created.pk])
        stored = cursor.fetchone()[0]
    assert GOOD_KEY not in stored  # encrypted at rest


def test_credentials_are_never_returned(owner_api: APIClient) -> None:
    response = owner_api.post(URL, NEW, format="json")
    listing = owner_api.get(URL)
    assert "credentials" not in response.json()
    assert GOOD_KEY not in response.content.decode() + listing.content.decode()
    assert response.json()["has_credentials"] is True


def test_owner_sees_the_webhook_url(owner_api: APIClient, authorization: AppAuthorization) -> None:
    data = owner_api.get(f"{URL}{authorization.pk}/").json()
    assert data["webhook_url"].endswith(f"/hooks/apitest/{authorization.webhook_token}/")


def test_member_does_not_see_the_webhook_url(
    member_api: APIClient, authorization: AppAuthorization
) -> None:
    assert member_api.get(f"{URL}{authorization.pk}/").json()["webhook_url"] is None


def test_member_reads_authorizations(
    member_api: APIClient, authorization: AppAuthorization
) -> None:
    assert member_api.get(f"{URL}{authorization.pk}/").json()["label"] == "Acme newsletter"


def test_member_cannot_create_an_authorization(member_api: APIClient) -> None:
    assert member_api.post(URL, NEW, format="json").status_code == 403
    assert not AppAuthorization.objects.exists()


def test_outsider_cannot_see_acmes_authorization(
    outsider_api: APIClient, authorization: AppAuthorization
) -> None:
    assert outsider_api.get(f"{URL}{authorization.pk}/").status_code == 404
    assert outsider_api.get(URL).json()["results"] == []


def test_outsider_cannot_delete_acmes_authorization(
    outsider_api: APIClient, authorization: AppAuthorization
) -> None:
    assert outsider_api.delete(f"{URL}{authorization.pk}/").status_code == 404
    assert AppAuthorization.objects.filter(pk=authorization.pk).exists()


def test_unknown_vendor_is_a_field_error(owner_api: APIClient) -> None:
    response = owner_api.post(URL, {**NEW, "vendor": "nope"}, format="json")
    assert response.status_code == 400
    assert "Unknown vendor" in response.json()["vendor"][0]


def test_missing_credential_fields_are_named(owner_api: APIClient) -> None:
    response = owner_api.post(URL, {**NEW, "credentials": {"token": "x"}}, format="json")
    assert response.status_code == 400
    assert response.json()["credentials"] == ["API test app needs api_key, webhook_secret."]


def test_test_action_marks_good_credentials_healthy(
    owner_api: APIClient, authorization: AppAuthorization
) -> None:
    response = owner_api.post(f"{URL}{authorization.pk}/test/")
    assert response.status_code == 200
    assert response.json()["health"] == Health.OK
    authorization.refresh_from_db()
    assert authorization.checked_at is not None


def test_test_action_flags_rejected_credentials(
    owner_api: APIClient, authorization: AppAuthorization
) -> None:
    owner_api.patch(
        f"{URL}{authorization.pk}/",
        {"credentials": {"api_key": "stale", "webhook_secret": "s"}},
        format="json",
    )
    data = owner_api.post(f"{URL}{authorization.pk}/test/").json()
    assert data["health"] == Health.AUTH_FAILED
    assert "rejected" in data["health_message"]


def test_member_cannot_test_an_authorization(
    member_api: APIClient, authorization: AppAuthorization
) -> None:
    assert member_api.post(f"{URL}{authorization.pk}/test/").status_code == 403


def test_owner_deletes_an_unused_authorization(
    owner_api: APIClient, authorization: AppAuthorization
) -> None:
    assert owner_api.delete(f"{URL}{authorization.pk}/").status_code == 204
    assert not AppAuthorization.objects.filter(pk=authorization.pk).exists()


def test_authorization_in_use_cannot_be_deleted(
    owner_api: APIClient, connection: Connection
) -> None:
    response = owner_api.delete(f"{URL}{connection.a_authorization_id}/")
    assert response.status_code == 409
    assert connection.name in response.json()["detail"]


def test_vendor_cannot_change(owner_api: APIClient, authorization: AppAuthorization) -> None:
    response = owner_api.patch(f"{URL}{authorization.pk}/", {"vendor": "other"}, format="json")
    assert response.status_code == 400
    assert "vendor" in response.json()


def test_an_optional_credential_field_may_be_left_out(owner_api: APIClient) -> None:
    """Contacthub's node_access is optional (empty: both); its other fields are not."""
    body = {"vendor": "contacthub", "label": "Hub"}
    fields = {"token": "t", "workspace_id": "w", "node_id": "n"}
    response = owner_api.post(URL, {**body, "credentials": fields}, format="json")
    assert response.status_code == 201, response.json()
    response = owner_api.post(URL, {**body, "credentials": {"token": "t"}}, format="json")
    assert response.json()["credentials"] == ["Contactlab Contacthub needs workspace_id, node_id."]
