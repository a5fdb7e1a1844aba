"""group_sessions: each person in a plain group has a conversation of their own, unless shared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from knowrithm_bots.bots.local_knowrithm.records import StoredConversation
from tests.emulators.telegram_api import ALICE, BOB, FORUM_ID, GROUP_ID, TelegramEmulator
from tests.harness import running_bot
from tests.support import eventually, stored_replies

from .support import adapter_for, answered

pytestmark = pytest.mark.knowrithm_modes

ALICE_ID, BOB_ID = str(ALICE["id"]), str(BOB["id"])
ANSWER = ScriptedAgent(lambda question, history: f"About {question}")


def _by_user(server: LocalKnowrithm) -> dict[str, StoredConversation]:
    found: dict[str, StoredConversation] = {}
    for conversation in server.state.conversations.values():
        assert conversation.metadata["user_id"] not in found, "a person has two conversations"
        found[conversation.metadata["user_id"]] = conversation
    return found


def _questions(server: LocalKnowrithm, conversation: StoredConversation) -> list[str]:
    return [m.content for m in server.state.messages[conversation.id] if m.role == "user"]


def _mention(emu: TelegramEmulator, text: str) -> str:
    return f"@{emu.bot.username} {text}"


async def test_two_people_in_a_group_get_a_conversation_each(emu: TelegramEmulator) -> None:
    async with (
        LocalKnowrithm(agent=ANSWER) as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        alice_asks = emu.build.group_text(text=_mention(emu, "prices"))
        bob_asks = emu.build.group_text(text=_mention(emu, "refunds"), user=BOB)
        emu.push_update(alice_asks)
        emu.push_update(bob_asks)
        await answered(bot, 2)
        emu.push_update(emu.build.group_text(text=_mention(emu, "and discounts?")))
        await answered(bot, 3)
    conversations = _by_user(server)
    assert set(conversations) == {ALICE_ID, BOB_ID}
    bot_id = emu.bot.id
    assert (
        conversations[ALICE_ID].metadata["thread_key"]
        == f"telegram:{bot_id}:{GROUP_ID}:u{ALICE_ID}"
    )
    assert _questions(server, conversations[ALICE_ID]) == ["prices", "and discounts?"]
    assert _questions(server, conversations[BOB_ID]) == ["refunds"]
    # Both answers are in the group itself, each quoting the message it answers.
    replies = {m.reply_to: m for m in emu.messages}
    for asked, answer in ((alice_asks, "About prices"), (bob_asks, "About refunds")):
        message = replies[asked["message"]["message_id"]]
        assert (message.chat_id, message.message_thread_id, message.text) == (
            GROUP_ID,
            None,
            answer,
        )


async def test_a_lead_rule_makes_only_the_matching_person_a_lead(emu: TelegramEmulator) -> None:
    config = {
        "conversations": {
            "entity_rules": [
                {"entity_type": "LEAD", "adapters": ["telegram"], "users_not_in": [ALICE_ID]}
            ]
        },
        "leads": {"email_domain": "leads.example.com"},
    }
    async with (
        LocalKnowrithm(agent=ANSWER) as server,
        running_bot({"telegram": adapter_for(emu)}, server=server, config=config) as bot,
    ):
        emu.push_update(emu.build.group_text(text=_mention(emu, "I work here")))
        emu.push_update(emu.build.group_text(text=_mention(emu, "I might buy"), user=BOB))
        await answered(bot, 2)
    conversations = _by_user(server)
    assert conversations[ALICE_ID].entity_type == "user"
    assert conversations[ALICE_ID].lead_id is None
    assert conversations[BOB_ID].entity_type == "lead"
    (lead,) = server.state.leads.values()
    assert lead.email == f"telegram-{BOB_ID}@leads.example.com"
    assert str(conversations[BOB_ID].lead_id) == lead.id


async def test_end_from_one_person_ends_only_their_conversation(emu: TelegramEmulator) -> None:
    async with (
        LocalKnowrithm(agent=ANSWER) as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        emu.push_update(emu.build.group_text(text=_mention(emu, "prices")))
        emu.push_update(emu.build.group_text(text=_mention(emu, "refunds"), user=BOB))
        await answered(bot, 2)
        emu.push_update(emu.build.group_text(text="/end 4", user=BOB))
        await eventually(lambda: len(server.state.ends) == 1)
        await bot.drain()
        emu.push_update(emu.build.group_text(text=_mention(emu, "still there?")))
        emu.push_update(emu.build.group_text(text=_mention(emu, "one more"), user=BOB))
        await answered(bot, 4)
    conversations = list(server.state.conversations.values())
    assert len(conversations) == 3  # Bob's second conversation starts after his /end
    (ended,) = server.state.ends
    bobs_first = server.state.conversations[ended.conversation_id]
    assert (bobs_first.metadata["user_id"], ended.rating) == (BOB_ID, 4)
    assert _questions(server, bobs_first) == ["refunds"]
    active = _by_active_user(conversations)
    assert _questions(server, active[ALICE_ID]) == ["prices", "still there?"]
    assert _questions(server, active[BOB_ID]) == ["one more"]


def _by_active_user(conversations: list[StoredConversation]) -> dict[str, StoredConversation]:
    return {c.metadata["user_id"]: c for c in conversations if c.status == "active"}


@pytest.mark.parametrize(
    ("settings", "shared"),
    [({"group_sessions": "shared"}, True), ({"group_sessions": "per_user"}, False)],
)
async def test_group_sessions_setting_in_plain_groups_and_topics(
    emu: TelegramEmulator, settings: dict[str, Any], shared: bool
) -> None:
    async with (
        LocalKnowrithm(agent=ANSWER) as server,
        running_bot({"telegram": adapter_for(emu, **settings)}, server=server) as bot,
    ):
        emu.push_update(emu.build.group_text(text=_mention(emu, "prices")))
        emu.push_update(emu.build.group_text(text=_mention(emu, "refunds"), user=BOB))
        emu.push_update(emu.build.topic_text(text=_mention(emu, "topic a"), thread_id=7))
        emu.push_update(emu.build.topic_text(text=_mention(emu, "topic b"), thread_id=7, user=BOB))
        await answered(bot, 4)
    keys = {c.metadata["thread_key"] for c in server.state.conversations.values()}
    bot_id = emu.bot.id
    group, topic = f"telegram:{bot_id}:{GROUP_ID}", f"telegram:{bot_id}:{FORUM_ID}:7"
    if shared:
        assert keys == {group, topic}
    else:
        assert keys == {f"{key}:u{user}" for key in (group, topic) for user in (ALICE_ID, BOB_ID)}
    # Wherever the conversation is kept, the answers go to the topic they were asked in.
    in_topic = [m.text for m in emu.messages if m.chat_id == FORUM_ID]
    assert sorted(in_topic) == ["About topic a", "About topic b"]
    assert {m.message_thread_id for m in emu.messages if m.chat_id == FORUM_ID} == {7}


async def test_forum_topics_stay_one_conversation_by_default(emu: TelegramEmulator) -> None:
    async with (
        LocalKnowrithm(agent=ANSWER) as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        emu.push_update(emu.build.topic_text(text=_mention(emu, "topic a"), thread_id=7))
        emu.push_update(emu.build.topic_text(text=_mention(emu, "topic b"), thread_id=7, user=BOB))
        await answered(bot, 2)
    (conversation,) = server.state.conversations.values()
    assert conversation.metadata["thread_key"] == f"telegram:{emu.bot.id}:{FORUM_ID}:7"


async def test_reactions_and_buttons_rate_the_answer_in_its_persons_conversation(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    store = tmp_path / "store.sqlite"
    async with LocalKnowrithm(agent=ANSWER) as server:
        async with running_bot(
            {"telegram": adapter_for(emu)}, server=server, store_path=store
        ) as bot:
            emu.push_update(emu.build.group_text(text=_mention(emu, "prices")))
            emu.push_update(emu.build.group_text(text=_mention(emu, "refunds"), user=BOB))
            await answered(bot, 2)
            answers = {m.text: m for m in emu.messages}
            bobs, alices = answers["About refunds"], answers["About prices"]
            emu.push_update(
                emu.build.reaction(
                    chat_id=GROUP_ID, message_id=bobs.message_id, user=BOB, new=["👎"]
                )
            )
            await eventually(lambda: len(server.state.ratings) == 1)
            await bot.drain()
        # A new process, whose adapter never saw which conversation each answer belongs to.
        async with running_bot(
            {"telegram": adapter_for(emu)}, server=server, store_path=store
        ) as bot:
            emu.push_update(
                emu.build.callback_query(
                    chat_id=GROUP_ID, message_id=alices.message_id, data="rate:up"
                )
            )
            await eventually(lambda: len(server.state.ratings) == 2)
            emu.push_update(
                emu.build.reaction(
                    chat_id=GROUP_ID, message_id=bobs.message_id, user=BOB, new=["4️⃣"]
                )
            )
            await eventually(lambda: len(server.state.ratings) == 3)
            await bot.drain()
    conversations = _by_user(server)
    (alices_answer,) = stored_replies(server, conversation=conversations[ALICE_ID].id)
    (bobs_answer,) = stored_replies(server, conversation=conversations[BOB_ID].id)
    assert [(r.message_id, r.rating) for r in server.state.ratings] == [
        (bobs_answer.id, 1),
        (alices_answer.id, 5),
        (bobs_answer.id, 4),
    ]
