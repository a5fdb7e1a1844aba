"""After a 429 a budget wins its rate back with quiet time, and quiet buckets are forgotten."""

from __future__ import annotations

from knowrithm_bots.core.adapter import Budget, Limits
from knowrithm_bots.core.streaming import Pacer
from knowrithm_bots.core.streaming.budgets import RECOVERY, RECOVERY_HALF_LIFE, TokenBucket
from knowrithm_bots.core.testing import FakePlatformAdapter, ManualClock


def test_rate_comes_back_with_quiet_time_not_only_with_calls() -> None:
    bucket = TokenBucket(rate=1.0, burst=1, now=0.0)
    bucket.rate_limited(now=0.0, retry_after=1.0)
    assert bucket.scale == 0.5
    bucket.ready_at(2.0 + RECOVERY_HALF_LIFE)  # a half-life after it refilled (at half rate)
    assert abs(bucket.scale - 0.75) < 1e-9
    bucket.ready_at(3600.0)
    assert bucket.scale == 1.0
    assert bucket.is_idle(3600.0)


def test_a_busy_bucket_earns_its_rate_back_by_calls_not_by_time() -> None:
    bucket = TokenBucket(rate=1.0, burst=1, now=0.0)
    bucket.rate_limited(now=0.0, retry_after=1.0)
    at = 0.0
    for _ in range(10):  # kept busy at the slower pace for 20 s
        at = bucket.ready_at(at)
        bucket.take(at)
        bucket.succeeded()
    assert abs(bucket.scale - 0.6) < 1e-9


def test_429s_of_calls_already_in_flight_slow_the_bucket_once() -> None:
    bucket = TokenBucket(rate=1.0, burst=3, now=0.0)
    for _ in range(3):  # three calls sent together, all refused
        bucket.rate_limited(now=0.01, retry_after=1.0)
    assert bucket.scale == 0.5
    assert bucket.blocked_until == 1.01
    bucket.succeeded()  # a call went through at the slower rate
    bucket.rate_limited(now=3.0, retry_after=1.0)  # refused again once the block had ended
    assert abs(bucket.scale - (0.5 + RECOVERY) * 0.5) < 1e-9


def test_the_call_let_through_after_a_block_refused_again_does_not_slow_the_bucket() -> None:
    # A platform still punishing (Telegram lengthens retry_after for repeated floods) or a
    # 429 for another reason: no call went at the slower rate, so it is not judged.
    bucket = TokenBucket(rate=1.0, burst=3, now=0.0)
    bucket.rate_limited(now=0.0, retry_after=1.0)
    bucket.rate_limited(now=2.0, retry_after=2.0)
    bucket.rate_limited(now=6.0, retry_after=4.0)
    assert bucket.scale == 0.5
    assert bucket.blocked_until == 10.0
    bucket.succeeded()
    bucket.rate_limited(now=12.0, retry_after=1.0)
    assert abs(bucket.scale - (0.5 + RECOVERY) * 0.5) < 1e-9


def test_a_bucket_back_at_full_rate_by_quiet_time_is_slowed_by_its_next_429() -> None:
    bucket = TokenBucket(rate=1.0, burst=1, now=0.0)
    bucket.rate_limited(now=0.0, retry_after=1.0)
    bucket.ready_at(3600.0)
    assert bucket.scale == 1.0
    bucket.rate_limited(now=3600.0, retry_after=1.0)
    assert bucket.scale == 0.5


def test_recovery_waits_for_the_block_to_end() -> None:
    bucket = TokenBucket(rate=1.0, burst=1, now=0.0)
    bucket.rate_limited(now=0.0, retry_after=30.0)
    bucket.ready_at(29.0)
    assert bucket.scale == 0.5


async def test_chats_rate_limited_once_and_then_quiet_are_forgotten() -> None:
    clock = ManualClock()
    limits = Limits(max_message_length=4096, budgets=(Budget(scope="chat", rate=1, per=1),))
    fake = FakePlatformAdapter(clock=clock, limits=limits)
    pacer = Pacer(clock=clock)
    for chat in range(3000):
        route = pacer.route(adapter=fake, thread=f"old{chat}")
        lane = route.lane("edit")
        await pacer.turn(lane=lane, since=clock.monotonic())
        pacer.rate_limited(lane=lane, retry_after=1.0)
        clock.advance(0.001)
    del route, lane
    clock.advance(3600)  # an hour of quiet in all of those chats
    for chat in range(1100):  # new chats keep coming
        pacer.route(adapter=fake, thread=f"new{chat}")
        clock.advance(0.01)
    assert pacer.bucket_count <= 1100


def test_refreshes_leave_a_reserve_of_the_burst_not_all_of_it() -> None:
    # A wide budget with a large burst (Slack's workspace stream budget): a refresh may go
    # while the calls a user waits on still find URGENT_RESERVE of the burst after it.
    wide = TokenBucket(rate=1.0, burst=20, now=0.0)
    for _ in range(17):
        wide.take(0.0)
    assert wide.is_ready(0.0, full=True)  # 3 left: one refresh, and 2 kept
    wide.take(0.0)
    assert not wide.is_ready(0.0, full=True)
    assert wide.is_ready(0.0)  # a first post or a final text may still go
    # A chat's burst of 3 keeps two of them, as before.
    chat = TokenBucket(rate=1.0, burst=3, now=0.0)
    chat.take(0.0)
    assert chat.is_ready(0.0, full=True)
    chat.take(0.0)
    assert not chat.is_ready(0.0, full=True)


def test_a_late_success_of_a_call_sent_before_the_429_proves_nothing() -> None:
    bucket = TokenBucket(rate=1.0, burst=3, now=0.0)
    bucket.rate_limited(now=1.0, retry_after=1.0)
    bucket.succeeded(charged=0.9)  # in flight when the 429 came, answered after it
    bucket.rate_limited(now=2.5, retry_after=1.0)  # the call let through, refused again
    assert abs(bucket.scale - (0.5 + RECOVERY)) < 1e-9  # not halved again
    bucket.succeeded(charged=4.0)
    bucket.rate_limited(now=5.0, retry_after=1.0)
    assert bucket.scale < 0.3
