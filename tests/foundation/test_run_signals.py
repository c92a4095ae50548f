"""`make run` started in the background by a script stops cleanly on SIGINT as on SIGTERM
(issue 21, point 23): a background job of a non-interactive shell inherits SIGINT
ignored, which bin/run undoes before it sets its traps. It also offers development's
CardDAV book on a local Radicale (point 25). Real processes on loopback, on a fresh var/;
bounded to about three minutes."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


# SIGTERM is the one .ci/run's smoke test sends; this adds SIGINT, which a background
# start used to ignore.
@pytest.mark.parametrize("number", [signal.SIGINT], ids=["SIGINT"])
def test_run_in_the_background_stops_on_the_signal(tmp_path: Path, number: int) -> None:
    web, sandbox, carddav = free_port(), free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "CONTACTSYNC_ENV")
    }
    env.update(
        VAR_DIR=str(tmp_path / "var"),
        WEB_PORT=str(web),
        SANDBOX_PORT=str(sandbox),
        RADICALE_PORT=str(carddav),
    )
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115 (open for the process's life)
    # As a script would: `bin/run &` in a non-interactive shell, which prints its pid. Its
    # own session, so what is left afterwards can be found (and, on failure, removed).
    shell = subprocess.Popen(  # noqa: S603 (our own bin/run, fixed arguments)
        [shutil.which("bash") or "/bin/bash", "-c", "bash bin/run & echo $!; wait"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        start_new_session=True,
    )
    run_pid = 0
    try:
        assert shell.stdout is not None
        run_pid = int(shell.stdout.readline())
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{web}/accounts/login/", timeout=2)
                break
            except OSError:
                assert shell.poll() is None, (tmp_path / "run.log").read_text()[-2000:]
                time.sleep(0.5)
        else:
            pytest.fail("bin/run served no login page within 120 s")
        while not (listening(sandbox) and listening(carddav)) and time.monotonic() < deadline:
            time.sleep(0.2)
        # Development offers a CardDAV book on a local Radicale (point 25).
        book = requests.request(
            "PROPFIND",
            f"http://127.0.0.1:{carddav}/demo/contacts/",
            auth=("demo", "demo"),
            headers={"Depth": "0"},
            timeout=10,
        )
        assert book.status_code == 207 and "addressbook" in book.text

        os.kill(run_pid, number)

        shell.wait(timeout=60)
        assert not any(listening(port) for port in (web, sandbox, carddav))
        assert "Stopped." in (tmp_path / "run.log").read_text() + shell.stdout.read().decode()
    finally:
        if shell.poll() is None:
            # bin/run's SIGTERM trap stops its children (their own sessions) first.
            if run_pid:
                os.kill(run_pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    shell.wait(timeout=60)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(shell.pid, signal.SIGKILL)
        log.close()
