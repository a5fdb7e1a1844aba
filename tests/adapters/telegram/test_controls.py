"""The Stop button on a streaming answer, and 👎 "Tell us why", through python-telegram-bot."""

from __future__ import annotations

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.bridge import STOP_MARK
from knowrithm_bots.core.user_messages import NOTHING_OF_YOURS_TO_STOP
from tests.emulators.telegram_api import ALICE, BOB, GROUP_ID, TelegramEmulator
from tests.harness import running_bot
from tests.support import eventually, stored_replies

from .support import adapter_for, answered

ALICE_ID = int(ALICE["id"])
STOP_KEYBOARD = {"inline_keyboard": [[{"text": "⏹ Stop", "callback_data": "answer:stop"}]]}
RATING_KEYBOARD = {
    "inline_keyboard": [
        [
            {"text": "👍", "callback_data": "rate:up"},
            {"text": "👎", "callback_data": "rate:down"},
        ]
    ]
}


async def test_stop_ends_a_streaming_answer_at_once_and_the_next_is_answered(
    emu: TelegramEmulator,
) -> None:
    async with (
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        server.faults.hold_replies(after_words=4)
        emu.push_update(emu.build.group_text(text=f"@{emu.bot.username} tell me a story"))
        # The button rides on the answer's own post: no call of its own.
        await eventually(lambda: [m.reply_markup for m in emu.messages] == [STOP_KEYBOARD])
        [streaming] = emu.messages
        assert emu.calls_of("editMessageReplyMarkup") == []
        # A conversation per person in a plain group (the default): Bob cannot stop
        # Alice's answer, and it goes on.
        refused = emu.click(
            chat_id=GROUP_ID, message_id=streaming.message_id, text="⏹ Stop", user=BOB
        )
        await eventually(lambda: len(emu.callback_answers) == 1)
        assert emu.messages[0].reply_markup == STOP_KEYBOARD
        query = emu.click(
            chat_id=GROUP_ID, message_id=streaming.message_id, text="⏹ Stop", user=ALICE
        )
        await eventually(lambda: len(emu.callback_answers) == 2)
        await bot.drain()
        [stopped] = emu.messages
        mark = STOP_MARK.format(name="Alice")
        assert stopped.text.endswith(mark), stopped.text
        # The final edit took the button away, and no rating buttons: it is no answer.
        assert stopped.reply_markup is None
        assert [(a.callback_query_id, a.text) for a in emu.callback_answers] == [
            (refused, NOTHING_OF_YOURS_TO_STOP),
            (query, "Stopped."),
        ]
        edits = len(emu.calls_of("editMessageText"))
        server.faults.release_replies()
        # Nothing more reaches the stopped message once Knowrithm goes on.
        emu.push_update(emu.build.group_text(text=f"@{emu.bot.username} and now?"))
        await answered(bot, 2)
        first, second = emu.messages
        assert first.text == stopped.text
        assert all(
            c.params.get("message_id") != first.message_id
            for c in emu.calls_of("editMessageText")[edits:]
        )
        assert '"and now?"' in second.text
        assert second.reply_markup == RATING_KEYBOARD
        # A stale press (the button was on screen when the answer ended) stops nothing.
        emu.press_raced(
            chat_id=GROUP_ID, message_id=first.message_id, data="answer:stop", user=ALICE
        )
        await eventually(lambda: len(emu.callback_answers) == 3)
    assert emu.callback_answers[-1].text == "Nothing to stop: that answer has ended."
    assert [text for _, text in server.state.chat_requests] == [
        "tell me a story",
        "and now?",
    ]


async def test_the_stop_button_can_be_turned_off(emu: TelegramEmulator) -> None:
    async with (
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter_for(emu, stop_button=False)}, server=server) as bot,
    ):
        server.faults.hold_replies(after_words=4)
        emu.push_update(emu.build.group_text(text=f"@{emu.bot.username} tell me a story"))
        await eventually(lambda: len(emu.messages) == 1)
        assert emu.messages[0].reply_markup is None
        server.faults.release_replies()
        await answered(bot, 1)
    assert emu.messages[0].reply_markup == RATING_KEYBOARD


async def test_a_thumbs_down_asks_why_and_the_reply_becomes_its_feedback(
    emu: TelegramEmulator,
) -> None:
    async with (
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        emu.push_update(emu.build.group_text(text=f"@{emu.bot.username} question"))
        await answered(bot, 1)
        [answer_message] = emu.messages
        emu.click(chat_id=GROUP_ID, message_id=answer_message.message_id, text="👎", user=BOB)
        await eventually(lambda: len(emu.messages) == 2)
        prompt = emu.messages[1]
        assert prompt.text == "Bob, tell us why (reply to this message)"
        assert prompt.reply_to == answer_message.message_id
        assert prompt.reply_markup is not None
        assert prompt.reply_markup["force_reply"] is True
        assert prompt.reply_markup["selective"] is True
        assert [e["type"] for e in prompt.entities] == ["text_mention"]
        # Someone else's reply to the prompt is an ordinary message, for the agent.
        emu.push_update(
            emu.build.reply_to_bot(
                text="not mine to say", chat_id=GROUP_ID, message_id=prompt.message_id, user=ALICE
            )
        )
        await answered(bot, 2)
        emu.push_update(
            emu.build.reply_to_bot(
                text="It ignored my question",
                chat_id=GROUP_ID,
                message_id=prompt.message_id,
                user=BOB,
            )
        )
        await eventually(lambda: len(server.state.ratings) == 2)
        await bot.drain()
        first_answer = stored_replies(server)[0]
    assert [(r.message_id, r.rating, r.feedback) for r in server.state.ratings] == [
        (first_answer.id, 1, None),
        (first_answer.id, 1, "It ignored my question"),
    ]
    # The reason never reached the agent.
    assert [text for _, text in server.state.chat_requests] == ["question", "not mine to say"]
    # The reason is acknowledged with a reaction on it, not another message.
    assert [r.emojis for r in emu.reactions] == [("👍",)]
    assert len(emu.messages) == 3
