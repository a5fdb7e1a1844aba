"""A conversation Knowrithm no longer knows is replaced once, silently, and the message resent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.knowrithm import KnowrithmClient
from knowrithm_bots.core.sessions import Session
from tests.core.test_bridge import Bot, make_bot

pytestmark = pytest.mark.knowrithm_modes

THREAD = "recording:general"


@pytest.fixture
async def bot(knowrithm: LocalKnowrithm, client: KnowrithmClient) -> AsyncIterator[Bot]:
    made = await make_bot(knowrithm, client)
    yield made
    await made.bridge.stop()


async def linked(bot: Bot) -> Session:
    session = await bot.sessions.current(THREAD)
    assert session is not None
    return session


async def test_a_conversation_deleted_on_knowrithm_is_replaced_without_a_word(bot: Bot) -> None:
    await bot.ask("before the deletion")
    old = await linked(bot)
    # Deleted in the Knowrithm console: the server answers 404 for it from now on.
    del bot.server.state.conversations[old.conversation_id]
    posts_before = bot.adapter.count("post")

    visible = await bot.ask("after the deletion")

    assert '"after the deletion"' in visible
    assert bot.adapter.count("post") == posts_before + 1  # the answer, and no notice
    new = await linked(bot)
    assert new.conversation_id != old.conversation_id
    assert bot.server.state.messages[new.conversation_id][0].content == "after the deletion"
    # Refused where it was first sent, accepted where it was resent: accepted only once.
    sends = [r.path for r in bot.server.state.received if r.path.endswith("/chat")]
    assert sends == [
        f"/api/v1/conversation/{old.conversation_id}/chat",
        f"/api/v1/conversation/{old.conversation_id}/chat",
        f"/api/v1/conversation/{new.conversation_id}/chat",
    ]
    assert [text for _, text in bot.server.state.chat_requests] == [
        "before the deletion",
        "after the deletion",
    ]
    # The next message continues the new conversation: the thread is mended for good.
    await bot.ask("and then")
    assert (await linked(bot)).conversation_id == new.conversation_id
    assert list(bot.server.state.conversations) == [new.conversation_id]


async def test_a_send_refused_as_unknown_is_resent_once_in_a_new_conversation(bot: Bot) -> None:
    await bot.ask("set up the conversation")
    old = await linked(bot)
    bot.server.faults.fail_next(method="POST", path_contains="/chat", status=404)
    posts_before = bot.adapter.count("post")
    await bot.ask("refused once")
    shown = bot.adapter.messages_in(THREAD)[-1]
    assert shown == bot.assistant_messages()[-1]  # the answer, nothing said about it
    assert shown.startswith('You asked: "refused once". This is message 1 ')
    assert bot.adapter.count("post") == posts_before + 1
    assert (await linked(bot)).conversation_id != old.conversation_id
    assert len(bot.server.state.conversations) == 2


async def test_forgetting_a_link_spares_one_another_process_already_replaced(bot: Bot) -> None:
    await bot.ask("hello")
    current = await linked(bot)
    await bot.sessions.forget(THREAD, conversation_id="some-older-conversation")
    assert await bot.sessions.current(THREAD) == current
    await bot.sessions.forget(THREAD, conversation_id=current.conversation_id)
    assert await bot.sessions.current(THREAD) is None
