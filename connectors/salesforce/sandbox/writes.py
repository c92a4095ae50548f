"""Writes: sObject Collections create / update / delete (≤200 records a call,
``allOrNone=false``) with per-record errors, validated against the describe
(../shared/apis 1.5, 1.7).

UNCONFIRMED choices, once:
- an unknown or read-only field in a Collections record is a per-record error
  (``INVALID_FIELD`` / ``INVALID_FIELD_FOR_INSERT_UPDATE``), not a 400 for the call;
- a lookup to a missing record is ``INVALID_CROSS_REFERENCE_KEY``, updating a deleted
  record ``ENTITY_IS_DELETED``;
- a lookup to an object it does not take (a Task's ``WhoId`` set to an Account) is
  ``FIELD_INTEGRITY_EXCEPTION`` "<label>: id value of incorrect type: <id>" (as
  integrators report it, e.g. jsforce issue 1006), and so, in strict mode, is an activity
  about a Lead that is related to something else (``WhatId``: "If WhoId refers to a lead,
  WhatId must be empty", the Task reference; the message is UNCONFIRMED);
- an activity's derived ``AccountId`` is computed when it is written (the Task
  reference's rule); UNCONFIRMED whether Salesforce recomputes it when the related record
  later moves to another Account (here it does not).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from connectors.salesforce.sandbox.query import Query
from connectors.salesforce.sandbox.schema import (
    ACTIVITIES,
    EMAIL_RE,
    ID_RE,
    PREFIXES,
    WRITABLE,
    parse_wire,
    wire_time,
)
from connectors.sandbox import SandboxRequest, SandboxResponse, route


class Writes(Query):
    """Creates, updates and deletes, one record or a collection at a time."""

    # https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-create.html
    @route("POST", "/services/data/{version}/composite/sobjects")
    def collection_create(self, request: SandboxRequest, version: str) -> SandboxResponse:
        org, user = self.authenticate(request, version)
        records = self.collection_body(request)
        results = []
        for item in records:
            sobject = (item.get("attributes") or {}).get("type")
            if "Id" in item or "id" in item:
                results.append(self.failure("INVALID_FIELD", "Id is not allowed on create", ["Id"]))
                continue
            results.append(self.write(org, user, sobject, None, item))
        return self.ok(org, results)

    # https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-update.html
    @route("PATCH", "/services/data/{version}/composite/sobjects")
    def collection_update(self, request: SandboxRequest, version: str) -> SandboxResponse:
        org, user = self.authenticate(request, version)
        results = []
        for item in self.collection_body(request):
            sobject = (item.get("attributes") or {}).get("type")
            record_id = str(item.get("id") or item.get("Id") or "")
            results.append(self.write(org, user, sobject, record_id, item))
        return self.ok(org, results)

    # https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-delete.html
    @route("DELETE", "/services/data/{version}/composite/sobjects")
    def collection_delete(self, request: SandboxRequest, version: str) -> SandboxResponse:
        org, _user = self.authenticate(request, version)
        ids = [i for i in (request.arg("ids") or "").split(",") if i]
        if not ids or len(ids) > 200:
            raise self.fail(400, "ids: between 1 and 200 ids", code="INVALID_FIELD")
        results = []
        for record_id in ids:
            if not ID_RE.match(record_id):
                results.append(self.failure("MALFORMED_ID", f"malformed id {record_id}", []))
                continue
            sobject, found = self.locate_id(org, record_id)
            if found is None or sobject is None:
                gone = any(
                    d["id"][:15] == record_id[:15] for log in org["deleted"].values() for d in log
                )
                code = "ENTITY_IS_DELETED" if gone else "INVALID_CROSS_REFERENCE_KEY"
                results.append(self.failure(code, "entity is deleted", []))
                continue
            self.remove(org, sobject, found["Id"])
            results.append({"id": found["Id"], "success": True, "errors": []})
        return self.ok(org, results)

    def json_body(self, request: SandboxRequest) -> Any:
        """The JSON body of a write; in strict mode only when sent as JSON (UNCONFIRMED:
        415 UNSUPPORTED_MEDIA_TYPE for another content type, as the notes' table has)."""
        self.refuse_when_strict(
            not request.header("content-type").startswith("application/json"),
            415,
            "Content type not supported; send application/json",
            code="UNSUPPORTED_MEDIA_TYPE",
        )
        try:
            return request.json()
        except ValueError as exc:
            raise self.fail(400, "body is not JSON", code="JSON_PARSER_ERROR") from exc

    def collection_body(self, request: SandboxRequest) -> list[dict[str, Any]]:
        body = self.json_body(request) or {}
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not records or len(records) > 200:
            raise self.fail(400, "records: between 1 and 200 records", code="INVALID_FIELD")
        if body.get("allOrNone"):
            # The connector never asks for it; refusing keeps the emulator honest.
            raise self.fail(400, "allOrNone=true is not emulated", code="INVALID_FIELD")
        return [r for r in records if isinstance(r, dict)]

    # --- Single records.

    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_create.htm
    @route("POST", "/services/data/{version}/sobjects/{sobject}")
    def create_one(self, request: SandboxRequest, version: str, sobject: str) -> SandboxResponse:
        org, user = self.authenticate(request, version)
        self.describe_fields(org, sobject)  # 404 for an unknown object
        item = self.json_body(request)
        if not isinstance(item, dict):
            raise self.fail(400, "the body is one record's fields", code="JSON_PARSER_ERROR")
        if "Id" in item or "id" in item:
            raise self.fail(400, "Id is not allowed on create", code="INVALID_FIELD", fields=["Id"])
        result = self.write(org, user, sobject, None, item)
        if not result["success"]:
            return self.refused(result)
        return self.ok(org, result, 201)

    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_get_field_values.htm
    @route("GET", "/services/data/{version}/sobjects/{sobject}/{record_id}")
    def read_one(
        self, request: SandboxRequest, version: str, sobject: str, record_id: str
    ) -> SandboxResponse:
        org, _user = self.authenticate(request, version)
        record = self.record_of(org, sobject, record_id)
        fields = self.field_map(org, sobject)
        asked = [f.strip() for f in (request.arg("fields") or "").split(",") if f.strip()]
        for name in asked:
            self.check_column(org, sobject, fields, name)
        return self.ok(org, self.render(org, sobject, record, asked or list(fields), version))

    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_update_fields.htm
    @route("PATCH", "/services/data/{version}/sobjects/{sobject}/{record_id}")
    def update_one(
        self, request: SandboxRequest, version: str, sobject: str, record_id: str
    ) -> SandboxResponse:
        org, user = self.authenticate(request, version)
        record = self.record_of(org, sobject, record_id)
        item = self.json_body(request)
        if not isinstance(item, dict):
            raise self.fail(400, "the body is the fields to set", code="JSON_PARSER_ERROR")
        result = self.write(org, user, sobject, record["Id"], item)
        if not result["success"]:
            return self.refused(result)
        return SandboxResponse.empty(204, headers=self.limit_header(org))

    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_delete_record.htm
    @route("DELETE", "/services/data/{version}/sobjects/{sobject}/{record_id}")
    def delete_one(
        self, request: SandboxRequest, version: str, sobject: str, record_id: str
    ) -> SandboxResponse:
        org, _user = self.authenticate(request, version)
        record = self.record_of(org, sobject, record_id)
        if sobject not in WRITABLE:
            raise self.fail(400, f"{sobject} records cannot be deleted", code="INVALID_TYPE")
        self.remove(org, sobject, record["Id"])
        return SandboxResponse.empty(204, headers=self.limit_header(org))

    def record_of(self, org: dict[str, Any], sobject: str, record_id: str) -> dict[str, Any]:
        """The live record ``record_id`` of ``sobject``: 404 ``ENTITY_IS_DELETED`` once
        deleted, 404 ``NOT_FOUND`` when there never was one (or the id is malformed)."""
        self.describe_fields(org, sobject)
        if ID_RE.match(record_id):
            for candidate in org["records"][sobject].values():
                if candidate["Id"][:15] == record_id[:15]:
                    return candidate
            if any(d["id"][:15] == record_id[:15] for d in org["deleted"].get(sobject, [])):
                raise self.fail(404, "entity is deleted", code="ENTITY_IS_DELETED")
        raise self.fail(404, "The requested resource does not exist", code="NOT_FOUND")

    def refused(self, result: dict[str, Any]) -> SandboxResponse:
        """A failed single-record write: Collections' ``statusCode`` errors in the REST
        shape (``errorCode``), 400 (404 for a deleted record)."""
        errors = [
            {"message": e["message"], "errorCode": e["statusCode"], "fields": e["fields"]}
            for e in result["errors"]
        ]
        gone = any(e["errorCode"] == "ENTITY_IS_DELETED" for e in errors)
        return SandboxResponse.json(errors, status=404 if gone else 400)

    def locate_id(
        self, org: dict[str, Any], record_id: str
    ) -> tuple[str | None, dict[str, Any] | None]:
        for sobject in WRITABLE:
            for candidate in org["records"][sobject].values():
                if candidate["Id"][:15] == record_id[:15]:
                    return sobject, candidate
        return None, None

    def write(
        self,
        org: dict[str, Any],
        user: dict[str, Any],
        sobject: str | None,
        record_id: str | None,
        item: dict[str, Any],
    ) -> dict[str, Any]:
        """Create (``record_id`` None) or update one record; a per-record result."""
        if sobject not in WRITABLE:
            return self.failure("INVALID_TYPE", f"attributes.type {sobject!r} is not valid", [])
        fields = self.field_map(org, sobject)
        values = {k: v for k, v in item.items() if k not in ("attributes", "id", "Id")}
        current: dict[str, Any] | None = None
        if record_id is not None:
            if not ID_RE.match(record_id):
                return self.failure("MALFORMED_ID", f"malformed id {record_id}", ["Id"])
            current = next(
                (r for r in org["records"][sobject].values() if r["Id"][:15] == record_id[:15]),
                None,
            )
            if current is None:
                return self.failure("ENTITY_IS_DELETED", "entity is deleted", [])
            if current.get("IsConverted"):
                return self.failure(
                    "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", []
                )
        problem = self.validate(org, sobject, fields, values, current is None)
        if problem:
            return problem
        merged = {**(current or {}), **values}
        problem = self.activity_problem(sobject, merged)
        if problem:
            return problem
        required = [
            name
            for name, spec in fields.items()
            if spec["createable"] and not spec["nillable"] and not spec["defaultedOnCreate"]
        ]
        missing = [name for name in required if merged.get(name) in (None, "")]
        if missing:
            return self.failure(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        stamp = wire_time(self.now())
        if current is None:
            record = self.blank(sobject, fields, user["Id"], stamp)
            record.update(values)
            org["records"][sobject][record["Id"]] = record
        else:
            record = current
            record.update(values)
        if sobject in ACTIVITIES:
            record["AccountId"] = self.activity_account(org, record)
        record["LastModifiedDate"] = record["SystemModstamp"] = stamp
        return {"id": record["Id"], "success": True, "errors": []}

    def validate(
        self,
        org: dict[str, Any],
        sobject: str,
        fields: dict[str, dict[str, Any]],
        values: dict[str, Any],
        creating: bool,
    ) -> dict[str, Any] | None:
        for name, value in values.items():
            spec = fields.get(name)
            if spec is None:
                return self.failure(
                    "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}", [name]
                )
            if not spec["createable" if creating else "updateable"]:
                return self.failure(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {name}.",
                    [name],
                )
            if value is None or value == "":
                if not spec["nillable"] and not (creating and spec["defaultedOnCreate"]):
                    return self.failure(
                        "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{name}]", [name]
                    )
                values[name] = None
                continue
            kind = spec["type"]
            if kind == "boolean":
                if not isinstance(value, bool):
                    return self.failure(
                        "INVALID_TYPE_ON_FIELD_IN_RECORD",
                        f"{name}: value not of required type",
                        [name],
                    )
                continue
            if kind in ("double", "currency", "percent", "int"):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    return self.failure(
                        "INVALID_TYPE_ON_FIELD_IN_RECORD",
                        f"{name}: value not of required type",
                        [name],
                    )
                continue
            if not isinstance(value, str):
                return self.failure(
                    "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{name}: value not of required type", [name]
                )
            if spec["length"] and len(value) > spec["length"]:
                return self.failure(
                    "STRING_TOO_LONG",
                    f"{spec['label']}: data value too large: {value[:20]} "
                    f"(max length={spec['length']})",
                    [name],
                )
            if kind == "email" and not EMAIL_RE.match(value):
                return self.failure(
                    "INVALID_EMAIL_ADDRESS",
                    f"{spec['label']}: invalid email address: {value}",
                    [name],
                )
            if kind == "picklist" and spec["restrictedPicklist"]:
                allowed = {p["value"] for p in spec["picklistValues"]}
                if value not in allowed:
                    return self.failure(
                        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        f"{spec['label']}: bad value for restricted picklist field: {value}",
                        [name],
                    )
            if kind == "date":
                try:
                    date.fromisoformat(value)
                except ValueError:
                    return self.failure(
                        "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{name}: not a date", [name]
                    )
            if kind == "datetime":
                try:
                    # Stored as Salesforce stores it: UTC, whole seconds.
                    values[name] = wire_time(parse_wire(value).timestamp())
                except ValueError:
                    return self.failure(
                        "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{name}: not a datetime", [name]
                    )
            if kind == "reference":
                problem = self.reference_problem(org, spec, value)
                if problem:
                    return problem
        return None

    def reference_problem(
        self, org: dict[str, Any], spec: dict[str, Any], value: str
    ) -> dict[str, Any] | None:
        """A lookup's value: an id of one of the field's target objects (by its key
        prefix), of a record that exists."""
        name = spec["name"]
        targets = [PREFIXES.get(t) for t in spec["referenceTo"]]
        if ID_RE.match(value) and value[:3] not in targets:
            return self.failure(
                "FIELD_INTEGRITY_EXCEPTION",
                f"{spec['label']}: id value of incorrect type: {value}",
                [name],
            )
        if self.parent_of(org, spec, value)[1] is None:
            return self.failure(
                "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id {value}", [name]
            )
        return None

    def activity_problem(self, sobject: str, merged: dict[str, Any]) -> dict[str, Any] | None:
        """Strict mode: an activity about a Lead relates to nothing else (see the module
        docstring)."""
        about_lead = str(merged.get("WhoId") or "")[:3] == PREFIXES["Lead"]
        if self.strict and sobject in ACTIVITIES and about_lead and merged.get("WhatId"):
            return self.failure(
                "FIELD_INTEGRITY_EXCEPTION",
                "Related To ID: an activity about a lead cannot be related to another record",
                ["WhatId"],
            )
        return None

    def blank(
        self, sobject: str, fields: dict[str, dict[str, Any]], owner: str, stamp: str
    ) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for name, spec in fields.items():
            record[name] = False if spec["type"] == "boolean" else None
        record.update(
            {
                "Id": self.new_id(sobject),
                "IsDeleted": False,
                "CreatedDate": stamp,
                "LastModifiedDate": stamp,
                "SystemModstamp": stamp,
            }
        )
        if "OwnerId" in fields:
            record["OwnerId"] = owner
        for name, spec in fields.items():
            if spec["type"] == "picklist" and spec["defaultedOnCreate"] and spec["picklistValues"]:
                record[name] = spec["picklistValues"][0]["value"]
        return record

    def remove(self, org: dict[str, Any], sobject: str, record_id: str) -> None:
        """To the Recycle Bin (the deleted-records feed). Deleting an Account deletes
        its Contacts and Opportunities, and activities related to any of them, as
        Salesforce's "Delete Accounts" help page says (not in ../shared/apis:
        UNCONFIRMED which children exactly)."""
        record = org["records"][sobject].pop(record_id, None)
        if record is None:
            return
        org["deleted"][sobject].append({"id": record_id, "deletedDate": wire_time(self.now())})
        children: list[tuple[str, str]] = []
        if sobject == "Account":
            children += [
                (child, r["Id"])
                for child in ("Contact", "Opportunity")
                for r in org["records"][child].values()
                if r.get("AccountId") == record_id
            ]
        if sobject in ("Account", "Opportunity", "Contact", "Lead"):
            children += [
                (activity, r["Id"])
                for activity in ("Task", "Event")
                for r in org["records"][activity].values()
                if record_id in (r.get("WhatId"), r.get("WhoId"))
            ]
        for child, child_id in children:
            self.remove(org, child, child_id)
