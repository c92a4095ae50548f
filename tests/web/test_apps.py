"""Apps page: the catalogue and the account's authorizations."""

from __future__ import annotations

from typing import Any

from django.db import connection as connection_db
from django.test import Client
from django.urls import reverse

from sync.models import AppAuthorization, Connection, Health
from tests.fakes.connector import FakeApp


def connect(client: Client, **data: str) -> Any:
    form = {"label": "Sales CRM", "api_key": "k-123", "store": "crm"}
    form.update(data)
    return client.post(reverse("web:app_connect", args=["fake"]), form)


def test_catalogue_shows_each_connector_with_a_connect_button(owner_client: Client) -> None:
    page = owner_client.get(reverse("web:apps")).content.decode()
    assert "Fake app" in page
    assert reverse("web:app_connect", args=["fake"]) in page


def test_connecting_checks_the_credentials_and_stores_the_secret_encrypted(
    owner_client: Client, account: Any, owner: Any
) -> None:
    response = connect(owner_client)
    assert response.status_code == 302
    auth = AppAuthorization.objects.get(account=account)
    assert (auth.vendor, auth.label, auth.owner) == ("fake", "Sales CRM", owner)
    assert auth.secrets == {"api_key": "k-123"}
    assert auth.settings == {"store": "crm"}
    assert auth.health == Health.OK
    with connection_db.cursor() as cursor:
        cursor.execute("SELECT secrets_json FROM sync_appauthorization WHERE id = %s", [auth.pk])
        stored = cursor.fetchone()[0]
    assert "k-123" not in stored  # encrypted at rest


def test_secrets_are_never_rendered_back(owner_client: Client, auth_a: AppAuthorization) -> None:
    for name in ("web:apps",):
        assert b"secret-key-of-crm" not in owner_client.get(reverse(name)).content
    page = owner_client.get(reverse("web:app_reauthorize", args=[auth_a.pk]))
    assert b"secret-key-of-crm" not in page.content
    assert b'type="password"' in page.content


def test_refused_credentials_show_the_vendor_message_and_store_nothing(
    owner_client: Client, account: Any, web_apps: dict[str, FakeApp]
) -> None:
    web_apps["crm"].auth_failure = True
    response = connect(owner_client)
    assert response.status_code == 400
    assert "fake: API key revoked" in response.content.decode()
    assert not AppAuthorization.objects.filter(account=account).exists()


def test_missing_fields_are_explained_next_to_them(owner_client: Client) -> None:
    response = connect(owner_client, api_key="")
    assert response.status_code == 400
    page = response.content.decode()
    assert "This field is required." in page
    assert 'aria-invalid="true"' in page


def test_test_button_records_the_health_with_the_vendor_message(
    owner_client: Client, auth_a: AppAuthorization, web_apps: dict[str, FakeApp]
) -> None:
    web_apps["crm"].auth_failure = True
    owner_client.post(reverse("web:app_test", args=[auth_a.pk]))
    auth_a.refresh_from_db()
    assert auth_a.health == Health.AUTH_FAILED
    assert "API key revoked" in auth_a.health_message
    page = owner_client.get(reverse("web:apps")).content.decode()
    assert "Authentication failed" in page


def test_rate_limited_check_is_shown_as_such(
    owner_client: Client, auth_a: AppAuthorization, web_apps: dict[str, FakeApp]
) -> None:
    web_apps["crm"].rate_limited_calls = 1
    owner_client.post(reverse("web:app_test", args=[auth_a.pk]))
    auth_a.refresh_from_db()
    assert auth_a.health == Health.RATE_LIMITED


def test_reauthorizing_replaces_the_secrets(owner_client: Client, auth_a: AppAuthorization) -> None:
    response = owner_client.post(
        reverse("web:app_reauthorize", args=[auth_a.pk]),
        {"label": "Acme CRM", "api_key": "new-key", "store": "crm"},
    )
    assert response.status_code == 302
    auth_a.refresh_from_db()
    assert auth_a.secrets == {"api_key": "new-key"}


def test_disconnect_is_refused_while_a_connection_uses_it(
    owner_client: Client, connection: Connection, auth_a: AppAuthorization
) -> None:
    response = owner_client.post(reverse("web:app_disconnect", args=[auth_a.pk]), follow=True)
    assert AppAuthorization.objects.filter(pk=auth_a.pk).exists()
    assert "is used by “CRM ⇄ newsletter”" in response.content.decode()


def test_disconnect_deletes_an_unused_authorization(
    owner_client: Client, auth_a: AppAuthorization
) -> None:
    owner_client.post(reverse("web:app_disconnect", args=[auth_a.pk]), {"confirm": "1"})
    assert not AppAuthorization.objects.filter(pk=auth_a.pk).exists()


def test_member_cannot_connect_test_or_disconnect(
    member_client: Client, auth_a: AppAuthorization
) -> None:
    assert connect(member_client).status_code == 403
    assert member_client.post(reverse("web:app_test", args=[auth_a.pk])).status_code == 403
    assert member_client.post(reverse("web:app_disconnect", args=[auth_a.pk])).status_code == 403
    assert member_client.get(reverse("web:app_reauthorize", args=[auth_a.pk])).status_code == 403


def test_outsider_cannot_touch_another_tenants_authorization(
    outsider_client: Client, auth_a: AppAuthorization
) -> None:
    assert outsider_client.post(reverse("web:app_test", args=[auth_a.pk])).status_code == 404
    assert outsider_client.post(reverse("web:app_disconnect", args=[auth_a.pk])).status_code == 404
    assert AppAuthorization.objects.filter(pk=auth_a.pk).exists()


def test_unknown_app_is_not_found(owner_client: Client) -> None:
    assert owner_client.get(reverse("web:app_connect", args=["nope"])).status_code == 404


def test_connect_returns_to_the_wizard_when_asked(owner_client: Client) -> None:
    target = reverse("web:connection_new")
    response = connect(owner_client, next=target)
    assert response["Location"] == target


def test_connect_ignores_an_offsite_next(owner_client: Client) -> None:
    response = connect(owner_client, next="https://evil.example/")
    assert response["Location"] == reverse("web:apps")


def test_oauth_app_hands_over_to_its_backend_with_the_pending_connect(
    owner_client: Client, account: Any, monkeypatch: Any, settings: Any
) -> None:
    from tests.fakes.connector import FakeConnector

    monkeypatch.setattr(FakeConnector, "auth_kind", "oauth")
    settings.SOCIAL_AUTH_FAKE_KEY, settings.SOCIAL_AUTH_FAKE_SECRET = "id", "secret"
    monkeypatch.setattr(
        "sync.web.views.apps.reverse", lambda name, args: f"/oauth/login/{args[0]}/"
    )
    page = owner_client.get(reverse("web:app_connect", args=["fake"])).content.decode()
    assert "Continue to Fake app" in page
    response = owner_client.post(
        reverse("web:app_connect", args=["fake"]), {"instance": "sandbox", "next": "/apps/"}
    )
    # social-auth's begin view takes POST only: the page posts itself there.
    assert response.status_code == 200
    assert 'action="/oauth/login/fake/"' in response.content.decode()
    assert owner_client.session["oauth_pending"] == {
        "account_id": account.pk,
        "vendor": "fake",
        "next": "/apps/",
        "instance": "sandbox",
    }


def test_an_optional_field_may_be_left_empty_on_connect(
    owner_client: Client, sandbox: Any, account: Any
) -> None:
    """Contacthub's node access: "read, write, or empty for both" (optional_auth_fields);
    the API (sandbox's Contacthub, through VENDOR_SANDBOXES) is what the connect checks."""
    hub = sandbox.create_account("contacthub", name="Hub")
    response = owner_client.post(
        reverse("web:app_connect", args=["contacthub"]),
        {
            "label": "Hub",
            "token": hub["token"],
            "workspace_id": hub["workspace_id"],
            "node_id": hub["node_id"],
            "node_access": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    auth = AppAuthorization.objects.get(account=account, vendor="contacthub")
    assert auth.health == Health.OK and "node_access" not in auth.settings
    # The other fields stay required.
    refused = owner_client.post(
        reverse("web:app_connect", args=["contacthub"]), {"label": "Hub 2", "token": "t"}
    )
    assert refused.status_code == 400 and b"This field is required" in refused.content
