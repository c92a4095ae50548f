"""The connector catalogue."""

from __future__ import annotations

from rest_framework.test import APIClient

from sync.models import AppAuthorization

URL = "/api/v1/connectors/"


def test_catalogue_lists_each_connector_with_its_auth_kind(member_api: APIClient) -> None:
    entries = {c["vendor"]: c for c in member_api.get(URL).json()}
    test_vendor = entries["apitest"]
    assert test_vendor["auth_kind"] == "api_key"
    assert [f["name"] for f in test_vendor["auth_fields"]] == ["api_key", "webhook_secret"]
    assert test_vendor["capabilities"]["webhooks"] is True


def test_connector_without_authorization_reads_nothing_from_the_vendor(
    member_api: APIClient,
) -> None:
    data = member_api.get(f"{URL}apitest/").json()
    assert "fields" not in data
    assert data["label"] == "API test app"


def test_connector_with_an_authorization_shows_its_fields_and_scopes(
    member_api: APIClient, authorization: AppAuthorization
) -> None:
    data = member_api.get(f"{URL}apitest/?authorization={authorization.pk}&scope=list-1").json()
    assert [f["key"] for f in data["fields"]] == [
        "email",
        "first_name",
        "tags",
        "company",
        "organisation",
    ]
    assert data["fields"][2]["multi"] is True
    assert [s["id"] for s in data["scopes"]] == ["list-1", "list-2"]


def test_outsider_cannot_read_fields_through_acmes_authorization(
    outsider_api: APIClient, authorization: AppAuthorization
) -> None:
    response = outsider_api.get(f"{URL}apitest/?authorization={authorization.pk}")
    assert response.status_code == 404


def test_unknown_connector_is_not_found(member_api: APIClient) -> None:
    assert member_api.get(f"{URL}nope/").status_code == 404


def test_catalogue_needs_a_member_of_an_account(db: None) -> None:
    assert APIClient().get(URL).status_code == 401
