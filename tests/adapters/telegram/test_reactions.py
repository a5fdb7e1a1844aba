"""Reactions on the bot's answers rate the Knowrithm message they show."""

from __future__ import annotations

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from tests.emulators.telegram_api import ALICE, BOB, GROUP_ID, OTHER_BOT, TelegramEmulator
from tests.harness import running_bot
from tests.support import eventually, stored_replies

from .support import adapter_for, answered

pytestmark = pytest.mark.knowrithm_modes

ALICE_ID = int(ALICE["id"])


async def test_thumbs_up_rates_the_answer_and_changing_to_thumbs_down_re_rates(
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
        emu.push_update(emu.build.reaction(chat_id=ALICE_ID, message_id=first.message_id))
        await eventually(lambda: len(server.state.ratings) == 1)
        emu.push_update(
            emu.build.reaction(
                chat_id=ALICE_ID, message_id=first.message_id, old=["👍"], new=["👎"]
            )
        )
        await eventually(lambda: len(server.state.ratings) == 2)
        emu.push_update(
            emu.build.reaction(chat_id=ALICE_ID, message_id=second.message_id, new=["3️⃣"])
        )
        await eventually(lambda: len(server.state.ratings) == 3)
        # A number from a custom emoji pack: Telegram only names its id.
        emu.add_custom_emoji(custom_emoji_id="5368324170671202286", emoji="4️⃣")
        emu.push_update(
            emu.build.reaction(
                chat_id=ALICE_ID,
                message_id=second.message_id,
                old=["3️⃣"],
                new=["custom_emoji:5368324170671202286", "custom_emoji:999"],
            )
        )
        await eventually(lambda: len(server.state.ratings) == 4)
        await bot.drain()
    answers = [m.id for m in stored_replies(server)]
    assert [(r.message_id, r.rating) for r in server.state.ratings] == [
        (answers[0], 5),
        (answers[0], 1),
        (answers[1], 3),
        (answers[1], 4),
    ]
    assert server.state.find_message(message_id=answers[0]).rating == 1  # type: ignore[union-attr]


async def test_group_reactions_rate_every_part_of_a_long_answer(emu: TelegramEmulator) -> None:
    reply = " ".join(f"w{index:04d}" for index in range(1000))  # 5,999 chars: two messages
    agent = ScriptedAgent(lambda question, history: reply)
    async with (
        LocalKnowrithm(agent=agent) as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        emu.push_update(emu.build.group_text(text=f"@{emu.bot.username} go"))
        await answered(bot, 1)
        head, tail = emu.messages
        question_id = head.reply_to
        assert question_id is not None
        # Not rated: a reaction by another bot, on a user's message, or not a rating emoji.
        emu.push_update(
            emu.build.reaction(chat_id=GROUP_ID, message_id=head.message_id, user=OTHER_BOT)
        )
        emu.push_update(emu.build.reaction(chat_id=GROUP_ID, message_id=question_id))
        emu.push_update(
            emu.build.reaction(chat_id=GROUP_ID, message_id=head.message_id, new=["🔥"])
        )
        emu.push_update(
            emu.build.reaction(chat_id=GROUP_ID, message_id=tail.message_id, user=BOB, new=["👎"])
        )
        await eventually(lambda: len(server.state.ratings) >= 1)
        # The first part rates the same Knowrithm message as the second.
        emu.push_update(emu.build.reaction(chat_id=GROUP_ID, message_id=head.message_id, new=["2️⃣"]))
        await eventually(lambda: len(server.state.ratings) >= 2)
        await bot.drain()
    (answer,) = [m.id for m in stored_replies(server)]
    assert [(r.message_id, r.rating) for r in server.state.ratings] == [(answer, 1), (answer, 2)]
    assert emu.allowed_updates is not None and "message_reaction" in emu.allowed_updates
