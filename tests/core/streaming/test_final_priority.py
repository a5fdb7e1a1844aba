"""Final texts are never starved by refreshes, which spend a budget's rate but not its burst;
arrival jitter is covered by a reserve of the burst, not by a cut of the rate."""

from __future__ import annotations

import asyncio
import random

from knowrithm_bots.core.adapter import Budget, Limits
from knowrithm_bots.core.streaming import Pacer, ReplyStream
from knowrithm_bots.core.streaming.reply_stream import STALENESS_TARGET
from knowrithm_bots.core.testing import FakePlatformAdapter, ManualClock
from tests.core.streaming.drive import agent, drive

# Slack-like: posts charged to the channel, edits to a workspace budget (one per 5 s, burst 3).
SLACK_LIKE = Limits(
    max_message_length=40_000,
    edit_interval=0.0,
    budgets=(
        Budget(scope="chat", rate=1, per=1, burst=3, kinds=("post",)),
        Budget(scope="workspace", rate=1, per=5, burst=3, kinds=("edit",)),
    ),
)


def channel_keys(thread: str) -> dict[str, str]:
    return {"chat": thread.split("#", 1)[0], "workspace": "T1"}


async def at(clock: ManualClock, moment: float) -> None:
    await clock.sleep(moment - clock.monotonic())


async def test_a_final_text_goes_before_staler_refreshes_and_never_waits_behind_them() -> None:
    clock = ManualClock()
    fake = FakePlatformAdapter(clock=clock, limits=SLACK_LIKE, keys=channel_keys)
    pacer = Pacer(clock=clock)
    a, b, c = (ReplyStream(adapter=fake, thread=f"ch#{n}", clock=clock, pacer=pacer) for n in "abc")

    async def script() -> None:
        for reply, name in ((a, "a"), (b, "b"), (c, "c")):
            reply.feed(f"{name} opens. ")  # three first posts at t=0
        await at(clock, 0.5)
        a.feed("a goes on. ")  # a's refresh is due first (at 0.5 + 1.2 × 5 s)
        await at(clock, 0.6)
        b.feed("b goes on. ")
        await at(clock, 1.0)
        c.feed("c goes on. ")  # c's refresh queues behind b's, the staler one
        await at(clock, 8.0)
        # c ends while its refresh still waits in line: its final text must not keep the
        # refresh's place behind b, and may spend the burst b's refresh may not.
        await c.finish(text=c.text + "c ends.")
        await at(clock, 20.0)
        await asyncio.gather(a.finish(text=a.text), b.finish(text=b.text))

    await drive(clock, script())
    assert fake.count(outcome="429") == 0
    edits = [(call.thread, round(call.at, 6)) for call in fake.calls if call.kind == "edit"]
    # a and b refresh when due (6.5 and 6.6) and leave one call of the burst; c's may not
    # take that one (it waits for the bucket to refill to two), so c's first edit is its
    # final text, the moment it is known.
    due_a, due_b = (round(fed + STALENESS_TARGET * 5.0, 6) for fed in (0.5, 0.6))
    assert edits[:3] == [("ch#a", due_a), ("ch#b", due_b), ("ch#c", 8.0)]
    assert [moment for thread, moment in edits if thread == "ch#c"] == [8.0]
    assert fake.visible("ch#c") == "c opens. c goes on. c ends."
    for reply, thread in ((a, "ch#a"), (b, "ch#b")):
        assert fake.visible(thread) == reply.final


async def test_jittery_network_no_429_at_the_full_declared_rate() -> None:
    clock = ManualClock()
    rng = random.Random(7)
    limits = Limits(
        max_message_length=4096,
        edit_interval=0.0,
        budgets=(Budget(scope="chat", rate=1, per=1, burst=3),),
    )
    fake = FakePlatformAdapter(
        clock=clock,
        limits=limits,
        keys=lambda thread: {"chat": thread.split("#", 1)[0]},
        latency=lambda: 0.05 * rng.uniform(0.8, 1.2),
    )
    pacer = Pacer(clock=clock)
    replies = [
        ReplyStream(adapter=fake, thread=f"g#{i}", clock=clock, pacer=pacer) for i in range(30)
    ]
    jobs = [agent(clock, reply, ["hello there"], first=0.1) for reply in replies]
    await drive(clock, asyncio.gather(*jobs))
    assert fake.count(outcome="429") == 0
    posts = sorted(c.at for c in fake.calls if c.kind == "post")
    assert len(posts) == 30
    # After the burst of 3, one post per declared second, delayed once by the jitter reserve
    # (a 5 % rate cut would have needed 27 / 0.95 = 28.4 s).
    assert posts[-1] - posts[3] <= 26.0 + 0.2
