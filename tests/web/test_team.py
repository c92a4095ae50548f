"""Team, invitations, the account switcher, and API tokens."""

from __future__ import annotations

import re
from typing import Any

from django.core import mail
from django.test import Client
from django.urls import reverse

from sync.models import Account, ApiToken, Invitation, Role, TeamUser, hash_token
from sync.web.tenant import SESSION_KEY


def invite(client: Client, email: str = "dan@acme.test", role: str = "member") -> Any:
    return client.post(reverse("web:team"), {"email": email, "role": role})


def invitation_link() -> str:
    match = re.search(r"http://testserver(/invitations/[^/\s]+/)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def test_team_lists_members_roles_and_owned_authorizations(
    member_client: Client, owner: Any, auth_a: Any
) -> None:
    page = member_client.get(reverse("web:team")).content.decode()
    assert "alice" in page and "bob" in page
    assert "Acme CRM" in page
    assert "Send the invitation" not in page


def test_owner_invites_by_email_with_a_one_time_link(
    owner_client: Client, client: Client, account: Account
) -> None:
    invite(owner_client)
    invitation = Invitation.objects.get(email="dan@acme.test")
    assert mail.outbox[-1].to == ["dan@acme.test"]
    link = invitation_link()
    raw = link.rstrip("/").rsplit("/", 1)[1]
    assert invitation.token_hash == hash_token(raw) and raw not in invitation.token_hash
    response = client.post(link, {"username": "dan", "password": "a-long-password-1"})
    assert response.status_code == 302
    assert TeamUser.objects.get(user__username="dan").account == account
    assert (
        client.post(link, {"username": "dan2", "password": "a-long-password-1"}).status_code == 410
    )


def test_signed_in_user_joins_with_the_link(
    owner_client: Client, outsider_client: Client, account: Account, outsider: Any
) -> None:
    invite(owner_client, email="charlie@globex.test", role="admin")
    outsider_client.post(invitation_link())
    assert TeamUser.objects.get(user=outsider, account=account).role == Role.ADMIN
    assert outsider_client.session[SESSION_KEY] == account.pk


def test_member_cannot_invite(member_client: Client) -> None:
    assert invite(member_client).status_code == 403
    assert not Invitation.objects.exists()


def test_owner_changes_a_role(owner_client: Client, member: Any, account: Account) -> None:
    membership = TeamUser.objects.get(user=member)
    owner_client.post(reverse("web:member_role", args=[membership.pk]), {"role": "admin"})
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN


def test_the_last_owner_stays_an_owner(owner_client: Client, owner: Any) -> None:
    membership = TeamUser.objects.get(user=owner)
    response = owner_client.post(
        reverse("web:member_role", args=[membership.pk]), {"role": "member"}, follow=True
    )
    membership.refresh_from_db()
    assert membership.role == Role.OWNER
    assert "at least one owner" in response.content.decode()


def test_member_cannot_change_roles_and_outsider_cannot_find_them(
    member_client: Client, outsider_client: Client, owner: Any
) -> None:
    membership = TeamUser.objects.get(user=owner)
    url = reverse("web:member_role", args=[membership.pk])
    assert member_client.post(url, {"role": "member"}).status_code == 403
    assert outsider_client.post(url, {"role": "member"}).status_code == 404


def test_account_switcher_changes_the_current_account(
    owner_client: Client, owner: Any, other_account: Account
) -> None:
    TeamUser.objects.create(account=other_account, user=owner, role=Role.MEMBER)
    page = owner_client.get(reverse("web:connections")).content.decode()
    assert 'id="account-switch"' in page
    owner_client.post(reverse("web:account_switch"), {"account": other_account.pk})
    response = owner_client.get(reverse("web:connections"))
    assert response.wsgi_request.tenant.account == other_account


def test_account_switcher_refuses_an_account_of_others(
    member_client: Client, other_account: Account
) -> None:
    response = member_client.post(reverse("web:account_switch"), {"account": other_account.pk})
    assert response.status_code == 404


def test_api_token_is_shown_once_and_only_its_hash_is_stored(
    member_client: Client, member: Any
) -> None:
    response = member_client.post(reverse("web:tokens"), {"name": "export"})
    raw = re.search(r'id="new-token">([^<]+)<', response.content.decode()).group(1)
    token = ApiToken.objects.get(user=member)
    assert token.key_hash == hash_token(raw)
    assert response["Cache-Control"] == "no-store"
    assert raw not in member_client.get(reverse("web:tokens")).content.decode()


def test_api_token_is_revoked(member_client: Client, member: Any, account: Account) -> None:
    token, _raw = ApiToken.issue(member, account, "old")
    member_client.post(reverse("web:token_revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_member_cannot_revoke_someone_elses_token(
    member_client: Client, owner: Any, account: Account
) -> None:
    token, _raw = ApiToken.issue(owner, account, "alice's")
    assert member_client.post(reverse("web:token_revoke", args=[token.pk])).status_code == 403


def test_outsider_cannot_revoke_a_token_of_acme(
    outsider_client: Client, owner: Any, account: Account
) -> None:
    token, _raw = ApiToken.issue(owner, account, "alice's")
    assert outsider_client.post(reverse("web:token_revoke", args=[token.pk])).status_code == 404
