"""Two realistic schemas: a CRM with first and last name (Sellf-like) and a marketing tool
with one full-name field and a country-code field (GetResponse/Mailchimp-like)."""

from __future__ import annotations

from connectors.base import FieldSpec

CRM = [
    FieldSpec("first_name", "First name", common="first_name"),
    FieldSpec("last_name", "Last name", common="last_name", required=True),
    FieldSpec("email", "Email", "email", common="email"),
    FieldSpec("phone", "Phone", "phone", common="phone"),
    FieldSpec("mobile", "Mobile", "text", common="mobile"),
    FieldSpec("title", "Job title", common="job_title"),
    FieldSpec("country", "Country", "text", common="country"),
    FieldSpec("tags", "Tags", "tags", common="tags", multi=True),
    FieldSpec("user_id", "Owner", "owner", common="owner"),
    FieldSpec("prospect_status", "Status", "status", common="status"),
    FieldSpec("employees", "Employees", "number", custom=True),
    FieldSpec("updated_at", "Updated", "datetime", read_only=True),
]

MARKETING = [
    FieldSpec("name", "Name", common="full_name"),
    FieldSpec("email", "Email", "email", common="email", required=True),
    FieldSpec("phone", "Phone", "text", common="phone"),
    FieldSpec("mobile", "Mobile", "phone", common="mobile"),
    FieldSpec("job", "Job", "text", common="job_title"),
    FieldSpec("country", "Country", "country", common="country"),
    FieldSpec("tags", "Tags", "tags", common="tags", multi=True),
    FieldSpec("lists", "Lists", "lists", common="lists", multi=True),
    FieldSpec("owner", "Owner", "owner", common="owner"),
    FieldSpec("subscribed", "Subscribed", "subscription", common="subscribed"),
    FieldSpec("score", "Score", "number", read_only=True),
    FieldSpec("size", "Company size", "text", custom=True),
]
