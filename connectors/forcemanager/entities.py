"""The entity types ForceManager offers, with their fields and references: the
declaration the multi-entity engine (issue 17) reads: ``ForceManagerConnector`` offers
one scope per entry and serves each from it.

The structure, per entity (``ENTITY_TYPES[name]``):
- ``name``: the platform's entity name (company, contact, opportunity, activity, event,
  task); ``resource``: the API path under ``/api/v4`` (events and tasks share
  ``calendars``, told apart by ``where``); ``scope``: the connector's scope id, the
  resource, or ``events`` / ``tasks`` for the two halves of ``calendars``;
- ``fields``: FieldSpecs keyed by ForceManager's own field names. ``required`` ones must
  be in a create (the API answers 400 without them); reference fields have type
  ``owner`` (a sales rep) or ``text`` and appear in ``references``; lookups (list-of-value
  ids, read as ``{"id", "value"}``, written as the plain id) are listed in ``lookups``
  with their value list (``/values?resourcename=…``);
- ``common`` keys follow the entity vocabulary shared with the other CRMs (a company's
  ``company``, an opportunity's ``opportunity_name``, ``amount``, ``stage``…), and a field
  holding another record's id declares that entity in ``refers_to`` with the common key
  ``company_id``, ``contact_id`` or ``opportunity_id``, so that default mappings pair the
  references of two apps;
- ``references``: (field, entity) pairs: the field holds the id of a record of that
  entity (``user`` for sales reps), to be translated through that entity's links;
- ``match``: how records of the two sides are paired without a link (``name`` for
  companies, ``email`` for contacts, ``link`` only for the rest).
Extra fields (``Z_`` prefix) are not listed here: they are read per resource from
``/extrafields/{resource}``.

The sandbox (sandbox.py) takes its resources and required fields from this table: one
place for what the vendor's docs say (see client.py for what is UNCONFIRMED; the
opportunity, activity and calendar fields are UNCONFIRMED beyond "same conventions").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from connectors.base import FieldSpec, FieldType


@dataclass(frozen=True)
class Reference:
    """``field`` holds the id of a record of ``entity``."""

    field: str
    entity: str


@dataclass(frozen=True)
class EntityType:
    """One kind of record ForceManager offers; see the module docstring."""

    name: str
    label: str
    resource: str
    fields: tuple[FieldSpec, ...]
    references: tuple[Reference, ...] = ()
    lookups: dict[str, str] = field(default_factory=dict)
    match: Literal["name", "email", "link"] = "link"
    where: str = ""
    split: str = ""  # the scope id of one half of a shared resource (events, tasks)

    @property
    def scope(self) -> str:
        """The connector's scope id for this entity."""
        return self.split or self.resource

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(spec.key for spec in self.fields if spec.required)


def _owner(key: str = "salesRepId", required: bool = True) -> FieldSpec:
    return FieldSpec(key, "Sales rep", "owner", common="owner", required=required)


COMPANY = EntityType(
    name="company",
    label="Companies",
    resource="accounts",
    match="name",
    fields=(
        FieldSpec("name", "Name", common="company", required=True),
        FieldSpec("branchId", "Branch", "choice", required=True),
        _owner("salesRepId1"),
        FieldSpec("address1", "Address", common="street"),
        FieldSpec("address2", "Address (2)"),
        FieldSpec("city", "City", common="city"),
        FieldSpec("postcode", "Postcode", common="postal_code"),
        FieldSpec("region", "Region", common="region"),
        FieldSpec("countryId", "Country", common="country"),
        FieldSpec("email", "Email", "email", common="email"),
        FieldSpec("phone", "Phone", "phone", common="phone"),
        FieldSpec("phone2", "Phone (2)", "phone"),
        FieldSpec("fax", "Fax", "phone", common="fax"),
        FieldSpec("comment", "Comment", common="notes"),
        FieldSpec("typeId", "Type", "choice"),
        FieldSpec("statusId", "Status", "status", common="status"),
        FieldSpec("extId", "External id"),
    ),
    references=(Reference("salesRepId1", "user"),),
    lookups={
        "branchId": "branches",
        "countryId": "countries",
        "typeId": "accountTypes",
        "statusId": "accountStatuses",
    },
)

CONTACT = EntityType(
    name="contact",
    label="Contacts",
    resource="contacts",
    match="email",
    fields=(
        FieldSpec("accountId", "Company", common="company_id", required=True, refers_to="company"),
        FieldSpec("firstName", "First name", common="first_name", required=True),
        FieldSpec("lastName", "Last name", common="last_name", required=True),
        _owner(),
        FieldSpec("email", "Email", "email", common="email"),
        FieldSpec("email2", "Email (2)", "email", common="email2"),
        FieldSpec("email3", "Email (3)", "email"),
        FieldSpec("phone1", "Phone", "phone", common="phone"),
        FieldSpec("phone2", "Mobile", "phone", common="mobile"),
        FieldSpec("fax", "Fax", "phone", common="fax"),
        FieldSpec("address1", "Address", common="street"),
        FieldSpec("city", "City", common="city"),
        FieldSpec("postcode", "Postcode", common="postal_code"),
        FieldSpec("region", "Region", common="region"),
        FieldSpec("countryId", "Country", common="country"),
        FieldSpec("birthday", "Birthday", "date", common="birthday"),
        FieldSpec("gender", "Gender", "choice", choices=("Male", "Female")),
        FieldSpec("linkedin", "LinkedIn", "url"),
        FieldSpec("comment", "Comment", common="notes"),
        FieldSpec("typeId", "Contact type", "choice"),
        FieldSpec("marketingCommunications", "Accepts marketing", "bool"),
        FieldSpec("extId", "External id"),
    ),
    references=(Reference("accountId", "company"), Reference("salesRepId", "user")),
    lookups={"countryId": "countries", "typeId": "contactTypes"},
)

OPPORTUNITY = EntityType(
    name="opportunity",
    label="Opportunities",
    resource="opportunities",
    fields=(
        FieldSpec("reference", "Name", common="opportunity_name", required=True),
        FieldSpec("accountId1", "Company", common="company_id", required=True, refers_to="company"),
        FieldSpec("contactId1", "Contact", common="contact_id", refers_to="contact"),
        _owner(),
        FieldSpec("total", "Amount", "number", common="amount"),
        FieldSpec("probability", "Probability", "number", common="probability"),
        FieldSpec("statusId", "Stage", "choice", common="stage"),
        FieldSpec("salesForecastDate", "Expected close", "date", common="close_date"),
        FieldSpec("comment", "Comment", common="notes"),
        FieldSpec("extId", "External id"),
    ),
    references=(
        Reference("accountId1", "company"),
        Reference("contactId1", "contact"),
        Reference("salesRepId", "user"),
    ),
    lookups={"statusId": "opportunityStatuses"},
)

_ACTIVITY_REFERENCES = (
    Reference("accountId", "company"),
    Reference("contactId", "contact"),
    Reference("opportunityId", "opportunity"),
    Reference("salesRepId", "user"),
)

# The records an activity, event or task is about, as ids of those records.
_ACTIVITY_REFERENCE_FIELDS = (
    FieldSpec("accountId", "Company", common="company_id", refers_to="company"),
    FieldSpec("contactId", "Contact", common="contact_id", refers_to="contact"),
    FieldSpec("opportunityId", "Opportunity", common="opportunity_id", refers_to="opportunity"),
)

ACTIVITY = EntityType(
    name="activity",
    label="Activities",
    resource="activities",
    fields=(
        FieldSpec("activityTypeId", "Type", "choice", required=True),
        _owner(),
        *_ACTIVITY_REFERENCE_FIELDS,
        FieldSpec("datetime", "When", "datetime", common="start"),
        FieldSpec("comment", "Comment", common="notes"),
        FieldSpec("extId", "External id"),
    ),
    references=_ACTIVITY_REFERENCES,
    lookups={"activityTypeId": "activityTypes"},
)


def _calendar(name: str, label: str, is_task: bool) -> EntityType:
    return EntityType(
        name=name,
        label=label,
        resource="calendars",
        where=f"isTask={'true' if is_task else 'false'}",
        split=f"{name}s",
        fields=(
            FieldSpec("subject", "Subject", common="subject", required=True),
            FieldSpec("dateStart", "Start", "datetime", common="start", required=True),
            FieldSpec("dateEnd", "End", "datetime", common="end"),
            _owner(),
            *_ACTIVITY_REFERENCE_FIELDS,
            FieldSpec("isTask", "Is a task", "bool", read_only=True),
            FieldSpec("finalized", "Done", "bool"),
            FieldSpec("comment", "Comment", common="notes"),
            FieldSpec("extId", "External id"),
        ),
        references=_ACTIVITY_REFERENCES,
    )


EVENT = _calendar("event", "Events", is_task=False)
TASK = _calendar("task", "Tasks", is_task=True)

ENTITY_TYPES: dict[str, EntityType] = {
    e.name: e for e in (COMPANY, CONTACT, OPPORTUNITY, ACTIVITY, EVENT, TASK)
}
# Extra-field types [doc] -> the platform's field types.
EXTRA_FIELD_TYPES: dict[str, FieldType] = {
    "text": "text",
    "datetime": "datetime",
    "decimal": "number",
    "bit": "bool",
    "list": "choice",
    "multivalue": "choice",
}
