"""The control API of the Salesforce emulator (connectors/sandbox/server.py): orgs,
seeds, and what users and admins do in Salesforce's own app (the ``action_*``)."""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from connectors.salesforce.sandbox.schema import (
    COUNTRY_NAMES,
    DELETE_LOG_DAYS,
    DEMO_ORG,
    INDUSTRIES,
    MOUNT,
    STAGES,
    STANDARD_FIELDS,
    WRITABLE,
    _field,
    wire_time,
)
from connectors.salesforce.sandbox.writes import Writes
from connectors.sandbox.synthetic import Person, people

SEEDABLE = ("Contact", "Lead", "Account", "Opportunity", "Task", "Event")


class Control(Writes):
    """Orgs and their users, seeded records, and users' edits in the app."""

    def create_account(
        self,
        name: str = "Sandbox org",
        instance: str = "production",
        client_id: str | None = None,
        client_secret: str | None = None,
        api_max: int = 15_000,
        custom_fields: dict[str, list[dict[str, Any]]] | None = None,
        users: list[dict[str, str]] | None = None,
        org_id: str | None = None,
        access_token: str | None = None,
        api_enabled: bool = True,
        **_: Any,
    ) -> dict[str, Any]:
        """A new org with its admin user (authorized: a session and a refresh token),
        optional extra users and custom fields, and a connected app (``client_id``)."""
        if instance not in ("production", "sandbox"):
            raise ValueError("instance is production or sandbox")
        org_id = org_id or self.new_id("Org")
        slug = re.sub(r"\W+", "", name.lower())[:20] or "org"
        org: dict[str, Any] = {
            "orgId": org_id,
            "name": name,
            "instance": instance,
            "api": {"used": 0, "max": int(api_max)},
            "sessions": {},
            "refresh_tokens": {},
            "records": {sobject: {} for sobject in STANDARD_FIELDS},
            "deleted": {sobject: [] for sobject in WRITABLE},
            "delete_log_since": self.now() - DELETE_LOG_DAYS * 86400,
            "custom_fields": {},
            "locators": {},
            "admin": "",
            # False: an edition without API access (Professional, Group…), whose REST
            # calls all answer 403 API_DISABLED_FOR_ORG; OAuth still signs in.
            "api_enabled": bool(api_enabled),
        }
        self.state["orgs"][org_id] = org
        for sobject, specs in (custom_fields or {}).items():
            for spec in specs:
                self.add_custom_field(org, sobject, **spec)
        stamp = wire_time(self.now())
        people_list = [
            {"name": f"Admin {name}", "email": f"admin@{slug}.example.com"},
            *(users or []),
        ]
        for index, person in enumerate(people_list):
            user_id = self.new_id("User")
            org["records"]["User"][user_id] = {
                "Id": user_id,
                "IsDeleted": False,
                "CreatedDate": stamp,
                "LastModifiedDate": stamp,
                "SystemModstamp": stamp,
                "Username": person.get("username") or f"{person['email']}.{slug}",
                "Name": person["name"],
                "Email": person["email"],
                "IsActive": person.get("active", True) is not False,
            }
            if index == 0:
                org["admin"] = user_id
        access = access_token or f"{org_id}!{secrets.token_urlsafe(32)}"
        org["sessions"][access] = org["admin"]
        refresh = secrets.token_urlsafe(32)
        org["refresh_tokens"][refresh] = org["admin"]
        client_id = client_id or f"sandbox-client-{secrets.token_hex(8)}"
        client_secret = client_secret or secrets.token_hex(16)
        self.state["apps"][client_id] = {"secret": client_secret}
        admin = org["records"]["User"][org["admin"]]
        return {
            "account_id": org_id,
            "instance": instance,
            "access_token": access,
            "refresh_token": refresh,
            "client_id": client_id,
            "client_secret": client_secret,
            "username": admin["Username"],
            "user_id": admin["Id"],
            "path": MOUNT,
            "login_path": MOUNT if instance == "production" else f"{MOUNT}/test",
        }

    def add_custom_field(
        self, org: dict[str, Any], sobject: str, name: str, type: str = "string", **options: Any
    ) -> dict[str, Any]:
        if not name.endswith("__c"):
            raise ValueError("custom field names end in __c")
        spec = _field(
            name,
            type,
            options.get("label", ""),
            length=int(options.get("length", 0)),
            picklist=tuple(options.get("picklist", ())),
            nillable=type != "boolean",
            defaulted=type == "boolean",
            custom=True,
        )
        org["custom_fields"].setdefault(sobject, []).append(spec)
        for record in org["records"][sobject].values():
            record.setdefault(name, False if type == "boolean" else None)
        return spec

    def find_org(self, ref: str | None) -> dict[str, Any]:
        for org in self.state["orgs"].values():
            if ref in (org["orgId"], org["name"]):
                return org
        raise KeyError(f"no Salesforce sandbox org {ref!r}")

    def seed(
        self, account: str, count: int, seed: int = 0, sobject: str = "Contact", **options: Any
    ) -> dict[str, Any]:
        """``count`` synthetic records of ``sobject``, created in the past. Contacts get
        an Account by their company's name; Accounts are companies; Opportunities belong
        to the org's Accounts in turn; Tasks and Events relate to its Contacts (``WhoId``)
        and to its Opportunities, else Accounts (``WhatId``), in turn."""
        org = self.find_org(account)
        if sobject not in SEEDABLE:
            raise ValueError(f"seed one of {', '.join(SEEDABLE)}")
        start = options.get("start")
        offset = len(org["records"][sobject]) if start is None else int(start)
        crowd = people(count, seed, offset)
        if sobject in ("Contact", "Lead"):
            ids = [self.add_person(org, sobject, p) for p in crowd]
        else:
            ids = [self.add_related(org, sobject, p, offset + i) for i, p in enumerate(crowd)]
        return {"ids": ids, "sobject": sobject}

    def add_related(self, org: dict[str, Any], sobject: str, person: Person, index: int) -> str:
        """One synthetic Account, Opportunity, Task or Event (see ``seed``)."""
        created = self.now() - person.age_days * 86400
        stamp = wire_time(created)
        record = self.blank(sobject, self.field_map(org, sobject), org["admin"], stamp)
        accounts = list(org["records"]["Account"])
        if sobject == "Account":
            record.update(
                Name=f"{person.company} {person.city}",
                Phone=person.phone,
                BillingCity=person.city,
                BillingCountry=COUNTRY_NAMES.get(person.country, person.country),
                Industry=INDUSTRIES[index % len(INDUSTRIES)],
            )
        elif sobject == "Opportunity":
            if not accounts:
                raise ValueError("seed Accounts before Opportunities")
            parent = org["records"]["Account"][accounts[index % len(accounts)]]
            record.update(
                Name=f"{parent['Name']}: {person.job_title}",
                AccountId=parent["Id"],
                StageName=STAGES[index % len(STAGES)],
                CloseDate=datetime.fromtimestamp(created + 30 * 86400, UTC).date().isoformat(),
                Amount=float(1000 * (index % 50 + 1)),
            )
        else:
            contacts = list(org["records"]["Contact"])
            related = list(org["records"]["Opportunity"]) or accounts
            record.update(
                Subject=f"{'Call' if sobject == 'Task' else 'Meet'} {person.full_name}",
                WhoId=contacts[index % len(contacts)] if contacts else None,
                WhatId=related[index % len(related)] if related else None,
                Description=person.notes or None,
            )
            if sobject == "Task":
                record["ActivityDate"] = datetime.fromtimestamp(created, UTC).date().isoformat()
            else:
                record["StartDateTime"] = wire_time(created + 86400)
                record["EndDateTime"] = wire_time(created + 86400 + 3600)
                record["Location"] = person.city
            record["AccountId"] = self.activity_account(org, record)
        org["records"][sobject][record["Id"]] = record
        return str(record["Id"])

    def add_person(self, org: dict[str, Any], sobject: str, person: Person) -> str:
        stamp = wire_time(self.now() - person.age_days * 86400)
        fields = self.field_map(org, sobject)
        record = self.blank(sobject, fields, org["admin"], stamp)
        address = "Mailing" if sobject == "Contact" else ""
        record.update(
            {
                "FirstName": person.first_name,
                "LastName": person.last_name,
                "Email": person.email,
                "Phone": person.phone,
                "Title": person.job_title,
                f"{address}City": person.city,
                f"{address}Country": COUNTRY_NAMES.get(person.country, person.country),
                "Description": person.notes or None,
            }
        )
        if sobject == "Lead":
            record["Company"] = person.company
        else:
            record["AccountId"] = self.account_named(org, person.company, stamp)
        org["records"][sobject][record["Id"]] = record
        return str(record["Id"])

    def account_named(self, org: dict[str, Any], name: str, stamp: str) -> str:
        for account in org["records"]["Account"].values():
            if account["Name"] == name:
                return str(account["Id"])
        record = self.blank("Account", self.field_map(org, "Account"), org["admin"], stamp)
        record["Name"] = name
        org["records"]["Account"][record["Id"]] = record
        return str(record["Id"])

    def demo(self) -> None:
        """The demo tenant's org (fixed id and session), with 25 Contacts."""
        if DEMO_ORG["org"] in self.state["orgs"]:
            return
        self.create_account(
            name="Demo org",
            org_id=DEMO_ORG["org"],
            access_token=DEMO_ORG["token"],
            client_id=DEMO_ORG["client_id"],
            client_secret=DEMO_ORG["client_secret"],
            custom_fields={"Contact": [{"name": "GRdeleted__c", "type": "boolean"}]},
        )
        org = self.state["orgs"][DEMO_ORG["org"]]
        for person in [*people(10, seed=424242), *people(15, seed=300, start=100)]:
            self.add_person(org, "Contact", person)

    def view(self, account: str | None = None) -> dict[str, Any]:
        """Orgs as tests read them: records per object (Contacts with ``Account.Name``),
        deleted ids, API usage."""
        selected = [self.find_org(account)] if account else list(self.state["orgs"].values())
        result = {}
        for org in selected:
            records: dict[str, list[dict[str, Any]]] = {}
            for sobject in WRITABLE:
                rows = []
                for record in org["records"][sobject].values():
                    row = dict(record)
                    if sobject == "Contact":
                        parent = org["records"]["Account"].get(record.get("AccountId") or "")
                        row["Account.Name"] = parent["Name"] if parent else None
                    rows.append(row)
                records[sobject] = rows
            result[org["orgId"]] = {
                "name": org["name"],
                "instance": org["instance"],
                "api": dict(org["api"]),
                "records": records,
                "users": list(org["records"]["User"].values()),
                "deleted": {k: [d["id"] for d in v] for k, v in org["deleted"].items()},
            }
        return {"orgs": result}

    def locate(
        self, account: str, sobject: str, record: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        org = self.find_org(account)
        for candidate in org["records"][sobject].values():
            if record in (candidate["Id"], candidate.get("Email")):
                return org, candidate
        raise KeyError(f"no {sobject} {record!r}")

    def action_edit(
        self, account: str, record: str, sobject: str = "Contact", **changes: Any
    ) -> dict[str, Any]:
        """A user edits a record in Salesforce's app (``record``: id or email)."""
        org, found = self.locate(account, sobject, record)
        fields = self.field_map(org, sobject)
        unknown = set(changes) - set(fields)
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}")
        found.update(changes)
        found["LastModifiedDate"] = found["SystemModstamp"] = wire_time(self.now())
        return {"edited": found["Id"]}

    def action_create(
        self, account: str, sobject: str = "Contact", **fields: Any
    ) -> dict[str, Any]:
        """A user creates a record in Salesforce's app."""
        org = self.find_org(account)
        admin = org["records"]["User"][org["admin"]]
        result = self.write(org, admin, sobject, None, dict(fields))
        if not result["success"]:
            raise ValueError(str(result["errors"]))
        return {"id": result["id"]}

    def action_delete(self, account: str, record: str, sobject: str = "Contact") -> dict[str, Any]:
        """A user deletes a record in Salesforce's app (to the Recycle Bin)."""
        org, found = self.locate(account, sobject, record)
        self.remove(org, sobject, found["Id"])
        return {"deleted": found["Id"]}

    def action_expire_sessions(self, account: str) -> dict[str, Any]:
        """Every access token of the org expires (the session timeout passed)."""
        org = self.find_org(account)
        count = len(org["sessions"])
        org["sessions"] = {}
        return {"expired": count}

    def action_revoke(self, account: str) -> dict[str, Any]:
        """An admin revokes the connected app's access: refresh tokens and sessions."""
        org = self.find_org(account)
        count = len(org["refresh_tokens"])
        org["refresh_tokens"] = {}
        org["sessions"] = {}
        return {"revoked": count}

    def action_api_usage(self, account: str, used: int, max: int | None = None) -> dict[str, Any]:
        """Set the org's rolling 24-hour API usage (e.g. near its allowance)."""
        org = self.find_org(account)
        org["api"]["used"] = int(used)
        if max is not None:
            org["api"]["max"] = int(max)
        return dict(org["api"])

    def action_trim_delete_log(self, account: str) -> dict[str, Any]:
        """The Recycle Bin was emptied: the delete log starts now."""
        org = self.find_org(account)
        org["delete_log_since"] = self.now()
        for log in org["deleted"].values():
            log.clear()
        return {"earliest": wire_time(org["delete_log_since"])}

    def action_clock(self, at: float | str | None = None, advance: float = 0.0) -> dict[str, Any]:
        """Stop Salesforce's clock at ``at`` (epoch seconds, or ``"now"``), or move a
        stopped clock on by ``advance`` seconds; with neither it runs again. While it is
        stopped every change lands in the same second, as a burst of changes does."""
        if at == "now":
            self.state["clock"] = float(int(time.time()))
        elif at is not None:
            self.state["clock"] = float(at)
        elif advance:
            self.state["clock"] = self.now() + float(advance)
        else:
            self.state["clock"] = None
        clock = self.state["clock"]
        return {"clock": wire_time(clock) if clock is not None else None}

    def action_login(self, username: str | None = None) -> dict[str, Any]:
        """Who is logged in in the browser at the login page (None: the newest org's admin)."""
        self.state["browser"] = username
        return {"browser": username}

    def action_add_field(
        self, account: str, sobject: str, name: str, type: str = "string", **options: Any
    ) -> dict[str, Any]:
        """An admin adds a custom field in Setup."""
        return self.add_custom_field(self.find_org(account), sobject, name, type, **options)
