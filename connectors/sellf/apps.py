"""Django app of the Sellf connector; its label is the registry key."""

from __future__ import annotations

from django.apps import AppConfig


class SellfConfig(AppConfig):
    """The Sellf connector app (label ``sellf``)."""

    name = "connectors.sellf"
    label = "sellf"
    verbose_name = "Sellf"
