"""``manage.py setup_schedules``: create the every-minute dispatch schedule (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from sync.tasks import ensure_schedule


class Command(BaseCommand):
    help = "Create (or correct) the django-q2 schedule that dispatches due syncs every minute."

    def handle(self, *args: Any, **options: Any) -> None:
        schedule = ensure_schedule()
        self.stdout.write(f"Schedule {schedule.name!r} runs {schedule.func} every minute.")
