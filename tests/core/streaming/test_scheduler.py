"""The scheduler and token buckets alone: stalest first, work-conserving, 429 backoff."""

from __future__ import annotations

import asyncio

import pytest

from knowrithm_bots.core.streaming.budgets import TokenBucket
from knowrithm_bots.core.streaming.scheduler import Lane, Scheduler, Waiter


def waiter(since: float, seq: int) -> Waiter:
    return Waiter(since=since, seq=seq, future=asyncio.get_running_loop().create_future())


async def test_stalest_waiter_goes_first_when_the_shared_bucket_refills() -> None:
    group = TokenBucket(rate=1.0, burst=1, now=0.0)
    scheduler = Scheduler()
    lanes = [Lane((group,)) for _ in range(3)]
    first = waiter(5.0, 0)
    scheduler.submit(lane=lanes[0], waiter=first, now=0.0)
    assert first.future.done()  # the bucket was full
    fresh, stale = waiter(4.0, 1), waiter(1.0, 2)
    scheduler.submit(lane=lanes[1], waiter=fresh, now=0.1)
    scheduler.submit(lane=lanes[2], waiter=stale, now=0.2)
    assert scheduler.next_deadline() == pytest.approx(1.0)
    scheduler.dispatch(1.0)
    assert stale.future.done() and not fresh.future.done()
    scheduler.dispatch(2.0)
    assert fresh.future.done()
    assert scheduler.waiting == 0 and scheduler.next_deadline() is None


async def test_a_lane_held_by_its_own_chat_does_not_hold_up_the_others() -> None:
    bot = TokenBucket(rate=10.0, burst=10, now=0.0)
    busy_chat = TokenBucket(rate=0.1, burst=1, now=0.0)
    busy_chat.take(0.0)  # just used: free again at t=10
    quiet_chat = TokenBucket(rate=1.0, burst=1, now=0.0)
    scheduler = Scheduler()
    held, free = waiter(0.0, 0), waiter(3.0, 1)
    scheduler.submit(lane=Lane((busy_chat, bot)), waiter=held, now=0.0)
    scheduler.submit(lane=Lane((quiet_chat, bot)), waiter=free, now=0.0)
    assert free.future.done() and not held.future.done()
    scheduler.dispatch(10.0)
    assert held.future.done()


async def test_cancelled_waiter_is_skipped_and_its_granted_turn_reported() -> None:
    bucket = TokenBucket(rate=1.0, burst=1, now=0.0)
    scheduler = Scheduler()
    lane = Lane((bucket,))
    granted = waiter(0.0, 0)
    scheduler.submit(lane=lane, waiter=granted, now=0.0)
    gone, next_one = waiter(1.0, 1), waiter(2.0, 2)
    scheduler.submit(lane=lane, waiter=gone, now=0.0)
    scheduler.submit(lane=lane, waiter=next_one, now=0.0)
    assert scheduler.cancel(granted, lane=lane) is True  # it had its turn: the caller refunds it
    assert scheduler.cancel(gone, lane=lane) is False
    scheduler.dispatch(1.0)
    assert next_one.future.done() and not gone.future.done()


def test_bucket_backs_off_then_lets_one_call_through_and_recovers_its_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=4, now=0.0)
    bucket.rate_limited(now=0.0, retry_after=5.0)
    assert bucket.ready_at(1.0) == pytest.approx(5.0)
    assert bucket.is_ready(5.0)
    bucket.take(5.0)
    assert not bucket.is_ready(5.0)  # one call, not a burst
    assert bucket.effective_rate == pytest.approx(1.0)
    for _ in range(200):
        bucket.succeeded()
    assert bucket.effective_rate == pytest.approx(2.0)
