"""Caller ID page: type a number in any format, see who it is and where they live."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from sync.lookup import lookup
from sync.web.tenant import tenant_required


@tenant_required
def caller_lookup(request: HttpRequest) -> HttpResponse:
    """A search bar over the numbers of every record the tenant's connections sync."""
    phone = (request.GET.get("phone") or "").strip()
    numbers, people = lookup(request.tenant.account, phone) if phone else ([], [])  # type: ignore[attr-defined]
    return render(
        request,
        "web/lookup.html",
        {"phone": phone, "numbers": numbers, "people": people, "searched": bool(phone)},
    )
