"""Private chats: drafts while the answer streams, one final message, one conversation."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from tests.emulators.telegram_api import ALICE, BOB, TelegramEmulator
from tests.harness import running_bot

from .support import adapter_for, answered

pytestmark = pytest.mark.knowrithm_modes

ALICE_ID = int(ALICE["id"])
LONG_REPLY = " ".join(f"word{i}" for i in range(80)) + "."


@pytest.mark.knowrithm_modes("streaming")
async def test_answer_streams_as_drafts_then_arrives_as_one_message(
    emu: TelegramEmulator,
) -> None:
    agent = ScriptedAgent(lambda question, history: LONG_REPLY)
    async with (
        LocalKnowrithm(agent=agent, word_delay=0.004) as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        emu.push_update(emu.build.private_text(text="Tell me a story"))
        await answered(bot, 1)
        (reply,) = bot.assistant_replies()
    assert reply == LONG_REPLY
    drafts = [d.text for d in emu.drafts if d.chat_id == ALICE_ID]
    assert len(drafts) >= 2, drafts
    assert all(reply.startswith(text) for text in drafts)
    assert len({d.draft_id for d in emu.drafts}) == 1  # one animated draft
    assert emu.visible_text(ALICE_ID) == [reply]
    (final,) = emu.calls_of("sendMessage")
    assert final.params["chat_id"] == ALICE_ID
    assert "reply_parameters" not in final.params  # private answers do not quote
    assert emu.calls_of("editMessageText") == []
    typing = [a for a in emu.chat_actions if a.chat_id == ALICE_ID]
    assert typing and typing[0].action == "typing"
    assert typing[0].time <= emu.calls_of("sendMessageDraft")[0].time
    assert [c["command"] for c in emu.commands] == ["new", "end", "stop", "help"]
    assert emu.allowed_updates is not None and "message_reaction" in emu.allowed_updates
    (conversation,) = server.state.conversations.values()
    assert conversation.entity_type == "user"
    assert conversation.metadata["thread_key"] == f"telegram:{emu.bot.id}:{ALICE_ID}"


async def test_restarted_bot_continues_the_same_conversation(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    store = tmp_path / "bot.sqlite"
    async with LocalKnowrithm() as server:
        for count, text in enumerate(("before the restart", "after the restart"), start=1):
            async with running_bot(
                {"telegram": adapter_for(emu)}, server=server, store_path=store
            ) as bot:
                emu.push_update(emu.build.private_text(text=text))
                await answered(bot, count)
    (conversation_id,) = server.state.conversations
    messages = server.state.messages[conversation_id]
    assert [m.content for m in messages if m.role == "user"] == [
        "before the restart",
        "after the restart",
    ]
    assert 'before this you said "before the restart"' in messages[-1].content
    assert emu.visible_text(ALICE_ID) == [m.content for m in messages if m.role == "assistant"]


async def test_new_starts_a_fresh_conversation_and_commands_lose_the_bot_name(
    emu: TelegramEmulator,
) -> None:
    async with (
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        emu.push_update(emu.build.private_text(text="first question"))
        await answered(bot, 1)
        emu.push_update(emu.build.private_text(text=f"/new@{emu.bot.username}"))
        await emu.wait_for_call("sendMessage", predicate=lambda c: "Done" in c.params["text"])
        emu.push_update(emu.build.private_text(text="second question"))
        await answered(bot, 2)
        emu.push_update(emu.build.private_text(text="/end 4 quick answers"))
        await emu.wait_for_call("sendMessage", predicate=lambda c: "ended" in c.params["text"])
        emu.push_update(emu.build.private_text(text="/help"))
        await emu.wait_for_call("sendMessage", predicate=lambda c: "/new" in c.params["text"])
        await bot.drain()
    first, second = server.state.conversations
    assert first != second
    assert [(e.conversation_id, e.rating, e.feedback) for e in server.state.ends][-1] == (
        second,
        4,
        "quick answers",
    )
    # Commands never reach the agent as questions.
    asked = [m.content for ms in server.state.messages.values() for m in ms if m.role == "user"]
    assert asked == ["first question", "second question"]


async def test_users_outside_the_staff_list_become_leads(emu: TelegramEmulator) -> None:
    config = {
        "conversations": {
            "entity_rules": [
                {
                    "entity_type": "LEAD",
                    "adapters": ["telegram"],
                    "direct": True,
                    "users_not_in": [str(ALICE["id"])],
                }
            ]
        },
        "leads": {"email_domain": "leads.example.com"},
    }
    stranger = {**BOB, "last_name": "Builder"}
    async with (
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter_for(emu)}, server=server, config=config) as bot,
    ):
        emu.push_update(emu.build.private_text(text="I am staff"))
        await answered(bot, 1)
        emu.push_update(emu.build.private_text(text="I might buy", user=stranger))
        await answered(bot, 2)
    by_user = {c.metadata["user_id"]: c for c in server.state.conversations.values()}
    assert by_user[str(ALICE["id"])].entity_type == "user"
    assert by_user[str(ALICE["id"])].lead_id is None
    lead_conversation = by_user[str(BOB["id"])]
    assert lead_conversation.entity_type == "lead"
    lead = server.state.leads[str(lead_conversation.lead_id)]
    assert (lead.first_name, lead.last_name, lead.email) == (
        "Bob",
        "Builder",
        f"telegram-{BOB['id']}@leads.example.com",
    )
    assert lead.source == "telegram"
    assert emu.visible_text(int(BOB["id"])) == bot.assistant_replies()[1:]
