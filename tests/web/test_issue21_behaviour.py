"""Issue 21, the tenant pages as a new user finds them: each test is one of the points
1-4, 6-8, 11-13, 16, 17 and 21 (the number is in the test's docstring)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from connectors.registry import all_connectors
from sync.models import Account, AppAuthorization, Invitation, TeamUser
from tests.fakes.connector import FakeConnector


def invite(client: Client, email: str, role: str = "member") -> Any:
    return client.post(reverse("web:team"), {"email": email, "role": role}, follow=True)


def last_link() -> str:
    match = re.search(r"http://testserver(/invitations/[^/\s]+/)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


# --- 1. Connect forms ----------------------------------------------------------------------

NON_OAUTH = sorted(v for v, c in all_connectors().items() if c.auth_kind != "oauth")


@pytest.mark.parametrize("vendor", NON_OAUTH)
def test_1_every_connect_form_answers_garbage_with_a_message(
    owner_client: Client, account: Account, vendor: str
) -> None:
    """1: garbage in every input of every connect form is a form error, never a 500,
    and nothing is stored (the form refuses it before the app is called)."""
    account.tier = "business"  # every app is in this plan (sync/tiers.py)
    account.save(update_fields=["tier"])
    cls = all_connectors()[vendor]
    data = {"label": "Mine"}
    for name, _label, _secret in cls.auth_fields:
        data[name] = "not a url\r\nX-Injected: 1"
    response = owner_client.post(reverse("web:app_connect", args=[vendor]), data)
    assert response.status_code == 400
    assert 'class="error-summary"' in response.content.decode()  # errors shown once (point 15)
    assert not AppAuthorization.objects.filter(account=account).exists()


def test_1_a_line_break_in_a_setting_is_refused_by_the_form(owner_client: Client) -> None:
    """1: a non-secret input is validated before the app is called."""
    response = owner_client.post(
        reverse("web:app_connect", args=["fake"]),
        {"label": "CRM", "api_key": "k", "store": "crm\nX-Injected: 1"},
    )
    assert response.status_code == 400
    assert "line break" in response.content.decode()


def test_1_an_unexpected_failure_of_the_check_is_a_message_not_a_500(
    owner_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1: a connector that fails in a way nobody foresaw still answers with a message."""

    def broken_check(self: Any) -> None:
        raise ValueError("Invalid URL 'not a url': No scheme supplied")

    monkeypatch.setattr(FakeConnector, "check", broken_check)
    response = owner_client.post(
        reverse("web:app_connect", args=["fake"]), {"label": "CRM", "api_key": "k", "store": "crm"}
    )
    assert response.status_code == 400
    assert "could not be checked" in response.content.decode()


# --- 2. OAuth clients not configured --------------------------------------------------------


@pytest.mark.parametrize(
    "vendor, variables",
    [
        ("salesforce", ("SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET")),
        ("google", ("GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET")),
    ],
)
def test_2_an_oauth_app_without_a_client_says_not_configured_and_which_variables(
    owner_client: Client, settings: Any, vendor: str, variables: tuple[str, str]
) -> None:
    """2: no Continue to the vendor's real host; the variables to set are named."""
    setattr(settings, f"SOCIAL_AUTH_{vendor.upper()}_KEY", "")
    setattr(settings, f"SOCIAL_AUTH_{vendor.upper()}_SECRET", "")
    page = owner_client.get(reverse("web:app_connect", args=[vendor])).content.decode()
    assert "not configured" in page
    for variable in variables:
        assert variable in page
    assert "Continue to" not in page
    response = owner_client.post(reverse("web:app_connect", args=[vendor]))
    assert "not configured" in response.content.decode()
    assert "oauth_pending" not in owner_client.session


def test_2_a_configured_oauth_app_offers_continue(owner_client: Client, settings: Any) -> None:
    settings.SOCIAL_AUTH_GOOGLE_KEY = "client-id"
    settings.SOCIAL_AUTH_GOOGLE_SECRET = "client-secret"
    page = owner_client.get(reverse("web:app_connect", args=["google"])).content.decode()
    assert "Continue to" in page and "not configured" not in page


# --- 7. API tokens ---------------------------------------------------------------------------


def test_7_tokens_page_shows_bearer_with_a_copyable_curl_line(member_client: Client) -> None:
    """7: the page shows what works: Bearer, in a curl line with a copy button."""
    response = member_client.post(reverse("web:tokens"), {"name": "export"})
    page = response.content.decode()
    raw = re.search(r'id="new-token">([^<]+)<', page).group(1)  # type: ignore[union-attr]
    assert "Authorization: Token" not in page
    curl = re.search(r'id="curl-line">([^<]+)<', page).group(1)  # type: ignore[union-attr]
    assert curl.startswith(f'curl -H "Authorization: Bearer {raw}" http://testserver/api/v1/')
    assert 'data-copy="curl-line"' in page
    # And the line works as shown.
    url = curl.rsplit(" ", 1)[1]
    api = Client()
    assert api.get(url, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


# --- 8 and 16. Invitations ----------------------------------------------------------------


def test_8_invitation_sign_up_runs_the_password_validators(
    owner_client: Client, client: Client
) -> None:
    """8: "password" is refused as Django's validators say; nobody joins."""
    invite(owner_client, "dan@acme.test")
    response = client.post(last_link(), {"username": "dan", "password": "password"})
    assert response.status_code == 400
    assert "This password is too common." in response.content.decode()
    assert not TeamUser.objects.filter(user__username="dan").exists()


def test_16_inviting_twice_or_yourself_or_a_member_is_refused(
    owner_client: Client, account: Account, member: Any
) -> None:
    """16: one open invitation per email; not yourself; not a member."""
    invite(owner_client, "dan@acme.test")
    page = invite(owner_client, "DAN@acme.test").content.decode()
    assert "dan@acme.test is invited already" in page.replace("DAN", "dan")
    assert Invitation.objects.filter(account=account).count() == 1
    assert "your own email" in invite(owner_client, "alice@acme.test").content.decode()
    assert "is a member of Acme already" in invite(owner_client, "bob@acme.test").content.decode()
    assert Invitation.objects.filter(account=account).count() == 1


def test_16_joining_closes_the_same_persons_other_invitations(
    owner_client: Client, client: Client, account: Account
) -> None:
    """16: a duplicate invitation (made before this check, or by hand) closes on joining."""
    invite(owner_client, "dan@acme.test")
    link = last_link()
    Invitation.objects.create(account=account, email="Dan@acme.test", token_hash="x" * 64)
    client.post(link, {"username": "dan", "password": "a-long-password-1"})
    assert not Invitation.objects.filter(account=account, accepted_at=None).exists()
    assert "Dan@acme.test" not in owner_client.get(reverse("web:team")).content.decode()


def test_16_a_used_invitation_link_says_so_and_offers_sign_in(
    owner_client: Client, client: Client
) -> None:
    """16: not a bare 404."""
    invite(owner_client, "dan@acme.test")
    link = last_link()
    client.post(link, {"username": "dan", "password": "a-long-password-1"})
    stranger = Client()
    response = stranger.get(link)
    assert response.status_code == 410
    page = response.content.decode()
    assert "This invitation was used already" in page
    assert reverse("login") in page


# --- 17. Destructive actions ask first -------------------------------------------------------


def test_17_disconnect_asks_first_saying_what_happens(
    owner_client: Client, auth_a: AppAuthorization
) -> None:
    """17: the apps page's Disconnect leads to a question; only its answer deletes."""
    apps_page = owner_client.get(reverse("web:apps")).content.decode()
    url = reverse("web:app_disconnect", args=[auth_a.pk])
    assert f'href="{url}"' in apps_page
    question = owner_client.get(url).content.decode()
    assert "Disconnect “Acme CRM”?" in question
    assert "credentials of this Fake app account are deleted" in question
    owner_client.post(url)  # a POST without the answer only asks again
    assert AppAuthorization.objects.filter(pk=auth_a.pk).exists()
    owner_client.post(url, {"confirm": "1"})
    assert not AppAuthorization.objects.filter(pk=auth_a.pk).exists()


def test_17_disconnect_of_a_used_app_names_the_connections_and_records(
    owner_client: Client, connection: Any, auth_a: AppAuthorization
) -> None:
    from sync.models import RecordLink

    RecordLink.objects.create(connection=connection, a_id="1", b_id="2", match_key="x@y")
    page = owner_client.get(reverse("web:app_disconnect", args=[auth_a.pk])).content.decode()
    assert "cannot be disconnected" in page and "(1 record in sync)" in page


def test_17_approving_deletions_asks_first_with_what_and_how_many(
    owner_client: Client, connection: Any, engine_calls: Any
) -> None:
    """17: Approve shows what will happen, to how many records, before anything runs."""
    from sync.models import SyncEvent

    events = [
        SyncEvent.objects.create(
            connection=connection,
            action="delete",
            direction="a_to_b",
            status="pending_review",
            reason="delete",
            label=f"p{n}@x",
        )
        for n in range(3)
    ]
    url = reverse("web:deletions", args=[connection.pk])
    chosen = [e.pk for e in events[:2]]
    page = owner_client.post(url, {"event": chosen, "decision": "approve"}).content.decode()
    assert engine_calls.calls == []
    assert "Approve 2 deletions?" in page
    assert "Delete: 2 contacts in Fake app · Acme newsletter" in page
    owner_client.post(url, {"event": chosen, "decision": "approve", "confirm": "1"})
    assert engine_calls.names() == ["review_deletions"]


# --- 6. A list synced with itself ------------------------------------------------------------


def test_6_the_same_authorization_and_the_whole_app_on_both_sides_is_refused(
    owner_client: Client, auth_a: AppAuthorization
) -> None:
    """6: step 1 lets one app be both sides (two lists may follow); the scopes step
    refuses the same list (here: everything) on both, through the model's shared check."""
    from sync.models import Connection

    response = owner_client.post(
        reverse("web:connection_new"),
        {"name": "Self", "a_authorization": auth_a.pk, "b_authorization": auth_a.pk},
    )
    connection = Connection.objects.get(name="Self")
    assert response.status_code == 302
    url = reverse("web:setup_scopes", args=[connection.pk])
    page = owner_client.post(url, {"a_scope": "", "b_scope": "", "direction": "two_way"})
    assert page.status_code == 400
    assert "Both sides are the same list of the same app" in page.content.decode()
    ok = owner_client.post(url, {"a_scope": "", "b_scope": "newsletter", "direction": "two_way"})
    assert ok.status_code == 302


# --- 12. Undo runs and later decisions are runs of their own ---------------------------------


@pytest.fixture
def synced_pair(account: Account, web_apps: dict[str, Any]) -> tuple[Any, Any, Any]:
    """A real connection between the fake apps crm and news, with the engine behind it."""
    from tests.plugins.fake import make_fake_connection

    crm, news = web_apps["crm"], web_apps["news"]
    connection = make_fake_connection(account, crm, news)
    return connection, crm, news


def _run(connection: Any) -> Any:
    from sync.engine import run_connection

    run = run_connection(connection.pk, "manual")
    assert run.status == "succeeded", run.error
    return run


def test_12_an_undo_run_is_listed_with_its_writes(owner_client: Client, synced_pair: Any) -> None:
    """12: the dashboard lists an undo as what it put back, not "no changes"."""
    connection, crm, news = synced_pair
    for n in range(3):
        crm.add(email=f"p{n}@example.com", company="Acme")
    run = _run(connection)
    owner_client.post(reverse("web:run_undo", args=[connection.pk, run.pk]))
    assert not news.records
    page = owner_client.get(reverse("web:connection", args=[connection.pk])).content.decode()
    assert f"Undid run {run.pk}: 3 writes put back" in page


def test_12_a_conflict_resolved_later_is_its_own_run(
    owner_client: Client, synced_pair: Any
) -> None:
    """12: undoing the run that found the conflict leaves the resolution alone."""
    from sync.models import SyncEvent, SyncRun

    connection, crm, news = synced_pair
    ann = crm.add(email="ann@example.com", company="Old")
    _run(connection)
    ann_b = news.by_email("ann@example.com")[0]
    crm.edit(ann, company="Right")
    news.edit(ann_b, company="Wrong")  # later: it wins
    conflict_run = _run(connection)
    conflict = SyncEvent.objects.get(run=conflict_run, action="conflict")
    owner_client.post(reverse("web:conflict_resolve", args=[connection.pk, conflict.pk]))
    review = SyncRun.objects.get(connection=connection, trigger="review")
    assert review.status == "succeeded" and review.writes == 2
    assert SyncEvent.objects.filter(run=review, action="update").count() == 2
    assert not SyncEvent.objects.filter(run=conflict_run, reason="conflict", action="update")
    page = owner_client.get(reverse("web:connection", args=[connection.pk])).content.decode()
    assert "Review decision" in page


def test_12_deletions_approved_later_are_their_own_run(
    owner_client: Client, account: Account, web_apps: dict[str, Any]
) -> None:
    """12: the approval is journaled in a review run; undoing the run that found the
    deletion does not bring the contact back, undoing the review run does."""
    from sync.models import SyncRun
    from tests.plugins.fake import make_fake_connection

    crm, news = web_apps["crm"], web_apps["news"]
    connection = make_fake_connection(
        account, crm, news, deletions_a_to_b="delete", deletion_review=True
    )
    ann = crm.add(email="ann@example.com", company="Acme")
    _run(connection)
    crm.remove(ann)
    found = _run(connection)
    pending = connection.events.get(status="pending_review")
    owner_client.post(
        reverse("web:deletions", args=[connection.pk]),
        {"event": [pending.pk], "decision": "approve", "confirm": "1"},
    )
    assert not news.records
    review = SyncRun.objects.get(connection=connection, trigger="review")
    assert review.counts == {"a_to_b": {"delete": 1}} and review.writes == 1
    owner_client.post(reverse("web:run_undo", args=[connection.pk, found.pk]))
    assert not news.records  # the earlier run's undo leaves the approval alone
    owner_client.post(reverse("web:run_undo", args=[connection.pk, review.pk]))
    (back,) = news.by_email("ann@example.com")
    assert news.get(back)["company"] == "Acme"


# --- 11. Explain after a failed create; error rows carry a direction ---------------------------


def test_11_explain_on_a_record_whose_create_failed_says_why(
    owner_client: Client, synced_pair: Any
) -> None:
    """11: not "No rule matched it"; the error row has the direction the write went."""
    from sync.engine import run_connection
    from sync.models import RecordLink, SyncEvent

    connection, crm, news = synced_pair
    crm.add(email="ann@example.com", company="Acme")
    news.fail_write = {1}  # the first record written to news is refused
    run = run_connection(connection.pk, "manual")
    (error,) = SyncEvent.objects.filter(run=run, action="error")
    assert error.direction == "a_to_b"
    link = RecordLink.objects.get(connection=connection, match_key="ann@example.com")
    page = owner_client.get(
        reverse("web:record_explain", args=[connection.pk, link.pk])
    ).content.decode()
    assert "No rule matched" not in page
    assert "The last attempt to write it failed (Fake app · Fake crm → Fake app · Fake news" in page
    assert "Everyone" in page  # the rule that sent it
    stats = owner_client.get(reverse("web:stats", args=[connection.pk])).content.decode()
    assert not re.search(r"contact\s*</t[dh]>\s*<t[dh][^>]*>\s*—", stats)


# --- 3, 4 and 21. Rules, options, mapping and users offer what the apps can do ---------------


def _rule(connection: Any, direction: str) -> Any:
    return connection.rules.get(direction=direction)


def _add(client: Client, connection: Any, op: str, direction: str, **values: str) -> Any:
    data = {"op": op, "rule": _rule(connection, direction).pk, "operator": "equals"} | values
    return client.post(reverse("web:setup_rules", args=[connection.pk]), data)


def test_3_set_owner_is_picked_from_the_apps_users_not_typed(
    owner_client: Client, connection: Any
) -> None:
    """3: "Admin Demo org" is refused; a user of the target app is accepted."""
    page = owner_client.get(reverse("web:setup_rules", args=[connection.pk])).content.decode()
    assert re.search(r'<select[^>]*name="owner">.*?<option value="u1"[^>]*>Ann', page, re.S)
    refused = _add(
        owner_client, connection, "add_action", "a_to_b", kind="set_owner", owner="Admin Demo org"
    )
    assert refused.status_code == 400
    assert "Choose one of the users of Acme newsletter." in refused.content.decode()
    assert not _rule(connection, "a_to_b").actions.exists()
    _add(owner_client, connection, "add_action", "a_to_b", kind="set_owner", owner="u1")
    assert list(_rule(connection, "a_to_b").actions.values_list("kind", "value")) == [
        ("set_owner", "u1")
    ]


def test_3_statuses_come_from_the_fields_choices(owner_client: Client, connection: Any) -> None:
    """3: a status the app does not know is refused, in the filter and the action."""
    refused = _add(owner_client, connection, "add_filter", "a_to_b", kind="status", status="vip")
    assert refused.status_code == 400
    assert "Choose a status Acme CRM knows: “lead”, “customer”." in refused.content.decode()
    _add(owner_client, connection, "add_action", "a_to_b", kind="set_status", status="customer")
    assert _rule(connection, "a_to_b").actions.get().value == "customer"
    page = owner_client.get(reverse("web:setup_rules", args=[connection.pk])).content.decode()
    assert re.search(r'name="status">.*?<option value="lead"', page, re.S)


def test_4_only_what_the_side_can_do_is_offered_and_the_rest_refused(
    owner_client: Client, connection: Any, web_apps: dict[str, Any]
) -> None:
    """4: the newsletter has no tags: no "Add tag" into it, no "Has tag" out of it."""
    web_apps["news"].tags = False
    page = owner_client.get(reverse("web:setup_rules", args=[connection.pk])).content.decode()
    to_news = _rule(connection, "a_to_b").pk
    from_news = _rule(connection, "b_to_a").pk
    actions = re.search(rf'id="a-kind-{to_news}".*?</select>', page, re.S).group(0)  # type: ignore[union-attr]
    filters = re.search(rf'id="f-kind-{from_news}".*?</select>', page, re.S).group(0)  # type: ignore[union-attr]
    assert 'value="add_tag"' not in actions and 'value="set_owner"' in actions
    assert 'value="has_tag"' not in filters and 'value="in_list"' in filters
    refused = _add(owner_client, connection, "add_action", "a_to_b", kind="add_tag", value="vip")
    assert "Acme newsletter has no tags" in refused.content.decode()
    missing = _add(
        owner_client,
        connection,
        "add_filter",
        "a_to_b",
        kind="field",
        field="NoSuchField",
        value="1",
    )
    assert "Acme CRM has no field “NoSuchField”." in missing.content.decode()


def _options(client: Client, connection: Any, **values: str) -> Any:
    data = {
        "name": connection.name,
        "avoid_duplicates": "on",
        "deletions_a_to_b": "off",
        "deletions_b_to_a": "off",
        "trash_tag": "deleted",
        "marker_field_a": "",
        "marker_field_b": "",
        "unsubscribes": "off",
        "unsubscribe_tag": "unsubscribed",
        "conflict_policy": "most_recent",
        "interval_minutes": "15",
        "default_phone_country": "",
    } | values
    return client.post(reverse("web:setup_options", args=[connection.pk]), data)


def test_4_options_offer_only_the_modes_the_target_can_do(
    owner_client: Client, connection: Any, web_apps: dict[str, Any]
) -> None:
    """4: no trash tag, no unsubscribe tag into an app without tags; refused if posted."""
    web_apps["news"].tags = False
    page = owner_client.get(reverse("web:setup_options", args=[connection.pk])).content.decode()
    into_news = re.search(r'name="deletions_a_to_b".*?</select>', page, re.S).group(0)  # type: ignore[union-attr]
    into_crm = re.search(r'name="deletions_b_to_a".*?</select>', page, re.S).group(0)  # type: ignore[union-attr]
    assert 'value="trash_tag"' not in into_news and 'value="delete"' in into_news
    assert 'value="trash_tag"' in into_crm
    unsubscribes = re.search(r'name="unsubscribes".*?</select>', page, re.S).group(0)  # type: ignore[union-attr]
    # The saved default stays visible, marked; nothing else impossible is offered.
    assert "Add the unsubscribe tag (not possible with this app)" in unsubscribes
    assert 'value="opt_out"' in unsubscribes
    marker = re.search(r'name="marker_field_b".*?</select>', page, re.S).group(0)  # type: ignore[union-attr]
    assert 'value="deleted_marker"' in marker and 'value="tags"' not in marker
    refused = _options(owner_client, connection, deletions_a_to_b="trash_tag")
    assert refused.status_code == 400
    assert "Acme newsletter has no tags, so “Add the trash tag”" in refused.content.decode()


def test_21_the_users_step_is_left_out_where_a_side_has_no_owners(
    owner_client: Client, connection: Any, web_apps: dict[str, Any]
) -> None:
    """21: no empty dropdown: the step is not listed, Continue skips it."""
    news = web_apps["news"]
    specs = [f for f in news.field_specs() if f.common != "owner"]
    news.field_specs = lambda: specs  # type: ignore[method-assign]
    page = owner_client.get(reverse("web:setup_mapping", args=[connection.pk])).content.decode()
    assert reverse("web:setup_users", args=[connection.pk]) not in page
    response = owner_client.post(
        reverse("web:setup_mapping", args=[connection.pk]), {"op": "continue", "continue": "1"}
    )
    assert response["Location"] == reverse("web:setup_preview", args=[connection.pk])
    users = owner_client.get(reverse("web:setup_users", args=[connection.pk])).content.decode()
    assert "this step is left out" in users and "<select" not in users


def test_21_a_refused_action_keeps_what_was_chosen(owner_client: Client, connection: Any) -> None:
    """21: the form does not reset to "Add tag" after a refusal."""
    refused = _add(
        owner_client,
        connection,
        "add_action",
        "a_to_b",
        kind="remove_tag",
        value="",
        revert_on_leave="on",
    )
    page = refused.content.decode()
    assert refused.status_code == 400
    rule = _rule(connection, "a_to_b").pk
    kinds = re.search(rf'id="a-kind-{rule}".*?</select>', page, re.S).group(0)  # type: ignore[union-attr]
    assert re.search(r'value="remove_tag"\s+selected', kinds)
    assert re.search(r'name="revert_on_leave"\s+checked', page)


def _pair(client: Client, connection: Any, a: str, b: str, direction: str = "both") -> Any:
    return client.post(
        reverse("web:setup_mapping", args=[connection.pk]),
        {"op": "add", "a_field": a, "b_field": b, "direction": direction, "transform": ""},
    )


def test_21_mapping_duplicate_pair_already_mapped_field_and_one_way_reason(
    owner_client: Client, connection: Any
) -> None:
    """21: a duplicate pair and a field already mapped are refused in plain words; a
    one-way pair says why."""
    assert _pair(owner_client, connection, "phone", "notes", "a_to_b").status_code == 302
    duplicate = _pair(owner_client, connection, "phone", "notes", "a_to_b").content.decode()
    assert "These two fields are already paired." in duplicate
    taken = _pair(owner_client, connection, "company", "notes").content.decode()
    assert "“Notes” in Acme newsletter is already paired with “Phone”; remove that pair" in taken
    assert connection.mappings.filter(b_field="notes").count() == 1
    page = owner_client.get(reverse("web:setup_mapping", args=[connection.pk])).content.decode()
    assert "one-way: a text value cannot always be written as phone" in page


def test_21_marker_mode_without_a_marker_field_is_refused(
    owner_client: Client, connection: Any
) -> None:
    """21: "Set the marker field" needs the field."""
    refused = _options(owner_client, connection, deletions_a_to_b="marker_field")
    assert refused.status_code == 400
    assert "Choose the marker field on Acme newsletter." in refused.content.decode()
    _options(
        owner_client, connection, deletions_a_to_b="marker_field", marker_field_b="deleted_marker"
    )
    connection.refresh_from_db()
    assert (connection.deletions_a_to_b, connection.marker_field_b) == (
        "marker_field",
        "deleted_marker",
    )
