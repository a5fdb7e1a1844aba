"""Rating buttons under answers: an inline keyboard whose presses rate the Knowrithm message."""

from __future__ import annotations

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from tests.emulators.telegram_api import ALICE, BOB, GROUP_ID, TelegramEmulator
from tests.harness import running_bot
from tests.support import eventually, stored_replies

from .support import adapter_for, answered

pytestmark = pytest.mark.knowrithm_modes

ALICE_ID = int(ALICE["id"])
KEYBOARD = {
    "inline_keyboard": [
        [
            {"text": "👍", "callback_data": "rate:up"},
            {"text": "👎", "callback_data": "rate:down"},
        ]
    ]
}


async def test_a_press_rates_the_answer_and_only_the_presser_is_told(
    emu: TelegramEmulator,
) -> None:
    async with (
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        emu.push_update(emu.build.private_text(text="first"))
        await answered(bot, 1)
        emu.push_update(emu.build.private_text(text="second"))
        await answered(bot, 2)
        first, second = emu.messages
        assert first.reply_markup == KEYBOARD and second.reply_markup == KEYBOARD
        shown = [(m.message_id, m.text) for m in emu.messages]
        calls = len(emu.calls)
        query = emu.click(chat_id=ALICE_ID, message_id=first.message_id, text="👎")
        await eventually(lambda: len(emu.callback_answers) == 1)
        await bot.drain()
        answers = [m.id for m in stored_replies(server)]
        assert [(r.message_id, r.rating) for r in server.state.ratings] == [(answers[0], 1)]
        [answer] = emu.callback_answers
        assert (answer.callback_query_id, answer.text, answer.show_alert) == (
            query,
            "Thanks, rated 👎",
            False,
        )
        # The answer stands as it was; only the "Tell us why" prompt follows a 👎.
        await eventually(lambda: len(emu.messages) == 3)
        assert [c.method for c in emu.calls[calls:] if c.method != "getUpdates"] == [
            "answerCallbackQuery",
            "sendMessage",
        ]
        assert [(m.message_id, m.text) for m in emu.messages][:2] == shown
        assert emu.messages[2].text.endswith("tell us why (reply to this message)")
        emu.click(chat_id=ALICE_ID, message_id=second.message_id, text="👍")
        await eventually(lambda: len(server.state.ratings) == 2)
    assert server.state.ratings[-1].message_id == answers[1]
    assert server.state.ratings[-1].rating == 5


async def test_in_a_group_the_last_part_gets_the_buttons_and_the_latest_press_wins(
    emu: TelegramEmulator,
) -> None:
    reply = " ".join(f"w{index:04d}" for index in range(1000))  # 5,999 chars: two messages
    agent = ScriptedAgent(lambda question, history: reply)
    async with (
        LocalKnowrithm(agent=agent) as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        emu.push_update(emu.build.group_text(text=f"@{emu.bot.username} go"))
        await answered(bot, 1)
        head, tail = emu.messages
        assert head.reply_markup is None
        assert tail.reply_markup == KEYBOARD
        # The bot is no admin here, so reactions never reach it; presses do.
        emu.click(chat_id=GROUP_ID, message_id=tail.message_id, text="👍", user=BOB)
        await eventually(lambda: len(server.state.ratings) == 1)
        emu.click(chat_id=GROUP_ID, message_id=tail.message_id, text="👎", user=ALICE)
        await eventually(lambda: len(server.state.ratings) == 2)
        await eventually(lambda: len(emu.callback_answers) == 2)
        [answer] = stored_replies(server)
    assert [(r.message_id, r.rating) for r in server.state.ratings] == [
        (answer.id, 5),
        (answer.id, 1),
    ]
    # Knowrithm keeps one rating per message: the latest.
    assert server.state.find_message(message_id=answer.id).rating == 1  # type: ignore[union-attr]
    assert [a.text for a in emu.callback_answers] == ["Thanks, rated 👍", "Thanks, rated 👎"]


async def test_someone_off_the_allow_list_is_told_and_rates_nothing(
    emu: TelegramEmulator,
) -> None:
    adapter = adapter_for(emu, group_mode="all", allowed_users=[ALICE_ID])
    async with (
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter}, server=server) as bot,
    ):
        emu.push_update(emu.build.group_text(text="question"))
        await answered(bot, 1)
        [shown] = emu.messages
        emu.click(chat_id=GROUP_ID, message_id=shown.message_id, text="👍", user=BOB)
        await eventually(lambda: len(emu.callback_answers) == 1)
        await bot.drain()
    assert server.state.ratings == []
    assert emu.callback_answers[0].text == "Sorry, this bot is not available in this chat."


async def test_buttons_can_be_turned_off(emu: TelegramEmulator) -> None:
    async with (
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter_for(emu, feedback_buttons=False)}, server=server) as bot,
    ):
        emu.push_update(emu.build.private_text(text="hello"))
        await answered(bot, 1)
        emu.push_update(emu.build.group_text(text=f"@{emu.bot.username} hi"))
        await answered(bot, 2)
    assert [m.reply_markup for m in emu.messages] == [None, None]
    assert emu.calls_of("editMessageReplyMarkup") == []
