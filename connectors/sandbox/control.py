"""A small client of the sandbox's control API, for tests, the demo and benchmarks.

This is tooling, not a vendor call, so it uses ``requests`` directly rather than the
connectors' HTTP seam (whose retries and counting would only blur what tests observe).
"""

from __future__ import annotations

from typing import Any

import requests


class SandboxControl:
    """Drive a running sandbox server at ``url`` (e.g. ``http://127.0.0.1:8765``)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def vendor_url(self, vendor: str, path: str = "") -> str:
        """Where ``vendor``'s emulator answers, e.g. ``…/getresponse`` + ``/v3``."""
        return f"{self.url}/{vendor}{path}"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(
            method, f"{self.url}/_sandbox/{path}", timeout=self.timeout, **kwargs
        )
        if response.status_code >= 400:
            raise RuntimeError(f"sandbox {method} {path}: {response.status_code} {response.text}")
        return response.json()

    def ping(self) -> bool:
        """Whether the server answers."""
        try:
            self._call("GET", "")
        except (requests.RequestException, RuntimeError):
            return False
        return True

    def reset(self, vendor: str | None = None) -> None:
        self._call("POST", "reset", json={"vendor": vendor} if vendor else {})

    def strict(self, on: bool = True, vendor: str | None = None) -> dict[str, bool]:
        """Turn strict mode on or off (every vendor, or one): the emulators then refuse
        what their vendors would refuse. A reset returns to the server's default."""
        body: dict[str, Any] = {"strict": on, **({"vendor": vendor} if vendor else {})}
        return self._call("PUT", "strict", json=body)

    def create_account(self, vendor: str, /, **options: Any) -> dict[str, Any]:
        return self._call("POST", f"{vendor}/accounts", json=options)

    def seed(self, vendor: str, account: str, count: int, seed: int = 0, **opts: Any) -> Any:
        body = {"account": account, "count": count, "seed": seed, **opts}
        return self._call("POST", f"{vendor}/seed", json=body)

    def state(self, vendor: str, account: str | None = None) -> dict[str, Any]:
        return self._call("GET", f"{vendor}/state", params={"account": account} if account else {})

    def faults(self, vendor: str, /, **faults: Any) -> dict[str, Any]:
        """Replace ``vendor``'s faults (see connectors/sandbox/faults.py); none clears."""
        if not faults:
            return self._call("DELETE", f"{vendor}/faults")
        return self._call("PUT", f"{vendor}/faults", json=faults)

    def requests(self, vendor: str | None = None) -> dict[str, Any]:
        """Request counts per endpoint (and faults served) of one or every vendor."""
        counts = self._call("GET", "requests")
        return counts[vendor] if vendor else counts

    def action(self, vendor: str, action: str, /, **body: Any) -> Any:
        """A vendor-specific "user did X in the app" action, e.g. unsubscribe."""
        return self._call("POST", f"{vendor}/actions/{action}", json=body)
