"""Django app of the CardDAV connector (label "carddav", the registry key)."""

from __future__ import annotations

from django.apps import AppConfig


class CardDavConfig(AppConfig):
    """The CardDAV vendor package."""

    name = "connectors.carddav"
    label = "carddav"
    verbose_name = "CardDAV"
