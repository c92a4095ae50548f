"""Django app of the ForceManager connector; its label is the registry key."""

from __future__ import annotations

from django.apps import AppConfig


class ForceManagerConfig(AppConfig):
    """The ForceManager connector app (label ``forcemanager``)."""

    name = "connectors.forcemanager"
    label = "forcemanager"
    verbose_name = "ForceManager"
