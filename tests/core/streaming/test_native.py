"""Native streaming: used when offered, paced, and replaced by post + edit mid-answer."""

from __future__ import annotations

import asyncio
import itertools

from knowrithm_bots.core.adapter import Budget, Limits
from knowrithm_bots.core.streaming import Pacer, ReplyStream
from knowrithm_bots.core.testing import (
    FakeNativeStream,
    FakePlatformAdapter,
    ManualClock,
    NativeBehaviour,
)
from tests.core.streaming.drive import agent, drive, words
from tests.core.streaming.test_shared_budget import most_in_any_window

LIMITS = Limits(max_message_length=4000, edit_interval=1.0)


class Spy(FakePlatformAdapter):
    """Keeps the native streams it opened, to look at what they received."""

    opened: list[FakeNativeStream]

    async def open_native_stream(self, *, thread: str) -> FakeNativeStream | None:  # type: ignore[override]
        stream = await super().open_native_stream(thread=thread)
        assert stream is None or isinstance(stream, FakeNativeStream)
        if stream is not None:
            self.opened = [*getattr(self, "opened", []), stream]
        return stream


async def run(
    behaviour: NativeBehaviour, *, count: int = 150, limits: Limits = LIMITS
) -> tuple[Spy, ReplyStream, str]:
    clock = ManualClock()
    fake = Spy(clock=clock, limits=limits, native=behaviour)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    pieces = words(count)
    ids = await drive(clock, agent(clock, reply, pieces))
    text = "".join(pieces)
    assert ids == reply.message_ids
    assert fake.visible("c1") == text  # nothing lost, nothing repeated
    assert fake.drafts == {}
    return fake, reply, text


def kinds(fake: FakePlatformAdapter) -> list[str]:
    return [c.kind for c in fake.calls if c.outcome == "ok"]


async def test_native_stream_is_used_and_its_appends_are_paced() -> None:
    fake, reply, text = await run(NativeBehaviour())
    (stream,) = fake.opened
    assert set(kinds(fake)) == {"append"}  # no post, no edit
    # The appends carried the answer as it grew; the finish carries the authoritative text.
    assert text.startswith(stream.text) and stream.finished == text
    appends = [c.at for c in fake.calls]
    assert min(b - a for a, b in itertools.pairwise(appends)) >= 1.0 - 1e-9
    assert 3 <= len(appends) <= 6  # about 3.5 s of generation: coalesced, not one per word
    assert reply.message_ids == list(fake.messages)


async def test_refused_at_open_falls_back_to_post_and_edit() -> None:
    fake, _, _ = await run(NativeBehaviour(refuse_open=True))
    assert kinds(fake)[0] == "post"
    assert set(kinds(fake)) == {"post", "edit"}


async def test_expired_midway_continues_by_editing_the_leftover_message() -> None:
    fake, reply, text = await run(NativeBehaviour(expire_after=2, leftover=True))
    (stream,) = fake.opened
    assert len(stream.appended) == 2
    (message_id,) = fake.messages
    assert reply.message_ids == [message_id]
    after = [c for c in fake.calls if c.kind != "append"]
    assert after and all(c.kind == "edit" and c.message_id == message_id for c in after)
    assert fake.messages[message_id].text == text


async def test_expired_midway_without_leftover_posts_everything_so_far() -> None:
    fake, _reply, text = await run(NativeBehaviour(expire_after=2, leftover=False, lasting=False))
    (stream,) = fake.opened
    assert len(stream.appended) == 2
    posts = [c for c in fake.calls if c.kind == "post" and c.outcome == "ok"]
    assert posts and text.startswith(posts[0].text or "")
    assert len(posts[0].text or "") >= len(stream.text)  # the draft's text was not lost
    assert fake.messages_in("c1") == [text]


async def test_expired_at_finish_with_leftover_edits_in_the_final_text() -> None:
    fake, _, text = await run(NativeBehaviour(expire_after=1, leftover=True), count=20)
    assert kinds(fake)[-1] == "edit"
    assert fake.messages_in("c1") == [text]


async def test_stream_leaving_nothing_lasting_posts_the_final_text() -> None:
    fake, _, text = await run(NativeBehaviour(leftover=False, lasting=False))
    (stream,) = fake.opened
    assert stream.finished == text
    assert kinds(fake)[-1] == "post"
    assert fake.messages_in("c1") == [text]


async def test_rate_limited_append_waits_and_sends_everything_later() -> None:
    clock = ManualClock()
    fake = Spy(clock=clock, limits=LIMITS, native=NativeBehaviour())
    fake.rate_limit_next(retry_after=2)  # the very first append
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    pieces = words(100)
    await drive(clock, agent(clock, reply, pieces))
    (stream,) = fake.opened
    assert "".join(pieces).startswith(stream.text) and stream.finished == "".join(pieces)
    limited, first_ok = fake.calls[0], fake.calls[1]
    assert limited.outcome == "429" and first_ok.at >= limited.at + 2 - 1e-9


async def test_authoritative_final_text_replaces_what_was_streamed() -> None:
    clock = ManualClock()
    fake = Spy(clock=clock, limits=LIMITS, native=NativeBehaviour())
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    reply.feed("draft text")
    await drive(clock, reply.finish(text="The real answer."))
    assert fake.messages_in("c1") == ["The real answer."]


async def test_native_appends_of_concurrent_replies_share_the_chat_budget() -> None:
    clock = ManualClock()
    limits = Limits(
        max_message_length=4000, edit_interval=0.0, budgets=(Budget(scope="chat", rate=1),)
    )
    fake = Spy(clock=clock, limits=limits, native=NativeBehaviour())
    pacer = Pacer(clock=clock)
    replies = [ReplyStream(adapter=fake, thread=f"c1#{i}", clock=clock, pacer=pacer) for i in "ab"]
    answers = [words(100, word=w) for w in "xy"]
    await drive(
        clock,
        asyncio.gather(*(agent(clock, r, a) for r, a in zip(replies, answers, strict=True))),
    )
    assert fake.count(outcome="429") == 0
    assert most_in_any_window([c.at for c in fake.calls], 1.0) == 1
    for stream, answer in zip(fake.opened, answers, strict=True):
        assert stream.finished == "".join(answer)


async def test_text_known_at_once_is_posted_without_a_native_stream() -> None:
    clock = ManualClock()
    fake = Spy(clock=clock, limits=LIMITS, native=NativeBehaviour())
    notice = ReplyStream(adapter=fake, thread="c1", clock=clock)
    ids = await drive(clock, notice.finish(text="There is no conversation to end here."))
    assert getattr(fake, "opened", []) == []
    assert kinds(fake) == ["post"]
    assert ids == list(fake.messages)
    assert fake.visible("c1") == "There is no conversation to end here."


async def test_draft_stream_that_posts_a_lasting_message_at_finish_shows_text_once() -> None:
    fake, reply, text = await run(NativeBehaviour(leftover=False, lasting=True))
    assert fake.messages_in("c1") == [text]
    assert reply.message_ids == list(fake.messages)


async def test_draft_stream_expiring_midway_is_not_shown_twice() -> None:
    # run() checks that the thread shows the answer exactly once.
    fake, _, text = await run(NativeBehaviour(expire_after=2, leftover=False, lasting=True))
    assert fake.messages_in("c1") == [text]


async def test_stream_in_a_message_that_does_not_last_is_removed_at_finish() -> None:
    fake, _, text = await run(NativeBehaviour(leftover=True, lasting=False))
    assert fake.messages_in("c1") == [text]


async def test_without_a_per_message_interval_appends_keep_the_budgets_pace() -> None:
    # A burst is for the calls a user waits on (first post, final text), not for appends.
    budget = Budget(scope="chat", rate=1, per=1, burst=3)
    limits = Limits(max_message_length=4000, edit_interval=0.0, budgets=(budget,))
    fake, _, _ = await run(NativeBehaviour(), limits=limits)
    appends = [c.at for c in fake.calls if c.kind == "append"][:-1]  # the finish may go early
    assert len(appends) >= 2
    assert min(b - a for a, b in itertools.pairwise(appends)) >= 1.0 - 1e-9


async def test_the_finish_may_spend_the_burst_the_appends_keep() -> None:
    # Appends leave the burst alone; the finish shows the final text, which a user waits
    # for: it goes as soon as one token is there, not once the bucket is nearly full again.
    budget = Budget(scope="chat", rate=1, per=1, burst=3)
    limits = Limits(max_message_length=4000, edit_interval=0.0, budgets=(budget,))
    clock = ManualClock()
    fake = Spy(clock=clock, limits=limits, native=NativeBehaviour())
    pacer = Pacer(clock=clock)
    a, b = (ReplyStream(adapter=fake, thread=f"c1#{x}", clock=clock, pacer=pacer) for x in "ab")

    async def story() -> None:
        a.feed("First")  # its stream opens: 2 tokens of 3 left
        await clock.sleep(0.1)
        b.feed("Second")  # another reply in the chat opens its stream: 1.1 left
        await clock.sleep(0.4)
        await a.finish(text="First answer.")
        await b.finish(text="Second answer.")

    await drive(clock, story())
    finish = next(c for c in fake.calls if c.thread == "c1#a" and c.text == "First answer.")
    assert finish.at < 0.6  # at once, with the token there; not at 1.4 with two
    assert [stream.finished for stream in fake.opened] == ["First answer.", "Second answer."]
