"""Django app of the ContactSend connector; its label is the registry key."""

from __future__ import annotations

from django.apps import AppConfig


class ContactSendConfig(AppConfig):
    """The ContactSend connector app (label ``contactsend``)."""

    name = "connectors.contactsend"
    label = "contactsend"
    verbose_name = "Contactlab ContactSend"
