"""Decides whether a new thread's conversation is started as a USER or a LEAD."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from knowrithm_bots.core.config.models import EntityRule
from knowrithm_bots.core.events import Inbound

EntityType = Literal["USER", "LEAD"]


def _matches(rule: EntityRule, event: Inbound) -> bool:
    origin, author = event.origin, event.author
    checks = (
        rule.adapters is None or origin.adapter in rule.adapters,
        rule.direct is None or origin.is_direct == rule.direct,
        rule.channels is None
        or origin.channel_id in rule.channels
        or (origin.channel_name is not None and origin.channel_name.lstrip("#") in rule.channels),
        rule.external is None or author.external == rule.external,
        rule.users is None or author.id in rule.users,
        rule.users_not_in is None or author.id not in rule.users_not_in,
    )
    return all(checks)


def entity_type_for(
    *, event: Inbound, rules: Sequence[EntityRule], default: EntityType = "USER"
) -> EntityType:
    """The entity type of the first rule that matches ``event``, else ``default``."""
    for rule in rules:
        if _matches(rule, event):
            return rule.entity_type
    return default


def _can_match(rule: EntityRule, adapter: str) -> bool:
    # An empty list admits nobody; the other conditions depend on the thread, so may hold.
    return (rule.adapters is None or adapter in rule.adapters) and all(
        allowed is None or allowed for allowed in (rule.channels, rule.users)
    )


def _matches_all(rule: EntityRule, adapter: str) -> bool:
    conditions = (rule.direct, rule.channels, rule.external, rule.users)
    return (
        (rule.adapters is None or adapter in rule.adapters)
        and all(condition is None for condition in conditions)
        and not rule.users_not_in
    )


def may_start_leads(
    *, adapter: str, rules: Sequence[EntityRule], default: EntityType = "USER"
) -> bool:
    """Whether some thread of ``adapter`` could start a LEAD conversation under ``rules``."""
    for rule in rules:
        if rule.entity_type == "LEAD" and _can_match(rule, adapter):
            return True
        if _matches_all(rule, adapter):
            return False  # every thread stops at this USER rule
    return default == "LEAD"
