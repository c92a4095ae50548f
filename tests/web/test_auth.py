"""Sign in, sign out and password reset through Django's auth views."""

from __future__ import annotations

import re
from typing import Any

from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.plugins.personas import PERSONA_PASSWORD


def test_sign_in_leads_to_the_connections(client: Client, owner: Any) -> None:
    response = client.post(
        reverse("login"), {"username": "alice", "password": PERSONA_PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("web:connections")
    assert "Acme" in response.content.decode()


def test_wrong_password_is_explained(client: Client, owner: Any) -> None:
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "Please correct the following" in response.content.decode()


def test_sign_out_is_a_post(owner_client: Client) -> None:
    response = owner_client.post(reverse("logout"))
    assert response.status_code == 302
    assert owner_client.get(reverse("web:connections")).status_code == 302


def test_password_reset_mails_a_link_that_sets_a_new_password(client: Client, owner: Any) -> None:
    client.post(reverse("password_reset"), {"email": "alice@acme.test"})
    link = re.search(r"http://testserver(\S+)", mail.outbox[-1].body).group(1)
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-new-long-password-9", "new_password2": "a-new-long-password-9"},
    )
    owner.refresh_from_db()
    assert owner.check_password("a-new-long-password-9")
