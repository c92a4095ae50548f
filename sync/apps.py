from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SyncConfig(AppConfig):
    """The core app: models, engine, rules, mapping, scheduler, tenant pages, API, admin."""

    name = "sync"
    verbose_name = _("Contact sync")

    def ready(self) -> None:
        # The system checks, and lifecycle's post_delete receiver (the on_stop hooks).
        from sync import checks, lifecycle  # noqa: F401
