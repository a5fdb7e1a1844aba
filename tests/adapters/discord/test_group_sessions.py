"""group_sessions on Discord: with per_user each person in a thread has a conversation of their
own, answered in that thread as a reply to their message; shared (the default) keeps one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from knowrithm_bots.adapters.discord import DiscordConfig
from knowrithm_bots.adapters.discord.threads import ThreadKey, conversation_of
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.bots.local_knowrithm.records import StoredConversation
from knowrithm_bots.core.bridge import STOP_MARK
from knowrithm_bots.core.errors import ConfigError
from tests.emulators.discord_api import StoredMessage, UserInfo
from tests.emulators.discord_api.interactions import Interaction
from tests.harness import RunningBot
from tests.support import eventually

from .helpers import World, discord_bot, discord_world, settle

PER_USER = {"group_sessions": "per_user", "message_content_intent": True}
NOTHING_OF_YOURS = "Nothing of yours to stop: that answer has ended, or it answers someone else."


@asynccontextmanager
async def _bot(
    world: World, server: LocalKnowrithm, settings: dict[str, Any] | None = None, **extra: Any
) -> AsyncIterator[RunningBot]:
    async with discord_bot(world, server, settings=settings, **{**PER_USER, **extra}) as bot:
        yield bot


def _bob(world: World) -> UserInfo:
    return world.emu.add_user(username="bob", global_name="Bob Builder")


def _by_user(server: LocalKnowrithm) -> dict[str, StoredConversation]:
    found: dict[str, StoredConversation] = {}
    for conversation in server.state.conversations.values():
        user = conversation.metadata["user_id"]
        assert user not in found, "a person has two conversations"
        found[user] = conversation
    return found


def _sent(server: LocalKnowrithm, conversation: StoredConversation) -> list[str]:
    return [m.content for m in server.state.messages[conversation.id] if m.role == "user"]


def _questions(server: LocalKnowrithm, conversation: StoredConversation) -> list[str]:
    """What was asked, without the thread's earlier messages a first send carries before it."""
    return [text.rsplit("\n\n", 1)[-1] for text in _sent(server, conversation)]


async def _two_people_ask(
    world: World, bot: RunningBot, bob: UserInfo
) -> tuple[int, StoredMessage, StoredMessage]:
    """Alice mentions the bot in #general (a thread starts), then Bob writes in that thread."""
    emu = world.emu
    alice_asks = await emu.dispatch_message(
        channel_id=world.general.id, author_id=world.alice.id, content=world.mention("prices?")
    )
    await settle(bot, world, chats=1)
    thread = alice_asks.id
    bob_asks = await emu.dispatch_message(channel_id=thread, author_id=bob.id, content="refunds?")
    await settle(bot, world, chats=2)
    return thread, alice_asks, bob_asks


async def test_two_people_in_one_thread_get_a_conversation_each_answered_there() -> None:
    async with discord_world() as world, LocalKnowrithm() as server:
        bob = _bob(world)
        async with _bot(world, server) as bot:
            thread, _, bob_asks = await _two_people_ask(world, bot, bob)
            alice_again = await world.emu.dispatch_message(
                channel_id=thread, author_id=world.alice.id, content="discounts?"
            )
            await settle(bot, world, chats=3)
        conversations = _by_user(server)
        alice, bob_id = str(world.alice.id), str(bob.id)
        assert set(conversations) == {alice, bob_id}
        place = f"discord:{world.emu.application_id}:thread:{thread}"
        assert conversations[alice].metadata["thread_key"] == f"{place}:u{alice}"
        assert conversations[bob_id].metadata["thread_key"] == f"{place}:u{bob_id}"
        assert _sent(server, conversations[alice]) == ["prices?", "discounts?"]
        # Bob joined a thread under way: his first send carries what was said in it.
        (bobs,) = _sent(server, conversations[bob_id])
        assert bobs.startswith("[Earlier messages in this thread") and "prices?" in bobs
        assert bobs.endswith("\n\nrefunds?")
        # All answers are in the thread; each later one replies to the message it answers
        # (the first cannot: its question started the thread, in #general).
        answers = world.bot_messages(thread)
        assert [m.reference_id for m in answers] == [None, bob_asks.id, alice_again.id]
        assert world.bot_messages(world.general.id) == []


async def test_a_lead_rule_makes_only_the_matching_person_a_lead() -> None:
    async with discord_world() as world, LocalKnowrithm() as server:
        bob = _bob(world)
        settings = {
            "conversations": {
                "entity_rules": [
                    {
                        "entity_type": "LEAD",
                        "adapters": ["discord"],
                        "users_not_in": [str(world.alice.id)],
                    }
                ]
            },
            "leads": {"email_domain": "leads.example-company.com"},
        }
        async with _bot(world, server, settings) as bot:
            await _two_people_ask(world, bot, bob)
        conversations = _by_user(server)
        alices, bobs = conversations[str(world.alice.id)], conversations[str(bob.id)]
        assert (alices.entity_type, alices.lead_id) == ("user", None)
        assert bobs.entity_type == "lead"
        (lead,) = server.state.leads.values()
        assert lead.email == f"discord-{bob.id}@leads.example-company.com"
        assert str(bobs.lead_id) == lead.id


async def test_end_by_one_person_ends_only_their_conversation() -> None:
    async with discord_world() as world, LocalKnowrithm() as server:
        bob = _bob(world)
        emu = world.emu
        async with _bot(world, server) as bot:
            thread, _, _ = await _two_people_ask(world, bot, bob)
            before = _by_user(server)
            alices, bobs = before[str(world.alice.id)], before[str(bob.id)]
            # Bob's application command, then Alice's typed one, each in the shared thread.
            end = await emu.use_command(
                channel_id=thread, user_id=bob.id, name="end", options={"rating": 4}
            )
            await eventually(lambda: end.original_content is not None, what="Bob's /end")
            assert [(e.conversation_id, e.rating) for e in server.state.ends] == [(bobs.id, 4)]
            await emu.dispatch_message(
                channel_id=thread, author_id=world.alice.id, content="still there?"
            )
            await settle(bot, world, chats=3)
            assert _questions(server, alices) == ["prices?", "still there?"]
            await emu.dispatch_message(
                channel_id=thread, author_id=world.alice.id, content="/end 5"
            )
            await eventually(lambda: len(server.state.ends) == 2, what="Alice's /end")
            await emu.dispatch_message(channel_id=thread, author_id=bob.id, content="new start")
            await settle(bot, world, chats=4)
        assert [(e.conversation_id, e.rating) for e in server.state.ends] == [
            (bobs.id, 4),
            (alices.id, 5),
        ]
        active = [c for c in server.state.conversations.values() if c.status == "active"]
        assert [(c.metadata["user_id"], _questions(server, c)) for c in active] == [
            (str(bob.id), ["new start"])
        ]
        assert end.original_content is not None
        assert end.original_content.startswith("Conversation ended, rated 4/5")


async def _stop(world: World, message: StoredMessage, *, by: int) -> Interaction:
    click = await world.emu.click(
        channel_id=message.channel_id, message_id=message.id, user_id=by, custom_id="knowrithm:stop"
    )
    await eventually(lambda: click.response is not None, what="the note to the clicker")
    return click


async def test_a_stop_button_stops_only_the_clickers_own_answer() -> None:
    async with discord_world() as world, LocalKnowrithm() as server:
        bob = _bob(world)
        emu = world.emu
        async with _bot(world, server) as bot:
            server.faults.hold_replies(after_words=4)
            try:
                question = await emu.dispatch_message(
                    channel_id=world.general.id,
                    author_id=world.alice.id,
                    content=world.mention("story"),
                )
                await eventually(
                    lambda: len(world.bot_messages(question.id)) == 1, what="the answer to show"
                )
                [writing] = world.bot_messages(question.id)
                clicks = [await _stop(world, writing, by=user) for user in (bob.id, world.alice.id)]
                await bot.drain()
            finally:
                server.faults.release_replies()
        assert [(c.ephemeral, c.content) for c in clicks] == [
            (True, NOTHING_OF_YOURS),
            (True, "Stopped."),
        ]
        [stopped] = world.bot_messages(question.id)
        assert stopped.content.endswith(STOP_MARK.format(name="Alice Liddell"))


async def test_shared_keeps_one_conversation_per_thread_with_the_keys_of_before() -> None:
    async with discord_world() as world, LocalKnowrithm() as server:
        bob = _bob(world)
        # group_sessions: shared, the default
        async with discord_bot(world, server, message_content_intent=True) as bot:
            thread, _, _ = await _two_people_ask(world, bot, bob)
        (conversation,) = server.state.conversations.values()
        key = f"discord:{world.emu.application_id}:thread:{thread}"
        assert conversation.metadata["thread_key"] == key
        assert _questions(server, conversation) == ["prices?", "refunds?"]
        # One conversation whose answers come in order: no replies needed.
        assert [m.reference_id for m in world.bot_messages(thread)] == [None, None]


# --- units ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "old", ["discord:42:thread:7", "discord:42:dm:7", "discord:42:channel:18446744073709551615"]
)
def test_keys_of_before_decode_and_encode_byte_for_byte(old: str) -> None:
    key = ThreadKey.decode(old)
    assert key.user_id is None
    assert key.encode() == old
    assert key.shared == key


def test_a_per_person_key_round_trips_and_shares_its_place() -> None:
    place = ThreadKey(application_id=42, kind="thread", channel_id=7)
    key = conversation_of(place, user_id=99, per_user=True)
    assert key.encode() == "discord:42:thread:7:u99"
    assert ThreadKey.decode(key.encode()) == key
    assert key.shared == place
    assert conversation_of(place, user_id=99, per_user=False) == place
    dm = ThreadKey(application_id=42, kind="dm", channel_id=7)
    assert conversation_of(dm, user_id=99, per_user=True) == dm  # one person in a DM


@pytest.mark.parametrize(
    "bad",
    [
        "discord:42:thread:7:99",  # a user part without its mark
        "discord:42:thread:7:u",
        "discord:42:thread:7:u099",
        "discord:42:thread:7:u99:x",
        "slack:T1:UB:C1:1.1:uU9",
    ],
)
def test_anything_else_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a Discord thread key"):
        ThreadKey.decode(bad)


def test_group_sessions_takes_shared_or_per_user() -> None:
    section = {"token": "abc.def"}
    assert DiscordConfig.load(section, prefix="adapters.discord").group_sessions == "shared"
    with pytest.raises(ConfigError, match=r"adapters\.discord\.group_sessions"):
        DiscordConfig.load({**section, "group_sessions": "per_person"}, prefix="adapters.discord")
