from django.apps import AppConfig


class SyncConfig(AppConfig):
    """The core app: models, engine, rules, mapping, scheduler, tenant pages, API, admin."""

    name = "sync"
    verbose_name = "Contact sync"

    def ready(self) -> None:
        from sync import checks  # noqa: F401  (registers the system checks)
