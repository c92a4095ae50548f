"""Every tenant page rendered in a pseudo-locale (tests/i18n/pseudo.py): a visible
English word outside the ⟦…⟧ markers is a string shown to tenants that nobody marked
for translation (or that `make messages` has not gathered yet).

Data stays as the apps and the tenant gave it (vendor and app names, field labels,
record values, names typed in the pages, emails, numbers): those words come from the
scenario's own objects, not from a list of exceptions. Python strings (forms, views'
messages and titles, choices, describe.py's vocabularies) are held to the same rule as
the templates' text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from connectors.registry import VENDORS
from sync.engine import run_connection
from sync.models import (
    ApiToken,
    Connection,
    Invitation,
    RecordLink,
    SyncEvent,
    SyncRun,
    hash_token,
)
from sync.web.services import side_info
from tests.fakes.connector import FakeApp, FakeConnector
from tests.i18n import pseudo
from tests.plugins.personas import logged_in_client

# Language names in their own languages (the switcher) are data too.
LANGUAGE_NAMES = {"english", "italiano", "polski", "norsk"}


@pytest.fixture
def pseudo_locale(settings: Any, tmp_path: Path) -> str:
    """The pseudo-locale compiled into a temporary LOCALE_PATHS entry and offered."""
    pseudo.build_catalogue(tmp_path)
    settings.LOCALE_PATHS = [str(tmp_path), *settings.LOCALE_PATHS]
    settings.LANGUAGES = [*settings.LANGUAGES, (pseudo.PSEUDO, "Pseudo")]
    return pseudo.PSEUDO


def in_pseudo(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = pseudo.PSEUDO
    return client


@dataclass
class Scenario:
    """Acme's connection after a real run between the fake apps, with a conflict, a
    deletion awaiting review, a held duplicate group, a token and an invitation."""

    connection: Connection
    link: RecordLink
    event: SyncEvent
    run: SyncRun
    data: set[str]
    field_words: set[str]  # the apps' field labels and keys, on the pages that show fields


@pytest.fixture
def scenario(
    connection: Connection, web_apps: dict[str, FakeApp], owner: Any, member: Any
) -> Scenario:
    crm, news = web_apps["crm"], web_apps["news"]
    crm.add(email="ann@x.test", first_name="Ann", last_name="Lee", phone="+39 02 1234 5678")
    news.add(email="ann@x.test", first_name="Ann", last_name="Lee")
    crm.add(email="carl@x.test", first_name="Carl", company="Rossi Srl")
    for company in ("North", "South"):
        crm.add(email="info@shop.test", first_name="Sam", company=company)
        news.add(email="info@shop.test", first_name="Sam", company=company)
    run = run_connection(connection.pk, "manual")
    assert run.status == "succeeded", run.error
    link = RecordLink.objects.filter(connection=connection, held="").exclude(a_id="").first()
    assert link is not None
    SyncEvent.objects.create(
        connection=connection,
        action="conflict",
        direction="a_to_b",
        label="ann@x.test",
        changes={"phone": {"old": "+3211", "new": "+3222", "lost": "+3233"}},
    )
    SyncEvent.objects.create(
        connection=connection,
        action="delete",
        direction="a_to_b",
        status="pending_review",
        label="gone@x.test",
    )
    event = SyncEvent.objects.filter(connection=connection, run=run).first()
    assert event is not None
    ApiToken.issue(owner, connection.account, "Zapier")
    Invitation.objects.create(
        account=connection.account, email="dan@acme.test", token_hash=hash_token("open")
    )
    specs = [*crm.field_specs(), *news.field_specs()]
    # What the apps offer to choose from: their scopes' names and their users.
    offered = [side_info(connection, side, fields=False, scopes=True, users=True) for side in "ab"]
    data = pseudo.data_words(
        FakeConnector.label,
        connection.account.name,
        connection.name,
        connection.a_authorization.label,
        connection.b_authorization.label,
        *(rule.name for rule in connection.rules.all()),
        *(
            str(value)
            for app in (crm, news)
            for record in app.records.values()
            for value in record.fields.values()
        ),
        *(record_id for app in (crm, news) for record_id in app.records),
        *(scope.label for info in offered for scope in info.scopes),
        *(user.name for info in offered for user in info.users),
        # The tags the tenant may change in the options (their defaults here).
        connection.trash_tag,
        connection.unsubscribe_tag,
        owner.get_username(),
        member.get_username(),
        "Zapier",
    )
    fields = pseudo.data_words(
        *(spec.label for spec in specs),
        *(spec.key for spec in specs),
        *(choice for spec in specs for choice in spec.choices),
    )
    return Scenario(connection, link, event, run, data | LANGUAGE_NAMES, fields)


def assert_all_marked(html: str, allowed: set[str]) -> None:
    unmarked = pseudo.unmarked_words(pseudo.shown_text(html), allowed)
    assert not unmarked, "unmarked for translation:\n" + "\n".join(
        f"  {word!r} in {text!r}" for word, text in sorted(unmarked.items())
    )


def page(client: Client, url: str, **kwargs: Any) -> str:
    response = client.get(url, **kwargs)
    assert response.status_code in (200, 403, 410), (url, response.status_code)
    assert response.headers["Content-Language"] == pseudo.PSEUDO
    return response.content.decode()


# --- Pages for people not signed in: templates and Django's own strings only ---------


@pytest.mark.usefixtures("pseudo_locale")
@pytest.mark.parametrize(
    "name", ["login", "password_reset", "password_reset_done", "password_reset_complete"]
)
def test_pages_before_signing_in_are_all_marked(client: Client, name: str) -> None:
    assert_all_marked(page(in_pseudo(client), reverse(name)), LANGUAGE_NAMES)


@pytest.mark.usefixtures("pseudo_locale")
def test_a_refused_sign_in_is_all_marked(client: Client, owner: Any) -> None:
    response = in_pseudo(client).post(
        reverse("login"), {"username": owner.get_username(), "password": "wrong"}
    )
    assert "error-summary" in response.content.decode()
    assert_all_marked(response.content.decode(), LANGUAGE_NAMES)


@pytest.mark.usefixtures("pseudo_locale")
def test_the_password_reset_link_pages_and_email_are_all_marked(client: Client, owner: Any) -> None:
    in_pseudo(client)
    bad = reverse("password_reset_confirm", args=["MQ", "no-such-token"])
    assert_all_marked(page(client, bad), LANGUAGE_NAMES)
    client.post(reverse("password_reset"), {"email": owner.email})
    (email,) = mail.outbox
    allowed = LANGUAGE_NAMES | {owner.get_username(), "testserver"}
    assert pseudo.wrap("Choose a new password here:") in email.body
    assert not pseudo.unmarked_words([email.subject, *email.body.splitlines()], allowed)
    uid = urlsafe_base64_encode(force_bytes(owner.pk))
    good = reverse("password_reset_confirm", args=[uid, default_token_generator.make_token(owner)])
    form = client.get(good, follow=True)
    assert "new_password1" in form.content.decode()
    assert_all_marked(form.content.decode(), LANGUAGE_NAMES)


@pytest.mark.usefixtures("pseudo_locale")
def test_signed_out_is_all_marked(owner: Any) -> None:
    client = in_pseudo(logged_in_client(owner))
    response = client.post(reverse("logout"))
    assert_all_marked(response.content.decode(), LANGUAGE_NAMES)


@pytest.mark.usefixtures("pseudo_locale")
def test_no_account_is_all_marked(django_user_model: Any) -> None:
    loner = django_user_model.objects.create_user("eve", "eve@x.test", "pw")
    client = in_pseudo(logged_in_client(loner))
    html = page(client, reverse("web:connections"))
    assert pseudo.wrap("You are not in any account yet") in html
    assert_all_marked(html, LANGUAGE_NAMES | {"eve"})


@pytest.mark.usefixtures("pseudo_locale")
def test_an_invitation_used_already_is_all_marked(client: Client, account: Any) -> None:
    from django.utils import timezone

    Invitation.objects.create(
        account=account,
        email="dan@acme.test",
        token_hash=hash_token("t"),
        accepted_at=timezone.now(),
    )
    html = page(in_pseudo(client), reverse("web:invitation_accept", args=["t"]))
    assert_all_marked(html, LANGUAGE_NAMES | pseudo.data_words(account.name))


@pytest.mark.usefixtures("pseudo_locale")
def test_an_open_invitation_is_all_marked(client: Client, account: Any) -> None:
    Invitation.objects.create(account=account, email="dan@acme.test", token_hash=hash_token("t"))
    html = page(in_pseudo(client), reverse("web:invitation_accept", args=["t"]))
    assert_all_marked(html, LANGUAGE_NAMES | pseudo.data_words(account.name))


# --- The tenant's pages, signed in as the owner -----------------------------------------


def tenant_pages(s: Scenario) -> dict[str, tuple[str, bool]]:
    """Each page: its address, and whether it shows the apps' fields (their labels and
    keys are data there, and only there)."""
    pk = s.connection.pk
    auth = s.connection.a_authorization_id
    lookup = reverse("web:lookup")
    return {
        "connections": (reverse("web:connections"), False),
        "apps": (reverse("web:apps"), False),
        "app_connect": (reverse("web:app_connect", args=["fake"]), False),
        "app_reauthorize": (reverse("web:app_reauthorize", args=[auth]), False),
        "app_disconnect": (reverse("web:app_disconnect", args=[auth]), False),
        "team": (reverse("web:team"), False),
        "tokens": (reverse("web:tokens"), False),
        "lookup_found": (lookup + "?phone=%2B390212345678", False),
        "lookup_nobody": (lookup + "?phone=%2B48123456789", False),
        "connection_new": (reverse("web:connection_new"), False),
        "connection": (reverse("web:connection", args=[pk]), True),
        "connection_live": (reverse("web:connection_live", args=[pk]), False),
        "stats": (reverse("web:stats", args=[pk]), True),
        "conflicts": (reverse("web:conflicts", args=[pk]), True),
        "deletions": (reverse("web:deletions", args=[pk]), False),
        "duplicates": (reverse("web:duplicates", args=[pk]), True),
        "event": (reverse("web:event", args=[pk, s.event.pk]), True),
        "record_explain": (reverse("web:record_explain", args=[pk, s.link.pk]), True),
        "run_undo": (reverse("web:run_undo", args=[pk, s.run.pk]), True),
        "connection_delete": (reverse("web:connection_delete", args=[pk]), False),
        "setup_scopes": (reverse("web:setup_scopes", args=[pk]), False),
        "setup_entities": (reverse("web:setup_entities", args=[pk]), False),
        "setup_rules": (reverse("web:setup_rules", args=[pk]), True),
        "setup_options": (reverse("web:setup_options", args=[pk]), True),
        "setup_mapping": (reverse("web:setup_mapping", args=[pk]), True),
        "setup_users": (reverse("web:setup_users", args=[pk]), False),
        "setup_preview": (reverse("web:setup_preview", args=[pk]), True),
    }


PAGE_NAMES = [
    "connections", "apps", "app_connect", "app_reauthorize", "app_disconnect", "team",
    "tokens", "lookup_found", "lookup_nobody", "connection_new", "connection",
    "connection_live", "stats", "conflicts", "deletions", "duplicates", "event",
    "record_explain", "run_undo", "connection_delete", "setup_scopes", "setup_entities",
    "setup_rules", "setup_options", "setup_mapping", "setup_users", "setup_preview",
]  # fmt: skip


@pytest.mark.usefixtures("pseudo_locale")
@pytest.mark.parametrize("name", PAGE_NAMES)
def test_tenant_page_is_all_marked(scenario: Scenario, owner: Any, name: str) -> None:
    client = in_pseudo(logged_in_client(owner))
    url, shows_fields = tenant_pages(scenario)[name]
    allowed = scenario.data | (scenario.field_words if shows_fields else set())
    assert_all_marked(page(client, url), allowed)


def test_every_page_is_in_the_list(scenario: Scenario) -> None:
    assert sorted(tenant_pages(scenario)) == sorted(PAGE_NAMES)


def test_every_tenant_page_of_the_web_urls_is_rendered_here() -> None:
    """A page added to sync/web/urls.py joins the list above (or is a POST / fragment)."""
    from sync.web import urls

    shown = {
        "connections", "apps", "app_connect", "app_reauthorize", "app_disconnect", "team",
        "tokens", "lookup", "connection_new", "connection", "connection_live", "stats",
        "conflicts", "deletions", "duplicates", "event", "record_explain", "run_undo",
        "connection_delete", "setup_scopes", "setup_entities", "setup_rules", "setup_options",
        "setup_mapping",
        "setup_users", "setup_preview", "invitation_accept",
    }  # fmt: skip
    actions = {
        "home", "account_switch", "app_test", "app_team_user", "connection_pause",
        "connection_resume", "connection_run", "connection_resync", "connection_confirm",
        "connection_start", "setup_preview_status", "conflict_resolve", "duplicates_decide",
        "member_role", "member_remove", "invitation_revoke", "token_revoke",
    }  # fmt: skip
    names = {p.name for p in urls.urlpatterns}
    assert names - shown - actions == set()
    assert "fake" in VENDORS
