"""Typing notices are charged to the budgets, and go only with room no waiting call needs."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from knowrithm_bots.core.adapter import Budget, Limits
from knowrithm_bots.core.errors import PlatformError
from knowrithm_bots.core.streaming import Pacer, ReplyStream
from knowrithm_bots.core.streaming.scheduler import Lane
from knowrithm_bots.core.testing import FakePlatformAdapter, ManualClock
from tests.core.streaming.drive import agent, drive, settle, words

# Telegram's observed pace (the shipped adapter's budgets): a group allows 20 calls a minute.
GROUP = (
    Budget(scope="chat", rate=1, per=1, burst=3),
    Budget(scope="group", rate=20, per=60, burst=5),
    Budget(scope="bot", rate=20, per=1, burst=4, shared_backoff=False),
)
GROUP_LIMITS = Limits(max_message_length=4096, edit_interval=0.0, budgets=GROUP)


def group_keys(thread: str) -> dict[str, str]:
    chat = thread.split("#", 1)[0]
    return {"chat": chat, "group": chat, "bot": "bot"}


def judged(clock: ManualClock, limits: Limits = GROUP_LIMITS) -> FakePlatformAdapter:
    """A platform that counts typing notices against its budgets, as Telegram does."""
    return FakePlatformAdapter(
        clock=clock, limits=limits, keys=group_keys, judge_typing=True, latency=lambda: 0.05
    )


def one_chat_lanes(clock: ManualClock) -> tuple[Pacer, Lane, Lane]:
    """A pacer and one chat's post and typing lanes, the chat allowing 1 call a second."""
    fake = judged(
        clock, Limits(max_message_length=4096, budgets=(Budget(scope="chat", rate=1, burst=3),))
    )
    pacer = Pacer(clock=clock)
    route = pacer.route(adapter=fake, thread="c1")
    return pacer, route.lane("post"), route.lane("typing")


async def test_many_answers_in_one_group_type_only_with_room_to_spare_and_meet_no_429() -> None:
    clock = ManualClock()
    fake = judged(clock)
    pacer = Pacer(clock=clock)
    replies = [
        ReplyStream(adapter=fake, thread=f"g1#{n}", clock=clock, pacer=pacer) for n in range(12)
    ]
    jobs = [
        agent(clock, reply, words(60, word=f"r{n}w"), first=1.0, every=0.1)
        for n, reply in enumerate(replies)
    ]
    await drive(clock, asyncio.gather(*jobs))
    assert fake.count(outcome="429") == 0
    for n, reply in enumerate(replies):
        assert fake.visible(f"g1#{n}") == reply.final
    typing = [call.at for call in fake.calls if call.kind == "typing"]
    # Before the first posts the group had room for some notices; once twelve answers
    # queue for 20 calls a minute, none: renewed every 4 s, the notices of the replies
    # whose first post waits for its turn (up to 27 s) would come after the first post.
    assert 1 <= len(typing) <= 5
    first_post = min(call.at for call in fake.calls if call.kind == "post")
    assert all(at < first_post for at in typing)


@pytest.mark.parametrize(
    ("shows_for", "expected"), [(5.0, [0.05, 4.05, 8.05]), (10.0, [0.05, 8.05])]
)
async def test_a_slow_first_word_is_covered_by_notices_renewed_before_they_lapse(
    shows_for: float, expected: list[float]
) -> None:
    clock = ManualClock()
    limits = Limits(
        max_message_length=4096, edit_interval=0.0, budgets=GROUP, typing_shows_for=shows_for
    )
    fake = judged(clock, limits)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    await drive(clock, agent(clock, reply, ["late words"], first=10.0))
    typing = [call for call in fake.calls if call.kind == "typing"]
    assert [round(call.at, 6) for call in typing] == expected
    # Charged to every budget that names the chat, as PTB's AIORateLimiter counts them.
    assert typing[0].scopes == ("chat:c1", "group:c1", "bot:bot")
    assert fake.typings == len(expected)


async def test_a_notice_slower_than_the_timeline_is_not_followed_by_a_catch_up_burst() -> None:
    clock = ManualClock()
    # Room for many notices at once: only the timeline may space them.
    limits = Limits(
        max_message_length=4096,
        budgets=(Budget(scope="chat", rate=10, burst=20),),
        typing_shows_for=5.0,
    )
    delays = iter([13.0])  # the first notice takes 13 s to land, every other call none
    fake = FakePlatformAdapter(
        clock=clock, limits=limits, judge_typing=True, latency=lambda: next(delays, 0.0)
    )
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    await drive(clock, agent(clock, reply, ["late words"], first=24.0))
    typing = [round(call.at, 6) for call in fake.calls if call.kind == "typing"]
    # The slow notice comes back at 13 s, past three renewals (4, 8, 12): one notice goes
    # then, since the slow one may have landed at once and lapsed, and the timeline restarts
    # from it (13, 17, 21), instead of the three missed renewals going back to back.
    assert typing == [13.0, 13.0, 17.0, 21.0]


async def test_a_429_on_a_typing_notice_holds_back_the_answer_in_that_scope() -> None:
    clock = ManualClock()
    fake = judged(clock)
    fake.rate_limit_next(retry_after=3.0)  # the first call, the first notice, is refused
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    await drive(clock, agent(clock, reply, ["some words"], first=0.5))
    (refused,) = [call for call in fake.calls if call.outcome == "429"]
    assert refused.kind == "typing"
    (post,) = [call for call in fake.calls if call.kind == "post"]
    assert post.at >= refused.at + 3.0  # the scope waited out Telegram's retry_after
    assert fake.visible("c1") == "some words"


async def test_no_notice_while_a_call_waits_for_the_same_budget() -> None:
    clock = ManualClock()
    pacer, posts, typing = one_chat_lanes(clock)
    granted = [await pacer.turn(lane=posts, since=0.0, final=True) for _ in range(2)]
    assert granted == [0.0, 0.0]  # the third call waits for the arrival-jitter margin
    waiting = asyncio.ensure_future(pacer.turn(lane=posts, since=0.0, final=True))
    await settle()
    assert not waiting.done()
    assert await pacer.spare(lane=typing) is None  # someone waits on the chat's bucket
    await drive(clock, waiting)
    clock.advance(1.0)
    assert await pacer.spare(lane=typing) is None  # one token: only the reserve is left
    clock.advance(2.5)  # refilled to the burst
    assert await pacer.spare(lane=typing) == clock.monotonic()
    # Notices spend what a refresh may, never the last call of the burst.
    assert await pacer.spare(lane=typing) is not None
    assert await pacer.spare(lane=typing) is None


async def test_no_notice_takes_a_token_a_call_held_elsewhere_will_need() -> None:
    clock = ManualClock()
    budgets = (
        Budget(scope="chat", rate=1, burst=3),
        Budget(scope="bot", rate=20, burst=10, shared_backoff=False),
    )
    fake = FakePlatformAdapter(
        clock=clock,
        limits=Limits(max_message_length=4096, budgets=budgets),
        keys=lambda thread: {"chat": thread, "bot": "bot"},
        judge_typing=True,
    )
    pacer = Pacer(clock=clock)
    busy = pacer.route(adapter=fake, thread="c1").lane("post")
    other = pacer.route(adapter=fake, thread="c2").lane("typing")
    for _ in range(2):
        await pacer.turn(lane=busy, since=0.0, final=True)
    # Held by its chat's bucket, this call will need the bot's bucket too once released.
    held = asyncio.ensure_future(pacer.turn(lane=busy, since=0.0, final=True))
    await settle()
    assert not held.done()
    # The bot's bucket has room to spare (8 of 10), and the other chat's is full: still
    # no notice while a call charged to the bot's bucket waits.
    assert await pacer.spare(lane=other) is None
    await drive(clock, held)
    assert await pacer.spare(lane=other) is not None


async def test_a_bucket_slowed_by_a_429_spares_nothing_until_its_rate_is_back() -> None:
    clock = ManualClock()
    fake = judged(
        clock, Limits(max_message_length=4096, budgets=(Budget(scope="chat", rate=1, burst=3),))
    )
    pacer = Pacer(clock=clock)
    lane = pacer.route(adapter=fake, thread="c1").lane("typing")
    pacer.rate_limited(lane=lane, retry_after=1.0)
    clock.advance(30.0)  # full again, but at half the rate
    assert await pacer.spare(lane=lane) is None
    clock.advance(600.0)  # quiet time earns the rate back
    assert await pacer.spare(lane=lane) is not None


async def test_a_turn_given_back_goes_at_once_to_a_call_held_meanwhile() -> None:
    clock = ManualClock()
    pacer, posts, typing = one_chat_lanes(clock)
    assert await pacer.spare(lane=typing) is not None  # a notice about to go (or asked for)
    # Meanwhile the answer's first post needs the chat's last urgent calls, and is held.
    first = await pacer.turn(lane=posts, since=0.0, first=True)
    held = asyncio.ensure_future(pacer.turn(lane=posts, since=0.0, first=True))
    await settle()
    assert not held.done()
    # The notice is not made after all (another instance spent the shared room, say).
    pacer.refund(lane=typing)
    await settle()
    assert held.done() and held.result() == clock.monotonic() == first


async def test_notices_end_when_the_reply_is_closed_or_its_answer_cannot_be_shown() -> None:
    clock = ManualClock()
    fake = judged(clock)
    closed = ReplyStream(adapter=fake, thread="c1", clock=clock)
    failed = ReplyStream(adapter=fake, thread="c2", clock=clock)
    closed.start()
    failed.start()
    await settle()
    # The platform refuses every post of c2's answer (and nothing of c1's is ever shown).
    fake.fail_next(PlatformError("the chat is gone"), count=100)

    async def story() -> None:
        await clock.sleep(5.0)
        await closed.aclose()
        with contextlib.suppress(PlatformError):
            await failed.finish(text="never shown")
        await clock.sleep(30.0)

    await drive(clock, story())
    ended = clock.monotonic() - 30.0
    typing = [call for call in fake.calls if call.kind == "typing"]
    assert {call.thread for call in typing} == {"c1", "c2"}
    assert all(call.at <= ended for call in typing)
