"""Groups and forum topics: who is answered, which conversation, where the answer goes."""

from __future__ import annotations

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from knowrithm_bots.core.question import HISTORY_START
from tests.emulators.telegram_api import ALICE, BOB, FORUM_ID, GROUP_ID, TelegramEmulator
from tests.harness import ONE_ANSWER_EACH, running_bot
from tests.support import stored_replies

from .support import adapter_for, answered

pytestmark = pytest.mark.knowrithm_modes


def _asked(server: LocalKnowrithm) -> list[str]:
    return [m.content for ms in server.state.messages.values() for m in ms if m.role == "user"]


@pytest.mark.knowrithm_modes("streaming")
async def test_topics_and_plain_groups_get_their_own_conversations(
    emu: TelegramEmulator,
) -> None:
    mention = f"@{emu.bot.username}"
    agent = ScriptedAgent(
        lambda question, history: f"Answer to {question} " + " ".join(["more"] * 30)
    )
    async with (
        LocalKnowrithm(agent=agent, word_delay=0.002) as server,
        running_bot({"telegram": adapter_for(emu)}, server=server, config=ONE_ANSWER_EACH) as bot,
    ):
        updates = [
            emu.build.topic_text(text=f"{mention} in topic seven", thread_id=7),
            emu.build.topic_text(text=f"{mention} in topic eight", thread_id=8, user=BOB),
            emu.build.group_text(text=f"{mention} in the group"),
            emu.build.topic_text(text=f"again in seven {mention}", thread_id=7),
        ]
        for update in updates:
            emu.push_update(update)
        await answered(bot, 4)
    keys = {c.metadata["thread_key"]: c.id for c in server.state.conversations.values()}
    bot_id = emu.bot.id
    assert set(keys) == {
        f"telegram:{bot_id}:{FORUM_ID}:7",
        f"telegram:{bot_id}:{FORUM_ID}:8",
        # A plain group has no threads: each person there has a conversation of their own.
        f"telegram:{bot_id}:{GROUP_ID}:u{ALICE['id']}",
    }
    seven = server.state.messages[keys[f"telegram:{bot_id}:{FORUM_ID}:7"]]
    assert [m.content for m in seven if m.role == "user"] == ["in topic seven", "again in seven"]
    # Each answer sits in the asker's topic and quotes the asker's message.
    for update in updates:
        asked = update["message"]
        question = asked["text"].replace(mention, "").strip()
        (answer,) = [m for m in emu.messages if m.text.startswith(f"Answer to {question} ")]
        assert answer.chat_id == asked["chat"]["id"]
        assert answer.message_thread_id == asked.get("message_thread_id")
        assert answer.reply_to == asked["message_id"]
    topic_eight = keys[f"telegram:{bot_id}:{FORUM_ID}:8"]
    assert emu.visible_text(FORUM_ID, thread_id=8) == [
        m.content for m in stored_replies(server, conversation=topic_eight)
    ]
    assert emu.drafts == []  # drafts exist only in private chats
    topics = {a.message_thread_id for a in emu.chat_actions if a.chat_id == FORUM_ID}
    # "typing…" shows in the asker's topic; only where the chat's budget has room to spare,
    # and the three answers in one chat leave it little.
    assert topics and topics <= {7, 8}
    assert emu.calls_of("editMessageText")  # groups grow their answer by edits


async def test_groups_answer_mentions_replies_and_own_commands_only(
    emu: TelegramEmulator,
) -> None:
    username = emu.bot.username
    async with (
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        emu.push_update(emu.build.group_text(text="people chatting among themselves"))
        emu.push_update(emu.build.group_text(text="/new@some_other_bot"))
        emu.push_update(emu.build.group_text(text="hey @someone_else look"))
        emu.push_update(emu.build.group_text(text=f"@{username} what is new?"))
        await answered(bot, 1)
        (answer,) = emu.messages
        emu.push_update(
            emu.build.reply_to_bot(
                text="and then?", chat_id=GROUP_ID, message_id=answer.message_id, user=BOB
            )
        )
        await answered(bot, 2)
        emu.push_update(emu.build.group_text(text=f"😀 @{username.upper()} emoji first"))
        await answered(bot, 3)
        emu.push_update(emu.build.group_text(text="/help"))
        await emu.wait_for_call("sendMessage", predicate=lambda c: "/end" in c.params["text"])
        await bot.drain()
    # One conversation per person in a plain group: Bob's reply to Alice's answer is his,
    # and starts with that answer as context.
    by_user = {c.metadata["user_id"]: c.id for c in server.state.conversations.values()}
    assert set(by_user) == {str(ALICE["id"]), str(BOB["id"])}
    alices, bobs = (
        [m.content for m in server.state.messages[by_user[str(user["id"])]] if m.role == "user"]
        for user in (ALICE, BOB)
    )
    # The mention is found by UTF-16 offsets (the emoji counts two) and taken out.
    assert alices == ["what is new?", "😀 emoji first"]
    (bobs_question,) = bobs
    assert bobs_question.startswith(HISTORY_START) and bobs_question.endswith("\n\nand then?")
    help_call = emu.calls_of("sendMessage")[-1]
    assert help_call.params["reply_parameters"]["message_id"] > answer.message_id


async def test_group_mode_all_answers_every_text_message(emu: TelegramEmulator) -> None:
    async with (
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter_for(emu, group_mode="all")}, server=server) as bot,
    ):
        emu.push_update(emu.build.group_text(text="no mention here"))
        emu.push_update(emu.build.sticker(chat_id=GROUP_ID))
        emu.push_update(emu.build.group_text(text="nor here", user=BOB))
        await answered(bot, 2)
    assert _asked(server) == ["no mention here", "nor here"]
    assert len(emu.messages) == 2  # the sticker got no "no text" notice in the group
