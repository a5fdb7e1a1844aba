"""Runs one policy through one scenario on one simulated platform, in virtual time."""

from __future__ import annotations

import asyncio
import gc
import heapq
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from benchmarks.streaming.agent import Answer, make_answer
from benchmarks.streaming.platforms import Keys, Platform, one_reply_keys, one_reply_native
from benchmarks.streaming.policies import Policy, Sink
from benchmarks.streaming.virtual_time import LoopClock, VirtualTimeLoop
from benchmarks.streaming.wire import WirePlatform
from knowrithm_bots.core.adapter import Budget
from knowrithm_bots.core.testing import NativeBehaviour

RUN_LIMIT = 48 * 3600.0  # virtual seconds; a policy still going after two days has failed


@dataclass(frozen=True)
class Scenario:
    """``replies`` concurrent replies, all asked at t=0: ``single``, ``one chat``, ``many``.

    A strained scenario's platform enforces only ``enforce_share`` of every declared rate
    (the engine is still told the declared budgets), refuses the next call with a 429 at
    each of ``injected_429s`` (virtual seconds) and, with ``punish_repeats``, lengthens
    ``retry_after`` for repeated 429s as Telegram does (``wire.WirePlatform``).
    """

    name: str
    replies: int
    shape: str
    enforce_share: float = 1.0
    injected_429s: tuple[float, ...] = ()
    punish_repeats: bool = False
    # Offer the native streams the shipped adapters use by default (the engine takes them).
    native_streams: bool = True

    @property
    def strained(self) -> bool:
        return self.enforce_share < 1.0 or bool(self.injected_429s)

    def threads(self) -> list[str]:
        if self.shape == "many":
            return [f"c{i}#0" for i in range(self.replies)]
        return [f"c0#{i}" for i in range(self.replies)]

    def native(self, platform: Platform) -> NativeBehaviour | None:
        if not self.native_streams:
            return None
        if self.shape == "single":
            return one_reply_native(platform)
        return platform.native_many_chats if self.shape == "many" else platform.native_one_chat

    def keys(self, platform: Platform) -> Keys:
        if self.shape == "single":
            return one_reply_keys(platform)
        return platform.many_chats if self.shape == "many" else platform.one_chat


@dataclass
class RunLog:
    """Everything a run leaves behind for the metrics."""

    platform: Platform
    scenario: Scenario
    policy: str
    threads: list[str]
    answers: list[Answer]
    adapter: WirePlatform
    keys: Keys
    cpu_seconds: float
    virtual_seconds: float


def answers_for(scenario: Scenario, *, seed: int) -> list[Answer]:
    """The same answers, token times included, for every policy of a scenario."""
    rng = random.Random(f"{seed}:{scenario.name}")
    return [make_answer(rng) for _ in range(scenario.replies)]


async def _deliver(answers: Sequence[Answer], sinks: Sequence[Sink]) -> None:
    """Play every answer's tokens at their times from one task (cheaper than one per reply)."""
    loop = asyncio.get_running_loop()
    due = [(answer.times[0], index, 0) for index, answer in enumerate(answers)]
    heapq.heapify(due)
    while due:
        at, index, token = heapq.heappop(due)
        if at > loop.time():
            await asyncio.sleep(at - loop.time())
        answer = answers[index]
        sinks[index].feed(answer.tokens[token])
        if token + 1 < len(answer.tokens):
            heapq.heappush(due, (answer.times[token + 1], index, token + 1))
        else:
            sinks[index].end(answer.text)


def _enforced(platform: Platform, share: float) -> tuple[Budget, ...]:
    return tuple(replace(b, rate=b.rate * share) for b in platform.limits.budgets)


async def _inject(adapter: WirePlatform, times: Sequence[float]) -> None:
    for at in times:
        await asyncio.sleep(max(0.0, at - asyncio.get_running_loop().time()))
        adapter.rate_limit_next(retry_after=1.0)


async def _run(
    platform: Platform, scenario: Scenario, policy: Policy, answers: list[Answer], seed: int
) -> RunLog:
    clock = LoopClock()
    keys = scenario.keys(platform)
    adapter = WirePlatform(
        punish_repeats=scenario.punish_repeats,
        clock=clock,
        limits=platform.limits,
        enforce=_enforced(platform, scenario.enforce_share),
        latency=platform.latency(random.Random(f"{seed}:net")),
        keys=keys,
        name=platform.name,
        keep_texts=False,
        native=scenario.native(platform),
    )
    threads = scenario.threads()
    injector = asyncio.create_task(_inject(adapter, scenario.injected_429s))
    # Garbage left by earlier runs in this process must not be collected on this run's time.
    gc.collect()
    started = time.process_time()
    sinks = [policy.open(adapter=adapter, thread=thread, clock=clock) for thread in threads]
    await _deliver(answers, sinks)
    await asyncio.gather(*(sink.done() for sink in sinks))
    cpu = time.process_time() - started
    await injector
    return RunLog(
        platform=platform,
        scenario=scenario,
        policy=policy.name,
        threads=threads,
        answers=answers,
        adapter=adapter,
        keys=keys,
        cpu_seconds=cpu,
        virtual_seconds=clock.monotonic(),
    )


def run(
    platform: Platform,
    scenario: Scenario,
    make_policy: Callable[[], Policy],
    answers: list[Answer],
    *,
    seed: int,
) -> RunLog:
    """One run on a fresh virtual-time loop (time starts at 0)."""

    async def bounded() -> RunLog:
        return await asyncio.wait_for(
            _run(platform, scenario, make_policy(), answers, seed), RUN_LIMIT
        )

    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(bounded())
