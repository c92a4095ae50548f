"""An edit made in an app while a run is going is never overwritten without a trace
(issue: "A ends with B's older values, no conflict event, and A's new values are nowhere
in the journal"). Side A is listed first; the edits land on A while B is being read."""

from __future__ import annotations

import pytest

from sync.models import Connection, SyncEvent
from tests.engine.support import synced


@pytest.mark.parametrize("policy", ["most_recent", "b_wins"])
def test_edits_on_a_during_the_read_of_b_are_merged_or_journaled(
    fake_apps, fake_connection, policy
):
    a, b = fake_apps
    ids = [a.add(email=f"p{n}@example.com", company="Old") for n in range(30)]
    synced(fake_connection, initial=True)
    Connection.objects.filter(pk=fake_connection.pk).update(conflict_policy=policy)
    fake_connection.refresh_from_db()
    edited = ids[:10]
    for rid in edited:  # B's edits come first...
        (twin,) = b.by_email(a.get(rid)["email"])
        b.edit(twin, company="From B")

    def user_edits_a() -> None:  # ...then, once A is listed, someone edits A too
        b.on_fetch = None
        for rid in edited:
            a.edit(rid, company="From A, later")

    b.on_fetch = user_edits_a
    run = synced(fake_connection)
    for rid in edited:
        final = a.get(rid)["company"]
        if final == "From A, later":
            continue  # the newer edit won and was kept
        # Overwritten by the policy: then A's newer value is in the journal.
        journaled = SyncEvent.objects.filter(run=run, action="conflict").values_list(
            "changes", flat=True
        )
        assert any("From A, later" in str(c) for c in journaled), (rid, final)
    if policy == "most_recent":
        assert [a.get(rid)["company"] for rid in edited] == ["From A, later"] * 10
    # And the two sides agree afterwards.
    synced(fake_connection)
    assert {b.get(t)["company"] for rid in edited for t in b.by_email(a.get(rid)["email"])} == {
        a.get(edited[0])["company"]
    }
