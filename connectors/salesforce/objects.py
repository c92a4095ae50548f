"""The Salesforce objects the connector syncs, one scope each (issue 17), and what is
particular to each: the platform entity it holds, the common keys of its standard fields
(../shared/apis 1.7 and the shared entity vocabulary), the standard fields worth syncing
besides those, and the few object-specific rules the connector applies.

Everything else (describe, SOQL listing and deltas, the deleted-records feed, sObject
Collections writes) is the same code for every object, parametrised by an ``SObject``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The entity a lookup's target object holds: a reference field pointing at one of these
# (describe ``type == "reference"`` with a single ``referenceTo``) is declared with
# ``FieldSpec.refers_to`` so the engine translates it through that entity's links.
# ``User`` targets are owners (type "owner"), handled apart.
REFERENCED = {"Account": "company", "Contact": "contact", "Opportunity": "opportunity"}

# The targets of a polymorphic lookup (``WhoId``: a Contact or a Lead; ``WhatId``: an
# Account, an Opportunity, …) the connector splits it into: per target object, the entity
# it holds and the common key the per-target field carries (the shared vocabulary's
# ``contact_id`` / ``company_id`` / ``opportunity_id``, as ForceManager's activities
# declare them), so that default mappings pair them.
TARGETS: dict[str, tuple[str, str]] = {
    "Contact": ("contact", "contact_id"),
    "Lead": ("lead", "lead_id"),
    "Account": ("company", "company_id"),
    "Opportunity": ("opportunity", "opportunity_id"),
}
# Salesforce's standard key prefixes (an id's first three characters name its object):
# used only where the org's global describe gives no ``keyPrefix`` for the object.
KEY_PREFIXES = {"Account": "001", "Contact": "003", "Opportunity": "006", "Lead": "00Q"}

_PERSON = {
    "FirstName": "first_name",
    "LastName": "last_name",
    "Email": "email",
    "Phone": "phone",
    "MobilePhone": "mobile",
    "Fax": "fax",
    "Title": "job_title",
    "Company": "company",
    "Website": "website",
    "Description": "notes",
    "OwnerId": "owner",
    "Status": "status",
    "Street": "street",
    "City": "city",
    "PostalCode": "postal_code",
    "State": "region",
    "Country": "country",
}
_ADDRESS = ("Street", "City", "PostalCode", "State", "Country")


@dataclass(frozen=True)
class Polymorphic:
    """A lookup to one of several objects, synced as one reference field per target
    (``WhatId.Account``, ``WhatId.Opportunity``; polymorphic.py). ``targets``: the most
    specific first: a write sets the lookup to the first target that has a value (an
    Opportunity says more than its Account). ``derived``: (target, field) pairs of a
    read-only field Salesforce fills with that target's id when the lookup points at
    something else (a Task's ``AccountId``: the Account of its Opportunity, or of its
    Contact when the task is related to no Account), read as that target's value."""

    field: str
    targets: tuple[str, ...]
    derived: tuple[tuple[str, str], ...] = ()


# https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_task.htm
_ACTIVITY_LOOKUPS = (
    Polymorphic("WhoId", ("Contact", "Lead")),
    Polymorphic("WhatId", ("Opportunity", "Account"), derived=(("Account", "AccountId"),)),
)


@dataclass(frozen=True)
class SObject:
    """One Salesforce object as a scope.

    ``common``: standard field → common key; an address field is looked up without the
    object's ``address`` prefix (``MailingCity`` → ``City``). ``extra``: further
    standard fields synced without a common key. ``person``: records need a last name
    (the tenant's ``default_last_name`` fills it) and carry the email opt-out;
    ``account_name``: the derived ``Account.Name`` company-name field (Contacts);
    ``company_field``: a plain company-name field that must not be empty (Leads, the
    tenant's ``lead_default_company`` fills it); ``polymorphic``: the lookups to several
    objects, split into one reference field per target."""

    name: str
    entity: str
    common: dict[str, str]
    extra: tuple[str, ...] = ()
    address: str = ""
    person: bool = False
    account_name: bool = False
    company_field: str = ""
    polymorphic: tuple[Polymorphic, ...] = ()
    standard: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        names = {*self.common, *self.extra}
        if self.address:
            names |= {f"{self.address}{part}" for part in _ADDRESS}
        object.__setattr__(self, "standard", frozenset(names))

    def common_of(self, name: str) -> str | None:
        """The common key of standard field ``name``, None when it has none."""
        if name in self.common:
            return self.common[name]
        if self.address and name.startswith(self.address):
            return self.common.get(name.removeprefix(self.address))
        return None


# In the order scopes are listed: Contacts first, the scope a new connection picks by
# default, as before objects beyond people were offered.
OBJECTS: dict[str, SObject] = {
    sobject.name: sobject
    for sobject in (
        SObject(
            "Contact",
            "contact",
            # The Account lookup, a reference to a company: paired by default, and synced
            # only where the connection syncs companies (sync/engine/context.py).
            {**_PERSON, "AccountId": "company_id"},
            extra=("Department", "LeadSource"),
            address="Mailing",
            person=True,
            account_name=True,
        ),
        SObject(
            "Lead",
            "lead",
            _PERSON,
            extra=("LeadSource", "IsConverted"),
            person=True,
            company_field="Company",
        ),
        SObject(
            "Account",
            "company",
            {
                "Name": "company",
                "Website": "website",
                "Phone": "phone",
                "Fax": "fax",
                "Description": "notes",
                "OwnerId": "owner",
                "Street": "street",
                "City": "city",
                "PostalCode": "postal_code",
                "State": "region",
                "Country": "country",
            },
            extra=("Type", "Industry", "NumberOfEmployees", "AnnualRevenue"),
            address="Billing",
        ),
        SObject(
            "Opportunity",
            "opportunity",
            {
                "Name": "opportunity_name",
                "Amount": "amount",
                "CloseDate": "close_date",
                "StageName": "stage",
                "Probability": "probability",
                "AccountId": "company_id",
                "OwnerId": "owner",
                "Description": "notes",
            },
            extra=("Type", "LeadSource", "NextStep"),
        ),
        SObject(
            "Task",
            "task",
            {
                "Subject": "subject",
                "ActivityDate": "due_date",
                "Status": "task_status",
                "OwnerId": "owner",
                "Description": "notes",
            },
            extra=("Priority",),
            polymorphic=_ACTIVITY_LOOKUPS,
        ),
        SObject(
            "Event",
            "event",
            {
                "Subject": "subject",
                "StartDateTime": "start",
                "EndDateTime": "end",
                "OwnerId": "owner",
                "Description": "notes",
            },
            extra=("Location", "IsAllDayEvent"),
            polymorphic=_ACTIVITY_LOOKUPS,
        ),
    )
}
