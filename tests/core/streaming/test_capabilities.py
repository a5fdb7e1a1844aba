"""The engine calls only what the adapter declares, and never shows whitespace alone."""

from __future__ import annotations

import asyncio

from knowrithm_bots.core.adapter import Limits
from knowrithm_bots.core.streaming import ReplyStream
from knowrithm_bots.core.testing import FakePlatformAdapter, ManualClock
from tests.core.streaming.drive import agent, drive, settle, words


async def test_without_edit_the_answer_is_posted_once_it_is_final() -> None:
    clock = ManualClock()
    fake = FakePlatformAdapter(clock=clock, limits=Limits(max_message_length=4000), edit=False)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    pieces = words(300)  # about 6.5 s of generation
    ids = await drive(clock, agent(clock, reply, pieces))
    assert [(c.kind, c.text) for c in fake.calls] == [("post", "".join(pieces))]
    assert fake.calls[0].at >= 0.5 + 299 * 0.02 - 1e-9  # at the finish, not before
    assert ids == ["m1"]
    assert fake.typings >= 2  # typing covered the wait


async def test_without_edit_rolled_over_messages_are_posted_as_they_settle() -> None:
    clock = ManualClock()
    fake = FakePlatformAdapter(
        clock=clock, limits=Limits(max_message_length=200, edit_interval=1.0), edit=False
    )
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    pieces = words(150)
    finish_at = 0.5 + 149 * 0.02
    await drive(clock, agent(clock, reply, pieces))
    assert {c.kind for c in fake.calls} == {"post"}
    assert len(fake.calls) == len(fake.messages) >= 5
    assert fake.calls[0].at < finish_at - 1.0  # the first settled message did not wait
    assert fake.visible("c1") == "".join(pieces)


async def test_final_text_leaving_a_message_only_whitespace_retires_it() -> None:
    clock = ManualClock()
    fake = FakePlatformAdapter(clock=clock, limits=Limits(max_message_length=30, edit_interval=0))
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    for piece in words(8):
        reply.feed(piece)
        await settle()
    first, *_rest = fake.messages_in("c1")
    assert _rest  # the answer rolled over
    ids = await drive(clock, reply.finish(text=first + "\n\n"))
    assert fake.messages_in("c1")[0] == first
    assert all(text == "…" for text in fake.messages_in("c1")[1:])
    assert ids == [next(iter(fake.messages))]
    assert all((c.text or "x").strip() for c in fake.calls)


async def test_whitespace_only_final_text_after_nothing_visible_posts_nothing() -> None:
    clock = ManualClock()
    fake = FakePlatformAdapter(clock=clock, limits=Limits(max_message_length=4000))
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    reply.feed("\n")
    assert await asyncio.wait_for(drive(clock, reply.finish(text=" \n")), 1) == []
    assert fake.calls == []
