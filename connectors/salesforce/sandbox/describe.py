"""The REST API's versions and describe: ``GET /services/data`` (no session, not
counted), the global describe ``/sobjects`` and ``/sobjects/{Obj}/describe``
(../shared/apis 1.6)."""

from __future__ import annotations

from connectors.salesforce.sandbox.base import SalesforceBase
from connectors.salesforce.sandbox.schema import LABELS, STANDARD_FIELDS, VERSIONS, WRITABLE
from connectors.sandbox import SandboxRequest, SandboxResponse, route


class Describe(SalesforceBase):
    """What the org's objects are and which API versions it speaks."""

    @route("GET", "/services/data")
    def versions(self, request: SandboxRequest) -> SandboxResponse:
        # Does not count toward the limits, needs no session.
        return SandboxResponse.json(
            [{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in VERSIONS]
        )

    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_describeGlobal.htm
    @route("GET", "/services/data/{version}/sobjects")
    def describe_global(self, request: SandboxRequest, version: str) -> SandboxResponse:
        org, _user = self.authenticate(request)
        sobjects = [
            {
                "name": name,
                "label": LABELS[name],
                "custom": False,
                "queryable": True,
                "createable": name in WRITABLE,
                "updateable": name in WRITABLE,
                "deletable": name in WRITABLE,
                "replicateable": True,
                "urls": {"describe": f"/services/data/{version}/sobjects/{name}/describe"},
            }
            for name in STANDARD_FIELDS
        ]
        return self.ok(org, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects})

    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm
    @route("GET", "/services/data/{version}/sobjects/{sobject}/describe")
    def describe(self, request: SandboxRequest, version: str, sobject: str) -> SandboxResponse:
        org, _user = self.authenticate(request)
        fields = self.describe_fields(org, sobject)
        return self.ok(
            org,
            {
                "name": sobject,
                "label": LABELS[sobject],
                "custom": False,
                "createable": sobject in WRITABLE,
                "fields": fields,
                "urls": {"sobject": f"/services/data/{version}/sobjects/{sobject}"},
            },
        )
