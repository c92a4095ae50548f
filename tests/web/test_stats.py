"""Statistics tab (chart, totals, last 100 records with filters) and explain views."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from sync.models import Connection, RecordLink, SyncEvent


def stats(client: Client, connection: Connection, query: str = "") -> str:
    return client.get(reverse("web:stats", args=[connection.pk]) + query).content.decode()


def test_last_100_records_are_listed_newest_first_25_to_a_page(
    member_client: Client, connection: Connection
) -> None:
    SyncEvent.objects.bulk_create(
        SyncEvent(
            connection=connection, action="update", direction="a_to_b", label=f"person{n:03}@x.test"
        )
        for n in range(120)
    )
    response = member_client.get(reverse("web:stats", args=[connection.pk]))
    page = response.context["page"]
    assert page.paginator.count == 100
    assert len(page.object_list) == 25
    assert page.paginator.num_pages == 4
    assert "person119@x.test" in response.content.decode()


def test_record_shows_fields_changed_old_to_new_and_error_text(
    member_client: Client, connection: Connection
) -> None:
    SyncEvent.objects.create(
        connection=connection,
        action="update",
        direction="b_to_a",
        label="ann@x.test",
        changes={"first_name": {"old": "Ann", "new": "Anne"}},
        status="error",
        error="HTTP 422: invalid phone",
    )
    page = stats(member_client, connection)
    assert "<del>Ann</del> → <ins>Anne</ins>" in page
    assert "HTTP 422: invalid phone" in page


def test_records_filter_by_status_and_direction(
    member_client: Client, connection: Connection
) -> None:
    SyncEvent.objects.create(
        connection=connection, action="create", direction="a_to_b", label="ok-a@x.test"
    )
    SyncEvent.objects.create(
        connection=connection, action="create", direction="b_to_a", label="ok-b@x.test"
    )
    SyncEvent.objects.create(
        connection=connection,
        action="update",
        direction="a_to_b",
        label="bad-a@x.test",
        status="error",
    )
    page = stats(member_client, connection, "?status=error")
    assert "bad-a@x.test" in page and "ok-a@x.test" not in page
    page = stats(member_client, connection, "?direction=b_to_a")
    assert "ok-b@x.test" in page and "bad-a@x.test" not in page


def test_chart_and_totals_per_entity_and_direction(
    member_client: Client, connection: Connection
) -> None:
    for action in ("create", "create", "update", "delete"):
        SyncEvent.objects.create(connection=connection, action=action, direction="a_to_b")
    response = member_client.get(reverse("web:stats", args=[connection.pk]))
    totals = response.context["totals"]
    assert totals == [
        {
            "entity": "contact",
            "label": "Contacts",
            "direction": "Fake app · Acme CRM → Fake app · Acme newsletter",
            "created": 2,
            "updated": 1,
            "deleted": 1,
            "errors": 0,
        }
    ]
    assert "<rect" in response.content.decode()


def test_empty_statistics_say_so(member_client: Client, connection: Connection) -> None:
    assert "No record has synced yet." in stats(member_client, connection)


def test_explain_shows_the_rule_the_key_the_base_and_the_last_error(
    member_client: Client, connection: Connection
) -> None:
    rule = connection.rules.get(direction="a_to_b")
    connection.mappings.create(a_field="first_name", b_field="first_name", order=1)
    link = RecordLink.objects.create(
        connection=connection,
        a_id="crm-7",
        b_id="news-9",
        match_key="ann@x.test",
        a_fields={"email": "Ann@X.test", "first_name": "Ann"},
        b_fields={"email": "ann@x.test", "first_name": "Ann"},
        rules_matched=[rule.pk],
        last_error="HTTP 422: invalid phone",
    )
    SyncEvent.objects.create(
        connection=connection,
        link=link,
        action="update",
        direction="a_to_b",
        changes={"first_name": {"old": "An", "new": "Ann"}},
    )
    page = member_client.get(
        reverse("web:record_explain", args=[connection.pk, link.pk])
    ).content.decode()
    assert "All A → B" in page
    assert "<code>ann@x.test</code>" in page
    assert "crm-7" in page and "news-9" in page
    assert "HTTP 422: invalid phone" in page
    assert "Ann@X.test" in page  # as stored on A, before normalizing
    assert page.count("side A") == 1  # first_name came from A; email was never written


def test_explain_says_when_no_rule_matched_and_why(
    member_client: Client, connection: Connection
) -> None:
    link = RecordLink.objects.create(connection=connection, a_id="crm-8", match_key="b@x.test")
    SyncEvent.objects.create(
        connection=connection,
        link=link,
        action="skip",
        status="skipped",
        reason="has no tag customer",
    )
    page = member_client.get(
        reverse("web:record_explain", args=[connection.pk, link.pk])
    ).content.decode()
    assert "No rule matched it at the last run" in page
    assert "has no tag customer" in page


def test_records_link_to_explain(member_client: Client, connection: Connection) -> None:
    link = RecordLink.objects.create(connection=connection, a_id="1", b_id="2")
    SyncEvent.objects.create(connection=connection, link=link, action="update", label="c@x")
    page = stats(member_client, connection)
    assert reverse("web:record_explain", args=[connection.pk, link.pk]) in page


def test_values_read_as_a_person_would(member_client: Client, connection: Connection) -> None:
    SyncEvent.objects.create(
        connection=connection,
        action="update",
        direction="a_to_b",
        label="tags@x",
        changes={
            "tags": {"old": ["lead"], "new": ["lead", "vip"]},
            "note": {"old": "x", "new": None},
        },
    )
    page = stats(member_client, connection)
    assert "<del>lead</del> → <ins>lead, vip</ins>" in page
    assert "<ins>(empty)</ins>" in page
