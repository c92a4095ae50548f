"""Django app of the Google Contacts connector; its label is the registry key."""

from __future__ import annotations

from django.apps import AppConfig


class GoogleConfig(AppConfig):
    """The Google Contacts connector app (label ``google``)."""

    name = "connectors.google"
    label = "google"
    verbose_name = "Google Contacts"
