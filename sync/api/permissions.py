"""Who may do what through the API, and in which account.

Every request acts within one account: the token's account for bearer tokens, else the
session's current account as the tenant pages' account switcher left it (or, failing
that, the user's first account). Members read; owners and admins
write. Objects of other accounts are never found (404), see sync/tenancy.py.
"""

from __future__ import annotations

from typing import Any, cast

from rest_framework import permissions
from rest_framework.request import Request

from sync.models import Account, ApiToken, TeamUser
from sync.tenancy import membership
from sync.web.tenant import resolve_tenant


def current_membership(request: Any) -> TeamUser | None:
    """The caller's membership in the account the request acts within, or None.

    Bearer tokens act within their own account. Browser sessions act within the tenant
    pages' current account: the one function ``sync.web.tenant.resolve_tenant`` decides
    it for pages and API alike."""
    cached: Any = getattr(request, "_current_membership", False)
    if cached is not False:
        return cast("TeamUser | None", cached)
    user = getattr(request, "user", None)
    result: TeamUser | None = None
    if getattr(user, "is_authenticated", False):
        token = getattr(request, "auth", None)
        if isinstance(token, ApiToken):
            result = membership(user, token.account_id)
        else:
            tenant = resolve_tenant(request)
            result = tenant.membership if tenant is not None else None
    request._current_membership = result
    return result


def current_account(request: Any) -> Account | None:
    """The account the request acts within (see ``current_membership``)."""
    member = current_membership(request)
    return member.account if member is not None else None


class IsAccountMember(permissions.BasePermission):
    """Members of the current account may read; only owners and admins may write."""

    message = "Only owners and admins of this account can change it."

    def has_permission(self, request: Request, view: Any) -> bool:
        member = current_membership(request)
        if member is None:
            self.message = "You are not a member of any account."
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        return member.can_manage
