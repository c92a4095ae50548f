"""The connection's Duplicates page (issue 13): held groups side by side, linked by hand
or marked distinct by a manager, decisions honoured by later runs; tenants isolated."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from sync.engine import run_connection
from sync.models import Connection, RecordLink
from tests.fakes.connector import FakeApp


def held_group(connection: Connection, apps: dict[str, FakeApp]) -> dict[str, str]:
    """Two "Sam"s sharing info@ in each app, told apart by nothing: held by a run."""
    ids = {
        "a1": apps["crm"].add(email="info@shop.test", first_name="Sam", company="North"),
        "a2": apps["crm"].add(email="info@shop.test", first_name="Sam", company="South"),
        "b1": apps["news"].add(email="info@shop.test", first_name="Sam", company="North"),
        "b2": apps["news"].add(email="info@shop.test", first_name="Sam", company="South"),
    }
    run = run_connection(connection.pk, "manual")
    assert run.status == "succeeded", run.error
    assert run.writes == 0
    return ids


def held(connection: Connection, side: str, record_id: str) -> RecordLink:
    return RecordLink.objects.get(connection=connection, **{f"{side}_id": record_id})


def test_held_groups_are_listed_side_by_side_and_counted_on_the_dashboard(
    member_client: Client, connection: Connection, web_apps: dict[str, FakeApp]
) -> None:
    ids = held_group(connection, web_apps)
    page = member_client.get(reverse("web:duplicates", args=[connection.pk])).content.decode()
    assert "info@shop.test" in page
    assert all(record_id in page for record_id in ids.values())
    assert "North" in page and "South" in page
    assert "Link the two chosen contacts" not in page  # members watch
    dashboard = member_client.get(reverse("web:connection", args=[connection.pk])).content
    assert "4 duplicates held" in dashboard.decode()
    assert "Ambiguous group: 4" in dashboard.decode()


def test_owner_links_by_hand_and_marks_distinct_and_later_runs_honour_it(
    owner_client: Client, connection: Connection, web_apps: dict[str, FakeApp]
) -> None:
    ids = held_group(connection, web_apps)
    crm, news = web_apps["crm"], web_apps["news"]
    url = reverse("web:duplicates_decide", args=[connection.pk])
    owner_client.post(
        url,
        {
            "decision": "link",
            "a": held(connection, "a", ids["a1"]).pk,
            "b": held(connection, "b", ids["b1"]).pk,
        },
    )
    link = held(connection, "a", ids["a1"])
    assert link.b_id == ids["b1"] and not link.held
    owner_client.post(
        url,
        {
            "decision": "distinct",
            "link": [held(connection, "a", ids["a2"]).pk, held(connection, "b", ids["b2"]).pk],
        },
    )
    crm.edit(ids["a1"], email="sam.north@shop.test")
    run = run_connection(connection.pk, "manual")
    assert run.status == "succeeded", run.error
    assert news.get(ids["b1"])["email"] == "sam.north@shop.test"  # the hand-made link syncs
    # The two marked distinct are people of their own: each created on the other side.
    assert len(crm.records) == len(news.records) == 3
    assert not RecordLink.objects.filter(connection=connection).exclude(held="").exists()
    again = run_connection(connection.pk, "manual")
    assert again.writes == 0


def test_member_cannot_decide(
    member_client: Client, connection: Connection, web_apps: dict[str, FakeApp]
) -> None:
    ids = held_group(connection, web_apps)
    pk = held(connection, "a", ids["a1"]).pk
    url = reverse("web:duplicates_decide", args=[connection.pk])
    assert member_client.post(url, {"decision": "distinct", "link": [pk]}).status_code == 403
    assert held(connection, "a", ids["a1"]).held


def test_another_tenant_sees_and_decides_nothing(
    outsider_client: Client,
    owner_client: Client,
    connection: Connection,
    foreign_connection: Connection,
    web_apps: dict[str, FakeApp],
) -> None:
    ids = held_group(connection, web_apps)
    pk = held(connection, "a", ids["a1"]).pk
    assert outsider_client.get(reverse("web:duplicates", args=[connection.pk])).status_code == 404
    url = reverse("web:duplicates_decide", args=[connection.pk])
    assert outsider_client.post(url, {"decision": "distinct", "link": [pk]}).status_code == 404
    # Nor through its own connection's page.
    foreign = reverse("web:duplicates_decide", args=[foreign_connection.pk])
    owner_client.post(foreign, {"decision": "distinct", "link": [pk]})
    assert held(connection, "a", ids["a1"]).held


def test_a_decision_needs_the_csrf_token(
    owner: object, connection: Connection, web_apps: dict[str, FakeApp]
) -> None:
    ids = held_group(connection, web_apps)
    pk = held(connection, "a", ids["a1"]).pk
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)  # type: ignore[arg-type]
    url = reverse("web:duplicates_decide", args=[connection.pk])
    assert client.post(url, {"decision": "distinct", "link": [pk]}).status_code == 403
    assert held(connection, "a", ids["a1"]).held
