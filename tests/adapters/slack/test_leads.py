"""Slack leads end to end: the profile's address when the bot may read it, else one derived
from the workspace and user ids, else one clear sentence and no lead."""

from __future__ import annotations

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.errors import LeadEmailUnavailable
from knowrithm_bots.core.user_messages import explain
from tests.adapters.slack.helpers import slack_bot
from tests.emulators.slack_api import SlackEmulator, events, ids

MENTION = f"<@{ids.BOT_USER_ID}>"
GUEST, GUEST_TEAM, SHARED = "U0EXT00001", "T0OTHER01", "C0SHARED01"
RULES = {"conversations": {"entity_rules": [{"entity_type": "lead", "external": True}]}}


def guest_without_address(emu: SlackEmulator) -> None:
    # users.info leaves profile.email out when the app lacks the users:read.email scope.
    emu.add_user(user_id=GUEST, real_name="Ext Guest", team_id=GUEST_TEAM)
    emu.add_channel(channel_id=SHARED, name="partners", is_ext_shared=True)


async def ask_as_guest(
    emu: SlackEmulator, server: LocalKnowrithm, config: dict[str, object]
) -> None:
    async with slack_bot(emu, server, bot_config=config) as bot:
        await bot.send(
            events.app_mention(
                text=f"{MENTION} pricing?", user=GUEST, channel=SHARED, user_team=GUEST_TEAM
            )
        )
        await bot.settle()


async def test_a_guest_without_a_readable_address_gets_a_derived_one(
    emu: SlackEmulator, server: LocalKnowrithm
) -> None:
    guest_without_address(emu)
    await ask_as_guest(emu, server, {**RULES, "leads": {"email_domain": "leads.acme-corp.com"}})
    (lead,) = server.state.leads.values()
    # Slack user ids are unique per workspace: the bot's workspace is part of the address.
    assert lead.email == f"slack-{ids.TEAM_ID.lower()}-{GUEST.lower()}@leads.acme-corp.com"
    (conversation,) = server.state.conversations.values()
    assert (conversation.entity_type, conversation.lead_id) == ("lead", lead.id)


async def test_without_an_address_or_a_domain_the_guest_is_told_and_no_lead_is_made(
    emu: SlackEmulator, server: LocalKnowrithm, caplog: pytest.LogCaptureFixture
) -> None:
    guest_without_address(emu)
    await ask_as_guest(emu, server, RULES)
    (notice,) = emu.bot_messages(SHARED)
    assert notice.text == explain(LeadEmailUnavailable("x"))
    assert "leads.email_domain is not set" in caplog.text
    assert server.state.leads == {}
    assert server.state.conversations == {}
