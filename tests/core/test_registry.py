"""One explicit registry: the key is the package, the app label, the URL segment and
Connector.vendor, all equal (STYLE.md habit 6)."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.conf import settings

from connectors import registry
from connectors.base import Connector
from connectors.registry import VENDORS, all_connectors, connector_class
from tests.contract.harnesses import HARNESSES


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


def test_a_registry_line_is_enough_for_the_app_the_harness_and_the_oauth_backends() -> None:
    """INSTALLED_APPS, the contract suite and AUTHENTICATION_BACKENDS are built from the
    registry (one folder and one line per vendor), each vendor's app once."""
    for vendor in VENDORS:
        assert settings.INSTALLED_APPS.count(f"connectors.{vendor}") == 1
        harness = f"connectors/{vendor}/tests/harness.py"
        if (settings.BASE_DIR / harness).exists():
            assert HARNESSES[vendor] == f"connectors.{vendor}.tests.harness:make_harness"
    for backend in registry.vendor_auth_backends():
        assert settings.AUTHENTICATION_BACKENDS.count(backend) == 1
    assert "connectors.salesforce.oauth.SalesforceOAuth" in settings.AUTHENTICATION_BACKENDS
    assert "connectors.google.oauth.GoogleContactsOAuth" in settings.AUTHENTICATION_BACKENDS


def test_a_vendor_folder_without_a_harness_is_tolerated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """A new vendor with only a connector (no tests/harness.py yet) is registered, gets
    its app, and is simply not in the contract suite."""
    package = tmp_path / "connectors_extra" / "newvendor"
    package.mkdir(parents=True)
    (tmp_path / "connectors_extra" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    import connectors

    monkeypatch.setattr(
        connectors, "__path__", [*connectors.__path__, str(tmp_path / "connectors_extra")]
    )
    monkeypatch.setitem(VENDORS, "newvendor", "connectors.newvendor.connector.NewConnector")

    assert "connectors.newvendor" in registry.vendor_apps()
    assert "newvendor" not in registry.vendor_harnesses()
    assert registry.vendor_harnesses()["getresponse"].endswith(":make_harness")
    assert "connectors.newvendor" not in " ".join(registry.vendor_auth_backends())
