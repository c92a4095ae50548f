"""Tenant scoping: every tenant-facing query goes through these helpers.

A user may belong to several accounts; pages and the API act within one *current*
account (chosen by the account switcher), and objects of other accounts are invisible:
looked up through these helpers they are simply not found (404, never 403).
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models
from django.http import Http404

from sync.models import Account, Role, TeamUser

M = TypeVar("M", bound=models.Model)

# How each tenant-owned model reaches its account.
ACCOUNT_PATH: dict[str, str] = {
    "Account": "pk",
    "TeamUser": "account",
    "AppAuthorization": "account",
    "Connection": "account",
    "Rule": "connection__account",
    "RuleFilter": "rule__connection__account",
    "RuleAction": "rule__connection__account",
    "FieldMapping": "connection__account",
    "UserLink": "connection__account",
    "RecordLink": "connection__account",
    "SyncRun": "connection__account",
    "SyncEvent": "connection__account",
    "ApiToken": "account",
    "Invitation": "account",
    "PhoneEntry": "account",
}


def accounts_for(user: Any) -> models.QuerySet[Account]:
    """The accounts ``user`` is a member of (none for anonymous users)."""
    if not getattr(user, "is_authenticated", False):
        return Account.objects.none()
    return Account.objects.filter(members__user=user)


def membership(user: Any, account: Account | int) -> TeamUser | None:
    """``user``'s membership in ``account``, or None if they are not a member."""
    if not getattr(user, "is_authenticated", False):
        return None
    account_id = account if isinstance(account, int) else account.pk
    return TeamUser.objects.filter(user=user, account_id=account_id).first()


def _queryset(model_or_qs: type[M] | models.QuerySet[M]) -> models.QuerySet[M]:
    if isinstance(model_or_qs, models.QuerySet):
        return model_or_qs
    return model_or_qs._default_manager.all()


def scoped(model_or_qs: type[M] | models.QuerySet[M], account: Account | int) -> models.QuerySet[M]:
    """``model_or_qs`` restricted to rows of ``account``."""
    qs = _queryset(model_or_qs)
    account_id = account if isinstance(account, int) else account.pk
    return qs.filter(**{ACCOUNT_PATH[qs.model.__name__]: account_id})


def scoped_for_user(model_or_qs: type[M] | models.QuerySet[M], user: Any) -> models.QuerySet[M]:
    """``model_or_qs`` restricted to rows of any account ``user`` belongs to."""
    qs = _queryset(model_or_qs)
    path = ACCOUNT_PATH[qs.model.__name__]
    return qs.filter(**{f"{path}__in": accounts_for(user).values("pk")})


def get_scoped_or_404(
    model_or_qs: type[M] | models.QuerySet[M], account: Account | int, **lookup: Any
) -> M:
    """One row of ``account``; Http404 when it does not exist *or belongs to another
    account*, so that other tenants' ids reveal nothing."""
    try:
        return scoped(model_or_qs, account).get(**lookup)
    except models.ObjectDoesNotExist as exc:
        raise Http404("Not found") from exc


def can_manage(user: Any, account: Account | int) -> bool:
    """Owners and admins change settings; members only watch."""
    member = membership(user, account)
    return member is not None and member.role in (Role.OWNER, Role.ADMIN)
