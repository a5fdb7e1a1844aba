"""The fair benchmark's parts: the client-library models, the stricter platform, the curve."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from dataclasses import fields, replace
from typing import Any, TypeVar

import pytest

from benchmarks.streaming.libraries import DiscordHttp, PtbRateLimiter, SlackRetry
from benchmarks.streaming.metrics import Metrics, measure
from benchmarks.streaming.platforms import SLACK, TELEGRAM
from benchmarks.streaming.policies import CHARACTERS, _characters, _Edits, make_policy
from benchmarks.streaming.report import curve_check
from benchmarks.streaming.runner import Scenario, answers_for, run
from benchmarks.streaming.virtual_time import LoopClock, VirtualTimeLoop
from benchmarks.streaming.wire import WirePlatform, WireRateLimited
from knowrithm_bots.core.adapter import Budget, Limits
from knowrithm_bots.core.errors import PlatformRateLimited

T = TypeVar("T")


def _virtual(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(main())


def _platform(budgets: tuple[Budget, ...], *, punish: bool = False) -> WirePlatform:
    return WirePlatform(
        punish_repeats=punish,
        clock=LoopClock(),
        limits=Limits(max_message_length=4000, edit_interval=0.0, budgets=budgets),
        keys=lambda thread: {"chat": thread.split("#")[0], "group": "g1", "bot": "bot"},
        name="sim",
    )


def test_ptb_limiter_lets_a_group_burst_through_then_paces_it_at_20_a_minute() -> None:
    async def main() -> list[float]:
        platform = _platform(())
        limiter = PtbRateLimiter(adapter=platform)
        loop = asyncio.get_running_loop()
        sent: list[float] = []

        async def one(n: int) -> None:
            async def call() -> None:
                sent.append(loop.time())

            await limiter.send(kind="edit", thread=f"c{n}", call=call)

        await asyncio.gather(*(one(n) for n in range(23)))
        return sent

    sent = _virtual(main)
    assert sent[:20] == [0.0] * 20  # aiolimiter starts empty: a whole minute's rate at once
    assert sent[20:] == pytest.approx([3.0, 6.0, 9.0])  # then one every 60 / 20 s


def test_ptb_limiter_hands_a_429_to_the_bot_without_retrying() -> None:
    async def refused() -> int:
        platform = _platform((Budget(scope="chat", rate=1.0, burst=1),))
        await platform.post(thread="c1", text="x")
        limiter = PtbRateLimiter(adapter=platform)
        with pytest.raises(PlatformRateLimited):
            await limiter.send(
                kind="post", thread="c1", call=lambda: platform.post(thread="c1", text="y")
            )
        return platform.count(outcome="429")

    assert _virtual(refused) == 1  # max_retries 0: one 429, straight to the bot


def test_discord_model_reads_the_headers_and_meets_no_429_on_an_honest_channel() -> None:
    async def main() -> tuple[int, int, float]:
        platform = _platform((Budget(scope="chat", rate=5.0, per=5.0, burst=5),))
        http = DiscordHttp(headers=platform.header_of, adapter=platform)

        async def one(n: int) -> None:
            await http.send(
                kind="post",
                thread=f"c1#{n}",
                call=lambda: platform.post(thread=f"c1#{n}", text="hello"),
            )

        await asyncio.gather(*(one(n) for n in range(15)))
        return platform.count(), platform.count(outcome="429"), LoopClock().monotonic()

    accepted, refused, took = _virtual(main)
    assert (accepted, refused) == (15, 0)
    # 5 at once, then the bucket's refill: about 10 s more for the other 10 at 1 per s.
    assert 9.0 < took < 16.0


def test_discord_model_without_headers_would_flood_the_channel() -> None:
    """The same calls with headers withheld: the model has no bucket to respect, so it leans
    on 429s (this is what makes the previous test's zero mean something)."""

    async def main() -> int:
        platform = _platform((Budget(scope="chat", rate=5.0, per=5.0, burst=5),))
        http = DiscordHttp(headers=lambda thread: {}, adapter=platform)

        async def one(n: int) -> None:
            await http.send(
                kind="post",
                thread=f"c1#{n}",
                call=lambda: platform.post(thread=f"c1#{n}", text="hello"),
            )

        await asyncio.gather(*(one(n) for n in range(15)))
        return platform.count(outcome="429")

    assert _virtual(main) > 0


def test_slack_retry_handler_retries_a_429_once_then_gives_up() -> None:
    async def main(refusals: int) -> tuple[bool, int, float]:
        platform = _platform(())
        platform.rate_limit_next(retry_after=3.0, count=refusals)
        retry = SlackRetry(rng=random.Random(1))
        try:
            await retry.send(
                kind="post", thread="c1", call=lambda: platform.post(thread="c1", text="y")
            )
        except PlatformRateLimited:
            return False, platform.count(outcome="429"), LoopClock().monotonic()
        return True, platform.count(outcome="429"), LoopClock().monotonic()

    went, refused, took = _virtual(lambda: main(1))
    assert (went, refused) == (True, 1)
    assert 3.0 <= took < 4.0  # slept int(Retry-After) + a random fraction, then went
    went, refused, _ = _virtual(lambda: main(2))
    assert (went, refused) == (False, 2)  # max_retry_count 1: the second 429 reaches the bot


def test_stricter_platform_doubles_retry_after_and_blocks_the_scope() -> None:
    async def main() -> list[float]:
        platform = _platform((Budget(scope="chat", rate=1.0, burst=1),), punish=True)
        await platform.post(thread="c1", text="x")
        waits = []
        for _ in range(3):
            try:
                await platform.post(thread="c1", text="y")
            except WireRateLimited as exc:
                waits.append(exc.retry_after)
                await asyncio.sleep(exc.retry_after + 0.01)
                # The bucket has room again, but these come too fast after the last 429.
                await platform.post(thread="c1", text="z")
        return waits

    waits = _virtual(main)
    assert waits == [1.0, 2.0, 4.0]


def test_stricter_platform_refuses_calls_during_a_block_without_extending_it() -> None:
    async def main() -> tuple[float, float]:
        platform = _platform((Budget(scope="chat", rate=1.0, burst=1),), punish=True)
        await platform.post(thread="c1", text="x")
        with pytest.raises(WireRateLimited) as first:
            await platform.post(thread="c1", text="y")
        await asyncio.sleep(0.5)  # the bucket would have room, but the block holds
        with pytest.raises(WireRateLimited) as during:
            await platform.post(thread="c1", text="y")
        return first.value.retry_after, during.value.retry_after

    first, during = _virtual(main)
    assert first == 1.0
    assert during == 1.0  # told the time left (rounded up), not a doubled wait


def test_n3d1117_cut_offs_are_wider_in_groups() -> None:
    private, group = _characters(group=False), _characters(group=True)
    shown = _Edits(last_at=0.0, last_length=100)
    # 60 new characters on a 160-character answer: enough in a private chat (25), not in a
    # group (90); past 1,000 characters it takes 90 and 180.
    assert private(1.0, 160, shown) and not group(1.0, 160, shown)
    assert group(1.0, 190, shown)
    long = _Edits(last_at=0.0, last_length=1000)
    assert private(1.0, 1091, long) and not group(1.0, 1091, long)
    assert group(1.0, 1181, long)
    # Each refusal adds 5 characters, as that bot does.
    assert not private(1.0, 1091, _Edits(last_at=0.0, last_length=1000, backoff=5))


def test_n3d1117_in_a_group_edits_less_on_the_same_answer() -> None:
    scenario = Scenario("20 in one chat", 20, "one", native_streams=False)
    answers = answers_for(scenario, seed=3)

    def edits(group: bool) -> int:
        log = run(
            SLACK,
            replace(scenario, replies=1),
            lambda: make_policy(CHARACTERS, platform="slack", group=group),
            answers[:1],
            seed=3,
        )
        return sum(1 for call in log.adapter.calls if call.kind == "edit")

    assert edits(group=True) < edits(group=False)


def test_telegram_drafts_count_as_visible_text_for_the_engine() -> None:
    scenario = Scenario("1 reply", 1, "single")
    answers = answers_for(scenario, seed=5)
    log = run(
        TELEGRAM,
        scenario,
        lambda: make_policy("engine", platform="telegram", group=False),
        answers,
        seed=5,
    )
    kinds = {call.kind for call in log.adapter.calls if call.outcome == "ok"}
    assert "append" in kinds  # it streamed into a draft
    metrics = measure([log])
    assert metrics.missing_final == 0
    # Text showed while generating (through the draft), not only at the final post.
    assert metrics.staleness_mean < (answers[0].end - answers[0].first_token) / 2


def test_slack_engine_streams_and_baselines_post_and_edit() -> None:
    scenario = Scenario("1 reply", 1, "single")
    answers = answers_for(scenario, seed=5)
    engine = run(
        SLACK,
        scenario,
        lambda: make_policy("engine", platform="slack", group=True),
        answers,
        seed=5,
    )
    baseline = run(
        SLACK,
        scenario,
        lambda: make_policy("every 1 s", platform="slack", group=True),
        answers,
        seed=5,
    )
    assert {c.kind for c in engine.adapter.calls} == {"append"}
    assert {c.kind for c in baseline.adapter.calls} == {"post", "edit"}


def _row(policy: str, calls: float, stale: float) -> Metrics:
    """A results row where only calls/reply and p99 staleness matter."""
    zeros: dict[str, object] = {f.name: 0.0 for f in fields(Metrics)}
    zeros.update(
        platform="p",
        scenario="s",
        policy=policy,
        replies=1,
        chunks=1,
        rate_limited=0,
        missing_final=0,
        calls_per_reply=calls,
        staleness_p99=stale,
    )
    return Metrics(**zeros)  # type: ignore[arg-type]


def test_curve_check_places_the_engine_against_the_sweep() -> None:
    sweep = [_row("every 1 s", 8.0, 1.0), _row("every 2 s", 4.0, 2.0)]
    on, _ = curve_check(_row("engine", 6.0, 1.5), sweep)  # exactly on the line between
    beyond, _ = curve_check(_row("engine", 6.0, 1.2), sweep)
    behind, why = curve_check(_row("engine", 6.0, 1.7), sweep)
    beaten, who = curve_check(_row("engine", 8.5, 1.1), sweep)
    assert (on, beyond, behind, beaten) == (True, True, False, False)
    assert "the curve there 1.50 s" in why
    assert "beaten on both by every 1 s" in who
