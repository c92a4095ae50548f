"""The connector contract (connectors/base.py), checked for every connector over real
HTTP against its own server. See tests/contract/README.md to plug a connector in."""

from __future__ import annotations

import pytest

from connectors.base import AuthError, Change, Page, RateLimited
from tests.contract.harness import Harness


def listing(harness: Harness) -> list[Page]:
    return list(harness.connector().fetch(None))


def ids_of(pages: list[Page]) -> list[str]:
    return [record.id for page in pages for record in page.records]


def test_check_accepts_good_credentials(harness: Harness) -> None:
    connector = harness.connector()
    connector.check()
    assert connector.http.calls >= 1  # it asked the server, not just itself


def test_check_rejects_bad_credentials(harness: Harness) -> None:
    with pytest.raises(AuthError):
        harness.bad_connector().check()


def test_fields_list_standard_and_custom_fields(harness: Harness) -> None:
    specs = harness.connector().fields()
    keys = [spec.key for spec in specs]
    assert len(keys) == len(set(keys)), "field keys must be unique"
    assert harness.expected_common <= {spec.common for spec in specs}
    if harness.expected_custom:
        custom = {spec.key: spec for spec in specs if spec.custom}
        assert harness.expected_custom in custom


def test_scopes_offer_the_scope_under_test(harness: Harness) -> None:
    assert harness.scope in {scope.id for scope in harness.connector().scopes()}


def test_full_listing_pages_over_several_pages(harness: Harness) -> None:
    seeded = harness.seed(3 * harness.page_size + 1)
    pages = listing(harness)
    ids = ids_of(pages)
    assert len(pages) >= 3
    assert sorted(ids) == sorted(seeded), "every record exactly once"
    assert [page.complete for page in pages] == [False] * (len(pages) - 1) + [True]
    assert pages[-1].cursor is not None


def test_delta_read_returns_what_changed_since_the_cursor(harness: Harness) -> None:
    seeded = harness.seed(2 * harness.page_size + 1)
    cursor = listing(harness)[-1].cursor
    connector = harness.connector()
    [result] = connector.push(
        [Change("update", "k", id=seeded[0], fields=harness.changed_fields())]
    )
    assert result.error is None
    delta = list(harness.connector().fetch(cursor))
    changed = ids_of(delta)
    assert seeded[0] in changed
    assert len(set(changed)) < len(seeded), "a delta is not a full listing"
    assert not any(page.complete for page in delta), "a delta never proves a deletion"


def test_creates_in_a_batch_return_new_ids_in_order(harness: Harness) -> None:
    changes = [Change("create", f"new-{i}", fields=harness.new_fields(i)) for i in range(3)]
    results = harness.connector().push(changes)
    assert [r.key for r in results] == ["new-0", "new-1", "new-2"]
    assert all(r.error is None and r.id for r in results), results
    assert set(ids_of(listing(harness))) == {r.id for r in results}


def test_updates_in_a_batch_are_stored(harness: Harness) -> None:
    seeded = harness.seed(2)
    changes = [
        Change("update", f"u-{i}", id=record_id, fields=harness.changed_fields())
        for i, record_id in enumerate(seeded)
    ]
    results = harness.connector().push(changes)
    assert [(r.key, r.id, r.error) for r in results] == [
        ("u-0", seeded[0], None),
        ("u-1", seeded[1], None),
    ]
    stored = {r.id: r for page in listing(harness) for r in page.records}
    for record_id in seeded:
        for key, value in harness.changed_fields().items():
            assert stored[record_id].fields[key] == value


def test_deletes_in_a_batch_remove_the_records(harness: Harness) -> None:
    seeded = harness.seed(3)
    results = harness.connector().push([Change("delete", s, id=s) for s in seeded[:2]])
    assert all(r.error is None for r in results)
    assert ids_of(listing(harness)) == [seeded[2]]


def test_one_refused_record_does_not_fail_the_batch(harness: Harness) -> None:
    changes = [
        Change("create", "good", fields=harness.new_fields(1)),
        Change("create", "bad", fields=harness.invalid_fields()),
    ]
    good, bad = harness.connector().push(changes)
    assert good.error is None and good.id
    assert bad.error is not None and bad.error.permanent


def test_update_of_a_missing_record_is_a_permanent_error(harness: Harness) -> None:
    change = Change("update", "gone", id="does-not-exist-0", fields=harness.changed_fields())
    [result] = harness.connector().push([change])
    assert result.error is not None
    assert result.error.permanent


def test_a_rate_limit_is_waited_out_and_retried(harness: Harness) -> None:
    seeded = harness.seed(2)
    connector = harness.connector()
    with harness.fault(connector, "throttle", count=1, retry_after=0.2) as served:
        pages = list(connector.fetch(None))
    assert served.count == 1
    assert sorted(ids_of(pages)) == sorted(seeded)


def test_a_long_rate_limit_surfaces_as_rate_limited(harness: Harness) -> None:
    connector = harness.connector()
    with (
        harness.fault(connector, "throttle", count=1, retry_after=3600),
        pytest.raises(RateLimited) as caught,
    ):
        list(connector.fetch(None))
    assert caught.value.retry_after >= 60


def test_server_errors_on_reads_are_retried(harness: Harness) -> None:
    seeded = harness.seed(2)
    connector = harness.connector()
    with harness.fault(connector, "server_error", count=2) as served:
        pages = list(connector.fetch(None))
    assert served.count == 2
    assert sorted(ids_of(pages)) == sorted(seeded)
