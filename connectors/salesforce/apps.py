"""Django app of the Salesforce connector; its label is the registry key."""

from __future__ import annotations

from django.apps import AppConfig


class SalesforceConfig(AppConfig):
    """The Salesforce connector app (label ``salesforce``)."""

    name = "connectors.salesforce"
    label = "salesforce"
    verbose_name = "Salesforce"
