"""Messages a person sends while their answer is written are answered once, together."""

from __future__ import annotations

import asyncio

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.bridge import Bridge
from knowrithm_bots.core.config.models import ConversationSettings
from knowrithm_bots.core.knowrithm import KnowrithmClient
from knowrithm_bots.core.merging import SEPARATOR
from tests.core.test_bridge import Bot, make_bot

pytestmark = pytest.mark.knowrithm_modes

THREAD = "recording:general"


async def asked_first(bot: Bot, text: str) -> None:
    """Say ``text`` and return once Knowrithm has it: what comes next arrives mid-answer."""
    await bot.adapter.say(text)
    async with asyncio.timeout(10):
        # The local server signals nothing when a message arrives: look every 10 ms.
        while not bot.server.state.chat_requests:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_three_messages_during_an_answer_become_one_further_send(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    bot = await make_bot(knowrithm, client)
    try:
        knowrithm.faults.hold_replies(after_words=2)
        await asked_first(bot, "first question")
        for text in ("and also", "one more thing", "thanks!"):
            await bot.adapter.say(text)
        knowrithm.faults.release_replies()
        await bot.bridge.drain()
        asked = [text for _, text in knowrithm.state.chat_requests]
        assert asked == [
            "first question",
            SEPARATOR.join(["and also", "one more thing", "thanks!"]),
        ]
        assert bot.adapter.messages_in(THREAD) == bot.assistant_messages()
        assert len(bot.assistant_messages()) == 2
    finally:
        await bot.bridge.stop()


async def test_queue_answers_each_message_in_turn(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    bot = await make_bot(knowrithm, client, settings=ConversationSettings(busy="queue"))
    try:
        knowrithm.faults.hold_replies(after_words=2)
        await asked_first(bot, "first question")
        for text in ("and also", "thanks!"):
            await bot.adapter.say(text)
        knowrithm.faults.release_replies()
        await bot.bridge.drain()
        asked = [text for _, text in knowrithm.state.chat_requests]
        assert asked == ["first question", "and also", "thanks!"]
    finally:
        await bot.bridge.stop()


async def test_other_people_and_commands_are_never_merged(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    bot = await make_bot(knowrithm, client)
    try:
        knowrithm.faults.hold_replies(after_words=2)
        await asked_first(bot, "first question")
        await bot.adapter.say("ada's follow-up")
        await bot.adapter.say("bob's question", user="u2", display_name="Bob")
        await bot.adapter.say("/help")
        await bot.adapter.say("ada after the command")
        knowrithm.faults.release_replies()
        await bot.bridge.drain()
        asked = [text for _, text in knowrithm.state.chat_requests]
        # In order, each person's own, and nothing said after the command overtakes it.
        assert asked == [
            "first question",
            "ada's follow-up",
            "bob's question",
            "ada after the command",
        ]
        shown = bot.adapter.messages_in(THREAD)
        help_at = next(i for i, text in enumerate(shown) if "/end" in text)
        assert '"ada after the command"' in shown[help_at + 1]
    finally:
        await bot.bridge.stop()


async def test_a_crash_after_merging_resumes_every_merged_text(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    bot = await make_bot(knowrithm, client)
    knowrithm.faults.hold_replies(after_words=2)
    await asked_first(bot, "first question")
    await bot.adapter.say("part one")
    await bot.adapter.say("part two")
    # The first answer is stopped while held; the merged two never started.
    await bot.bridge.stop()
    knowrithm.faults.release_replies()
    bridge = Bridge(
        client=client,
        store=bot.store,
        sessions=bot.sessions,
        adapters={bot.adapter.name: bot.adapter},
    )
    await bot.adapter.start(sink=bridge)
    try:
        await bridge.resume_unfinished()
        await bridge.drain()
        asked = sorted(text for _, text in knowrithm.state.chat_requests)
        # Stopped before their batch began, each waiting message is answered on its own
        # after the restart: none lost, none sent twice.
        assert asked == ["first question", "part one", "part two"]
    finally:
        await bridge.stop()
