"""Who the API lets in, within which account, and how fast."""

from __future__ import annotations

from typing import Any

from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from sync.models import Account, ApiToken, AppAuthorization, Role, TeamUser

AUTHORIZATIONS = "/api/v1/authorizations/"


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_valid_token_lists_its_accounts_authorizations(
    owner: Any, account: Account, authorization: AppAuthorization
) -> None:
    _token, raw = ApiToken.issue(owner, account, "ci")
    response = bearer(raw).get(AUTHORIZATIONS)
    assert response.status_code == 200
    assert [a["label"] for a in response.json()["results"]] == ["Acme newsletter"]


def test_valid_token_records_when_it_was_last_used(owner: Any, account: Account) -> None:
    token, raw = ApiToken.issue(owner, account, "ci")
    bearer(raw).get(AUTHORIZATIONS)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_revoked_token_is_refused(owner: Any, account: Account) -> None:
    token, raw = ApiToken.issue(owner, account, "ci")
    token.revoked_at = timezone.now()
    token.save()
    response = bearer(raw).get(AUTHORIZATIONS)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_wrong_token_is_refused(owner: Any, account: Account) -> None:
    ApiToken.issue(owner, account, "ci")
    response = bearer("cs_not-a-token-we-issued").get(AUTHORIZATIONS)
    assert response.status_code == 401


def test_malformed_token_is_refused(owner: Any) -> None:
    response = bearer("abc").get(AUTHORIZATIONS)
    assert response.status_code == 401


def test_anonymous_caller_must_authenticate(db: None) -> None:
    response = APIClient().get(AUTHORIZATIONS)
    assert response.status_code == 401


def test_token_of_a_user_who_left_the_account_is_refused(owner: Any, account: Account) -> None:
    _token, raw = ApiToken.issue(owner, account, "ci")
    TeamUser.objects.filter(user=owner, account=account).delete()
    assert bearer(raw).get(AUTHORIZATIONS).status_code == 401


def test_token_acts_within_its_own_account_only(
    owner: Any, account: Account, other_account: Account, authorization: AppAuthorization
) -> None:
    # alice also belongs to Globex; her Globex token must not see Acme's authorization.
    TeamUser.objects.create(account=other_account, user=owner, role=Role.OWNER)
    _token, raw = ApiToken.issue(owner, other_account, "globex")
    response = bearer(raw).get(AUTHORIZATIONS)
    assert response.json()["results"] == []
    assert bearer(raw).get(f"{AUTHORIZATIONS}{authorization.pk}/").status_code == 404


def test_browser_session_reads_the_current_account(
    owner_client: Client, authorization: AppAuthorization
) -> None:
    response = owner_client.get(AUTHORIZATIONS)
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_browser_session_follows_the_account_switcher(
    owner: Any, owner_client: Client, other_account: Account, authorization: AppAuthorization
) -> None:
    from sync.web.tenant import SESSION_KEY

    TeamUser.objects.create(account=other_account, user=owner, role=Role.OWNER)
    session = owner_client.session
    session[SESSION_KEY] = other_account.pk
    session.save()
    assert owner_client.get(AUTHORIZATIONS).json()["count"] == 0


def test_browser_session_writes_need_the_csrf_token(owner: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(
        AUTHORIZATIONS,
        {"vendor": "apitest", "label": "x", "credentials": {"api_key": "k"}},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


@override_settings(
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "sync.api.authentication.BearerTokenAuthentication",
        ],
        "DEFAULT_PERMISSION_CLASSES": ["sync.api.permissions.IsAccountMember"],
        "DEFAULT_THROTTLE_CLASSES": ["sync.api.throttling.TokenRateThrottle"],
        "DEFAULT_THROTTLE_RATES": {"api": "3/minute"},
    }
)
def test_each_token_has_its_own_rate_limit(owner: Any, account: Account) -> None:
    _first, first_raw = ApiToken.issue(owner, account, "first")
    _second, second_raw = ApiToken.issue(owner, account, "second")
    first = bearer(first_raw)
    assert [first.get(AUTHORIZATIONS).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert bearer(second_raw).get(AUTHORIZATIONS).status_code == 200
