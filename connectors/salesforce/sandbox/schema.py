"""What a Salesforce org is made of in the emulator: its objects and their describe
fields, id prefixes, and the wire format of datetimes and ids.

Facts from ../shared/apis section 1 (1.6 describe, 1.7 objects and required fields).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

MOUNT = "/salesforce"
# The REST API versions served (../shared/apis 1.1: the docs show v66 to v68; the
# connector speaks 62.0). Any other answers 404 NOT_FOUND, as Salesforce does.
VERSIONS = tuple(f"{major}.0" for major in range(58, 67))
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ID_RE = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")
DELETE_LOG_DAYS = 15
REPLICATION_DAYS = 30
CODE_SECONDS = 900
COUNTRY_NAMES = {
    "DE": "Germany",
    "PL": "Poland",
    "FR": "France",
    "IT": "Italy",
    "DK": "Denmark",
    "PT": "Portugal",
    "BE": "Belgium",
    "CH": "Switzerland",
}
# Id prefixes (describe's keyPrefix); an id's first three characters name its object.
PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "Lead": "00Q",
    "Task": "00T",
    "Event": "00U",
    "User": "005",
    "Org": "00D",
}
# Picklists; a defaulted one defaults to its first value.
LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted")
ACCOUNT_TYPES = ("Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other")
INDUSTRIES = ("Technology", "Manufacturing", "Retail", "Finance", "Healthcare", "Other")
STAGES = (
    "Prospecting",
    "Qualification",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else")
TASK_PRIORITIES = ("Normal", "High", "Low")
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
# The demo tenant's org: fixed ids and tokens (sandbox-only values, not secrets).
DEMO_ORG = {
    "org": "00Ddemo0000000001",
    "token": "sandbox-demo-salesforce",
    "client_id": "sandbox-demo-client",
    "client_secret": "sandbox-demo-secret",
}


def _field(
    name: str,
    kind: str = "string",
    label: str = "",
    *,
    length: int = 0,
    nillable: bool = True,
    createable: bool = True,
    updateable: bool = True,
    defaulted: bool = False,
    picklist: tuple[str, ...] = (),
    restricted: bool = False,
    reference: str | tuple[str, ...] = "",
    custom: bool = False,
) -> dict[str, Any]:
    """One describe ``fields[]`` entry."""
    lengths = {"string": 80, "email": 80, "phone": 40, "url": 255, "textarea": 32000}
    length = length or lengths.get(kind, 0)
    # Long text areas can be neither filtered nor sorted on (SOQL refuses them in WHERE
    # and ORDER BY); every other field type here can.
    long_text = kind == "textarea" and length > 255
    return {
        "name": name,
        "label": label or re.sub(r"(?<!^)(?=[A-Z])", " ", name.removesuffix("__c")),
        "type": kind,
        "length": length,
        "nillable": nillable,
        "createable": createable,
        "updateable": updateable,
        "defaultedOnCreate": defaulted,
        "custom": custom,
        "unique": False,
        "filterable": not long_text,
        "sortable": not long_text,
        "externalId": False,
        "restrictedPicklist": restricted,
        "picklistValues": [
            {"value": v, "label": v, "active": True, "defaultValue": i == 0 and defaulted}
            for i, v in enumerate(picklist)
        ],
        # Several targets: a polymorphic lookup (Task.WhoId: a Contact or a Lead).
        "referenceTo": [reference] if isinstance(reference, str) and reference else list(reference),
        "relationshipName": name[:-2] if reference and name.endswith("Id") else None,
    }


def _system_fields() -> list[dict[str, Any]]:
    ro = {"createable": False, "updateable": False, "nillable": False, "defaulted": True}
    return [
        _field("Id", "id", "Record ID", **ro),
        _field("IsDeleted", "boolean", "Deleted", **ro),
        _field("CreatedDate", "datetime", "Created Date", **ro),
        _field("LastModifiedDate", "datetime", "Last Modified Date", **ro),
        _field("SystemModstamp", "datetime", "System Modstamp", **ro),
    ]


def _owner() -> dict[str, Any]:
    return _field(
        "OwnerId", "reference", "Owner ID", nillable=False, defaulted=True, reference="User"
    )


def _account_of_activity() -> dict[str, Any]:
    """An activity's ``AccountId``: derived by Salesforce from ``WhatId`` / ``WhoId``,
    never written (sandbox/base.py ``activity_account``)."""
    return _field(
        "AccountId",
        "reference",
        "Account ID",
        createable=False,
        updateable=False,
        reference="Account",
    )


def _person_fields(address: str) -> list[dict[str, Any]]:
    return [
        _field("FirstName", length=40),
        _field("LastName", nillable=False),
        _field("Email", "email"),
        _field("Phone", "phone"),
        _field("MobilePhone", "phone", "Mobile Phone"),
        _field("Title", length=128),
        _field(f"{address}Street", "textarea", length=255),
        _field(f"{address}City", length=40),
        _field(f"{address}PostalCode", length=20),
        _field(f"{address}State", length=80),
        _field(f"{address}Country", length=80),
        _field("Description", "textarea"),
        _field("LeadSource", "picklist", "Lead Source", picklist=LEAD_SOURCES),
        _field("HasOptedOutOfEmail", "boolean", "Email Opt Out", nillable=False, defaulted=True),
        _owner(),
    ]


STANDARD_FIELDS: dict[str, list[dict[str, Any]]] = {
    "Contact": [
        *_system_fields(),
        *_person_fields("Mailing"),
        _field("Department", length=80),
        _field("AccountId", "reference", "Account ID", reference="Account"),
    ],
    "Lead": [
        *_system_fields(),
        *_person_fields(""),
        _field("Company", nillable=False, length=255),
        _field(
            "Status",
            "picklist",
            "Lead Status",
            nillable=False,
            defaulted=True,
            picklist=LEAD_STATUSES,
            restricted=True,
        ),
        _field(
            "IsConverted",
            "boolean",
            "Converted",
            createable=False,
            updateable=False,
            defaulted=True,
        ),
    ],
    "Account": [
        *_system_fields(),
        _field("Name", nillable=False, length=255),
        _field("Type", "picklist", "Account Type", picklist=ACCOUNT_TYPES),
        _field("Industry", "picklist", picklist=INDUSTRIES),
        _field("Phone", "phone"),
        _field("Website", "url"),
        _field("BillingCity", length=40),
        _field("BillingCountry", length=80),
        _field("Description", "textarea"),
        _owner(),
    ],
    # https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_opportunity.htm
    "Opportunity": [
        *_system_fields(),
        _field("Name", nillable=False, length=120),
        _field("AccountId", "reference", "Account ID", reference="Account"),
        _field("StageName", "picklist", "Stage", nillable=False, picklist=STAGES),
        _field("CloseDate", "date", "Close Date", nillable=False),
        _field("Amount", "currency"),
        _field("Probability", "percent"),
        _field("Description", "textarea"),
        _owner(),
    ],
    # https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_task.htm
    "Task": [
        *_system_fields(),
        _field("Subject", "combobox", length=255),
        _field("ActivityDate", "date", "Due Date Only"),
        _field("Status", "picklist", nillable=False, defaulted=True, picklist=TASK_STATUSES),
        _field("Priority", "picklist", nillable=False, defaulted=True, picklist=TASK_PRIORITIES),
        _field("WhoId", "reference", "Name ID", reference=("Contact", "Lead")),
        _field("WhatId", "reference", "Related To ID", reference=("Account", "Opportunity")),
        _account_of_activity(),
        _field("Description", "textarea"),
        _owner(),
    ],
    # https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_event.htm
    "Event": [
        *_system_fields(),
        _field("Subject", "combobox", length=255),
        _field("StartDateTime", "datetime", "Start Date Time", nillable=False),
        _field("EndDateTime", "datetime", "End Date Time", nillable=False),
        _field("IsAllDayEvent", "boolean", "All-Day Event", nillable=False, defaulted=True),
        _field("Location", length=255),
        _field("WhoId", "reference", "Name ID", reference=("Contact", "Lead")),
        _field("WhatId", "reference", "Related To ID", reference=("Account", "Opportunity")),
        _account_of_activity(),
        _field("Description", "textarea"),
        _owner(),
    ],
    "User": [
        *_system_fields(),
        _field("Username", createable=False, updateable=False),
        _field("Name", createable=False, updateable=False),
        _field("Email", "email", createable=False, updateable=False),
        _field("IsActive", "boolean", createable=False, updateable=False),
    ],
}
LABELS = {name: name for name in STANDARD_FIELDS}
PLURALS = {**{name: f"{name}s" for name in STANDARD_FIELDS}, "Opportunity": "Opportunities"}
WRITABLE = ("Account", "Contact", "Lead", "Opportunity", "Task", "Event")
ACTIVITIES = ("Task", "Event")


def wire_time(epoch: float) -> str:
    """A datetime as Salesforce stores and sends it: whole seconds (the milliseconds are
    always ``.000``), so many records changed together share one ``SystemModstamp``."""
    moment = datetime.fromtimestamp(int(epoch), UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + ".000+0000"


def parse_wire(value: str) -> datetime:
    text = value.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def with_checksum(id15: str) -> str:
    """The 18-character id: Salesforce's case-encoding suffix of a 15-character id."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    suffix = ""
    for chunk in range(3):
        bits = 0
        for i, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << i
        suffix += alphabet[bits]
    return id15 + suffix
