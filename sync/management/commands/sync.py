"""``manage.py sync <connection id> [--dry-run] [--initial] [--json]``: run one connection
now, in this process, and print a summary."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sync.engine import run_connection
from sync.models import Connection, SyncRun, Trigger


def summary(run: SyncRun) -> dict[str, Any]:
    """What a person (or a script, with --json) wants to know about a run."""
    duration = run.duration
    return {
        "run": run.pk,
        "connection": run.connection_id,
        "trigger": run.trigger,
        "status": run.status,
        "dry_run": run.dry_run,
        "counts": run.counts,
        # Skipped and held records by reason (issue 13).
        "summary": run.match_summary,
        "writes": run.writes,
        "api_calls": run.api_calls,
        "seconds": round(duration.total_seconds(), 3) if duration else None,
        "error": run.error,
    }


class Command(BaseCommand):
    help = "Run one connection now and print a summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("connection_id", type=int)
        parser.add_argument("--dry-run", action="store_true", help="Plan only; write nothing.")
        parser.add_argument("--initial", action="store_true", help="List both sides whole.")
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")
        parser.add_argument(
            "--confirm-mass-change",
            action="store_true",
            help="Let the run through the circuit breaker.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not Connection.objects.filter(pk=options["connection_id"]).exists():
            raise CommandError(f"No connection {options['connection_id']}.")
        trigger = Trigger.PREVIEW if options["dry_run"] else Trigger.MANUAL
        if options["initial"] and not options["dry_run"]:
            trigger = Trigger.INITIAL
        run = run_connection(
            options["connection_id"],
            trigger,
            dry_run=options["dry_run"],
            initial=options["initial"],
            confirm_mass_change=options["confirm_mass_change"],
        )
        data = summary(run)
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2, default=str))
        else:
            self.stdout.write(
                f"Run {run.pk} of connection {run.connection_id}: {run.status}"
                f"{' (dry run)' if run.dry_run else ''} in {data['seconds']}s, "
                f"{run.api_calls} API calls, {run.writes} writes"
            )
            for direction, counts in sorted(run.counts.items()):
                line = ", ".join(f"{action} {n}" for action, n in sorted(counts.items()))
                self.stdout.write(f"  {direction}: {line}")
            if run.error:
                self.stdout.write(f"  error: {run.error}")
        if run.status in ("failed", "aborted"):
            raise CommandError(run.error or run.status)
