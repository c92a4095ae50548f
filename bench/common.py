"""What several benchmarks share: Django on the test settings, quiet, migrated."""

from __future__ import annotations

import os
from pathlib import Path


def configure_django(sqlite_name: str | None, *, flush: bool = False) -> None:
    """Django on the test settings with warnings only in the log, migrated: on a fresh
    SQLite file ``/tmp/<sqlite_name>.sqlite3``, or (None) on DATABASE_URL as it is,
    emptied first when ``flush``."""
    if sqlite_name is not None:
        path = Path(f"/tmp/{sqlite_name}.sqlite3")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("CONTACTSYNC_ENV", "test")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.test_settings"
    import django
    from django.core.management import call_command

    django.setup()
    if flush:
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)
