"""ReplyStream alone: first post at once, coalesced edits, no-op edits skipped, last edit kept."""

from __future__ import annotations

import asyncio

from knowrithm_bots.core.adapter import Limits
from knowrithm_bots.core.errors import MessageNotFound, PlatformUnavailable
from knowrithm_bots.core.streaming import Pacer, ReplyStream
from knowrithm_bots.core.testing import FakePlatformAdapter, ManualClock
from tests.core.streaming.drive import agent, drive, settle, words


def make(clock: ManualClock, **limits: object) -> FakePlatformAdapter:
    options: dict[str, object] = {"max_message_length": 4000, "edit_interval": 1.0}
    options.update(limits)
    return FakePlatformAdapter(clock=clock, limits=Limits(**options))  # type: ignore[arg-type]


async def test_first_words_are_posted_at_once_without_waiting_for_time() -> None:
    clock = ManualClock()
    fake = make(clock)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    reply.feed("Hello")
    await settle()
    assert [(c.kind, c.text, c.at) for c in fake.calls] == [("post", "Hello", 0.0)]
    reply.feed(" world")
    await settle()
    assert len(fake.calls) == 1  # the edit waits for the message's interval
    assert await drive(clock, reply.finish(text="Hello world")) == ["m1"]
    assert fake.visible("c1") == "Hello world"
    assert [c.at for c in fake.calls] == [0.0, 1.0]


async def test_whitespace_alone_is_not_posted() -> None:
    clock = ManualClock()
    fake = make(clock)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    reply.feed("\n\n")
    await settle()
    assert fake.calls == []
    reply.feed("Hi")
    await settle()
    assert [c.text for c in fake.calls] == ["\n\nHi"]
    await drive(clock, reply.finish(text="Hi"))
    assert fake.visible("c1") == "Hi"


async def test_deltas_are_coalesced_to_one_edit_per_interval() -> None:
    clock = ManualClock()
    fake = make(clock)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    pieces = words(200)  # 0.5 s + 199 * 0.02 s ≈ 4.5 s of generation
    await drive(clock, agent(clock, reply, pieces))
    assert fake.visible("c1") == "".join(pieces)
    edits = [c for c in fake.calls if c.kind == "edit"]
    assert fake.count("post") == 1
    assert 3 <= len(edits) <= 5
    gaps = [b.at - a.at for a, b in zip(fake.calls, fake.calls[1:], strict=False)]
    assert min(gaps) >= 1.0 - 1e-9


async def test_edits_that_change_nothing_are_skipped() -> None:
    clock = ManualClock()
    fake = make(clock)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    reply.feed("All done.")
    await settle()
    reply.feed("")  # an empty delta is no change
    await drive(clock, reply.finish(text="All done."))
    assert [c.kind for c in fake.calls] == ["post"]


async def test_last_edit_is_never_dropped_even_right_after_an_edit() -> None:
    clock = ManualClock()
    fake = make(clock, edit_interval=5.0)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    reply.feed("partial")
    await settle()
    finishing = asyncio.ensure_future(reply.finish(text="partial, and the authoritative end"))
    await settle()
    assert not finishing.done()  # owes the message's 5 s interval first
    await drive(clock, finishing)
    assert fake.visible("c1") == "partial, and the authoritative end"
    assert [(c.kind, c.at) for c in fake.calls] == [("post", 0.0), ("edit", 5.0)]


async def test_authoritative_text_shorter_than_the_deltas_retires_surplus_messages() -> None:
    clock = ManualClock()
    fake = make(clock, max_message_length=30, edit_interval=0.5)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    pieces = words(12)
    await drive(clock, agent(clock, reply, pieces, every=0.5))
    assert len(fake.messages_in("c1")) >= 2
    reply2 = ReplyStream(adapter=fake, thread="c2", clock=clock)
    for piece in pieces:
        reply2.feed(piece)
    await drive(clock, reply2.finish(text="Short."))
    assert fake.messages_in("c2")[0] == "Short."
    assert all(text == "…" for text in fake.messages_in("c2")[1:])


async def test_deleted_message_is_posted_again_and_unavailable_platform_is_retried() -> None:
    clock = ManualClock()
    fake = make(clock)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    reply.feed("first")
    await settle()
    fake.messages.clear()  # a moderator deleted it
    fake.fail_next(PlatformUnavailable("502 from the platform"), count=2)
    reply.feed(" second")
    ids = await drive(clock, reply.finish(text="first second"))
    assert fake.visible("c1") == "first second"
    assert ids == [next(iter(fake.messages))]
    assert [c.outcome for c in fake.calls].count("error") == 2


async def test_message_not_found_from_edit_reposts() -> None:
    clock = ManualClock()
    fake = make(clock)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    reply.feed("one")
    await settle()
    fake.fail_next(MessageNotFound("gone"))
    await drive(clock, reply.finish(text="one two"))
    assert fake.visible("c1").endswith("one two")
    assert fake.calls[-1].kind == "post"


async def test_aclose_while_waiting_for_a_turn_leaves_no_task_behind() -> None:
    clock = ManualClock()
    from knowrithm_bots.core.adapter import Budget

    fake = make(clock, budgets=(Budget(scope="chat", rate=1, per=10),))
    pacer = Pacer(clock=clock)
    first = ReplyStream(adapter=fake, thread="c1#1", clock=clock, pacer=pacer)
    second = ReplyStream(adapter=fake, thread="c1#2", clock=clock, pacer=pacer)
    first.feed("one")
    second.feed("two")  # must wait 10 s for the chat's budget
    await settle()
    assert fake.count("post") == 1
    await first.aclose()
    await second.aclose()
    await settle()
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert others == []
