"""Where a vendor's API lives. One rule for every connector: a host comes from the
operator's settings, from the vendor's own answer in a token exchange, or from the vendor's
published default — never from what a tenant typed or sent through the API, because the
platform sends secrets (API keys, OAuth client secrets, refresh tokens) to that host.

In development and in tests that use the sandbox server, ``VENDOR_SANDBOXES`` points every
vendor at its emulator under ``SANDBOX_URL``; production refuses that setting.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings


def vendor_api_url(setting: str, default: str, sandbox_path: str) -> str:
    """The base URL of a vendor API: the operator's ``setting`` when set, else the
    emulator at ``SANDBOX_URL + sandbox_path`` when sandboxes are on, else ``default``."""
    configured = str(getattr(settings, setting, "") or "")
    if configured:
        return configured.rstrip("/")
    if getattr(settings, "VENDOR_SANDBOXES", False):
        return str(settings.SANDBOX_URL).rstrip("/") + sandbox_path
    return default.rstrip("/")


def is_sandbox_url(url: str) -> bool:
    """Whether ``url`` is on the sandbox server, and sandboxes are on."""
    if not getattr(settings, "VENDOR_SANDBOXES", False):
        return False
    sandbox = urlsplit(str(settings.SANDBOX_URL))
    target = urlsplit(url)
    return (target.scheme, target.netloc) == (sandbox.scheme, sandbox.netloc)


def host_in_domains(url: str, domains: list[str] | tuple[str, ...]) -> bool:
    """Whether ``url`` is https on one of ``domains`` or a subdomain of one (a vendor's
    own answer, e.g. Salesforce's ``instance_url``, is checked with this before use)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme != "https" or not host or parts.username or parts.password:
        return False
    return any(host == d.lower() or host.endswith("." + d.lower()) for d in domains)
