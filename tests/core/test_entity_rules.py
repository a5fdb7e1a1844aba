"""USER or LEAD, decided by configurable rules."""

from __future__ import annotations

from knowrithm_bots.core.config.models import EntityRule
from knowrithm_bots.core.entity_rules import EntityType, entity_type_for, may_start_leads
from knowrithm_bots.core.events import Author, Inbound, Origin


def event(
    *,
    adapter: str = "slack",
    direct: bool = False,
    channel: str = "C1",
    channel_name: str | None = None,
    external: bool = False,
    user: str = "U1",
) -> Inbound:
    return Inbound(
        thread=f"{adapter}:x",
        event_id="e",
        text="hi",
        author=Author(id=user, external=external),
        origin=Origin(
            adapter=adapter, channel_id=channel, channel_name=channel_name, is_direct=direct
        ),
    )


def test_default_is_user() -> None:
    assert entity_type_for(event=event(), rules=[]) == "USER"
    assert entity_type_for(event=event(), rules=[], default="LEAD") == "LEAD"


def test_direct_messages_as_leads() -> None:
    rules = [EntityRule(direct=True)]
    assert entity_type_for(event=event(direct=True), rules=rules) == "LEAD"
    assert entity_type_for(event=event(direct=False), rules=rules) == "USER"


def test_named_channels_by_id_or_name() -> None:
    rules = [EntityRule(channels=["sales", "C9"])]
    assert entity_type_for(event=event(channel_name="#sales"), rules=rules) == "LEAD"
    assert entity_type_for(event=event(channel="C9"), rules=rules) == "LEAD"
    assert entity_type_for(event=event(channel_name="general"), rules=rules) == "USER"


def test_external_people() -> None:
    rules = [EntityRule(external=True)]
    assert entity_type_for(event=event(external=True), rules=rules) == "LEAD"
    assert entity_type_for(event=event(external=False), rules=rules) == "USER"


def test_numeric_ids_in_yaml_are_compared_as_strings() -> None:
    from knowrithm_bots.core.config import parse_settings

    settings = parse_settings(
        {"conversations": {"entity_rules": [{"users_not_in": [1001, 1002], "direct": True}]}},
        env={},
    )
    rules = settings.conversations.entity_rules
    assert entity_type_for(event=event(direct=True, user="1001"), rules=rules) == "USER"
    assert entity_type_for(event=event(direct=True, user="42"), rules=rules) == "LEAD"


def test_all_conditions_must_hold_and_first_rule_wins() -> None:
    rules = [
        EntityRule(entity_type="USER", adapters=["telegram"], users=["staff1"]),
        EntityRule(adapters=["telegram"], direct=True, users_not_in=["staff2"]),
    ]
    assert (
        entity_type_for(event=event(adapter="telegram", direct=True, user="staff1"), rules=rules)
        == "USER"
    )
    assert (
        entity_type_for(event=event(adapter="telegram", direct=True, user="staff2"), rules=rules)
        == "USER"
    )
    assert (
        entity_type_for(event=event(adapter="telegram", direct=True, user="guest"), rules=rules)
        == "LEAD"
    )
    assert (
        entity_type_for(event=event(adapter="slack", direct=True, user="guest"), rules=rules)
        == "USER"
    )


def test_which_adapters_lead_rules_may_reach() -> None:
    def reach(*rules: EntityRule, default: EntityType = "USER") -> set[str]:
        names = ("slack", "telegram", "discord")
        return {n for n in names if may_start_leads(adapter=n, rules=rules, default=default)}

    assert reach() == set()
    assert reach(default="LEAD") == {"slack", "telegram", "discord"}
    assert reach(EntityRule(external=True)) == {"slack", "telegram", "discord"}
    assert reach(EntityRule(adapters=["slack"], direct=True)) == {"slack"}
    # A USER rule that takes every thread of an adapter hides the rules after it.
    catch_all_user = EntityRule(entity_type="USER", adapters=["telegram"])
    assert reach(catch_all_user, EntityRule(direct=True)) == {"slack", "discord"}
    assert reach(catch_all_user, default="LEAD") == {"slack", "discord"}
    # A USER rule with a condition lets the rest through.
    some_user = EntityRule(entity_type="USER", adapters=["telegram"], users=["1"])
    assert reach(some_user, EntityRule(direct=True)) == {"slack", "telegram", "discord"}
    # An empty list admits nobody.
    assert reach(EntityRule(users=[]), EntityRule(adapters=[])) == set()
