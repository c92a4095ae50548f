"""The one explicit registry of vendors (STYLE.md habit 6): a new vendor is one folder
under connectors/ and one line here.

The key is the package name under connectors/, the Django app label, the URL segment and
the connector's ``vendor`` attribute; ``tests/core/test_registry.py`` asserts they agree.
Everything else is derived from this line by convention: the Django app
(``connectors.<vendor>``, in INSTALLED_APPS), the contract-suite harness
(``connectors.<vendor>.tests.harness:make_harness`` when that module exists), the OAuth
backends (``AUTHENTICATION_BACKENDS`` in the vendor package's ``__init__.py``, strings
only), and the sandbox emulator (``connectors.<vendor>.sandbox``, found by the sandbox
server). Classes import lazily, so a vendor's dependencies load only when it is used;
config/settings.py imports this module, so it imports nothing of Django at module level.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
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
    "forcemanager": "connectors.forcemanager.connector.ForceManagerConnector",
}


def connector_class(vendor: str) -> type[Connector]:
    """The connector class registered for ``vendor``; KeyError for unknown vendors."""
    module_name, _, class_name = VENDORS[vendor].rpartition(".")
    cls: type[Connector] = getattr(import_module(module_name), class_name)
    return cls


def all_connectors() -> dict[str, type[Connector]]:
    return {vendor: connector_class(vendor) for vendor in VENDORS}


def vendor_apps() -> list[str]:
    """The Django apps of the registered vendors, for INSTALLED_APPS."""
    return [f"connectors.{vendor}" for vendor in VENDORS]


def vendor_harnesses() -> dict[str, str]:
    """vendor -> "module:factory" of each registered vendor that ships a contract-suite
    harness (``connectors/<vendor>/tests/harness.py``); a vendor without one is left out."""
    found = {}
    for vendor in VENDORS:
        module = f"connectors.{vendor}.tests.harness"
        try:
            present = find_spec(module) is not None
        except ModuleNotFoundError:  # no tests package at all
            present = False
        if present:
            found[vendor] = f"{module}:make_harness"
    return found


def vendor_auth_backends() -> list[str]:
    """The social-auth backends the registered vendors declare (their package's
    ``AUTHENTICATION_BACKENDS``, dotted paths), for Django's AUTHENTICATION_BACKENDS."""
    backends: list[str] = []
    for vendor in VENDORS:
        package = import_module(f"connectors.{vendor}")
        backends += [
            b for b in getattr(package, "AUTHENTICATION_BACKENDS", ()) if b not in backends
        ]
    return backends
