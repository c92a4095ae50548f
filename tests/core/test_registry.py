"""One explicit registry: the key is the package, the app label, the URL segment and
Connector.vendor, all equal (STYLE.md habit 6)."""

from __future__ import annotations

import pytest
from django.apps import apps

from connectors.base import Connector
from connectors.registry import VENDORS, all_connectors, connector_class


def test_registry_lists_at_least_one_vendor() -> None:
    assert VENDORS, "no vendor registered"


@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_registry_key_is_package_app_label_and_vendor(vendor: str) -> None:
    cls = connector_class(vendor)
    assert issubclass(cls, Connector)
    assert cls.vendor == vendor
    assert VENDORS[vendor].startswith(f"connectors.{vendor}.")
    assert apps.get_app_config(vendor).name == f"connectors.{vendor}"


def test_every_connector_declares_how_it_is_authorized() -> None:
    for vendor, cls in all_connectors().items():
        assert cls.auth_kind in ("api_key", "password", "oauth"), vendor
        assert cls.label, vendor
