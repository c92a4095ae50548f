"""Secrets stay secret: encrypted at rest, never rendered by the ops console, never
logged."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.db import connection as db_connection
from django.db import connections
from django.test import Client
from django.urls import reverse
from social_django.models import UserSocialAuth

from sync.models import AppAuthorization, Connection
from tests.foundation.conftest import SECRET

pytestmark = pytest.mark.django_db

NEW_SECRET = "sk-live-REPLACEMENT-also-never-shown-41"


@pytest.fixture
def authorization(connection: Connection) -> AppAuthorization:
    return connection.a_authorization


def change_url(authorization: AppAuthorization) -> str:
    return reverse("admin:sync_appauthorization_change", args=[authorization.pk])


def form_data(authorization: AppAuthorization, **overrides: Any) -> dict[str, Any]:
    data = {
        "account": authorization.account_id,
        "vendor": authorization.vendor,
        "label": authorization.label,
        "owner": "",
        "settings": "{}",
        "health": authorization.health,
        "health_message": "",
        "checked_at_0": "",
        "checked_at_1": "",
        "limit_info": "{}",
        "new_secrets": "",
    }
    data.update(overrides)
    return data


def test_secrets_are_not_readable_in_the_database_column(authorization: AppAuthorization) -> None:
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT secrets_json FROM sync_appauthorization WHERE id = %s", [authorization.pk]
        )
        (raw,) = cursor.fetchone()

    assert SECRET not in raw
    assert "api_key" not in raw
    assert AppAuthorization.objects.get(pk=authorization.pk).secrets == {"api_key": SECRET}


def test_change_page_says_secrets_are_set_without_showing_them(
    authorization: AppAuthorization, admin_client: Client
) -> None:
    page = admin_client.get(change_url(authorization)).content.decode()

    assert SECRET not in page
    assert "secrets_json" not in page
    assert '<div class="readonly">set</div>' in page


def test_list_of_authorizations_does_not_show_secrets(
    authorization: AppAuthorization, admin_client: Client
) -> None:
    page = admin_client.get(reverse("admin:sync_appauthorization_changelist")).content.decode()

    assert authorization.label in page
    assert SECRET not in page


def test_secrets_can_be_replaced_but_are_not_shown_back(
    authorization: AppAuthorization, admin_client: Client
) -> None:
    response = admin_client.post(
        change_url(authorization),
        form_data(authorization, new_secrets=f'{{"api_key": "{NEW_SECRET}"}}', _continue="1"),
        follow=True,
    )

    authorization.refresh_from_db()
    assert authorization.secrets == {"api_key": NEW_SECRET}
    assert NEW_SECRET not in response.content.decode()


def test_saving_without_new_secrets_keeps_the_old_ones(
    authorization: AppAuthorization, admin_client: Client
) -> None:
    admin_client.post(change_url(authorization), form_data(authorization, label="Renamed"))

    authorization.refresh_from_db()
    assert authorization.label == "Renamed"
    assert authorization.secrets == {"api_key": SECRET}


def test_a_form_error_does_not_echo_the_typed_secret(
    authorization: AppAuthorization, admin_client: Client
) -> None:
    response = admin_client.post(
        change_url(authorization),
        form_data(authorization, label="", new_secrets=f'{{"api_key": "{NEW_SECRET}"}}'),
    )

    assert response.status_code == 200  # redisplayed with "This field is required."
    assert NEW_SECRET not in response.content.decode()
    authorization.refresh_from_db()
    assert authorization.secrets == {"api_key": SECRET}


def test_secrets_that_are_not_a_json_object_are_refused(
    authorization: AppAuthorization, admin_client: Client
) -> None:
    response = admin_client.post(
        change_url(authorization), form_data(authorization, new_secrets=f'["{NEW_SECRET}"]')
    )

    assert "Must be a JSON object." in response.content.decode()
    authorization.refresh_from_db()
    assert authorization.secrets == {"api_key": SECRET}


def test_admin_requests_log_no_secrets(
    authorization: AppAuthorization,
    admin_client: Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Log every SQL statement with its parameters, as DEBUG=True would: the encrypted
    # column is written and read, so a plaintext leak would show up here.
    database = connections["default"]
    database.force_debug_cursor = True
    try:
        with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, "django.db.backends"):
            admin_client.get(change_url(authorization))
            admin_client.get(reverse("admin:sync_appauthorization_changelist"))
            admin_client.post(
                change_url(authorization),
                form_data(authorization, new_secrets=f'{{"api_key": "{NEW_SECRET}"}}'),
            )
    finally:
        database.force_debug_cursor = False

    assert "UPDATE" in caplog.text and "sync_appauthorization" in caplog.text
    assert SECRET not in caplog.text
    assert NEW_SECRET not in caplog.text


def test_oauth_tokens_of_social_auth_are_not_shown(owner: Any, admin_client: Client) -> None:
    social = UserSocialAuth.objects.create(
        user=owner, provider="google-oauth2", uid="alice", extra_data={"access_token": SECRET}
    )

    page = admin_client.get(
        reverse("admin:social_django_usersocialauth_change", args=[social.pk])
    ).content.decode()

    assert "google-oauth2" in page
    assert SECRET not in page
