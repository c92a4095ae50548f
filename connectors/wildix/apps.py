"""Django app of the Wildix connector; its label is the registry key."""

from __future__ import annotations

from django.apps import AppConfig


class WildixConfig(AppConfig):
    """The Wildix connector app (label ``wildix``)."""

    name = "connectors.wildix"
    label = "wildix"
    verbose_name = "Wildix"
