"""``manage.py sandbox``: serve every vendor's emulator in one process (DESIGN.md §5)."""

from __future__ import annotations

import os
import signal
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from connectors.sandbox.server import SandboxServer


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    """Run the sandbox server until interrupted."""

    help = (
        "Serve the vendor emulators under /<vendor>/ and the control API under /_sandbox/. "
        "The demo tenant's accounts are created unless --no-demo."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument(
            "--state-file",
            default=str(settings.VAR_DIR / "sandbox.json"),
            help="Keep state in this JSON file across restarts (default var/sandbox.json), "
            "so the demo connection's links stay valid when `make run` restarts.",
        )
        parser.add_argument(
            "--memory", action="store_true", help="Keep state in memory only (no state file)."
        )
        parser.add_argument(
            "--no-demo", action="store_true", help="Do not create the demo accounts."
        )
        parser.add_argument(
            "--google-carddav",
            default=os.environ.get("SANDBOX_GOOGLE_CARDDAV", ""),
            help="The CardDAV server behind the Google emulator's CardDAV host, as "
            "http://user:password@host:port/ (default $SANDBOX_GOOGLE_CARDDAV, which bin/run "
            "sets to its Radicale; an environment variable keeps the password out of ps).",
        )
        parser.add_argument(
            "--strict",
            action="store_true",
            help="Refuse whatever the vendors would refuse (connectors/sandbox/emulator.py).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        state_file = "" if options["memory"] else options["state_file"]
        if state_file and not state_file.startswith("/"):
            state_file = str(settings.BASE_DIR / state_file)
        server = SandboxServer(
            host=options["host"],
            port=options["port"],
            state_file=state_file or None,
            demo=not options["no_demo"],
            strict=options["strict"],
        )
        if options["google_carddav"] and "google" in server.mounts:
            upstream = urlsplit(options["google_carddav"])
            server.mounts["google"].emulator.action_carddav(  # type: ignore[attr-defined]
                url=upstream._replace(netloc=upstream.netloc.rpartition("@")[2]).geturl(),
                username=unquote(upstream.username or ""),
                password=unquote(upstream.password or ""),
            )
        # SIGTERM (bin/run stopping its children) ends like Ctrl-C: state saved on the way out.
        signal.signal(signal.SIGTERM, _interrupt)
        vendors = ", ".join(sorted(server.mounts)) or "none"
        self.stdout.write(f"Sandbox on {server.url} (vendors: {vendors}); Ctrl-C to stop.")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Sandbox stopped.")
