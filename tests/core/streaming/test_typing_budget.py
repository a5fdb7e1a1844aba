"""Typing notices are charged to the budgets, and go only with room no waiting call needs."""

from __future__ import annotations

import asyncio

import pytest

from knowrithm_bots.core.adapter import Budget, Limits
from knowrithm_bots.core.streaming import Pacer, ReplyStream
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
    # queue for 20 calls a minute, none (each would have gone every 4 s: ~12 × 15).
    assert 1 <= len(typing) <= 5
    posts_done = max(call.at for call in fake.calls if call.kind == "post")
    assert all(at < posts_done for at in typing)


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
    fake = judged(
        clock, Limits(max_message_length=4096, budgets=(Budget(scope="chat", rate=1, burst=3),))
    )
    pacer = Pacer(clock=clock)
    route = pacer.route(adapter=fake, thread="c1")
    posts, typing = route.lane("post"), route.lane("typing")
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
