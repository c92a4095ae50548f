"""The REST API's versions, describe and limits: ``GET /services/data`` (no session, not
counted), the global describe ``/sobjects``, ``/sobjects/{Obj}/describe`` and
``/limits`` (../shared/apis 1.6, 1.9)."""

from __future__ import annotations

from typing import Any

from connectors.salesforce.sandbox.base import SalesforceBase
from connectors.salesforce.sandbox.schema import (
    LABELS,
    PLURALS,
    PREFIXES,
    STANDARD_FIELDS,
    VERSIONS,
    WRITABLE,
)
from connectors.sandbox import SandboxRequest, SandboxResponse, route

# UNCONFIRMED: the org's data storage as /limits reports it (only DailyApiRequests is
# backed by the org's real counters).
STORAGE_MB = 1024


class Describe(SalesforceBase):
    """What the org's objects are, which API versions it speaks, and its limits."""

    @route("GET", "/services/data")
    def versions(self, request: SandboxRequest) -> SandboxResponse:
        # Does not count toward the limits, needs no session.
        return SandboxResponse.json(
            [{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in VERSIONS]
        )

    def summary(self, name: str, version: str) -> dict[str, Any]:
        """What the global describe and an object's describe both say about ``name``."""
        writable = name in WRITABLE
        return {
            "name": name,
            "label": LABELS[name],
            "labelPlural": PLURALS[name],
            "keyPrefix": PREFIXES[name],
            "custom": False,
            "queryable": True,
            "retrieveable": True,
            "searchable": True,
            "replicateable": True,
            "createable": writable,
            "updateable": writable,
            "deletable": writable,
            "urls": {
                "sobject": f"/services/data/{version}/sobjects/{name}",
                "describe": f"/services/data/{version}/sobjects/{name}/describe",
                "rowTemplate": f"/services/data/{version}/sobjects/{name}/{{ID}}",
            },
        }

    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_describeGlobal.htm
    @route("GET", "/services/data/{version}/sobjects")
    def describe_global(self, request: SandboxRequest, version: str) -> SandboxResponse:
        org, _user = self.authenticate(request, version)
        sobjects = [self.summary(name, version) for name in STANDARD_FIELDS]
        return self.ok(org, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects})

    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm
    @route("GET", "/services/data/{version}/sobjects/{sobject}/describe")
    def describe(self, request: SandboxRequest, version: str, sobject: str) -> SandboxResponse:
        org, _user = self.authenticate(request, version)
        fields = self.describe_fields(org, sobject)
        return self.ok(org, {**self.summary(sobject, version), "fields": fields})

    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_limits.htm
    @route("GET", "/services/data/{version}/limits")
    def limits(self, request: SandboxRequest, version: str) -> SandboxResponse:
        org, _user = self.authenticate(request, version)
        api = org["api"]
        return self.ok(
            org,
            {
                "DailyApiRequests": {"Max": api["max"], "Remaining": api["max"] - api["used"]},
                "DataStorageMB": {"Max": STORAGE_MB, "Remaining": STORAGE_MB},
            },
        )
