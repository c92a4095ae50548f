"""The current tenant of a page request.

A user may belong to several accounts; the pages act within one, remembered in the
session (the account switcher changes it). Views wrapped in ``tenant_required`` find it
on ``request.tenant``. Objects are looked up through ``sync.tenancy`` so another
tenant's ids answer 404; changes that only owners and admins may make answer 403 to a
member of the same tenant (``require_manager``), checked *after* the object lookup so
an outsider still gets 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext

from sync.models import Account, TeamUser

SESSION_KEY = "current_account_id"


@dataclass
class Tenant:
    """The account a request acts in, the user's membership there, and the other
    accounts the user could switch to."""

    account: Account
    membership: TeamUser
    memberships: list[TeamUser]

    @property
    def can_manage(self) -> bool:
        return self.membership.can_manage

    @property
    def role(self) -> str:
        return self.membership.get_role_display()


def resolve_tenant(request: HttpRequest) -> Tenant | None:
    """The current tenant: the session's account if the user still belongs to it, else
    their first account by name; None for a user without any account."""
    memberships = list(
        TeamUser.objects.filter(user=request.user)
        .select_related("account")
        .order_by("account__name", "account_id")
    )
    if not memberships:
        return None
    wanted = request.session.get(SESSION_KEY)
    current = next((m for m in memberships if m.account_id == wanted), memberships[0])
    if wanted != current.account_id:
        request.session[SESSION_KEY] = current.account_id
    return Tenant(account=current.account, membership=current, memberships=memberships)


def tenant_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Sign-in required; sets ``request.tenant``. A user who belongs to no account sees
    a page that says so (they may have an invitation link to follow)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        tenant = resolve_tenant(request)
        if tenant is None:
            return render(request, "web/no_account.html", status=403)
        request.tenant = tenant  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


def require_manager(request: HttpRequest) -> None:
    """403 unless the user is an owner or admin of the current account."""
    if not request.tenant.can_manage:  # type: ignore[attr-defined]
        raise PermissionDenied(gettext("Only owners and admins of this account can do that."))
