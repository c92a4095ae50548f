"""A run longer than the task timeout is not killed mid-write: it stops at a checkpoint
and the next run, queued at once, goes on from there."""

from __future__ import annotations

from sync.models import RunStatus
from tests.engine.support import sync


def test_a_long_initial_sync_continues_in_chained_runs(
    fake_apps, fake_connection, settings, monkeypatch
):
    import sync.engine.run as run_module

    monkeypatch.setattr(run_module, "CHUNK", 10)
    settings.SYNC_RUN_BUDGET_SECONDS = 0  # every run stops after its first chunk
    a, b = fake_apps
    for n in range(35):
        a.add(email=f"p{n}@example.com")
    first = sync(fake_connection, initial=True)  # tasks run inline in tests: the chain too
    assert first.status == RunStatus.SUCCEEDED and first.progress.get("continues")
    runs = list(fake_connection.runs.order_by("pk"))
    assert len(runs) == 4  # 35 records, 10 a run
    assert [r.progress.get("continues", False) for r in runs] == [True, True, True, False]
    assert (
        len(b.records) == 35
        and sorted(len(b.by_email(f"p{n}@example.com")) for n in range(35)) == [1] * 35
    )
    fake_connection.refresh_from_db()
    assert fake_connection.state == "active"
    settings.SYNC_RUN_BUDGET_SECONDS = 480
    assert sync(fake_connection).writes == 0
