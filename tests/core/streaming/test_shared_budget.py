"""Concurrent replies share the adapter's budgets through one pacer; 429s back a scope off."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict

from knowrithm_bots.core.adapter import Budget, Limits
from knowrithm_bots.core.streaming import Pacer, ReplyStream
from knowrithm_bots.core.streaming.budgets import TokenBucket
from knowrithm_bots.core.streaming.scheduler import Lane
from knowrithm_bots.core.testing import FakePlatformAdapter, ManualClock, PlatformCall
from tests.core.streaming.drive import agent, drive, settle, words

TELEGRAM_GROUP = (
    Budget(scope="chat", rate=1, per=1),
    Budget(scope="group", rate=20, per=60, burst=3),
    Budget(scope="bot", rate=30, per=1, burst=30, shared_backoff=False),
)


def group_keys(thread: str) -> dict[str, str]:
    chat = thread.split("#", 1)[0]
    return {"chat": chat, "group": chat, "bot": "bot"}


def most_in_any_window(times: list[float], width: float) -> int:
    """The largest number of calls that arrived within ``width`` seconds of each other."""
    times = sorted(times)
    best, low = 0, 0
    for high, at in enumerate(times):
        while at - times[low] >= width - 1e-9:
            low += 1
        best = max(best, high - low + 1)
    return best


def by_scope(calls: list[PlatformCall]) -> dict[str, list[float]]:
    scopes: dict[str, list[float]] = defaultdict(list)
    for call in calls:
        for scope in call.scopes:
            scopes[scope].append(call.at)
    return scopes


async def run_replies(
    fake: FakePlatformAdapter,
    clock: ManualClock,
    threads: list[str],
    *,
    length: int = 120,
    pacer: Pacer | None = None,
) -> list[ReplyStream]:
    pacer = pacer or Pacer(clock=clock)
    replies = [ReplyStream(adapter=fake, thread=t, clock=clock, pacer=pacer) for t in threads]
    answers = [words(length, word=f"r{i}w") for i in range(len(threads))]
    jobs = [
        agent(clock, reply, answer, first=0.3 + 0.05 * i)
        for i, (reply, answer) in enumerate(zip(replies, answers, strict=True))
    ]
    await drive(clock, asyncio.gather(*jobs))
    for thread, answer in zip(threads, answers, strict=True):
        assert fake.visible(thread) == "".join(answer)
    return replies


async def test_twenty_replies_in_one_group_stay_inside_every_budget() -> None:
    clock = ManualClock()
    limits = Limits(max_message_length=4096, edit_interval=1.0, budgets=TELEGRAM_GROUP)
    fake = FakePlatformAdapter(clock=clock, limits=limits, keys=group_keys)
    threads = [f"g1#{i}" for i in range(20)]
    await run_replies(fake, clock, threads, length=150)
    assert fake.count(outcome="429") == 0
    times = by_scope(fake.calls)
    assert most_in_any_window(times["chat:g1"], 1.0) == 1
    # A token bucket allows at most burst + rate * window calls in any window.
    assert most_in_any_window(times["group:g1"], 60.0) <= 3 + 20
    # ...and used it: once the burst is spent, one call per declared 3 s (no rate cut; with
    # no network delay there is no jitter to keep a reserve for).
    group = sorted(times["group:g1"])
    assert len(group) >= 20
    assert max(b - a for a, b in itertools.pairwise(group[3:])) <= 3.0 + 0.01


async def test_stalest_reply_is_refreshed_first() -> None:
    clock = ManualClock()
    limits = Limits(
        max_message_length=4096, edit_interval=0.0, budgets=(Budget(scope="chat", rate=1, per=2),)
    )
    fake = FakePlatformAdapter(clock=clock, limits=limits, keys=group_keys)
    pacer = Pacer(clock=clock)
    replies = [ReplyStream(adapter=fake, thread=f"c#{i}", clock=clock, pacer=pacer) for i in "abc"]
    replies[0].feed("a")  # posted at once: the budget is full
    await settle()
    replies[2].feed("c")  # then c waits (older pending text)...
    clock.advance(0.5)
    await settle()
    replies[1].feed("b")  # ...and b arrives later, so b goes after c
    finishing = [r.finish(text=t) for r, t in zip(replies, "abc", strict=True)]
    await drive(clock, asyncio.gather(*finishing))
    assert [(c.thread, c.at) for c in fake.calls] == [("c#a", 0.0), ("c#c", 2.0), ("c#b", 4.0)]


async def test_rate_limit_backs_off_the_whole_scope_and_recovers_without_losing_text() -> None:
    clock = ManualClock()
    limits = Limits(max_message_length=4096, edit_interval=1.0, budgets=TELEGRAM_GROUP)
    fake = FakePlatformAdapter(clock=clock, limits=limits, keys=group_keys)
    pacer = Pacer(clock=clock)
    first = ReplyStream(adapter=fake, thread="g1#1", clock=clock, pacer=pacer)
    second = ReplyStream(adapter=fake, thread="g1#2", clock=clock, pacer=pacer)
    first.feed("Hello")
    await settle()
    fake.rate_limit_next(retry_after=7)

    async def story() -> None:
        await clock.sleep(1.5)
        first.feed(" there")  # its edit gets the 429 at t≈1.5
        second.feed("Meanwhile")  # same group: must wait out the 7 s as well
        await clock.sleep(20)
        first.feed(", friend.")
        await asyncio.gather(
            first.finish(text="Hello there, friend."), second.finish(text="Meanwhile")
        )

    await drive(clock, story())
    limited = [c for c in fake.calls if c.outcome == "429"]
    assert len(limited) == 1
    resumed = [c.at for c in fake.calls if c.at > limited[0].at]
    assert resumed and min(resumed) >= limited[0].at + 7 - 1e-9
    assert fake.visible("g1#1") == "Hello there, friend."
    assert fake.visible("g1#2") == "Meanwhile"
    assert fake.count(outcome="429") == 1


async def test_budget_tighter_than_declared_is_learned_from_429s() -> None:
    clock = ManualClock()
    declared = Limits(
        max_message_length=4096, edit_interval=0.0, budgets=(Budget(scope="chat", rate=4),)
    )
    fake = FakePlatformAdapter(
        clock=clock, limits=declared, enforce=(Budget(scope="chat", rate=1),), keys=group_keys
    )
    threads = [f"c#{i}" for i in range(4)]
    await run_replies(fake, clock, threads, length=600)
    limited = fake.count(outcome="429")
    assert 1 <= limited <= 4  # a few 429s teach the pacer; it does not keep hitting the wall
    late = [c for c in fake.calls if c.at > 8.0]
    assert len(late) >= 10 and all(c.outcome == "ok" for c in late)


async def test_budget_kinds_and_scopes_apply_only_where_they_belong() -> None:
    clock = ManualClock()
    slack = Limits(
        max_message_length=4000,
        edit_interval=0.0,
        budgets=(
            Budget(scope="chat", rate=1, kinds=("post",)),
            Budget(scope="workspace", rate=50, per=60, burst=5, kinds=("edit",)),
        ),
    )
    fake = FakePlatformAdapter(
        clock=clock,
        limits=slack,
        keys=lambda thread: {"chat": thread.split("#")[0], "workspace": "T1"},
    )
    pacer = Pacer(clock=clock)
    threads = [f"C{i}#1" for i in range(12)]
    await run_replies(fake, clock, threads, length=80, pacer=pacer)
    assert fake.count(outcome="429") == 0
    posts = [c.at for c in fake.calls if c.kind == "post"]
    assert max(posts) < 1.0  # posts in different channels do not wait for each other
    workspace = by_scope(fake.calls)["workspace:T1"]
    assert most_in_any_window(workspace, 60.0) <= 5 + 50
    # What the engine charges (the fake judges by its own budgets, so ask the pacer): a post
    # to its channel's budget alone, an edit to the workspace's alone, shared by channels.
    first, second = (pacer.route(adapter=fake, thread=t) for t in threads[:2])
    for route in (first, second):
        (post,) = route.lane("post").buckets
        (edit,) = route.lane("edit").buckets
        assert (post.rate, edit.rate) == (1.0, 50 / 60)
        assert route.budget_interval == 60 / 50
    assert first.lane("post").buckets[0] is not second.lane("post").buckets[0]
    assert first.lane("edit").buckets[0] is second.lane("edit").buckets[0]


def chat_and_bot_budgets(clock: ManualClock, *, shared_backoff: bool) -> FakePlatformAdapter:
    """A platform with a chat budget and a bot-wide one."""
    budgets = (
        Budget(scope="chat", rate=1),
        Budget(scope="bot", rate=30, burst=30, shared_backoff=shared_backoff),
    )
    limits = Limits(max_message_length=4096, edit_interval=0.0, budgets=budgets)
    return FakePlatformAdapter(clock=clock, limits=limits, keys=group_keys)


async def post_elsewhere_after_a_429(*, shared_backoff: bool) -> tuple[PlatformCall, float]:
    """Reply A's final edit meets a 429 charged to its chat and to the bot-wide budget;
    then reply B in another chat posts. Returns the 429 and when B's post arrived."""
    clock = ManualClock()
    fake = chat_and_bot_budgets(clock, shared_backoff=shared_backoff)
    pacer = Pacer(clock=clock)
    a = ReplyStream(adapter=fake, thread="A", clock=clock, pacer=pacer)
    b = ReplyStream(adapter=fake, thread="B", clock=clock, pacer=pacer)
    a.feed("Hello")
    await settle()
    fake.rate_limit_next(retry_after=7)

    async def story() -> None:
        await clock.sleep(1.5)
        finishing = asyncio.ensure_future(a.finish(text="Hello there"))
        await clock.sleep(0.5)
        assert [c.outcome for c in fake.calls] == ["ok", "429"]
        await b.finish(text="Meanwhile")
        await finishing

    await drive(clock, story())
    limited = next(c for c in fake.calls if c.outcome == "429")
    # A's own chat is backed off either way.
    retried = [c.at for c in fake.calls if c.thread == "A" and c.at > limited.at]
    assert retried and min(retried) >= limited.at + 7 - 1e-9
    assert fake.visible("A") == "Hello there" and fake.visible("B") == "Meanwhile"
    (post,) = (c for c in fake.calls if c.thread == "B")
    return limited, post.at


async def test_429_on_a_budget_without_shared_backoff_does_not_pause_other_chats() -> None:
    _, posted = await post_elsewhere_after_a_429(shared_backoff=False)
    assert posted == 2.0  # at once: only A's chat waits out the 429


async def test_429_on_a_budget_with_shared_backoff_pauses_every_chat_it_covers() -> None:
    limited, posted = await post_elsewhere_after_a_429(shared_backoff=True)
    assert posted >= limited.at + 7 - 1e-9


def bot_wide_lanes(clock: ManualClock) -> tuple[Pacer, dict[str, Lane], TokenBucket]:
    """Three chats' lanes under a bot-wide budget that does not back off for one 429."""
    fake = chat_and_bot_budgets(clock, shared_backoff=False)
    pacer = Pacer(clock=clock)
    lanes = {chat: pacer.route(adapter=fake, thread=chat).lane("edit") for chat in "ABC"}
    (bot,) = (bucket for bucket in lanes["C"].buckets if bucket.rate == 30)
    return pacer, lanes, bot


def test_429s_in_two_chats_within_a_second_back_off_the_bot_wide_budget() -> None:
    clock = ManualClock()
    pacer, lanes, bot = bot_wide_lanes(clock)
    pacer.rate_limited(lane=lanes["A"], retry_after=5.0)
    assert bot.blocked_until < clock.monotonic()  # one chat's 429: most likely its own
    clock.advance(0.5)
    pacer.rate_limited(lane=lanes["B"], retry_after=5.0)
    # Two chats refused together: the budget they share ran out; chat C waits too.
    assert bot.blocked_until == clock.monotonic() + 5.0
    assert bot.scale == 0.5


def test_429s_of_one_chat_or_far_apart_leave_the_bot_wide_budget_alone() -> None:
    clock = ManualClock()
    pacer, lanes, bot = bot_wide_lanes(clock)
    pacer.rate_limited(lane=lanes["A"], retry_after=5.0)
    clock.advance(0.5)
    pacer.rate_limited(lane=lanes["A"], retry_after=5.0)
    clock.advance(1.5)
    pacer.rate_limited(lane=lanes["B"], retry_after=5.0)
    assert bot.blocked_until < clock.monotonic()
    assert bot.scale == 1.0


def test_429s_of_two_replies_in_one_chat_leave_the_bot_wide_budget_alone() -> None:
    clock = ManualClock()
    fake = chat_and_bot_budgets(clock, shared_backoff=False)
    pacer = Pacer(clock=clock)
    # Two replies in one chat: two routes, two lanes, one chat bucket.
    first, second = (pacer.route(adapter=fake, thread="A").lane("edit") for _ in range(2))
    assert first is not second
    (bot,) = (bucket for bucket in first.buckets if bucket.rate == 30)
    pacer.rate_limited(lane=first, retry_after=5.0)
    clock.advance(0.5)
    pacer.rate_limited(lane=second, retry_after=5.0)
    assert bot.blocked_until < clock.monotonic()  # the chat's own limit, not the bot's
    assert bot.scale == 1.0


def test_a_typing_429_and_a_message_429_in_one_chat_leave_the_bot_wide_budget_alone() -> None:
    clock = ManualClock()
    # As on Discord: typing is a route of its own, charged only to the bot-wide budget.
    budgets = (
        Budget(scope="chat", rate=1, kinds=("post", "edit", "delete")),
        Budget(scope="bot", rate=30, burst=30, shared_backoff=False),
    )
    fake = FakePlatformAdapter(
        clock=clock,
        limits=Limits(max_message_length=4096, edit_interval=0.0, budgets=budgets),
        keys=group_keys,
    )
    pacer = Pacer(clock=clock)
    route = pacer.route(adapter=fake, thread="A")
    typing, edits = route.lane("typing"), route.lane("edit")
    (bot,) = typing.buckets
    pacer.rate_limited(lane=typing, retry_after=5.0)
    clock.advance(0.5)
    pacer.rate_limited(lane=edits, retry_after=5.0)
    assert bot.blocked_until < clock.monotonic()  # both came through chat A
    # Typing 429s from two chats do corroborate each other.
    other = pacer.route(adapter=fake, thread="B").lane("typing")
    clock.advance(0.2)
    pacer.rate_limited(lane=other, retry_after=5.0)
    assert bot.blocked_until == clock.monotonic() + 5.0
