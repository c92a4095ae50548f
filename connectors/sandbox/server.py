"""One HTTP server for every vendor emulator, plus the control API.

- ``/<vendor>/<the vendor's real path>``: the vendor's emulator, e.g.
  ``/getresponse/v3/contacts``. Requests are counted per endpoint; faults and the vendor's
  rate limits are applied here, in front of the emulator.
- ``/_sandbox/...``: the control API (JSON), used by tests, the demo and benchmarks:

  ====== =============================== ==============================================
  GET    /_sandbox/                      vendors mounted
  POST   /_sandbox/reset                 forget all state, counts and faults, strict
                                         mode back to the server's default
                                         (``{"vendor": "…"}`` for one vendor)
  GET|PUT /_sandbox/strict               strict mode per vendor (``{"strict": true}``,
                                         ``"vendor"`` for one); see emulator.py
  GET    /_sandbox/requests              request counts per vendor and endpoint, and
                                         the most requests seen in flight at once
                                         (``max_in_flight``: ``"*"`` and per account)
  POST   /_sandbox/<vendor>/accounts     create an account; answers its API key etc.
  POST   /_sandbox/<vendor>/seed         ``{"account", "count", "seed", …}``
  GET    /_sandbox/<vendor>/state        the vendor's state (``?account=`` one account)
  GET|PUT|DELETE /_sandbox/<vendor>/faults   see connectors/sandbox/faults.py
  POST   /_sandbox/<vendor>/actions/<name>   vendor-specific "user did X in the app"
  ====== =============================== ==============================================

Emulators are found through the registry: ``connectors/<vendor>/sandbox.py`` defining
``EMULATOR`` (a subclass of ``connectors.sandbox.Emulator``) is all a vendor adds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import import_module
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from connectors.sandbox.emulator import Emulator, SandboxRequest, SandboxResponse
from connectors.sandbox.faults import Faults, Injector, Limiter, limits_from

logger = logging.getLogger(__name__)

# Save the state file at most this often (seconds) while requests change it.
SAVE_INTERVAL = 1.0


def discover_emulators() -> dict[str, Emulator]:
    """One emulator per registered vendor that ships ``connectors/<vendor>/sandbox.py``."""
    from connectors.registry import VENDORS

    found: dict[str, Emulator] = {}
    for vendor in VENDORS:
        module_name = f"connectors.{vendor}.sandbox"
        try:
            module = import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        found[vendor] = module.EMULATOR()
    return found


class _Mount:
    """An emulator with what the server keeps for it: counts, faults, limiter."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.injector = Injector()
        self.limiter: Limiter | None = None
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()
        # Requests being answered per rate-limit key (account), and the most seen at
        # once: what tests of the connectors' parallelism read.
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}

    def set_faults(self, faults: Faults) -> None:
        self.injector.set(faults)
        limits = limits_from(faults.rate_limits, self.emulator.rate_limits)
        self.limiter = Limiter(limits) if limits else None

    def count(self, endpoint: str) -> None:
        with self.lock:
            self.counts[endpoint] = self.counts.get(endpoint, 0) + 1

    def begin(self, key: str) -> None:
        with self.lock:
            now = self.in_flight[key] = self.in_flight.get(key, 0) + 1
            self.max_in_flight[key] = max(self.max_in_flight.get(key, 0), now)

    def end(self, key: str) -> None:
        with self.lock:
            self.in_flight[key] -= 1

    def concurrency(self) -> dict[str, int]:
        """The most requests seen in flight at once: ``"*"`` of any one account, and
        per account under a short digest of its key (keys are credentials)."""
        with self.lock:
            per_key = {
                hashlib.sha256(key.encode()).hexdigest()[:12]: most
                for key, most in self.max_in_flight.items()
            }
        return {"*": max(per_key.values(), default=0), **per_key}


class SandboxServer:
    """The sandbox: start() in a thread (tests), or serve_forever() (the command)."""

    def __init__(
        self,
        emulators: dict[str, Emulator] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file: str | Path | None = None,
        demo: bool = False,
        strict: bool = False,
    ) -> None:
        self.mounts = {
            vendor: _Mount(emulator)
            for vendor, emulator in (
                emulators if emulators is not None else discover_emulators()
            ).items()
        }
        self.strict = strict  # what a reset returns every emulator to
        for mount in self.mounts.values():
            mount.emulator.strict = strict
        self.state_file = Path(state_file) if state_file else None
        self.dirty = threading.Event()
        self.stopping = threading.Event()
        if self.state_file and self.state_file.exists():
            self._load()
        if demo:
            for mount in self.mounts.values():
                with mount.emulator.lock:
                    mount.emulator.demo()
            self.dirty.set()
        self.httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self.httpd.daemon_threads = True
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SandboxServer:
        """Serve in background threads; returns at once."""
        serve = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sandbox",
            daemon=True,
        )
        serve.start()
        self._threads.append(serve)
        self._start_saver()
        return self

    def serve_forever(self) -> None:
        """Serve until interrupted; the state file is saved on the way out."""
        self._start_saver()
        try:
            self.httpd.serve_forever()
        finally:
            self.stop()

    def stop(self) -> None:
        self.stopping.set()
        if any(t.name == "sandbox" for t in self._threads):
            self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._save()

    # --- Persistence.

    def _start_saver(self) -> None:
        if not self.state_file:
            return

        def save_while_running() -> None:
            while not self.stopping.wait(SAVE_INTERVAL):
                if self.dirty.is_set():
                    self._save()

        saver = threading.Thread(target=save_while_running, name="sandbox-saver", daemon=True)
        saver.start()
        self._threads.append(saver)

    def _save(self) -> None:
        if not self.state_file or not self.dirty.is_set():
            return
        self.dirty.clear()
        data = {vendor: mount.emulator.dump() for vendor, mount in self.mounts.items()}
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        partial = self.state_file.with_suffix(".tmp")
        partial.write_text(json.dumps(data))
        os.replace(partial, self.state_file)  # atomic: a crash never leaves half a file

    def _load(self) -> None:
        assert self.state_file is not None
        try:
            data = json.loads(self.state_file.read_text())
        except ValueError:
            logger.warning("Ignoring unreadable sandbox state file %s", self.state_file)
            return
        for vendor, state in data.items():
            if vendor in self.mounts:
                self.mounts[vendor].emulator.load(state)

    # --- Dispatch.

    def dispatch(self, request: SandboxRequest) -> SandboxResponse:
        """Answer one request: control API, or a vendor emulator behind faults."""
        segments = request.path.split("/", 2)
        head = segments[1] if len(segments) > 1 else ""
        if head == "_sandbox":
            return self._control(request, "/" + (segments[2] if len(segments) > 2 else ""))
        mount = self.mounts.get(head)
        if mount is None:
            return SandboxResponse.json({"error": f"no emulator mounted at /{head}/"}, 404)
        vendor_request = SandboxRequest(
            method=request.method,
            path="/" + (segments[2] if len(segments) > 2 else ""),
            query=request.query,
            headers=request.headers,
            body=request.body,
        )
        return self._vendor(mount, vendor_request)

    def _vendor(self, mount: _Mount, request: SandboxRequest) -> SandboxResponse:
        emulator = mount.emulator
        endpoint = emulator.endpoint(request)
        mount.count(endpoint)
        # WebDAV's PROPFIND and REPORT read (Google's CardDAV host).
        is_write = request.method not in ("GET", "HEAD", "OPTIONS", "PROPFIND", "REPORT")
        decision = mount.injector.decide(endpoint, is_write)
        limiter = mount.limiter
        key = emulator.rate_limit_key(request)
        if limiter:
            wait, which, size = limiter.admit(key)
            if wait:
                with mount.injector.lock:
                    mount.injector.served["limited"] += 1
                response = emulator.rate_limited(wait, injected=False)
                response.headers.setdefault("X-Sandbox-Limit", f"{which}={size}")
                return response
        mount.begin(key)
        try:
            if decision.latency:  # in flight while slow: counts against the parallel limit
                time.sleep(decision.latency)
            if decision.kind == "drop":
                return SandboxResponse(drop=True)
            if decision.kind == "throttle":
                return emulator.rate_limited(mount.injector.faults.retry_after, injected=True)
            if decision.kind == "error":
                return emulator.error(mount.injector.faults.error_status, "Injected sandbox fault")
            response = emulator.handle(request)
        finally:
            mount.end(key)
            if limiter:
                limiter.release(key)
        status = limiter.status(key) if limiter else None
        if status is not None:
            response.headers.update(emulator.rate_limit_headers(*status))
        if is_write and response.status < 400:
            self.dirty.set()
        return response

    def _control(self, request: SandboxRequest, path: str) -> SandboxResponse:
        try:
            body = request.json() or {}
        except ValueError:
            return SandboxResponse.json({"error": "body is not JSON"}, 400)
        parts = [p for p in path.split("/") if p]
        try:
            response = self._control_route(request.method, parts, body, request)
        except (KeyError, TypeError, ValueError) as exc:
            return SandboxResponse.json({"error": f"{type(exc).__name__}: {exc}"}, 400)
        if request.method != "GET":
            self.dirty.set()
        return response

    def _control_route(
        self, method: str, parts: list[str], body: dict[str, Any], request: SandboxRequest
    ) -> SandboxResponse:
        ok = SandboxResponse.json
        if not parts:
            return ok({"vendors": sorted(self.mounts)})
        if parts == ["reset"] and method == "POST":
            vendors = [body["vendor"]] if body.get("vendor") else list(self.mounts)
            for vendor in vendors:
                mount = self.mounts[vendor]
                with mount.emulator.lock:
                    mount.emulator.reset()
                mount.set_faults(Faults())
                mount.emulator.strict = self.strict
                with mount.lock:
                    mount.counts.clear()
                    mount.max_in_flight.clear()
            return ok({"reset": vendors})
        if parts == ["strict"]:
            if method == "PUT":
                chosen = [body["vendor"]] if body.get("vendor") else list(self.mounts)
                for vendor in chosen:
                    self.mounts[vendor].emulator.strict = bool(body.get("strict", True))
            return ok({vendor: mount.emulator.strict for vendor, mount in self.mounts.items()})
        if parts == ["requests"] and method == "GET":
            return ok(
                {
                    vendor: {
                        "endpoints": dict(mount.counts),
                        "faults": mount.injector.served,
                        "max_in_flight": mount.concurrency(),
                    }
                    for vendor, mount in self.mounts.items()
                }
            )
        vendor, rest = parts[0], parts[1:]
        if vendor not in self.mounts:
            return ok({"error": f"no emulator for {vendor!r}"}, 404)
        mount = self.mounts[vendor]
        emulator = mount.emulator
        if rest == ["accounts"] and method == "POST":
            with emulator.lock:
                return ok(emulator.create_account(**body), 201)
        if rest == ["seed"] and method == "POST":
            with emulator.lock:
                return ok(emulator.seed(**body))
        if rest == ["state"] and method == "GET":
            with emulator.lock:
                return ok(json.loads(json.dumps(emulator.view(request.arg("account")))))
        if rest == ["faults"]:
            if method == "PUT":
                mount.set_faults(Faults.from_json(body))
            elif method == "DELETE":
                mount.set_faults(Faults())
            return ok(mount.injector.faults.to_json())
        if len(rest) == 2 and rest[0] == "actions" and method == "POST":
            action = getattr(emulator, f"action_{rest[1]}", None)
            if action is None:
                return ok({"error": f"{vendor} has no action {rest[1]!r}"}, 404)
            with emulator.lock:
                return ok(action(**body))
        return ok({"error": f"no control endpoint {method} /{'/'.join(parts)}"}, 404)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as vendors' APIs do

            def setup(self) -> None:
                super().setup()
                # Headers and body leave in two writes: without this, Nagle's algorithm
                # and delayed ACKs add ~40 ms to every keep-alive request.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = SandboxRequest.build(
                    self.command, url.path, url.query, dict(self.headers.items()), body
                )
                try:
                    response = server.dispatch(request)
                except Exception:  # an emulator bug must answer 500, not hang the client
                    logger.exception("sandbox failed on %s %s", self.command, self.path)
                    response = SandboxResponse.json({"error": "sandbox bug"}, 500)
                if response.drop:
                    self.close_connection = True
                    with contextlib.suppress(OSError):  # the client may be gone already
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if response.body and self.command != "HEAD":
                    self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve
            # WebDAV's, for CardDAV emulators (Google's CardDAV host).
            do_PROPFIND = do_REPORT = do_MKCOL = do_OPTIONS = do_PROPPATCH = _serve

            def log_message(self, format: str, *args: Any) -> None:
                logger.debug("sandbox: " + format, *args)

        return Handler
