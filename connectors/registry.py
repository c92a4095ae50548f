"""The one explicit registry of vendors (STYLE.md habit 6).

The key is the package name under connectors/, the Django app label, the URL segment and
the connector's ``vendor`` attribute; ``tests/test_registry.py`` asserts they agree.
Classes import lazily, so a vendor's dependencies load only when it is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.base import Connector

VENDORS: dict[str, str] = {
    "getresponse": "connectors.getresponse.connector.GetResponseConnector",
    "carddav": "connectors.carddav.connector.CardDavConnector",
    "salesforce": "connectors.salesforce.connector.SalesforceConnector",
    "google": "connectors.google.connector.GoogleContactsConnector",
    "sellf": "connectors.sellf.connector.SellfConnector",
    "mailchimp": "connectors.mailchimp.connector.MailchimpConnector",
    "wildix": "connectors.wildix.connector.WildixConnector",
    "contactsend": "connectors.contactsend.connector.ContactSendConnector",
    "contacthub": "connectors.contacthub.connector.ContacthubConnector",
}


def connector_class(vendor: str) -> type[Connector]:
    """The connector class registered for ``vendor``; KeyError for unknown vendors."""
    module_name, _, class_name = VENDORS[vendor].rpartition(".")
    cls: type[Connector] = getattr(import_module(module_name), class_name)
    return cls


def all_connectors() -> dict[str, type[Connector]]:
    return {vendor: connector_class(vendor) for vendor in VENDORS}
