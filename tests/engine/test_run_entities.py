"""Several entities per connection, with references between them (issue 17): companies
and contacts between two fake apps, each app's companies in a companion app
(tests/fakes/connector.py), the company added through ``sync.setup.add_entity``."""

from __future__ import annotations

import pytest

from sync import setup
from sync.engine import undo_run
from sync.models import ConnectionEntity, FieldMapping, RecordLink, Rule, SyncEvent
from tests.engine.support import events, sync, synced
from tests.plugins.fake import make_fake_connection


@pytest.fixture
def apps(fake_vendor):
    """Contact apps a and b (contacts refer to companies) and their companies."""
    return {
        "a": fake_vendor.make_app("a", company_ref=True),
        "b": fake_vendor.make_app("b", company_ref=True),
        "ac": fake_vendor.make_app("a:companies", kind="company"),
        "bc": fake_vendor.make_app("b:companies", kind="company"),
    }


def entity_connection(account, apps, **options):
    connection = make_fake_connection(account, apps["a"], apps["b"], **options)
    setup.add_entity(connection, "company")
    return connection


def only(app, **fields):
    """The one record of ``app`` holding ``fields``."""
    found = [
        rid
        for rid, r in app.records.items()
        if all(r.fields.get(k) == v for k, v in fields.items())
    ]
    assert len(found) == 1, (fields, found)
    return found[0]


def test_add_entity_sets_up_scopes_mapping_and_rules(account, apps):
    connection = entity_connection(account, apps)
    row = ConnectionEntity.objects.get(connection=connection)
    assert (row.entity, row.a_scope, row.b_scope) == ("company", "companies", "companies")
    pairs = set(
        FieldMapping.objects.filter(connection=connection, entity="company").values_list(
            "a_field", "b_field"
        )
    )
    assert pairs == {("name", "name"), ("domain", "domain")}
    # The contacts' mapping keeps its own rows, the reference among them.
    contact_pairs = FieldMapping.objects.filter(connection=connection, entity="contact")
    assert contact_pairs.filter(a_field="company_id").exists()
    assert Rule.objects.filter(connection=connection, entity="company").count() == 2
    assert setup.entity_problems(connection) == []


def test_companies_are_mandatory_when_both_apps_offer_them(account, apps):
    connection = make_fake_connection(account, apps["a"], apps["b"])
    assert setup.entity_problems(connection) == [
        "Both apps have companies: sync them with the contacts."
    ]


def test_a_connection_without_its_mandatory_companies_does_not_start(account, apps):
    from sync import lifecycle

    connection = make_fake_connection(
        account, apps["a"], apps["b"], state="draft"
    )  # as the admin may
    with pytest.raises(lifecycle.Refused, match="Both apps have companies"):
        lifecycle.start(connection)
    connection.refresh_from_db()
    assert connection.state == "draft"
    setup.add_mandatory_entities(connection)  # what the REST API does on creation
    assert list(connection.entities.values_list("entity", flat=True)) == ["company"]
    setup.add_mandatory_entities(connection)  # once
    assert connection.entities.count() == 1
    lifecycle.start(connection)
    connection.refresh_from_db()
    assert connection.state != "draft"


def test_references_are_translated_both_ways(account, apps):
    a, b, ac, bc = apps["a"], apps["b"], apps["ac"], apps["bc"]
    connection = entity_connection(account, apps)
    acme_a = ac.add(name="Acme", domain="acme.example")
    ann_a = a.add(email="ann@example.com", first_name="Ann", company_id=acme_a)
    run = synced(connection)
    acme_b = only(bc, name="Acme")
    ann_b = only(b, email="ann@example.com")
    assert b.get(ann_b)["company_id"] == acme_b  # B's id, never A's
    assert {e.entity for e in events(run, "create")} == {"company", "contact"}
    # And back: a company made in B, the contact moved to it there.
    beta_b = bc.add(name="Beta")
    b.edit(ann_b, company_id=beta_b)
    synced(connection)
    beta_a = only(ac, name="Beta")
    assert a.get(ann_a)["company_id"] == beta_a
    # Nothing left to do: the references compare equal through the links.
    quiet = synced(connection)
    assert quiet.writes == 0


def test_companies_match_by_normalized_name(account, apps):
    apps["ac"].add(name="ACME  Inc")
    apps["bc"].add(name="acme inc")
    connection = entity_connection(account, apps)
    synced(connection)
    assert len(apps["ac"].records) == len(apps["bc"].records) == 1
    link = RecordLink.objects.get(connection=connection, entity="company")
    assert link.a_id and link.b_id


def test_companies_match_by_name_whatever_the_punctuation_and_accents(account, apps):
    apps["ac"].add(name="Caffè Rossi, S.r.l.")
    apps["bc"].add(name="CAFFE ROSSI SRL")
    connection = entity_connection(account, apps)
    synced(connection)
    assert len(apps["ac"].records) == len(apps["bc"].records) == 1


def test_companies_match_by_their_websites_domain_when_the_names_differ(account, apps):
    """One company spelt two ways, one website: paired by its domain, never duplicated
    (the two names are then one, as the conflict policy says)."""
    acme_a = apps["ac"].add(name="Acme", domain="https://www.acme.example/about")
    acme_b = apps["bc"].add(name="Acme Corporation", domain="ACME.example")
    connection = entity_connection(account, apps)
    synced(connection)
    assert len(apps["ac"].records) == len(apps["bc"].records) == 1
    link = RecordLink.objects.get(connection=connection, entity="company")
    assert (link.a_id, link.b_id) == (acme_a, acme_b)
    assert apps["ac"].get(acme_a)["name"] == apps["bc"].get(acme_b)["name"]


def test_a_contact_waits_for_its_company_then_lands(account, apps, settings):
    a, b, ac, bc = apps["a"], apps["b"], apps["ac"], apps["bc"]
    connection = entity_connection(account, apps)
    acme_a = ac.add(name="Acme")
    a.add(email="ann@example.com", company_id=acme_a)
    bc.fail_write = {1}  # the company's create fails this run
    run = sync(connection)
    assert run.status == "partial"
    assert b.by_email("ann@example.com") == []  # never written with a dangling id
    (wait,) = [e for e in events(run, "skip") if e.entity == "contact"]
    assert wait.reason == "waiting for company acme"
    link = RecordLink.objects.get(connection=connection, entity="contact")
    assert link.dirty
    run = synced(connection)
    (ann_b,) = b.by_email("ann@example.com")
    assert b.get(ann_b)["company_id"] == only(bc, name="Acme")


def test_a_wait_past_the_bound_is_reported_as_an_error(account, apps, settings):
    settings.SYNC_REFERENCE_WAIT_RUNS = 1
    a, bc = apps["a"], apps["bc"]
    connection = entity_connection(account, apps)
    acme_a = apps["ac"].add(name="Acme")
    a.add(email="ann@example.com", company_id=acme_a)
    bc.fail_write = {1, 2, 3}
    sync(connection)
    run = sync(connection)
    waits = [e for e in events(run, "skip") if e.entity == "contact"]
    assert waits[0].status == "error"
    assert "waiting for company acme since 2 runs" in waits[0].error
    link = RecordLink.objects.get(connection=connection, entity="contact")
    assert "waiting for company" in link.last_error


def test_a_deleted_companys_contacts_lose_the_reference(account, apps):
    a, b, ac, bc = apps["a"], apps["b"], apps["ac"], apps["bc"]
    connection = entity_connection(account, apps, deletions_a_to_b="delete")
    acme_a = ac.add(name="Acme")
    ann_a = a.add(email="ann@example.com", company_id=acme_a)
    synced(connection)
    (ann_b,) = b.by_email("ann@example.com")
    acme_b = only(bc, name="Acme")
    ac.remove(acme_a)  # the app leaves its contacts pointing at the deleted company
    run = synced(connection)
    assert acme_b not in bc.records  # the deletion propagated (the option says delete)
    assert b.get(ann_b)["company_id"] is None  # and B's contact follows it
    assert a.get(ann_a)["company_id"] is None  # A's too: never left on a deleted id
    cleared = [e for e in events(run, "update") if e.entity == "contact"]
    assert {e.changes["company_id"]["old"] for e in cleared} == {acme_a, acme_b}
    assert all("deleted" in e.reason for e in cleared)
    assert synced(connection).writes == 0  # settled: no echo


def test_undo_of_a_run_with_companies_and_contacts(account, apps):
    a, b, ac, bc = apps["a"], apps["b"], apps["ac"], apps["bc"]
    connection = entity_connection(account, apps)
    acme_a = ac.add(name="Acme")
    a.add(email="ann@example.com", company_id=acme_a)
    run = synced(connection)
    assert len(bc.records) == len(b.records) == 1
    undo = undo_run(run)
    assert undo.status == "succeeded", undo.error
    assert bc.records == {} and b.records == {}
    undone = SyncEvent.objects.filter(run=undo, action="undo")
    assert sorted(undone.values_list("entity", flat=True)) == ["company", "contact"]


def test_conflicts_are_per_entity_and_field(account, apps):
    ac, bc = apps["ac"], apps["bc"]
    connection = entity_connection(account, apps, conflict_policy="a_wins")
    acme_a = ac.add(name="Acme", domain="acme.example")
    synced(connection)
    acme_b = only(bc, name="Acme")
    ac.edit(acme_a, domain="acme.com")
    bc.edit(acme_b, domain="acme.org", name="Acme Corp")
    run = synced(connection)
    (conflict,) = events(run, "conflict")
    assert conflict.entity == "company"
    assert list(conflict.changes) == ["domain|domain"]
    assert bc.get(acme_b)["domain"] == "acme.com"  # A wins the conflicting field
    assert ac.get(acme_a)["name"] == "Acme Corp"  # B's other edit merges in


def test_with_deletions_off_only_the_side_that_lost_the_company_is_cleared(account, apps):
    a, b, ac, bc = apps["a"], apps["b"], apps["ac"], apps["bc"]
    connection = entity_connection(account, apps)  # deletions are not synced
    acme_a = ac.add(name="Acme")
    ann_a = a.add(email="ann@example.com", company_id=acme_a)
    synced(connection)
    (ann_b,) = b.by_email("ann@example.com")
    acme_b = only(bc, name="Acme")
    ac.remove(acme_a)
    synced(connection)
    assert acme_b in bc.records  # kept in B, as the option says
    assert b.get(ann_b)["company_id"] == acme_b  # B's contact still has its company
    assert a.get(ann_a)["company_id"] is None  # A's no longer points at a deleted one
    assert synced(connection).writes == 0


def test_a_preview_plans_every_entity_and_writes_nothing(account, apps):
    from sync.engine import preview

    a, ac = apps["a"], apps["ac"]
    connection = entity_connection(account, apps)
    acme_a = ac.add(name="Acme")
    a.add(email="ann@example.com", company_id=acme_a)
    run = preview(connection)
    assert run.status == "succeeded", run.error
    # The company and, once it is there, its contact would be created.
    assert run.preview["counts"]["a_to_b"] == {"create": 2}
    assert apps["b"].records == {} and apps["bc"].records == {}
    assert not RecordLink.objects.filter(connection=connection).exists()


def test_a_single_entity_connection_reads_no_other_scope(account, fake_apps):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b)
    a.add(email="ann@example.com")
    run = synced(connection)
    assert run.api_calls == a.calls + b.calls
    assert set(RecordLink.objects.values_list("entity", flat=True)) == {"contact"}


def test_undo_never_writes_a_reference_to_a_deleted_company_back(account, apps):
    a, b, ac, bc = apps["a"], apps["b"], apps["ac"], apps["bc"]
    connection = entity_connection(account, apps, deletions_a_to_b="delete")
    acme_a = ac.add(name="Acme")
    a.add(email="ann@example.com", company_id=acme_a, first_name="Ann")
    synced(connection)
    assert len(b.by_email("ann@example.com")) == 1
    ac.remove(acme_a)
    run = synced(connection)
    undo = undo_run(run)
    assert undo.status == "succeeded", undo.error
    (again,) = [rid for rid, r in bc.records.items() if r.fields["name"] == "Acme"]
    # The company is back in B (a new record); no contact names the deleted ids.
    refs = {r.fields.get("company_id") for app in (a, b) for r in app.records.values()}
    assert refs <= {None, again}


def test_undo_puts_a_deleted_company_back_before_its_contacts_which_refer_to_it(account, apps):
    """A run deleted a company and its contact in B (both deleted in A); undoing it makes
    the company again first, and the contact again pointing at the new company: never at
    the deleted id, never left without its company."""
    a, b, ac, bc = apps["a"], apps["b"], apps["ac"], apps["bc"]
    connection = entity_connection(
        account, apps, deletions_a_to_b="delete", deletions_b_to_a="delete"
    )
    acme_a = ac.add(name="Acme")
    ann_a = a.add(email="ann@example.com", company_id=acme_a, first_name="Ann")
    synced(connection)
    old_acme_b = only(bc, name="Acme")
    a.remove(ann_a)
    ac.remove(acme_a)
    run = synced(connection)
    assert bc.records == {} and b.records == {}
    undo = undo_run(run)
    assert undo.status == "succeeded", undo.error
    again = only(bc, name="Acme")
    assert again != old_acme_b
    assert b.records[only(b, email="ann@example.com")].fields["company_id"] == again


def test_a_long_run_continues_across_entities_in_chained_runs(account, apps, settings, monkeypatch):
    import sync.engine.run as run_module

    monkeypatch.setattr(run_module, "CHUNK", 10)
    settings.SYNC_RUN_BUDGET_SECONDS = 0  # every run stops after its first chunk
    a, b, ac, bc = apps["a"], apps["b"], apps["ac"], apps["bc"]
    connection = entity_connection(account, apps)
    companies = [ac.add(name=f"Company {n}") for n in range(15)]
    for n in range(15):
        a.add(email=f"p{n}@example.com", company_id=companies[n])
    first = sync(connection, initial=True)  # tasks run inline in tests: the chain too
    assert first.progress.get("continues")
    runs = list(connection.runs.order_by("pk"))
    # 15 companies then 15 contacts, 10 a run: the second run ends the companies.
    assert [r.progress.get("continues", False) for r in runs] == [True, True, True, False]
    assert len(bc.records) == 15 and len(b.records) == 15
    by_name = {r.fields["name"]: rid for rid, r in bc.records.items()}
    for n in range(15):
        (contact,) = b.by_email(f"p{n}@example.com")
        assert b.get(contact)["company_id"] == by_name[f"Company {n}"]
    settings.SYNC_RUN_BUDGET_SECONDS = 480
    assert sync(connection).writes == 0


def test_each_entity_has_its_own_rules(account, apps):
    from sync.models import RuleFilter

    a, b, ac, bc = apps["a"], apps["b"], apps["ac"], apps["bc"]
    connection = entity_connection(account, apps)
    rule = Rule.objects.get(connection=connection, entity="company", direction="a_to_b")
    RuleFilter.objects.create(rule=rule, kind="field", field="domain", value="keep.example")
    ac.add(name="Kept", domain="keep.example")
    ac.add(name="Left", domain="other.example")
    a.add(email="ann@example.com")  # the contacts' rule has no filter: Ann syncs
    run = synced(connection)
    assert [r.fields["name"] for r in bc.records.values()] == ["Kept"]
    assert len(b.by_email("ann@example.com")) == 1
    skipped = [e for e in events(run, "skip") if e.entity == "company"]
    assert [e.reason for e in skipped] == ["out of scope"]


def test_the_ops_console_shows_a_connections_entities(account, apps, admin_client):
    from django.urls import reverse

    connection = entity_connection(account, apps)
    page = admin_client.get(reverse("admin:sync_connection_change", args=[connection.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="entities-0-entity"' in body and 'value="company"' in body


def test_a_contact_moved_to_a_new_company_keeps_the_move_when_the_old_one_dies(account, apps):
    """A deletes Acme and makes a new Acme, moving Ann to it; B deletes its Acme too. The
    run clears the references to the deleted companies by what each record holds now:
    Ann's move on A is an edit, never overwritten by the clearing, and reaches B."""
    a, b, ac, bc = apps["a"], apps["b"], apps["ac"], apps["bc"]
    connection = entity_connection(
        account, apps, deletions_a_to_b="delete", deletions_b_to_a="delete"
    )
    acme_a = ac.add(name="Acme")
    ann_a = a.add(email="ann@example.com", company_id=acme_a)
    ac.add(name="Other")
    synced(connection)
    (ann_b,) = b.by_email("ann@example.com")
    ac.remove(acme_a)
    new_acme_a = ac.add(name="Acme")
    a.edit(ann_a, company_id=new_acme_a)
    bc.remove(only(bc, name="Acme"))
    synced(connection)
    assert a.get(ann_a)["company_id"] == new_acme_a
    assert b.get(ann_b)["company_id"] == only(bc, name="Acme")
    assert synced(connection).writes == 0


@pytest.mark.parametrize("delta", [True, False], ids=["deletion feed", "complete listing"])
def test_a_company_deleted_and_made_again_on_both_sides_links_the_new_ones(
    account, fake_vendor, delta
):
    """Both apps delete Acme and make a new Acme. The deleted records hold the name no
    more, so the two new ones pair by name (never two half links held as ambiguous,
    never a duplicate): by the deletion feed or by a complete listing missing the old."""
    apps = {
        "a": fake_vendor.make_app("a", company_ref=True, delta=delta),
        "b": fake_vendor.make_app("b", company_ref=True, delta=delta),
        "ac": fake_vendor.make_app("a:companies", kind="company", delta=delta),
        "bc": fake_vendor.make_app("b:companies", kind="company", delta=delta),
    }
    ac, bc = apps["ac"], apps["bc"]
    connection = entity_connection(
        account, apps, deletions_a_to_b="delete", deletions_b_to_a="delete"
    )
    acme_a = ac.add(name="Acme")
    apps["a"].add(email="ann@example.com", company_id=acme_a)
    ac.add(name="Other")
    synced(connection)
    bc.remove(only(bc, name="Acme"))
    new_b = bc.add(name="Acme")
    ac.remove(acme_a)
    new_a = ac.add(name="Acme")
    synced(connection)
    link = RecordLink.objects.get(connection=connection, entity="company", a_id=new_a)
    assert (link.b_id, link.held, link.dirty) == (new_b, "", False)
    assert len(ac.records) == len(bc.records) == 2
    assert synced(connection).writes == 0


def test_a_company_deleted_and_made_again_twice_is_linked_each_time(account, fake_vendor):
    """A link left of no record at all (both sides deleted) is nobody: it is never a
    candidate that makes the next record of that name ambiguous."""
    options = {"delta": False, "batch_size": 1}
    apps = {
        "a": fake_vendor.make_app("a", company_ref=True, **options),
        "b": fake_vendor.make_app("b", company_ref=True, **options),
        "ac": fake_vendor.make_app("a:companies", kind="company", **options),
        "bc": fake_vendor.make_app("b:companies", kind="company", **options),
    }
    ac, bc = apps["ac"], apps["bc"]
    connection = entity_connection(
        account, apps, deletions_a_to_b="delete", deletions_b_to_a="delete"
    )
    ac.add(name="Acme")
    synced(connection)
    for _round in range(2):
        ac.remove(only(ac, name="Acme"))
        new_a = ac.add(name="Acme")
        synced(connection)
        link = RecordLink.objects.get(connection=connection, entity="company", a_id=new_a)
        assert (link.b_id, link.held) == (only(bc, name="Acme"), "")
        assert synced(connection).writes == 0


def test_a_company_put_back_keeps_its_contacts(account, apps):
    """B deletes Acme while A edits it: the edit beats the deletion and Acme is put
    back in B under a new id, and B's contacts that referred to the deleted one refer to
    the new one (never cleared while A's still point at Acme)."""
    a, b, ac, bc = apps["a"], apps["b"], apps["ac"], apps["bc"]
    connection = entity_connection(
        account, apps, deletions_a_to_b="delete", deletions_b_to_a="delete"
    )
    acme_a = ac.add(name="Acme")
    a.add(email="ann@example.com", company_id=acme_a)
    synced(connection)
    (ann_b,) = b.by_email("ann@example.com")
    ac.edit(acme_a, domain="acme.example")
    bc.remove(only(bc, name="Acme"))
    synced(connection)
    assert b.get(ann_b)["company_id"] == only(bc, name="Acme")
    assert synced(connection).writes == 0


def test_a_reference_to_an_entity_not_synced_is_left_out(account, apps):
    """Contacts only, though both apps' contacts refer to companies: the reference has
    nothing to be translated through, so it is not synced, and the contacts never wait."""
    a, b = apps["a"], apps["b"]
    acme_a = apps["ac"].add(name="Acme")
    a.add(email="ann@example.com", company_id=acme_a)
    connection = make_fake_connection(account, a, b)
    synced(connection)
    (ann_b,) = b.by_email("ann@example.com")
    assert b.get(ann_b).get("company_id") is None
    assert apps["bc"].records == {}


@pytest.mark.parametrize("delta", [True, False], ids=["deletion feed", "complete listing"])
@pytest.mark.parametrize("move", [True, False], ids=["contacts moved", "contacts left"])
def test_a_company_made_again_while_edited_on_the_other_side_is_one_company(
    account, fake_vendor, delta, move
):
    """A deletes Acme and makes a new Acme (moving its contacts to it, or not) while B
    edits Acme. The new record takes the deleted one's link: B's Acme keeps its id, its
    contacts and B's edit, which reaches A's new Acme; never a second Acme on either
    side, never the old one put back beside the new one."""
    apps = {
        "a": fake_vendor.make_app("a", company_ref=True, delta=delta),
        "b": fake_vendor.make_app("b", company_ref=True, delta=delta),
        "ac": fake_vendor.make_app("a:companies", kind="company", delta=delta),
        "bc": fake_vendor.make_app("b:companies", kind="company", delta=delta),
    }
    a, b, ac, bc = apps["a"], apps["b"], apps["ac"], apps["bc"]
    connection = entity_connection(
        account, apps, deletions_a_to_b="delete", deletions_b_to_a="delete"
    )
    acme_a = ac.add(name="Acme")
    ann_a = a.add(email="ann@example.com", company_id=acme_a)
    ac.add(name="Other")
    synced(connection)
    acme_b = only(bc, name="Acme")
    ann_b = only(b, email="ann@example.com")
    bc.edit(acme_b, domain="acme.example")
    ac.remove(acme_a)
    new_a = ac.add(name="Acme")
    if move:
        a.edit(ann_a, company_id=new_a)
    synced(connection)
    assert sorted(r.fields["name"] for r in ac.records.values()) == ["Acme", "Other"]
    assert sorted(r.fields["name"] for r in bc.records.values()) == ["Acme", "Other"]
    assert only(bc, name="Acme") == acme_b  # kept, not deleted and made again
    assert only(ac, name="Acme") == new_a
    assert ac.records[new_a].fields.get("domain") == "acme.example"  # B's edit arrived
    link = RecordLink.objects.get(connection=connection, entity="company", b_id=acme_b)
    assert (link.a_id, link.held, link.state) == (new_a, "", "linked")
    assert b.records[ann_b].fields["company_id"] == acme_b
    if move:
        assert a.records[ann_a].fields["company_id"] == new_a
    assert synced(connection).writes == 0
