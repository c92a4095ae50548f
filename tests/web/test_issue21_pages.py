"""Issue 21, the display points a view test can show: the dashboard's configuration read
as a person would (9), conflicts with both values and the fields' labels (10), form
errors printed once (15), sides named by their vendor (20), the statistics table one
line per record with the filters kept in the URL (24)."""

from __future__ import annotations

import re

from django.test import Client, override_settings
from django.urls import reverse

from sync.engine.run import run_connection
from sync.models import Account, AppAuthorization, Connection, RuleAction, RuleFilter, SyncEvent
from tests.fakes.connector import FakeApp
from tests.plugins.fake import make_fake_connection
from tests.plugins.radicale import running_radicale


def dashboard(client: Client, connection: Connection) -> str:
    return text_of(client.get(reverse("web:connection", args=[connection.pk])).content.decode())


def text_of(html: str) -> str:
    """The page's words without tags, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_dashboard_reads_the_rules_as_sentences_with_not_and_the_apps_names(
    member_client: Client, connection: Connection
) -> None:
    rule = connection.rules.get(direction="a_to_b")
    RuleFilter.objects.create(rule=rule, kind="has_tag", value="vip", negate=True)
    RuleFilter.objects.create(rule=rule, kind="field", field="company", operator="not_empty")
    RuleAction.objects.create(rule=rule, kind="add_tag", value="from_crm")
    connection.conflict_policy = "a_wins"
    connection.save()

    page = dashboard(member_client, connection)

    assert (
        "Contacts of Fake app · Acme CRM that do not have the tag “vip” and whose Company "
        "is not empty go to Fake app · Acme newsletter; then add the tag “from_crm” in "
        "Fake app · Acme newsletter." in page
    )
    assert "When both apps changed a field: the value in Fake app · Acme CRM wins." in page
    assert "not_empty" not in page
    assert "side a wins" not in page.lower()
    assert "Email ↔ Email" in page


def test_conflict_shows_the_kept_and_the_lost_value_by_the_fields_label(
    owner_client: Client, account: object, fake_apps: tuple[FakeApp, FakeApp]
) -> None:
    app_a, app_b = fake_apps
    connection = make_fake_connection(account, app_a, app_b, conflict_policy="a_wins")  # type: ignore[arg-type]
    ann = app_a.add(email="ann@x.test", company="Roma")
    run_connection(connection.pk, initial=True)
    app_a.edit(ann, company="Roma-SF")
    app_b.edit(app_b.by_email("ann@x.test")[0], company="Roma-GR")
    run_connection(connection.pk)
    assert connection.events.filter(action="conflict").count() == 1

    html = owner_client.get(reverse("web:conflicts", args=[connection.pk])).content.decode()
    row = text_of(re.search(r"<table class=\"conflict\">.*?</table>", html, re.S).group(0))  # type: ignore[union-attr]

    assert "Company Roma-SF from Fake app · Fake a Roma-GR was in Fake app · Fake b" in row
    assert "(empty)" not in row and "company|company" not in html


def test_sides_are_named_by_vendor_scope_and_account(
    member_client: Client, connection: Connection
) -> None:
    connection.a_scope, connection.a_scope_label = "c1", "Contacts"
    connection.save()
    page = dashboard(member_client, connection)
    assert "Fake app · Contacts · Acme CRM" in page
    assert "Fake app · Acme newsletter" in page


def test_login_error_is_printed_once(client: Client, owner: object) -> None:
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    page = response.content.decode()
    assert page.count("Please enter a correct username and password") == 1


def test_connect_form_error_is_printed_once(owner_client: Client) -> None:
    response = owner_client.post(reverse("web:app_connect", args=["fake"]), {"label": "x"})
    page = text_of(response.content.decode())
    # Two fields are missing: each one's message once, in the summary, by its label.
    assert page.count("This field is required.") == 2
    assert page.count("API key : This field is required.") == 1


def test_statistics_row_counts_the_fields_and_keeps_their_changes_one_click_away(
    member_client: Client, connection: Connection
) -> None:
    SyncEvent.objects.create(
        connection=connection,
        action="update",
        direction="b_to_a",
        label="ann@x.test",
        changes={
            "first_name": {"old": "Ann", "new": "Anne"},
            "company": {"old": None, "new": "Acme"},
        },
        status="error",
        error="HTTP 422: invalid phone " + "x" * 300,
    )
    html = member_client.get(
        reverse("web:stats", args=[connection.pk]) + "?status=error&direction=b_to_a"
    ).content.decode()
    row = re.search(r"<tbody>.*?</tbody>", html.split('class="records"')[1], re.S).group(0)  # type: ignore[union-attr]
    assert "<summary>2 fields</summary>" in row
    assert "<del>Ann</del> → <ins>Anne</ins>" in row  # inside the closed <details>
    assert "HTTP 422: invalid phone " + "x" * 300 in row  # never cut off
    # The filters stay in the URL of the record's page, and its way back keeps them.
    event = SyncEvent.objects.get(label="ann@x.test")
    back = "status=error&amp;direction=b_to_a"
    assert f"?back={back.replace('&amp;', '%26').replace('=', '%3D')}" in row
    page = member_client.get(
        reverse("web:event", args=[connection.pk, event.pk])
        + "?back=status%3Derror%26direction%3Db_to_a"
    ).content.decode()
    assert reverse("web:stats", args=[connection.pk]) + "?status=error&amp;direction=b_to_a" in page


def test_apps_page_shows_admins_the_webhook_address(
    owner_client: Client, member_client: Client, account: Account
) -> None:
    auth = AppAuthorization.objects.create(account=account, vendor="getresponse", label="Shop")
    url = f"http://127.0.0.1:8000/hooks/getresponse/{auth.webhook_token}/"
    with override_settings(PUBLIC_URL="http://127.0.0.1:8000"):
        assert url in owner_client.get(reverse("web:apps")).content.decode()
        assert auth.webhook_token not in member_client.get(reverse("web:apps")).content.decode()


def test_a_successful_run_counts_as_a_check_of_both_authorizations(
    member_client: Client, account: Account, fake_apps: tuple[FakeApp, FakeApp]
) -> None:
    connection = make_fake_connection(account, *fake_apps)
    fake_apps[0].add(email="ann@x.test")
    assert connection.a_authorization.health == "unknown"
    run_connection(connection.pk, initial=True)
    for auth in AppAuthorization.objects.filter(account=account):
        assert (auth.health, auth.checked_at is not None) == ("ok", True)
    page = text_of(member_client.get(reverse("web:apps")).content.decode())
    assert "Not checked yet" not in page and "checked 0" in page


def test_connecting_a_carddav_server_without_an_address_book_says_so_on_the_form(
    owner_client: Client, account: Account
) -> None:
    # A server that answers and signs in, but holds no address book for the user: the
    # connect says so where it happens, instead of an OK and "no lists" a step later.
    with running_radicale() as empty:
        form = {"label": "Books", "url": empty.url + "/", "username": empty.username}
        form["password"] = empty.password
        response = owner_client.post(reverse("web:app_connect", args=["carddav"]), form)
        assert response.status_code == 400
        assert "No address book was found at" in text_of(response.content.decode())
        assert not AppAuthorization.objects.filter(account=account, vendor="carddav").exists()

        empty.create_addressbook("contacts")
        response = owner_client.post(reverse("web:app_connect", args=["carddav"]), form)
        assert response.status_code == 302
        assert AppAuthorization.objects.get(account=account, vendor="carddav").health == "ok"
