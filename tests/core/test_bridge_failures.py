"""Each kind of Knowrithm failure, through the bridge, ends in a sentence that is true for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent, StoredMessage
from knowrithm_bots.core.config.models import ConversationSettings, EntityRule
from knowrithm_bots.core.errors import StoreError
from knowrithm_bots.core.knowrithm import KnowrithmClient
from tests.core.test_bridge import Bot, BrokenStore, bot_with_store, make_bot, own_bot

pytestmark = pytest.mark.knowrithm_modes

THREAD = "recording:general"
# What a user must never be told when the message itself was not the problem.
REPHRASE = "rephrase"


@pytest.fixture
async def bot(knowrithm: LocalKnowrithm, client: KnowrithmClient) -> AsyncIterator[Bot]:
    made = await make_bot(knowrithm, client)
    yield made
    await made.bridge.stop()


def last_message(bot: Bot, thread: str = THREAD) -> str:
    return bot.adapter.messages_in(thread)[-1]


def accepted_sends(bot: Bot) -> list[str]:
    """The messages Knowrithm accepted, in order (refused sends are not recorded)."""
    return [text for _, text in bot.server.state.chat_requests]


async def fail_the_send(
    bot: Bot, *, status: int, body: str | None = None, **options: object
) -> str:
    """Ask once to set the conversation up, then ask again with the send failing."""
    await bot.ask("set up the conversation")
    bot.server.faults.fail_next(
        method="POST", path_contains="/chat", status=status, body=body, count=5, **options
    )
    await bot.ask("this one fails")
    bot.server.faults.clear()
    return last_message(bot)


async def test_refused_credentials_ask_for_an_administrator(bot: Bot) -> None:
    sentence = await fail_the_send(bot, status=401)
    assert sentence == (
        "The agent is not available because Knowrithm refused this bot's credentials; "
        "an administrator needs to check the API key and secret."
    )
    assert accepted_sends(bot) == ["set up the conversation"]


async def test_rate_limited_says_how_long_to_wait(bot: Bot) -> None:
    # Longer than the client waits out by itself (60 s), so it is told, not retried.
    sentence = await fail_the_send(bot, status=429, retry_after=120)
    assert sentence == "The agent is busy right now; please try again in 2 minutes."


async def test_unavailable_says_the_agent_is_not_answering(bot: Bot) -> None:
    sentence = await fail_the_send(bot, status=503)
    assert sentence == "The agent is not answering right now; please try again in a minute."
    assert accepted_sends(bot) == ["set up the conversation"]  # a send is never repeated


async def test_an_unreadable_answer_is_not_blamed_on_the_message(bot: Bot) -> None:
    sentence = await fail_the_send(bot, status=200, body="{not json")
    assert sentence.startswith("Knowrithm answered in a form this bot cannot read;")
    assert REPHRASE not in sentence


async def test_a_refused_message_asks_to_rephrase_it(bot: Bot) -> None:
    sentence = await fail_the_send(bot, status=422)
    assert sentence == (
        "Knowrithm refused your message as invalid; please rephrase or shorten it and try again."
    )


async def test_a_conversation_ended_twice_over_says_so(bot: Bot) -> None:
    # The old conversation refuses the send as ended, and so does the new one started for it.
    sentence = await fail_the_send(bot, status=409)
    assert sentence == (
        "This conversation has ended on Knowrithm; please send your message again to start "
        "a new one."
    )
    assert len(bot.server.state.conversations) == 2
    assert accepted_sends(bot) == ["set up the conversation"]


async def test_a_conversation_unknown_twice_over_says_so(bot: Bot) -> None:
    sentence = await fail_the_send(bot, status=404)
    assert sentence == (
        "Knowrithm does not know this conversation any more; please send your message again "
        "to start a new one."
    )
    assert len(bot.server.state.conversations) == 2
    # ... and it is true: the next message is answered.
    visible = await bot.ask("once more")
    assert '"once more"' in visible


async def test_an_agent_failing_to_reply_says_so(knowrithm_mode: str) -> None:
    def fail(question: str, history: Sequence[StoredMessage]) -> str:
        raise RuntimeError("model crashed")

    async with own_bot(agent=ScriptedAgent(fail)) as bot:
        visible = await bot.ask("hello")
    assert visible == "The agent could not answer this time; please try again."


async def test_an_answer_lost_after_the_send_is_not_sent_again(bot: Bot) -> None:
    await bot.ask("set up the conversation")
    # No stream, and the task vanishes: the message arrived, its answer cannot be read.
    bot.server.faults.streaming_enabled = False
    bot.server.faults.fail_next(method="GET", path_contains="/tasks/", status=404, count=50)
    await bot.ask("lost answer")
    assert last_message(bot) == (
        "Knowrithm received your message, but the agent's answer was lost on the way; "
        "please ask again."
    )
    assert accepted_sends(bot) == ["set up the conversation", "lost answer"]
    assert len(bot.server.state.conversations) == 1


async def lead_bot(knowrithm: LocalKnowrithm, client: KnowrithmClient) -> Bot:
    settings = ConversationSettings(entity_rules=[EntityRule(direct=True)])
    return await make_bot(knowrithm, client, settings=settings)


@pytest.mark.parametrize("status", [400, 404, 422])
async def test_a_refused_lead_is_not_blamed_on_the_message(
    knowrithm: LocalKnowrithm, client: KnowrithmClient, status: int
) -> None:
    bot = await lead_bot(knowrithm, client)
    try:
        knowrithm.faults.fail_next(method="POST", path_contains="/lead", status=status, count=5)
        visible = await bot.ask("hello", chat="dm1", direct=True, user="guest")
    finally:
        await bot.bridge.stop()
    assert visible == (
        "The agent cannot talk with you yet because Knowrithm did not accept the contact "
        "record this bot made for you; an administrator needs to check the bot's lead "
        "settings."
    )
    assert knowrithm.state.conversations == {}
    assert knowrithm.state.chat_requests == []


async def test_a_lead_not_made_for_an_outage_says_it_is_an_outage(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    bot = await lead_bot(knowrithm, client)
    try:
        knowrithm.faults.fail_next(method="POST", path_contains="/lead", status=503, count=5)
        visible = await bot.ask("hello", chat="dm1", direct=True, user="guest")
    finally:
        await bot.bridge.stop()
    assert visible == "The agent is not answering right now; please try again in a minute."


@pytest.mark.parametrize("status", [400, 404])
async def test_a_refused_conversation_start_is_not_blamed_on_the_message(
    bot: Bot, status: int
) -> None:
    bot.server.faults.fail_next(method="POST", path_contains="/v1/conversation", status=status)
    visible = await bot.ask("hello")
    assert visible == (
        "The agent cannot start a conversation because Knowrithm refused to open one; "
        "an administrator needs to check that the agent still exists and accepts "
        "conversations."
    )
    assert bot.server.state.conversations == {}
    assert await bot.sessions.current(THREAD) is None


async def test_a_store_failure_says_it_is_the_storage(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    failure = StoreError("the store at x.sqlite failed: disk I/O error")
    bot = await bot_with_store(knowrithm, client, BrokenStore(failure=failure, prefix="thread:"))
    try:
        visible = await bot.ask("hello")
    finally:
        await bot.bridge.stop()
    assert visible == "The bot cannot reach its storage right now; please try again in a minute."
    assert knowrithm.state.chat_requests == []


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (404, "Knowrithm no longer has that answer."),
        (409, "the conversation of that answer has ended on Knowrithm."),
        (400, "Knowrithm refused it."),
        (401, "The agent is not available because Knowrithm refused this bot's credentials"),
    ],
)
async def test_a_rating_not_saved_says_why_in_words_true_for_a_rating(
    bot: Bot, status: int, reason: str
) -> None:
    await bot.ask("rate me")
    (answer_id,) = bot.adapter.message_ids_in(THREAD)
    bot.server.faults.fail_next(method="POST", path_contains="/rate", status=status, count=5)
    await bot.adapter.react(answer_id, emoji="👍")
    await bot.bridge.drain()
    assert last_message(bot).startswith("Your rating was not saved: " + reason)
    assert REPHRASE not in last_message(bot)
