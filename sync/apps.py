from django.apps import AppConfig


class SyncConfig(AppConfig):
    """The core app: models, engine, rules, mapping, scheduler, tenant pages, API, admin."""

    name = "sync"
    verbose_name = "Contact sync"

    def ready(self) -> None:
        # The system checks, and lifecycle's post_delete receiver (the on_stop hooks).
        from sync import checks, lifecycle  # noqa: F401
