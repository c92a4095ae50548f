"""``manage.py undo <run id>``: write a run's journaled old values back."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sync.engine import undo_run
from sync.models import SyncRun


class Command(BaseCommand):
    help = "Undo a run: write the old values it journaled back through the connectors."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        run = SyncRun.objects.filter(pk=options["run_id"]).first()
        if run is None:
            raise CommandError(f"No run {options['run_id']}.")
        undo = undo_run(run)
        self.stdout.write(
            f"Undo run {undo.pk} of run {run.pk}: {undo.status}, {undo.writes} writes"
        )
        if undo.error:
            raise CommandError(undo.error)
