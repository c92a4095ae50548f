"""The ForceManager connector's entity scopes against its sandbox over HTTP (issue 17):
one scope per entity, references read and written as the referenced record's id, the
required sales rep, branch and account filled in, deltas and soft deletes of companies,
extra fields per resource (and the other app's custom fields made on each entity's
resource at start), events and tasks as the two halves of ``calendars``, and an engine
run between two ForceManager accounts syncing companies and contacts."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base import Change, ConnectorError, Credentials, FieldSpec
from connectors.forcemanager.connector import NO_COMPANY, ForceManagerConnector
from connectors.http import Http
from connectors.sandbox.control import SandboxControl
from sync import setup
from sync.engine import mapping, run_connection
from sync.models import Account, AppAuthorization, Connection, FieldMapping, Rule, RunStatus
from tests.fakes.connector import FakeConnector

FM = "forcemanager"


@pytest.fixture
def fm(sandbox: SandboxControl) -> dict[str, Any]:
    return sandbox.create_account(FM, name="Entities")


def build(fm: dict[str, Any], scope: str) -> ForceManagerConnector:
    credentials = Credentials(
        secrets={"public_key": fm["public_key"], "private_key": fm["private_key"]},
        settings={"page_size": 3},
    )
    return ForceManagerConnector(credentials, scope, Http(retries=1, backoff=0.01))


def rows(sandbox: SandboxControl, fm: dict[str, Any], resource: str) -> dict[str, dict[str, Any]]:
    """The sandbox's records of ``resource`` by id, as the API renders them."""
    state = sandbox.state(FM, fm["account_id"])["instances"][fm["account_id"]]
    return {str(r["id"]): r for r in state["records"][resource]}


def create(connector: ForceManagerConnector, **fields: Any) -> str:
    [result] = connector.push([Change("create", f"k-{len(fields)}-{id(fields)}", fields=fields)])
    assert result.error is None, result.error
    assert result.id
    return result.id


def listed(connector: ForceManagerConnector, cursor: Any = None) -> dict[str, dict[str, Any]]:
    return {r.id: r.fields for page in connector.fetch(cursor) for r in page.records}


def test_every_entity_is_offered_as_its_own_scope(fm: dict[str, Any]) -> None:
    scopes = {s.id: s.entity for s in build(fm, "contacts").scopes()}
    assert scopes == {
        "accounts": "company",
        "contacts": "contact",
        "opportunities": "opportunity",
        "activities": "activity",
        "events": "event",
        "tasks": "task",
    }
    with pytest.raises(ConnectorError):
        build(fm, "calendars")  # the shared resource is two scopes, never one


def test_fields_pair_by_the_shared_vocabulary(fm: dict[str, Any]) -> None:
    company = {s.key: s for s in build(fm, "accounts").fields()}
    assert company["name"].common == "company" and company["name"].required
    assert not company["branchId"].required and not company["salesRepId1"].required
    assert company["branchId"].choices == ("Headquarter", "South")
    contact = {s.key: s for s in build(fm, "contacts").fields()}
    assert (contact["accountId"].common, contact["accountId"].refers_to) == (
        "company_id",
        "company",
    )
    assert contact["company"].common == "company" and not contact["company"].refers_to
    deal = {s.key: s for s in build(fm, "opportunities").fields()}
    assert deal["statusId"].common == "stage" and deal["statusId"].choices == (
        "Open",
        "Won",
        "Lost",
    )
    assert (deal["contactId1"].refers_to, deal["accountId1"].required) == ("contact", True)
    task = {s.key: s for s in build(fm, "tasks").fields()}
    assert (task["opportunityId"].common, task["opportunityId"].refers_to) == (
        "opportunity_id",
        "opportunity",
    )


def test_a_company_gets_the_default_sales_rep_and_their_branch(
    sandbox: SandboxControl, fm: dict[str, Any]
) -> None:
    acme = create(build(fm, "accounts"), name="Acme", countryId="ES", typeId="Customer")
    row = rows(sandbox, fm, "accounts")[acme]
    admin = fm["users"][0]["id"]
    assert row["salesRepId1"]["id"] == admin
    assert row["branchId"]["value"] == "Headquarter"  # the sales rep's branch
    assert row["extId"]  # the create's key: a lost create is recognised by it
    fields = listed(build(fm, "accounts"))[acme]
    assert (fields["name"], fields["countryId"], fields["typeId"]) == ("Acme", "Spain", "Customer")
    assert (fields["salesRepId1"], fields["branchId"]) == (str(admin), "Headquarter")


def test_a_contacts_company_is_a_reference_by_id_and_wins_over_the_name(
    sandbox: SandboxControl, fm: dict[str, Any]
) -> None:
    companies = build(fm, "accounts")
    acme, hooli = create(companies, name="Acme"), create(companies, name="Hooli")
    contacts = build(fm, "contacts")
    ann = create(contacts, firstName="Ann", lastName="Lee", accountId=acme, company="Hooli")
    assert rows(sandbox, fm, "contacts")[ann]["accountId"]["id"] == int(acme)
    fields = listed(build(fm, "contacts"))[ann]
    assert (fields["accountId"], fields["company"]) == (acme, "Acme")
    # Moved by reference; cleared, the contact goes to the placeholder, read as none.
    [moved] = contacts.push([Change("update", "m", id=ann, fields={"accountId": hooli})])
    assert moved.error is None
    assert listed(build(fm, "contacts"))[ann]["accountId"] == hooli
    [cleared] = contacts.push([Change("update", "c", id=ann, fields={"accountId": None})])
    assert cleared.error is None
    held = rows(sandbox, fm, "contacts")[ann]["company"]
    assert held == NO_COMPANY
    fields = listed(build(fm, "contacts"))[ann]
    assert (fields["accountId"], fields["company"]) == (None, None)
    # The placeholder is ForceManager's stand-in for none, never a company.
    assert sorted(f["name"] for f in listed(build(fm, "accounts")).values()) == ["Acme", "Hooli"]
    # A reference is an id, never a name.
    [refused] = contacts.push([Change("update", "n", id=ann, fields={"accountId": "Acme"})])
    assert refused.error is not None and refused.error.permanent


def test_an_opportunity_refers_to_its_company_and_contact_by_id(
    sandbox: SandboxControl, fm: dict[str, Any]
) -> None:
    acme = create(build(fm, "accounts"), name="Acme")
    ann = create(build(fm, "contacts"), firstName="Ann", lastName="Lee", accountId=acme)
    deals = build(fm, "opportunities")
    deal = create(
        deals,
        reference="Fleet renewal",
        accountId1=acme,
        contactId1=ann,
        total="12500.5",
        probability=60,
        statusId="Won",
        salesForecastDate="2027-03-31",
        comment="Signed",
    )
    row = rows(sandbox, fm, "opportunities")[deal]
    assert (row["accountId1"]["id"], row["contactId1"]["id"]) == (int(acme), int(ann))
    assert row["total"] == 12500.5 and row["statusId"]["value"] == "Won"
    fields = listed(build(fm, "opportunities"))[deal]
    assert fields["accountId1"] == acme and fields["contactId1"] == ann
    assert (fields["total"], fields["probability"]) == (12500.5, 60.0)
    assert fields["salesForecastDate"] == "2027-03-31"
    assert fields["salesRepId"] == str(fm["users"][0]["id"])
    # Without its required company, the vendor refuses that record only.
    good, bad = deals.push(
        [
            Change("create", "g", fields={"reference": "Ok", "accountId1": acme}),
            Change("create", "b", fields={"reference": "No company"}),
        ]
    )
    assert good.error is None and bad.error is not None and bad.error.permanent
    [gone] = deals.push([Change("create", "x", fields={"reference": "X", "accountId1": "999999"})])
    assert gone.error is not None  # a dangling id: ForceManager has no such company


def test_a_company_delta_reads_edits_and_soft_deletes(
    sandbox: SandboxControl, fm: dict[str, Any]
) -> None:
    seeded = sandbox.seed(FM, fm["account_id"], 5, seed=2, resource="accounts")["ids"]
    cursor = list(build(fm, "accounts").fetch(None))[-1].cursor
    account = fm["account_id"]
    sandbox.action(
        FM, "edit", account=account, contact=seeded[1], resource="accounts", city="Bilbao"
    )
    sandbox.action(FM, "delete", account=account, contact=seeded[3], resource="accounts")
    pages = list(build(fm, "accounts").fetch(cursor))
    assert [d for p in pages for d in p.deleted] == [seeded[3]]
    changed = {r.id: r.fields for p in pages for r in p.records}
    assert changed[seeded[1]]["city"] == "Bilbao"
    assert len(changed) < 4, "a delta, not a listing"
    assert not any(p.complete for p in pages)
    assert sorted(listed(build(fm, "accounts"))) == sorted(set(seeded) - {seeded[3]})


def test_extra_fields_belong_to_their_resource(sandbox: SandboxControl, fm: dict[str, Any]) -> None:
    companies = build(fm, "accounts")
    keys = {s.key for s in companies.fields() if s.custom}
    assert keys == {"Z_Sector"}, "the contacts' extra fields are theirs"
    made = companies.create_extra_field(FieldSpec("Revenue__c", "Revenue", "number"))
    assert (made.key, made.type, made.custom) == ("Z_Revenue", "number", True)
    assert "Z_Revenue" not in {s.key for s in build(fm, "contacts").fields()}
    acme = create(build(fm, "accounts"), name="Acme", Z_Revenue="1.5e6", Z_Sector="Energy")
    assert listed(build(fm, "accounts"))[acme]["Z_Revenue"] == 1500000.0
    [refused] = build(fm, "opportunities").push(
        [Change("create", "k", fields={"reference": "R", "accountId1": acme, "Z_Revenue": 1})]
    )
    assert refused.error is not None and refused.error.permanent


def test_an_activity_is_typed_by_its_text_and_refers_to_its_records(
    sandbox: SandboxControl, fm: dict[str, Any]
) -> None:
    acme = create(build(fm, "accounts"), name="Acme")
    ann = create(build(fm, "contacts"), firstName="Ann", lastName="Lee", accountId=acme)
    deal = create(build(fm, "opportunities"), reference="Fleet", accountId1=acme)
    visit = create(
        build(fm, "activities"),
        activityTypeId="Visit",
        accountId=acme,
        contactId=ann,
        opportunityId=deal,
        datetime="2027-02-01T15:30:00Z",
        comment="Met the buyer",
    )
    row = rows(sandbox, fm, "activities")[visit]
    assert row["activityTypeId"]["value"] == "Visit" and row["opportunityId"]["id"] == int(deal)
    fields = listed(build(fm, "activities"))[visit]
    assert (fields["accountId"], fields["contactId"], fields["opportunityId"]) == (acme, ann, deal)
    assert fields["datetime"] == "2027-02-01T15:30:00.000Z"
    [bad] = build(fm, "activities").push(
        [Change("create", "k", fields={"activityTypeId": "Dance", "accountId": acme})]
    )
    assert bad.error is not None and bad.error.permanent  # not in its value list


def typed(sandbox: SandboxControl, fm: dict[str, Any], **settings: Any) -> Any:
    """The type of an activity created without one, through a connector with ``settings``;
    the push's result when it fails."""
    credentials = Credentials(
        secrets={"public_key": fm["public_key"], "private_key": fm["private_key"]},
        settings=settings,
    )
    connector = ForceManagerConnector(credentials, "activities", Http(retries=1, backoff=0.01))
    assert not {s.key: s for s in connector.fields()}["activityTypeId"].required
    change = Change("create", f"t-{sorted(settings)}", fields={"comment": "From Salesforce"})
    [result] = connector.push([change])
    if result.error is not None:
        return result
    return rows(sandbox, fm, "activities")[str(result.id)]["activityTypeId"]["value"]


def test_an_activity_without_a_type_gets_the_first_type(
    sandbox: SandboxControl, fm: dict[str, Any]
) -> None:
    assert typed(sandbox, fm) == "Visit"


def test_an_activity_without_a_type_gets_the_default_type_by_text_or_id(
    sandbox: SandboxControl, fm: dict[str, Any]
) -> None:
    assert typed(sandbox, fm, activity_type_id="call") == "Call"
    types = build(fm, "activities").values("activityTypes")
    email = next(i for i, text in types.items() if text == "Email")
    assert typed(sandbox, fm, activity_type_id=str(email)) == "Email"
    refused = typed(sandbox, fm, activity_type_id="Dance")
    assert refused.error.permanent
    assert "'Dance' (activity_type_id)" in str(refused.error) and "Visit, Call, Email" in str(
        refused.error
    )


def test_an_account_without_activity_types_says_so(sandbox: SandboxControl) -> None:
    bare = sandbox.create_account(FM, name="No types", values={"activityTypes": []})
    refused = typed(sandbox, bare)
    assert refused.error.permanent
    assert "no type (activityTypes)" in str(refused.error)
    assert rows(sandbox, bare, "activities") == {}  # refused before anything was sent


def test_a_required_reference_left_empty_is_refused_before_it_is_sent(
    sandbox: SandboxControl, fm: dict[str, Any]
) -> None:
    before = sandbox.requests(FM)["endpoints"]
    [refused] = build(fm, "opportunities").push(
        [Change("create", "o", fields={"reference": "Fleet"})]
    )
    assert refused.error is not None and refused.error.permanent
    assert "need a company (accountId1)" in str(refused.error)
    after = sandbox.requests(FM)["endpoints"]
    assert {k: n for k, n in after.items() if k.startswith("POST") and "login" not in k} == {
        k: n for k, n in before.items() if k.startswith("POST") and "login" not in k
    }


def test_the_preview_knows_which_creates_lack_a_required_value(fm: dict[str, Any]) -> None:
    """``refusal``, asked by the run and the preview before anything is sent: a task
    without a start, an opportunity without a company; never what is filled in on the
    way (the owner, the branch, a lookup's default, a contact's placeholder account)."""
    tasks, deals = build(fm, "tasks"), build(fm, "opportunities")
    undated = Change("create", "t", fields={"subject": "Call back", "dateStart": None})
    assert (
        tasks.refusal(undated)
        == "ForceManager tasks need a start (dateStart) and this record has none"
    )
    dated = Change("create", "t", fields={"subject": "Call back", "dateStart": "2027-01-04"})
    assert tasks.refusal(dated) is None
    assert tasks.refusal(Change("update", "t", id="1", fields={"dateStart": None})) is None
    assert "need a company (accountId1)" in str(
        deals.refusal(Change("create", "o", fields={"reference": "Fleet"}))
    )
    companies = build(fm, "accounts")
    assert companies.refusal(Change("create", "c", fields={"name": "Acme"})) is None


@pytest.mark.django_db
def test_the_other_apps_custom_fields_are_made_on_each_entitys_resource(
    sandbox: SandboxControl,
    fm: dict[str, Any],
    account: Account,
    fake_vendor: type[FakeConnector],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """setup.create_missing_fields, per synced entity: the contacts' custom fields become
    contact extra fields, the companies' become account extra fields, each paired in its
    entity's mapping."""
    monkeypatch.setitem(setup.PAIR_DEFAULTS, frozenset({"fake", FM}), {"creates_fields": FM})
    source = fake_vendor.make_app("crm", company_ref=True)
    fake_vendor.make_app("crm:companies", kind="company")
    crm = AppAuthorization.objects.create(
        account=account, vendor="fake", label="CRM", settings={"store": "crm"}
    )
    field = AppAuthorization(account=account, vendor=FM, label="Field")
    field.secrets = {"public_key": fm["public_key"], "private_key": fm["private_key"]}
    field.save()
    connection = Connection.objects.create(
        account=account,
        name="CRM → Field",
        a_authorization=crm,
        b_authorization=field,
        b_scope="contacts",
    )
    mapping.ensure_default_mappings(
        connection, source.field_specs(), build(fm, "contacts").fields()
    )
    setup.add_entity(connection, "company")

    made = setup.create_missing_fields(connection)
    assert sorted(made) == ["Z_deletedmarker", "Z_notes", "Z_notes"]
    defined = sandbox.state(FM, fm["account_id"])["instances"][fm["account_id"]]["extrafields"]
    assert {f["fieldName"] for f in defined["accounts"]} == {"Z_Sector", "Z_notes"}
    assert {"Z_notes", "Z_deletedmarker"} <= {f["fieldName"] for f in defined["contacts"]}
    pairs = FieldMapping.objects.filter(connection=connection, a_field="notes", b_field="Z_notes")
    assert sorted(pairs.values_list("entity", flat=True)) == ["company", "contact"]
    assert setup.create_missing_fields(connection) == []  # idempotent, per entity


def test_events_and_tasks_are_the_two_halves_of_the_calendar(
    sandbox: SandboxControl, fm: dict[str, Any]
) -> None:
    acme = create(build(fm, "accounts"), name="Acme")
    meeting = create(
        build(fm, "events"),
        subject="Demo",
        dateStart="2027-01-10T09:00:00Z",
        dateEnd="2027-01-10T10:00:00+00:00",
        accountId=acme,
    )
    call = create(build(fm, "tasks"), subject="Call back", dateStart="2027-01-11T00:00:00.000Z")
    held = rows(sandbox, fm, "calendars")
    assert (held[meeting]["isTask"], held[call]["isTask"]) == (False, True)
    events, tasks = listed(build(fm, "events")), listed(build(fm, "tasks"))
    assert list(events) == [meeting] and list(tasks) == [call]
    assert events[meeting]["dateStart"] == "2027-01-10T09:00:00.000Z"
    assert events[meeting]["accountId"] == acme
    # A task's start is its due date: read as that day, written as its midnight (UTC).
    assert tasks[call]["dateStart"] == "2027-01-11"
    due = {s.key: s for s in build(fm, "tasks").fields()}["dateStart"]
    assert (due.type, due.common, due.required) == ("date", "due_date", True)
    [moved] = build(fm, "tasks").push(
        [Change("update", "m", id=call, fields={"dateStart": "2027-01-12"})]
    )
    assert moved.error is None
    assert rows(sandbox, fm, "calendars")[call]["dateStart"] == "2027-01-12T00:00:00.000Z"
    cursor = list(build(fm, "tasks").fetch(None))[-1].cursor
    build(fm, "events").push([Change("delete", "d", id=meeting)])
    assert [d for p in build(fm, "tasks").fetch(cursor) for d in p.deleted] == []
    assert [d for p in build(fm, "events").fetch(cursor) for d in p.deleted] == [meeting]


@pytest.mark.django_db(transaction=True)
def test_companies_and_contacts_sync_between_two_accounts_with_their_references(
    sandbox: SandboxControl, account: Account
) -> None:
    """Contacts land in B pointing at B's own ids of their companies; a company matched
    by name is not made twice; a move to another company travels too; a renamed company
    keeps its contacts, and a deleted one's contacts lose it (to the placeholder) without
    the company being made again from their company name."""
    one = sandbox.create_account(FM, name="North")
    two = sandbox.create_account(FM, name="South")
    authorizations = []
    for side in (one, two):
        authorization = AppAuthorization(account=account, vendor=FM, label=side["path"])
        authorization.secrets = {
            "public_key": side["public_key"],
            "private_key": side["private_key"],
        }
        authorization.save()
        authorizations.append(authorization)
    connection = Connection.objects.create(
        account=account,
        name="North ↔ South",
        a_authorization=authorizations[0],
        a_scope="contacts",
        b_authorization=authorizations[1],
        b_scope="contacts",
        breaker_count=1000,
        deletions_a_to_b="delete",
    )
    specs = [build(side, "contacts").fields() for side in (one, two)]
    mapping.ensure_default_mappings(connection, specs[0], specs[1])
    for direction in ("a_to_b", "b_to_a"):
        Rule.objects.create(connection=connection, direction=direction, name="Everyone")
    setup.add_entity(connection, "company")
    assert connection.mappings.filter(entity="contact", a_field="accountId").exists()

    north_companies, south_companies = build(one, "accounts"), build(two, "accounts")
    acme_n = create(north_companies, name="Acme", city="Oslo")
    hooli_n = create(north_companies, name="Hooli")
    acme_s = create(south_companies, name="ACME")  # the same company, by its name
    ann_n = create(
        build(one, "contacts"), firstName="Ann", lastName="Lee", email="ann@example.com",
        accountId=acme_n,
    )  # fmt: skip
    bob_n = create(
        build(one, "contacts"), firstName="Bob", lastName="Roe", email="bob@example.com",
        accountId=hooli_n,
    )  # fmt: skip

    def run() -> None:
        done = run_connection(connection.pk, "manual")
        assert done.status == RunStatus.SUCCEEDED, (done.status, done.error, done.counts)

    run()
    south = rows(sandbox, two, "accounts")
    by_name = {r["name"].casefold(): i for i, r in south.items() if not r["deleted"]}
    assert sorted(by_name) == ["acme", "hooli"], "Acme matched by name, not made again"
    assert by_name["acme"] == acme_s
    people = {r["email"]: r for r in rows(sandbox, two, "contacts").values()}
    assert people["ann@example.com"]["accountId"]["id"] == int(acme_s)
    assert people["bob@example.com"]["accountId"]["id"] == int(by_name["hooli"])
    # Back the other way: Bob moved to Acme in South reaches North as North's Acme.
    bob_s = str(people["bob@example.com"]["id"])
    sandbox.action(FM, "edit", account=two["account_id"], contact=bob_s, accountId=int(acme_s))
    run()
    north = rows(sandbox, one, "contacts")
    assert north[bob_n]["accountId"]["id"] == int(acme_n)
    assert north[ann_n]["accountId"]["id"] == int(acme_n)
    # Renamed in North: the same company in South, renamed, its contacts still on it.
    sandbox.action(
        FM, "edit", account=one["account_id"], contact=acme_n, resource="accounts",
        name="Acme Corp",
    )  # fmt: skip
    cy_n = create(
        build(one, "contacts"), firstName="Cy", lastName="Poe", email="cy@example.com",
        accountId=hooli_n,
    )  # fmt: skip
    run()
    south = rows(sandbox, two, "accounts")
    assert south[acme_s]["name"] == "Acme Corp"
    people = {r["email"]: r for r in rows(sandbox, two, "contacts").values()}
    assert {people[e]["company"] for e in ("ann@example.com", "bob@example.com")} == {"Acme Corp"}
    assert people["cy@example.com"]["accountId"]["id"] == int(by_name["hooli"])
    # Hooli deleted in North: deleted in South, Cy left without a company there.
    sandbox.action(FM, "delete", account=one["account_id"], contact=hooli_n, resource="accounts")
    run()
    south = rows(sandbox, two, "accounts")
    assert south[by_name["hooli"]]["deleted"]
    live = sorted(r["name"] for r in south.values() if not r["deleted"])
    assert live == [NO_COMPANY, "Acme Corp"]
    people = {r["email"]: r for r in rows(sandbox, two, "contacts").values()}
    assert people["cy@example.com"]["company"] == NO_COMPANY
    assert not rows(sandbox, one, "contacts")[cy_n]["deleted"]
    # Converged: nothing more to write on either side.
    before = sandbox.requests(FM)["endpoints"]
    run()
    after = sandbox.requests(FM)["endpoints"]
    writes = {
        k: n
        for k, n in after.items()
        if not k.startswith("GET") and "login" not in k and before.get(k) != n
    }
    assert not writes, writes
