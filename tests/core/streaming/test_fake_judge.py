"""The fake platform judges 429s with its own plain buckets, so an engine bucket bug shows."""

from __future__ import annotations

import asyncio

import pytest

from knowrithm_bots.core.adapter import Budget, Limits
from knowrithm_bots.core.errors import PlatformRateLimited
from knowrithm_bots.core.streaming import Pacer, ReplyStream
from knowrithm_bots.core.streaming.budgets import TokenBucket
from knowrithm_bots.core.testing import FakePlatformAdapter, ManualClock, PlainBucket
from tests.core.streaming.drive import drive

CHAT = Limits(max_message_length=4000, edit_interval=0.0, budgets=(Budget(scope="chat", rate=1),))


def break_the_engines_buckets(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bucket bug: every engine bucket says a call may go now."""
    monkeypatch.setattr(TokenBucket, "ready_at", lambda self, now, *, full=False: now)


async def test_the_platform_refuses_what_its_budget_has_no_room_for_whatever_the_engine_thinks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    break_the_engines_buckets(monkeypatch)
    clock = ManualClock()
    fake = FakePlatformAdapter(clock=clock, limits=CHAT)
    await fake.post(thread="c1", text="one")
    with pytest.raises(PlatformRateLimited) as refused:
        await fake.post(thread="c1", text="two")
    assert refused.value.retry_after == 1.0
    await fake.post(thread="c2", text="another chat")  # a chat of its own has room
    clock.advance(1.0)
    await fake.post(thread="c1", text="two")
    assert [c.outcome for c in fake.calls] == ["ok", "429", "ok", "ok"]


async def test_an_engine_with_a_bucket_bug_meets_429s_on_the_fake(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    break_the_engines_buckets(monkeypatch)
    clock = ManualClock()
    fake = FakePlatformAdapter(clock=clock, limits=CHAT)
    pacer = Pacer(clock=clock)
    replies = [ReplyStream(adapter=fake, thread=f"c1#{i}", clock=clock, pacer=pacer) for i in "ab"]
    finishing = (reply.finish(text=f"Answer {i}.") for i, reply in enumerate(replies))
    await drive(clock, asyncio.gather(*finishing))
    assert fake.count(outcome="429") >= 1


def test_a_plain_bucket_allows_its_burst_then_its_rate() -> None:
    bucket = PlainBucket(rate=2.0, burst=2)
    for _ in range(2):
        assert bucket.ready_at(10.0) == 10.0
        bucket.take(10.0)
    assert bucket.ready_at(10.0) == 10.5
    bucket.take(10.5)
    assert bucket.ready_at(10.6) == 11.0
    assert bucket.ready_at(20.0) == 20.0  # refilled, but never past its burst:
    bucket.take(20.0)
    bucket.take(20.0)
    assert bucket.ready_at(20.0) == 20.5
    with pytest.raises(ValueError, match="positive rate"):
        PlainBucket(rate=0.0, burst=1)
