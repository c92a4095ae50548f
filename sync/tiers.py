"""What each pricing tier (an account's "plan") allows, in one table: its limits, the
connectors (vendors) it may connect and the entity types its connections may sync.

``Account.limit`` reads the limits (an account may override any of them in the ops
console); the connectors and entity types are checked by ``check_vendor`` and
``check_entities`` wherever an app is connected or a connection set up: the apps
catalogue greys what the plan lacks ("needs the Business plan"), the connect page, the
wizard, the REST API and the ops console refuse it in the same words. ForceManager's
Salesforce integration (issue 17's seed) is offered on the Business plan only, and so
are the entities beyond contacts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from sync.models import Account

ORDER = ("free", "team", "business")  # cheapest first


@dataclass(frozen=True)
class TierRules:
    """One tier: ``limits`` by name (see Account.limit); ``vendors_excluded``, the
    connectors it may not use; ``entities``, the entity types its connections may sync
    (None: every type a connector offers)."""

    limits: dict[str, Any]
    vendors_excluded: frozenset[str] = frozenset()
    entities: frozenset[str] | None = field(default=frozenset({"contact"}))


TIERS: dict[str, TierRules] = {
    "free": TierRules(
        limits={
            "max_rules_per_connection": 2,
            "custom_mappings_allowed": False,
            "min_interval_minutes": 60,
            "max_contacts": 1_000,
        },
        vendors_excluded=frozenset({"forcemanager"}),
    ),
    "team": TierRules(
        limits={
            "max_rules_per_connection": 10,
            "custom_mappings_allowed": True,
            "min_interval_minutes": 5,
            "max_contacts": 50_000,
        },
        vendors_excluded=frozenset({"forcemanager"}),
    ),
    "business": TierRules(
        limits={
            "max_rules_per_connection": 50,
            "custom_mappings_allowed": True,
            "min_interval_minutes": 1,
            "max_contacts": 1_000_000,
        },
        entities=None,
    ),
}
# The limits alone, by tier (what Account.limit reads).
TIER_LIMITS: dict[str, dict[str, Any]] = {name: rules.limits for name, rules in TIERS.items()}


class NotInPlan(ValueError):
    """What was asked is not part of the account's plan; the message says which plan
    has it."""


def vendor_allowed(tier: str, vendor: str) -> bool:
    return vendor not in TIERS[tier].vendors_excluded


def tier_for_vendor(vendor: str) -> str | None:
    """The cheapest tier that may use ``vendor`` (None: none does)."""
    return next((tier for tier in ORDER if vendor_allowed(tier, vendor)), None)


def entity_allowed(tier: str, entity: str) -> bool:
    allowed = TIERS[tier].entities
    return allowed is None or entity in allowed


def tier_for_entity(entity: str) -> str | None:
    """The cheapest tier whose connections may sync ``entity``."""
    return next((tier for tier in ORDER if entity_allowed(tier, entity)), None)


def plan_name(tier: str) -> str:
    """The tier's name as tenants read it, in their language (sync.models.Tier's label;
    the key itself for a tier no longer offered). Imported here, not at the top:
    sync.models reads this module's limits."""
    from sync.models import Tier

    return str(Tier(tier).label) if tier in Tier.values else tier


def needs_words(tier: str | None) -> str:
    """ "needs the Business plan" (what the catalogue shows on a greyed app)."""
    if tier is None:
        return _("not offered on any plan")
    return _("needs the %(plan)s plan") % {"plan": plan_name(tier)}


def check_vendor(account: Account, vendor: str, label: str = "") -> None:
    """Raise NotInPlan unless ``account``'s tier may use ``vendor``."""
    if vendor_allowed(account.tier, vendor):
        return
    raise NotInPlan(
        _("%(app)s %(needs)s; your plan is %(plan)s.")
        % {
            "app": label or vendor,
            "needs": needs_words(tier_for_vendor(vendor)),
            "plan": plan_name(account.tier),
        }
    )


def check_entities(account: Account, entities: list[str] | tuple[str, ...]) -> None:
    """Raise NotInPlan unless ``account``'s tier may sync every one of ``entities``."""
    from sync.vocabulary import entity_label

    for entity in entities:
        if entity_allowed(account.tier, entity):
            continue
        raise NotInPlan(
            _("Syncing %(entity)s %(needs)s; your plan is %(plan)s.")
            % {
                "entity": entity_label(entity, plural=True),
                "needs": needs_words(tier_for_entity(entity)),
                "plan": plan_name(account.tier),
            }
        )
