"""Unusual input is answered the way a person would expect, and never stops the bot."""

from __future__ import annotations

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.user_messages import EMPTY_MESSAGE, too_long
from tests.emulators.telegram_api import ALICE, BOB, GROUP_ID, TelegramEmulator
from tests.harness import running_bot

from .support import adapter_for, answered

pytestmark = pytest.mark.knowrithm_modes

ALICE_ID, BOB_ID = int(ALICE["id"]), int(BOB["id"])


async def test_stickers_blank_huge_and_edited_messages_get_a_sentence_not_a_crash(
    emu: TelegramEmulator,
) -> None:
    adapter = adapter_for(emu)
    async with (
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter}, server=server) as bot,
    ):
        original = emu.build.private_text(text="what is a monad")
        emu.push_update(emu.build.sticker())
        emu.push_update(emu.build.private_text(text="   \n "))
        emu.push_update(emu.build.private_text(text="x" * 20_000))
        emu.push_update(emu.build.edited_text(original=original, text="what is a functor"))
        emu.push_update(emu.build.bot_text(text=f"@{emu.bot.username} beep", chat_id=GROUP_ID))
        emu.push_update(emu.build.group_text(text=f"@{emu.bot.username}", user=BOB))
        asked_in_group = emu.build.group_text(text=f"@{emu.bot.username} old question")
        emu.push_update(emu.build.edited_text(original=asked_in_group, text="changed"))
        emu.push_update(emu.build.private_text(text="still there?"))
        await answered(bot, 1)
        await bot.drain()
    # Only the real question reached the agent.
    assert [text for _, text in server.state.chat_requests] == ["still there?"]
    # The edit notice goes through the bridge like the other answers: in the chat's order.
    assert emu.visible_text(ALICE_ID) == [
        EMPTY_MESSAGE,
        EMPTY_MESSAGE,
        too_long(length=20_000, limit=8_000),
        str(adapter.config.edited_notice),
        bot.assistant_replies()[0],
    ]
    # In the group: nothing for the other bot or the edit, a "no text" sentence for the
    # bare mention.
    (group_notice,) = [m for m in emu.messages if m.chat_id == GROUP_ID]
    assert group_notice.text == EMPTY_MESSAGE
    assert group_notice.reply_to is not None


async def test_chats_and_users_off_the_allow_list_never_reach_the_agent(
    emu: TelegramEmulator,
) -> None:
    adapter = adapter_for(emu, allowed_users=[ALICE_ID])
    async with (
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter}, server=server) as bot,
    ):
        emu.push_update(emu.build.private_text(text="let me in", user=BOB))
        emu.push_update(emu.build.group_text(text=f"@{emu.bot.username} me too", user=BOB))
        emu.push_update(emu.build.group_text(text="just chatting", user=BOB))
        emu.push_update(emu.build.private_text(text="staff question"))
        await answered(bot, 1)
        await bot.drain()
    assert [text for _, text in server.state.chat_requests] == ["staff question"]
    notice = adapter.config.not_allowed_notice
    assert emu.visible_text(BOB_ID) == [notice]
    assert emu.visible_text(GROUP_ID) == [notice]  # only the message addressed to the bot
    assert len(emu.visible_text(ALICE_ID)) == 1


async def test_a_silent_allow_list_says_nothing(emu: TelegramEmulator) -> None:
    adapter = adapter_for(emu, allowed_channels=[GROUP_ID], not_allowed_notice=None)
    async with (
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter}, server=server) as bot,
    ):
        emu.push_update(emu.build.private_text(text="hello?"))
        emu.push_update(emu.build.group_text(text=f"@{emu.bot.username} in the group"))
        await answered(bot, 1)
        await bot.drain()
    assert [text for _, text in server.state.chat_requests] == ["in the group"]
    assert emu.visible_text(ALICE_ID) == []
