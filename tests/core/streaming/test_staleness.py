"""Staleness: refreshes wait for the oldest text still hidden, measured per delta."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from knowrithm_bots.core.adapter import Budget, Limits
from knowrithm_bots.core.streaming import Layout, Pacer, ReplyStream
from knowrithm_bots.core.streaming.budgets import MIN_JITTER
from knowrithm_bots.core.streaming.progress import Progress
from knowrithm_bots.core.streaming.reply_stream import STALENESS_TARGET
from knowrithm_bots.core.testing import FakePlatformAdapter, ManualClock
from tests.core.streaming.drive import drive, words

ONE_WAY = 0.05
CHAT = Budget(scope="chat", rate=1, per=1, burst=3)


def fake_chat(clock: ManualClock, *, limit: int = 4096) -> FakePlatformAdapter:
    limits = Limits(max_message_length=limit, edit_interval=0.0, budgets=(CHAT,))
    return FakePlatformAdapter(clock=clock, limits=limits, latency=lambda: ONE_WAY)


async def feed_timed(
    clock: ManualClock, reply: ReplyStream, pieces: list[str], *, every: float
) -> list[tuple[float, int]]:
    """Feed like an agent; return (arrival time, length of the text after it) per delta."""
    arrivals: list[tuple[float, int]] = []
    size = 0
    await clock.sleep(0.5)
    for index, piece in enumerate(pieces):
        if index:
            await clock.sleep(every)
        reply.feed(piece)
        size += len(piece)
        arrivals.append((clock.monotonic(), size))
    await reply.finish(text="".join(pieces))
    return arrivals


def worst_staleness(fake: FakePlatformAdapter, arrivals: list[tuple[float, int]]) -> float:
    """The longest any delta waited until the platform showed it."""
    history = sorted(
        (at, length) for message in fake.messages.values() for at, length in message.history
    )
    worst = 0.0
    for arrived, size in arrivals:
        seen = next(at for at, length in history if length >= size)
        worst = max(worst, seen - arrived)
    return worst


async def test_a_lone_reply_stretches_its_refreshes_to_the_staleness_target() -> None:
    clock = ManualClock()
    fake = fake_chat(clock)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock, pacer=Pacer(clock=clock))
    pieces = words(400)  # 0.5 s + 399 * 0.02 s ≈ 8.5 s of generation
    arrivals = await drive(clock, feed_timed(clock, reply, pieces, every=0.02))
    assert fake.visible("c1") == "".join(pieces)
    assert fake.count(outcome="429") == 0
    edits = [c.at for c in fake.calls if c.kind == "edit"][:-1]  # the final edit may go early
    gaps = [later - earlier for earlier, later in itertools.pairwise(edits)]
    # The budget alone would allow one edit per 1/0.95 s; waiting for the oldest hidden
    # delta to near the target lets more text ride along in each edit...
    assert min(gaps) >= STALENESS_TARGET * 1.0 - ONE_WAY - 0.03
    # ...and still shows every delta within the target (the fake's clock and trip are exact).
    assert worst_staleness(fake, arrivals) <= STALENESS_TARGET * 1.0 + 1e-9


async def test_refresh_pace_follows_the_measured_round_trip() -> None:
    clock = ManualClock()
    fake = fake_chat(clock)
    fake._latency = lambda: 2 * ONE_WAY  # a slower link: edits go earlier to show in time
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock, pacer=Pacer(clock=clock))
    arrivals = await drive(clock, feed_timed(clock, reply, words(300), every=0.02))
    edits = [c.at for c in fake.calls if c.kind == "edit"][:-1]
    gaps = [later - earlier for earlier, later in itertools.pairwise(edits)]
    assert len(gaps) >= 4
    for gap in gaps:
        assert abs(gap - (STALENESS_TARGET - 2 * ONE_WAY)) <= 0.021
    assert worst_staleness(fake, arrivals) <= STALENESS_TARGET + 1e-9


async def test_a_refresh_goes_with_the_last_delta_before_it_is_due() -> None:
    clock = ManualClock()
    fake = fake_chat(clock)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock, pacer=Pacer(clock=clock))

    async def script() -> None:
        reply.feed("w0")  # posted at once
        for index in range(1, 100):
            await clock.sleep(0.1)
            reply.feed(f" w{index}")
        await reply.finish(text=reply.text)

    await drive(clock, script())
    first = next(c for c in fake.calls if c.kind == "edit")
    # The oldest hidden delta came at 0.1 s, so the refresh is due at 0.1 + 1.2 − 0.05 =
    # 1.25 s. A delta comes every 0.1 s, so from 1.15 s on it goes with the next one, at 1.2 s:
    # that edit ends with fresh text, and the next hidden delta is 0.1 s away, not 0.05.
    assert first.at == pytest.approx(1.2 + ONE_WAY)
    assert first.text is not None and first.text.endswith(" w12")


async def test_a_paused_answer_is_refreshed_when_due() -> None:
    clock = ManualClock()
    fake = fake_chat(clock)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock, pacer=Pacer(clock=clock))

    async def script() -> None:
        reply.feed("first")
        await clock.sleep(0.02)
        reply.feed(" second")
        await clock.sleep(0.02)
        reply.feed(" third")  # then the agent pauses for a long while
        await clock.sleep(5.0)
        await reply.finish(text=reply.text + " end")

    await drive(clock, script())
    edits = [c for c in fake.calls if c.kind == "edit"]
    # The oldest hidden delta (" second", at 0.02 s) shows exactly at the target: the refresh
    # does not wait for a delta that is not coming.
    assert edits[0].at == pytest.approx(0.02 + STALENESS_TARGET)
    assert edits[0].text == "first second third"
    assert fake.visible("c1") == "first second third end"


def test_progress_knows_the_recent_gap_between_deltas() -> None:
    clock = ManualClock()
    progress = Progress(clock=clock)
    progress.changed(length=1)
    assert progress.arrival_gap() is None  # one delta: no gap yet
    for length in range(2, 20):
        clock.advance(0.1 if length < 10 else 0.3)
        progress.changed(length=length)
    # The last eight deltas: the seven gaps between them were all 0.3 s.
    assert progress.arrival_gap() == pytest.approx(0.3)


def test_progress_ranks_by_the_oldest_text_still_hidden() -> None:
    clock = ManualClock()
    progress = Progress(clock=clock)
    assert progress.since is None
    progress.changed(length=10)
    clock.advance(1.0)
    progress.changed(length=25)
    progress.changed(length=30)  # same instant: one entry
    clock.advance(1.0)
    assert progress.since == 0.0
    progress.shown(upto=10)  # a call showed the first delta; the rest came in flight
    assert progress.since == 1.0
    assert progress.since_or_now() == 1.0
    progress.shown(upto=30)
    assert progress.since is None
    assert progress.since_or_now() == 2.0
    progress.changed(length=40)
    progress.revise(length=35)  # the final text differs: all of it waits from the oldest
    assert progress.since == 2.0
    progress.shown(upto=35)
    assert progress.since is None


def test_layout_tells_how_much_of_the_answer_the_messages_show() -> None:
    layout = Layout(limit=40)
    text = "First sentence is here. Second one follows it. Third."
    head, tail = layout.segments(text)
    assert head == "First sentence is here. "
    assert layout.cuts == [len(head)]
    assert layout.shown_upto([], text=text) == 0
    assert layout.shown_upto(["First sen"], text=text) == len("First sen")
    assert layout.shown_upto(["First sentence is here. Second"], text=text) == len(head)
    assert layout.shown_upto([head], text=text) == len(head)
    assert layout.shown_upto([head, "Second one"], text=text) == len(head) + len("Second one")
    assert layout.shown_upto([head, tail], text=text) == len(text)


async def test_text_a_roll_over_left_hidden_is_ranked_by_its_own_arrival() -> None:
    clock = ManualClock()
    budget = Budget(scope="chat", rate=1, per=10, burst=2)
    limits = Limits(max_message_length=40, edit_interval=0.0, budgets=(budget,))
    fake = FakePlatformAdapter(clock=clock, limits=limits)
    pacer = Pacer(clock=clock)
    first = ReplyStream(adapter=fake, thread="c1#a", clock=clock, pacer=pacer)
    second = ReplyStream(adapter=fake, thread="c1#b", clock=clock, pacer=pacer)

    async def script() -> None:
        first.feed("A opening words. ")
        second.feed("B opening. ")
        await clock.sleep(1.0)
        first.feed("Second sentence of A. ")  # hidden since t=1
        await clock.sleep(1.0)
        second.feed("B more.")  # hidden since t=2
        await clock.sleep(1.0)
        first.feed("Third part of A is here.")  # past the limit: a second message
        await asyncio.gather(first.finish(text=first.text), second.finish(text=second.text))

    await drive(clock, script())
    calls = [(c.thread, c.kind, round(c.at, 6)) for c in fake.calls]
    # At t=10 the first reply's older text goes (its first message, up to the roll-over);
    # what is left arrived at t=3, later than the second reply's t=2, which goes next. The
    # burst's second call waits for the reserve kept for arrival jitter, and so do the rest.
    j = MIN_JITTER
    assert calls == [
        ("c1#a", "post", 0.0),
        ("c1#b", "post", j),
        ("c1#a", "edit", 10.0 + j),
        ("c1#b", "edit", 20.0 + j),
        ("c1#a", "post", 30.0 + j),
    ]
    assert fake.visible("c1#a") == first.text
    assert fake.visible("c1#b") == second.text
