"""Safety: faults, retries, backoff, the empty-side guard and the circuit breaker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sync.models import AppAuthorization, Connection, RecordLink
from tests.engine.support import events, sync, synced
from tests.plugins.fake import make_fake_connection


def test_one_failing_record_is_logged_and_retried_next_run(fake_apps, fake_connection):
    a, b = fake_apps
    a.add(email="one@example.com")
    a.add(email="two@example.com")
    b.fail_write = {1}  # B refuses the first record written
    run = sync(fake_connection)
    assert run.status == "partial"
    assert len(b.records) == 1  # the other one went through
    (error,) = events(run, "error")
    assert "invalid value" in error.error
    assert RecordLink.objects.filter(connection=fake_connection).exclude(last_error="").count() == 1
    synced(fake_connection)
    assert len(b.records) == 2
    assert not RecordLink.objects.filter(connection=fake_connection).exclude(last_error="")


def test_crash_after_a_create_never_duplicates(fake_apps, fake_connection):
    a, b = fake_apps
    for n in range(5):
        a.add(email=f"p{n}@example.com")
    b.crash_after_write = {3}  # the third create happens, its answer is lost
    run = sync(fake_connection)
    assert run.status == "failed"
    synced(fake_connection)
    assert len(b.records) == 5
    assert synced(fake_connection).writes == 0


def test_crash_after_a_create_of_a_contact_without_email_never_duplicates(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b, avoid_duplicates=False)
    a.add(first_name="Nomail")
    b.crash_after_write = {1}
    assert sync(connection).status == "failed"
    synced(connection)
    assert len(b.records) == 1  # the retried create carried the same idempotency key


@pytest.mark.parametrize("listing", [False, True], ids=["delta", "listing"])
def test_a_lost_create_without_email_on_an_app_that_forgets_keys_is_recognised(
    fake_vendor, account, listing
):
    # The worst case: no email to match by, and an app that neither reports nor honours
    # our idempotency key (a retried create would make a second record).
    a = fake_vendor.make_app("a", delta=not listing)
    b = fake_vendor.make_app("b", keeps_create_keys=False, delta=not listing)
    connection = make_fake_connection(account, a, b, avoid_duplicates=False)
    a.add(first_name="Nomail", last_name="Person", company="Acme", tags=["vip"])
    a.add(first_name="Other", last_name="Person")
    b.crash_after_write = {1}  # the first create happens, its answer is lost
    assert sync(connection).status == "failed"
    assert RecordLink.objects.exclude(create_signature="").count() >= 1
    synced(connection)
    assert len(b.records) == 2 and len(a.records) == 2  # nothing twice, nothing synced back
    assert synced(connection).writes == 0
    assert not RecordLink.objects.exclude(create_signature="").exists()
    assert RecordLink.objects.filter(a_id__isnull=False, b_id__isnull=False).count() == 2


def test_auth_failure_pauses_the_connection_and_flags_the_authorization(fake_apps, fake_connection):
    _a, b = fake_apps
    b.auth_failure = True
    run = sync(fake_connection)
    assert run.status == "failed"
    assert fake_connection.state == "paused"
    authorization = AppAuthorization.objects.get(pk=fake_connection.b_authorization_id)
    assert authorization.health == "auth_failed"
    assert "revoked" in authorization.health_message


def test_rate_limit_fails_the_run_with_growing_backoff(fake_apps, fake_connection):
    a, _b = fake_apps
    a.rate_limited_calls = 2
    before = timezone.now()
    assert sync(fake_connection).status == "failed"
    first_delay = fake_connection.next_run_at - before
    assert first_delay >= timedelta(seconds=120)  # Retry-After honoured
    assert sync(fake_connection).status == "failed"
    assert fake_connection.consecutive_failures == 2
    assert fake_connection.next_run_at - timezone.now() > first_delay
    synced(fake_connection)
    assert fake_connection.consecutive_failures == 0


def test_backoff_is_capped(fake_apps, fake_connection):
    a, _b = fake_apps
    Connection.objects.filter(pk=fake_connection.pk).update(consecutive_failures=30)
    fake_connection.refresh_from_db()
    a.rate_limited_calls = 1
    sync(fake_connection)
    assert fake_connection.next_run_at - timezone.now() <= timedelta(hours=6)


def test_side_that_suddenly_lists_nothing_aborts_the_run(fake_vendor, account):
    a = fake_vendor.make_app("a", delta=False)
    b = fake_vendor.make_app("b")
    connection = make_fake_connection(account, a, b, deletions_a_to_b="delete")
    for n in range(3):
        a.add(email=f"p{n}@example.com")
    synced(connection)
    a.records.clear()  # e.g. the scope was emptied or access narrowed
    run = sync(connection)
    assert run.status == "aborted"
    assert "listed no contacts" in run.error
    assert len(b.records) == 3


def test_circuit_breaker_pauses_a_mass_deletion(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(
        account, a, b, deletions_a_to_b="delete", breaker_count=3, breaker_share=0.5
    )
    ids = [a.add(email=f"p{n}@example.com") for n in range(5)]
    synced(connection)
    for record_id in ids[:4]:
        a.remove(record_id)
    run = sync(connection)
    assert run.status == "aborted"
    assert connection.state == "paused"
    assert "delete, unsubscribe or overwrite 4" in connection.state_reason
    assert len(b.records) == 5
    confirmed = sync(connection, confirm_mass_change=True)
    assert confirmed.status == "succeeded"
    assert len(b.records) == 1


def test_small_change_passes_the_circuit_breaker(fake_apps, account):
    a, b = fake_apps
    connection = make_fake_connection(account, a, b, deletions_a_to_b="delete", breaker_count=3)
    ids = [a.add(email=f"p{n}@example.com") for n in range(5)]
    synced(connection)
    a.remove(ids[0])
    synced(connection)
    assert len(b.records) == 4


def test_a_claimed_connection_is_not_run_twice(fake_apps, fake_connection):
    assert Connection.objects.claim(fake_connection.pk, "other-worker")
    run = sync(fake_connection)
    assert run.status == "aborted"
    assert "in progress" in run.error


def test_stale_claim_is_taken_over(fake_apps, fake_connection):
    Connection.objects.filter(pk=fake_connection.pk).update(
        claimed_by="dead-worker", claimed_until=timezone.now() - timedelta(seconds=1)
    )
    assert synced(fake_connection).status == "succeeded"
    fake_connection.refresh_from_db()
    assert fake_connection.claimed_by == ""


def test_a_record_refused_the_same_way_every_run_is_reported_once(fake_apps, fake_connection):
    a, b = fake_apps
    a.add(email="bad@example.com")
    a.add(email="good@example.com")
    b.fail_write = set(range(1, 50))  # B refuses every write: a permanently invalid record
    for _ in range(3):
        sync(fake_connection)
    errors = fake_connection.events.filter(action="error")
    assert errors.count() == 2  # one per failing record, not one per record per run
    b.fail_write = set()
    synced(fake_connection)
    assert len(b.records) == 2
