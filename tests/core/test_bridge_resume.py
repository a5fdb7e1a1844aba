"""An answer a stopped or crashed run left unfinished is finished by the next one, once."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.bridge import Bridge
from knowrithm_bots.core.events import Author, ContextMessage, Inbound, Origin
from knowrithm_bots.core.knowrithm import KnowrithmClient
from knowrithm_bots.core.pending_replies import PREFIX, PendingReplies, PendingReply
from knowrithm_bots.core.testing import RecordingAdapter
from tests.core.test_bridge import Bot, make_bot

pytestmark = pytest.mark.knowrithm_modes

THREAD = "recording:general"


def next_run(bot: Bot, client: KnowrithmClient) -> Bridge:
    """The bridge a restarted process builds over the same store and platform."""
    return Bridge(
        client=client,
        store=bot.store,
        sessions=bot.sessions,
        adapters={bot.adapter.name: bot.adapter},
    )


async def stored_replies_left(bot: Bot) -> list[str]:
    return [key async for key, _ in bot.store.scan(PREFIX)]


async def stopped_mid_answer(bot: Bot, text: str) -> list[str]:
    """Ask ``text`` and stop the run once Knowrithm has it and (where the service streams
    deltas) part of the answer shows; the messages showing it."""
    bot.server.faults.hold_replies(after_words=3)
    await bot.adapter.say(text, event_id="ev-1")
    if bot.server.mode == "documented":
        # The documented service sends the answer whole: nothing shows before it is done.
        for _ in range(500):
            record = await PendingReplies(store=bot.store).get(event_named("ev-1", text))
            if record is not None and record.stage == "accepted":
                break
            await asyncio.sleep(0.01)
        shown: list[str] = []
    else:
        shown = await bot.adapter.wait_for_messages(THREAD, count=1)
    await bot.bridge.stop()
    return shown


def event_named(event_id: str, text: str) -> Inbound:
    return Inbound(
        thread=THREAD,
        event_id=event_id,
        text=text,
        author=Author(id="u1"),
        origin=Origin(adapter="recording", channel_id="general"),
    )


async def test_an_answer_stopped_mid_way_is_finished_in_its_own_message_by_the_next_run(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    bot = await make_bot(knowrithm, client)
    partial = "".join(await stopped_mid_answer(bot, "tell me everything"))
    assert await stored_replies_left(bot) == ["reply:recording:ev-1"]
    knowrithm.faults.release_replies()

    bridge = next_run(bot, client)
    await bot.adapter.start(sink=bridge)
    try:
        assert await bridge.resume_unfinished() == 1
        await bridge.drain()
        answer = bot.assistant_messages()
        assert len(answer) == 1
        assert partial != answer[0] and answer[0].startswith(partial.rstrip(" …"))
        assert knowrithm.mode == "documented" or partial
        # The half-written message became the whole answer: nothing else was posted.
        assert bot.adapter.messages_in(THREAD) == answer
        assert [text for _, text in knowrithm.state.chat_requests] == ["tell me everything"]
        assert await stored_replies_left(bot) == []
        # Delivered again by the platform now, the event is done: dropped.
        await bot.adapter.say("tell me everything", event_id="ev-1")
        await bridge.drain()
        assert bot.adapter.messages_in(THREAD) == answer
    finally:
        await bridge.stop()


async def test_a_redelivery_finishes_what_the_last_run_left(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    bot = await make_bot(knowrithm, client)
    await stopped_mid_answer(bot, "and what then?")
    knowrithm.faults.release_replies()
    bridge = next_run(bot, client)
    await bot.adapter.start(sink=bridge)
    try:
        # No start-up sweep here: the platform's redelivery alone finishes the answer.
        await bot.adapter.say("and what then?", event_id="ev-1")
        await bridge.drain()
        assert bot.adapter.messages_in(THREAD) == bot.assistant_messages()
        assert len(knowrithm.state.chat_requests) == 1
    finally:
        await bridge.stop()


async def test_a_send_the_last_run_began_but_knowrithm_never_got_is_sent(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    bot = await make_bot(knowrithm, client)
    await bot.ask("hello")  # the thread's conversation exists
    session = await bot.sessions.current(THREAD)
    assert session is not None
    event = event_named("ev-lost", "did this arrive?")
    # The crash came after the record said "sending" and before the request left.
    await PendingReplies(store=bot.store).save(
        PendingReply(
            event=event,
            stage="sending",
            conversation_id=session.conversation_id,
            sending_at=bot.clock.now(),
        )
    )
    await bot.bridge.stop()
    bridge = next_run(bot, client)
    await bot.adapter.start(sink=bridge)
    try:
        assert await bridge.resume_unfinished() == 1
        await bridge.drain()
        assert [text for _, text in knowrithm.state.chat_requests] == [
            "hello",
            "did this arrive?",
        ]
        assert bot.adapter.messages_in(THREAD)[-1] == bot.assistant_messages()[-1]
        assert await stored_replies_left(bot) == []
    finally:
        await bridge.stop()


async def test_an_unreadable_record_is_set_aside_and_the_message_answered_afresh(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    bot = await make_bot(knowrithm, client)
    try:
        await bot.store.set("reply:recording:ev-odd", value={"stage": "from the future"})
        visible = await bot.ask("hi", event_id="ev-odd")
        assert 'You asked: "hi"' in visible
        quarantined = [key async for key, _ in bot.store.scan("quarantine:reply:")]
        assert quarantined == ["quarantine:reply:recording:ev-odd"]
    finally:
        await bot.bridge.stop()


class SlowButtons(RecordingAdapter):
    """Rating buttons that wait (as they wait for their turn in a spent budget)."""

    def __init__(self) -> None:
        super().__init__()
        self.offering = asyncio.Event()
        self.release = asyncio.Event()

    def feedback_buttons_in(self, *, thread: str) -> bool:
        return True

    async def offer_feedback(self, *, thread: str, message_id: str) -> None:
        self.offering.set()
        await self.release.wait()


async def test_an_answer_shown_in_full_is_done_before_its_rating_buttons(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    adapter = SlowButtons()
    bot = await make_bot(knowrithm, client, adapter=adapter)
    try:
        await adapter.say("what is new?", event_id="ev-1")
        await asyncio.wait_for(adapter.offering.wait(), timeout=10)
        # A crash now must not make the next run redo an answer everyone already sees.
        assert await stored_replies_left(bot) == []
        assert adapter.messages_in(THREAD) == bot.assistant_messages()
    finally:
        adapter.release.set()
        await bot.bridge.drain()
        await bot.bridge.stop()


async def test_the_record_says_the_question_carried_the_thread_s_earlier_messages(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    """A resumed send must compose the question as the first one did: whether it carried the
    earlier messages is stored with the send, before Knowrithm gets it."""
    bot = await make_bot(knowrithm, client)
    knowrithm.faults.hold_replies(after_words=3)
    earlier = (ContextMessage(author="Grace", text="the build is red again"),)
    event = dataclasses.replace(event_named("ev-1", "why?"), context=earlier)
    await bot.bridge.on_message(event)
    record = None
    for _ in range(500):
        record = await PendingReplies(store=bot.store).get(event)
        if record is not None and record.stage == "accepted":
            break
        await asyncio.sleep(0.01)
    assert record is not None and record.stage == "accepted"
    assert record.with_context is True
    knowrithm.faults.release_replies()
    await bot.bridge.drain()
    questions = [
        m.content for ms in knowrithm.state.messages.values() for m in ms if m.role == "user"
    ]
    assert len(questions) == 1 and "the build is red again" in questions[0]
    await bot.bridge.stop()
