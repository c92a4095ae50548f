"""The sandbox server itself, with a minimal emulator: mounting, counting, faults, rate
limits, the control API and the state file. Vendor fidelity is tested per vendor."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.sandbox import Emulator, RateLimits, SandboxRequest, SandboxResponse, route
from connectors.sandbox.control import SandboxControl
from connectors.sandbox.server import SandboxServer, discover_emulators


class NotesEmulator(Emulator):
    """The smallest useful emulator: notes behind an API key."""

    vendor = "notes"
    rate_limits = RateLimits(per_second=2)

    def reset(self) -> None:
        self.state = {"keys": [], "notes": {}}

    @route("GET", "/api/notes/{note_id}")
    def get_note(self, request: SandboxRequest, note_id: str) -> SandboxResponse:
        if request.header("x-api-key") not in self.state["keys"]:
            raise self.fail(401, "bad key")
        if note_id not in self.state["notes"]:
            raise self.fail(404, "no such note")
        return SandboxResponse.json(self.state["notes"][note_id])

    @route("PUT", "/api/notes/{note_id}")
    def put_note(self, request: SandboxRequest, note_id: str) -> SandboxResponse:
        self.state["notes"][note_id] = request.json()
        return SandboxResponse.empty(204)

    def rate_limit_key(self, request: SandboxRequest) -> str:
        return request.header("x-api-key")

    def create_account(self, **options: Any) -> dict[str, Any]:
        self.state["keys"].append(options["key"])
        return {"key": options["key"]}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SandboxServer]:
    running = SandboxServer({"notes": NotesEmulator()}, state_file=tmp_path / "s.json").start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def control(server: SandboxServer) -> SandboxControl:
    control = SandboxControl(server.url)
    control.create_account("notes", key="k1")
    return control


def get(server: SandboxServer, path: str, key: str = "k1") -> requests.Response:
    return requests.get(f"{server.url}/notes{path}", headers={"X-Api-Key": key}, timeout=5)


def test_an_emulator_answers_under_its_vendor_segment(
    server: SandboxServer, control: SandboxControl
) -> None:
    requests.put(f"{server.url}/notes/api/notes/n1", json={"text": "hi"}, timeout=5)
    assert get(server, "/api/notes/n1").json() == {"text": "hi"}
    assert get(server, "/api/notes/n1", key="bad").status_code == 401


def test_an_unknown_vendor_or_path_is_404(server: SandboxServer, control: SandboxControl) -> None:
    assert requests.get(f"{server.url}/nobody/x", timeout=5).status_code == 404
    assert get(server, "/api/elsewhere").status_code == 404


def test_requests_are_counted_per_endpoint(server: SandboxServer, control: SandboxControl) -> None:
    get(server, "/api/notes/a")
    get(server, "/api/notes/b")
    counts = control.requests("notes")["endpoints"]
    assert counts == {"GET /api/notes/{note_id}": 2}


def test_injected_throttling_carries_retry_after(
    server: SandboxServer, control: SandboxControl
) -> None:
    control.faults("notes", throttle_count=1, retry_after=2.5)
    first, second = get(server, "/api/notes/x"), get(server, "/api/notes/x")
    assert (first.status_code, first.headers["Retry-After"]) == (429, "2.5")
    assert second.status_code == 404


def test_faults_can_target_one_endpoint(server: SandboxServer, control: SandboxControl) -> None:
    control.faults("notes", error_count=5, only="^PUT ")
    assert get(server, "/api/notes/x").status_code == 404
    put = requests.put(f"{server.url}/notes/api/notes/x", json={}, timeout=5)
    assert put.status_code == 503


def test_added_latency_delays_the_answer(server: SandboxServer, control: SandboxControl) -> None:
    control.faults("notes", latency_ms=300)
    started = time.monotonic()
    get(server, "/api/notes/x")
    assert time.monotonic() - started >= 0.3


def test_a_dropped_connection_gets_no_answer(
    server: SandboxServer, control: SandboxControl
) -> None:
    control.faults("notes", drop_count=1)
    with pytest.raises(requests.ConnectionError):
        get(server, "/api/notes/x")
    assert get(server, "/api/notes/x").status_code == 404


def test_an_error_share_is_repeatable_from_its_seed(
    server: SandboxServer, control: SandboxControl
) -> None:
    def statuses() -> list[int]:
        control.faults("notes", error_rate=0.5, seed=3)
        return [get(server, "/api/notes/x").status_code for _ in range(8)]

    first = statuses()
    assert first == statuses()
    assert {404, 503} == set(first)


def test_the_vendors_real_limits_apply_when_enabled(
    server: SandboxServer, control: SandboxControl
) -> None:
    control.faults("notes", rate_limits=True)
    answers = [get(server, "/api/notes/x").status_code for _ in range(3)]
    assert answers == [404, 404, 429]
    assert control.requests("notes")["faults"]["limited"] == 1


def test_requests_in_flight_at_once_are_counted_per_account(
    server: SandboxServer, control: SandboxControl
) -> None:
    control.create_account("notes", key="k2")
    control.faults("notes", latency_ms=300)
    threads = [
        threading.Thread(target=get, args=(server, "/api/notes/x", key))
        for key in ("k1", "k1", "k1", "k2")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seen = control.requests("notes")["max_in_flight"]
    assert seen["*"] == 3  # k1's three overlapped; k2 is another account
    assert sorted(v for k, v in seen.items() if k != "*") == [1, 3]
    assert "k1" not in str(seen)  # keys are credentials: only digests are shown
    control.reset("notes")
    assert control.requests("notes")["max_in_flight"] == {"*": 0}


def test_a_window_limit_is_reported_on_every_answer_where_the_vendor_does(
    server: SandboxServer, control: SandboxControl
) -> None:
    reported: list[tuple[int, int, float]] = []
    emulator = server.mounts["notes"].emulator

    def headers(limit: int, remaining: int, reset: float) -> dict[str, str]:
        reported.append((limit, remaining, reset))
        return {"X-Left": str(remaining)}

    emulator.rate_limit_headers = headers  # type: ignore[method-assign]
    control.faults("notes", rate_limits={"window": 3, "window_seconds": 60, "per_second": 0})
    answers = [get(server, "/api/notes/x") for _ in range(4)]
    assert [a.headers.get("X-Left") for a in answers] == ["2", "1", "0", None]
    assert answers[3].status_code == 429
    assert reported[0][0] == 3 and 0 < reported[0][2] <= 60


def test_unknown_fault_settings_are_refused(control: SandboxControl) -> None:
    with pytest.raises(RuntimeError, match="unknown fault settings"):
        control.faults("notes", error_ratio=0.5)


def test_reset_forgets_state_counts_and_faults(
    server: SandboxServer, control: SandboxControl
) -> None:
    control.faults("notes", error_count=9)
    control.reset()
    assert get(server, "/api/notes/x").status_code == 401  # the key is gone too
    assert control.requests("notes")["endpoints"] == {"GET /api/notes/{note_id}": 1}


def test_state_survives_a_restart_through_the_state_file(tmp_path: Path) -> None:
    state_file = tmp_path / "sandbox.json"
    first = SandboxServer({"notes": NotesEmulator()}, state_file=state_file).start()
    SandboxControl(first.url).create_account("notes", key="kept")
    first.stop()
    second = SandboxServer({"notes": NotesEmulator()}, state_file=state_file).start()
    try:
        assert get(second, "/api/notes/x", key="kept").status_code == 404  # key accepted
    finally:
        second.stop()


def test_emulators_are_discovered_from_the_registry() -> None:
    assert "getresponse" in discover_emulators()
