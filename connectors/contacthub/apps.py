"""Django app of the Contacthub connector; its label is the registry key."""

from __future__ import annotations

from django.apps import AppConfig


class ContacthubConfig(AppConfig):
    """The Contacthub connector app (label ``contacthub``)."""

    name = "connectors.contacthub"
    label = "contacthub"
    verbose_name = "Contactlab Contacthub"
