"""Reactions, redeliveries, signatures, Slack Connect leads and bad input, end to end."""

from __future__ import annotations

import time

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from knowrithm_bots.core.user_messages import EMPTY_MESSAGE, too_long
from tests.adapters.slack.conftest import numbered_answer
from tests.adapters.slack.helpers import slack_bot
from tests.emulators.slack_api import SlackEmulator, events, ids

pytestmark = pytest.mark.knowrithm_modes

MENTION = f"<@{ids.BOT_USER_ID}>"
GUEST = "U0EXT00001"
GUEST_TEAM = "T0OTHER01"
SHARED = "C0SHARED01"


async def test_reactions_rate_the_answer_they_were_put_on(
    emu: SlackEmulator, server: LocalKnowrithm, mode: str
) -> None:
    async with slack_bot(emu, server, mode=mode) as bot:
        mention = events.app_mention(text=f"{MENTION} first question")
        await bot.send(mention)
        await bot.settle()
        await bot.send(events.thread_reply(text="second question", thread_ts=mention["ts"]))
        await bot.settle()
        first, second = emu.bot_messages(ids.CHANNEL_ID)

        def react(kind: str, name: str, ts: str, **extra: str) -> dict[str, object]:
            builder = events.reaction_added if kind == "+" else events.reaction_removed
            return builder(reaction=name, item_channel=ids.CHANNEL_ID, item_ts=ts, **extra)

        await bot.send(react("+", "+1::skin-tone-2", first.ts))
        await bot.send(react("-", "+1::skin-tone-2", first.ts))
        await bot.send(react("+", "three", second.ts))
        # Not ratings: a reaction on the person's own message, and the bot's own reaction.
        await bot.send(react("+", "+1", mention["ts"], item_user=ids.USER_ID))
        await bot.send(react("+", "-1", second.ts, user=ids.BOT_USER_ID))
        await bot.send(react("+", "eyes", second.ts))
        await bot.settle()

    (conversation,) = server.state.messages.values()
    answers = [m.id for m in conversation if m.role == "assistant"]
    assert [(r.message_id, r.rating) for r in server.state.ratings] == [
        (answers[0], 5),
        (answers[1], 3),
    ]


async def test_a_redelivered_event_is_answered_once_and_acked_at_once(emu: SlackEmulator) -> None:
    # The agent takes 1.5 s to answer; Slack must still get its ack well within 3 s.
    async with (
        LocalKnowrithm(agent=ScriptedAgent(numbered_answer), first_token_delay=1.5) as server,
        slack_bot(emu, server, mode="http") as bot,
    ):
        mention = events.app_mention(text=f"{MENTION} once please")
        for retry in (0, 1, 2):
            started = time.monotonic()
            await bot.send(mention, event_id="Ev0RETRY001", retry=retry)
            assert time.monotonic() - started < 1.0
        # The same message also arrives as a `message` event with its own event_id.
        same = events.channel_message(text=mention["text"], ts=mention["ts"])
        await bot.send(same)
        await bot.settle()

    assert len(server.state.chat_requests) == 1
    assert len(emu.bot_messages(ids.CHANNEL_ID)) == 1


async def test_a_socket_mode_redelivery_is_answered_once(
    emu: SlackEmulator, server: LocalKnowrithm
) -> None:
    async with slack_bot(emu, server, mode="socket") as bot:
        dm = events.im_message(text="hello once")
        for attempt in range(3):
            await bot.send(dm, event_id="Ev0RETRY002", retry=attempt)
        await bot.settle()
    assert len(server.state.chat_requests) == 1


async def test_requests_with_bad_signatures_are_refused(
    emu: SlackEmulator, server: LocalKnowrithm
) -> None:
    async with slack_bot(emu, server, mode="http") as bot:
        url = bot.adapter.events_url
        assert url is not None
        forged = events.app_mention(text=f"{MENTION} forged")
        assert await emu.deliver_event(url=url, event=forged, bad_signature=True) == 401
        stale = events.app_mention(text=f"{MENTION} stale")
        old = int(time.time()) - 600
        assert await emu.deliver_event(url=url, event=stale, request_timestamp=old) == 401
        wrong = events.app_mention(text=f"{MENTION} other secret")
        assert await emu.deliver_event(url=url, event=wrong, signing_secret="nope") == 401
        await bot.settle()
    assert not server.state.chat_requests
    assert not emu.bot_messages()


@pytest.mark.knowrithm_modes("streaming")
async def test_a_slack_connect_guest_starts_a_lead_conversation(
    emu: SlackEmulator, server: LocalKnowrithm
) -> None:
    emu.add_user(user_id=ids.USER_ID, real_name="Inside Person", email="in@example.com")
    emu.add_user(
        user_id=GUEST, real_name="Ext Guest", email="ext@partner.example.com", team_id=GUEST_TEAM
    )
    emu.add_channel(channel_id=SHARED, name="partners", is_ext_shared=True)
    rules = {"conversations": {"entity_rules": [{"entity_type": "LEAD", "external": True}]}}
    async with slack_bot(emu, server, bot_config=rules) as bot:
        guest = events.app_mention(
            text=f"{MENTION} pricing?", user=GUEST, channel=SHARED, user_team=GUEST_TEAM
        )
        await bot.send(guest)
        colleague = events.app_mention(text=f"{MENTION} status?", channel=SHARED)
        await bot.send(colleague)
        await bot.settle()

    by_thread = {c.metadata["thread"]: c for c in server.state.conversations.values()}
    lead_conversation, user_conversation = by_thread[guest["ts"]], by_thread[colleague["ts"]]
    assert lead_conversation.entity_type == "lead"
    assert user_conversation.entity_type == "user"
    (lead,) = server.state.leads.values()
    assert lead_conversation.lead_id == lead.id
    assert (lead.first_name, lead.last_name, lead.email) == (
        "Ext",
        "Guest",
        "ext@partner.example.com",
    )
    assert lead_conversation.metadata["channel_name"] == "partners"
    starts = {c.params["thread_ts"]: c.params for c in emu.calls_to("chat.startStream")}
    assert starts[guest["ts"]]["recipient_team_id"] == GUEST_TEAM
    assert starts[colleague["ts"]]["recipient_team_id"] == ids.TEAM_ID


async def test_bad_input_is_handled_as_documented(
    emu: SlackEmulator, server: LocalKnowrithm
) -> None:
    emu.add_channel(channel_id="C0SUPPORT1", name="support")
    async with slack_bot(emu, server, allowed_channels=["#support"]) as bot:
        only_file = events.file_share(channel=ids.IM_CHANNEL_ID)
        await bot.send(only_file)
        huge = events.im_message(text="x" * 50_000)
        await bot.send(huge)
        await bot.settle()
        edited = events.message_changed(
            channel=ids.IM_CHANNEL_ID, ts=huge["ts"], text="short now", previous_text="x"
        )
        deleted = events.message_deleted(channel=ids.IM_CHANNEL_ID, deleted_ts=only_file["ts"])
        other_bot = events.bot_message(text=f"{MENTION} answer me", channel="C0SUPPORT1")
        own = events.bot_message(text="my own post", bot_id=ids.BOT_ID, channel=ids.IM_CHANNEL_ID)
        elsewhere = events.app_mention(text=f"{MENTION} not here", channel=ids.CHANNEL_ID)
        for event in (edited, deleted, other_bot, own, elsewhere):
            await bot.send(event)
        await bot.settle()
        allowed = events.app_mention(text=f"{MENTION} here it is", channel="C0SUPPORT1")
        await bot.send(allowed)
        await bot.settle()

    # The emulator also lists the delivered "own" post as the bot's; it was not answered.
    posted = [m for m in emu.bot_messages(ids.IM_CHANNEL_ID) if m.ts != own["ts"]]
    notices = [(m.thread_ts, m.text) for m in posted]
    # A file alone is a message: the agent is told its name, type and size (a PDF it cannot
    # read), and answers; the text that is too long is refused with one sentence.
    assert sorted(ts for ts, _ in notices) == sorted([only_file["ts"], huge["ts"]])
    assert (huge["ts"], too_long(length=50_000, limit=8000)) in notices
    assert EMPTY_MESSAGE not in [text for _, text in notices]
    assert not emu.bot_messages(ids.CHANNEL_ID)
    assert [m.thread_ts for m in emu.bot_messages("C0SUPPORT1")] == [allowed["ts"]]
    asked = [text for _, text in server.state.chat_requests]
    (about_file,) = [text for text in asked if text != "here it is"]
    assert "here it is" in asked and len(asked) == 2
    assert "report.pdf" in about_file and "application/pdf" in about_file
    assert "files-pri" not in about_file
