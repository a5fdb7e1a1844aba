"""The soak: new threads at a steady rate for many minutes, the bot's RSS sampled every 10 s."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import ctypes.util
import functools
import gc
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from benchmarks.bridge.bot import _inbound, peak_rss_mb, rss_mb, running_bot
from benchmarks.bridge.platform import TelegramLikePlatform
from knowrithm_bots.core.config import parse_settings
from knowrithm_bots.core.knowrithm import KnowrithmClient
from knowrithm_bots.core.sessions import THREAD_PREFIX
from knowrithm_bots.core.store import SqliteStore

SAMPLE_EVERY = 10.0


async def soak_run(args: argparse.Namespace) -> dict[str, Any]:
    """Start ``args.rate`` threads per second for ``args.soak`` minutes, one question each."""
    platform = TelegramLikePlatform(keep_log=False)
    with tempfile.TemporaryDirectory() as folder:
        config: dict[str, Any] = {
            "store": {"backend": "sqlite", "path": str(Path(folder) / "bot.sqlite")}
        }
        if args.idle_minutes is not None:
            config["conversations"] = {"idle_minutes": args.idle_minutes}
        settings = parse_settings(config, env={})
        store = SqliteStore(path=settings.store.path)
        async with (
            KnowrithmClient(
                base_url=args.base_url,
                api_key="local-key",
                api_secret="local-secret",
                concurrency=settings.conversations.max_concurrent_threads,
            ) as client,
            running_bot(settings, platform, client, store) as runner,
        ):
            samples: list[dict[str, float]] = []
            done = [0]
            sampler = asyncio.create_task(_sample(samples, platform, args.words, done))
            started = time.monotonic()
            total = int(args.soak * 60 * args.rate)
            tracing = _Tracing(after=total // 3) if args.trace_memory else None
            for index in range(total):
                if tracing is not None:
                    tracing.at(index)
                due = started + index / args.rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                await runner.bridge.on_message(_inbound(index, groups=0))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(runner.bridge.drain(), 120)
            await asyncio.sleep(SAMPLE_EVERY)  # one sample after the last answer
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            _collect(platform, args.words, done)
            growth = tracing.growth() if tracing is not None else []
            # Conversations the idle sweep had not ended yet: the store's live state.
            live = [key async for key, _ in store.scan(THREAD_PREFIX)]
        await store.close()
    return {
        "minutes": args.soak,
        "idle_minutes": settings.conversations.idle_minutes,
        "rate": args.rate,
        "threads": total,
        "complete": done[0],
        "platform_429s": platform.rate_limited,
        "peak_rss_mb": peak_rss_mb(),
        "samples": samples,
        "python_growth": growth,
        "conversations_live_at_end": len(live),
    }


class _Tracing:
    """tracemalloc snapshots once the run is warm and at its end: how much Python-level
    memory grew in between (the first entry), and where most, by the allocating call stack."""

    def __init__(self, *, after: int) -> None:
        self._after = after
        self._first: tracemalloc.Snapshot | None = None
        tracemalloc.start(6)

    def at(self, index: int) -> None:
        if index == self._after and self._first is None:
            gc.collect()
            self._first = tracemalloc.take_snapshot()

    def growth(self, top: int = 12) -> list[dict[str, Any]]:
        gc.collect()
        last = tracemalloc.take_snapshot()
        tracemalloc.stop()
        if self._first is None:
            return []
        stats = last.compare_to(self._first, "traceback")
        grown = sorted((stat for stat in stats if stat.size_diff > 0), key=lambda x: -x.size_diff)
        total = sum(stat.size_diff for stat in stats)
        return [
            {"kb": round(total / 1024, 1), "blocks": sum(stat.count_diff for stat in stats)},
            *(
                {
                    "kb": round(stat.size_diff / 1024, 1),
                    "blocks": stat.count_diff,
                    "stack": [f"{frame.filename}:{frame.lineno}" for frame in stat.traceback],
                }
                for stat in grown[:top]
            ),
        ]


def _collect(platform: TelegramLikePlatform, words: int, done: list[int]) -> None:
    """Count and forget the threads whose answers show their last word."""
    finished = [thread for thread, word in platform.shown.items() if word >= words]
    for thread in finished:
        platform.forget(thread)
    done[0] += len(finished)


async def _sample(
    samples: list[dict[str, float]], platform: TelegramLikePlatform, words: int, done: list[int]
) -> None:
    started = time.monotonic()
    while True:
        _collect(platform, words, done)
        gc.collect()  # what is left is held, not garbage waiting for a collection
        sample = {
            "t": round(time.monotonic() - started, 1),
            "rss_mb": round(rss_mb(), 2),
            "answered": done[0],
            "python_blocks": sys.getallocatedblocks(),
        }
        sample.update(heap_mb())
        samples.append(sample)
        await asyncio.sleep(SAMPLE_EVERY)


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def heap_mb() -> dict[str, float]:
    """glibc's malloc heap, all arenas: the bytes in use and the bytes free.

    What is in use is what the process holds (Python's large objects, sqlite, OpenSSL,
    aiohttp's parser). What is free stays on malloc's lists for reuse; its whole pages count
    in RSS until the bot's heap trim (``bots.heap_trim``, once a minute) hands them back to
    the OS, so this figure grows where RSS need not. Empty where the C library is not glibc."""
    mallinfo2 = _mallinfo2()
    if mallinfo2 is None:
        return {}
    info = mallinfo2()
    return {
        "heap_in_use_mb": round((info.uordblks + info.hblkhd) / 2**20, 2),
        "heap_free_mb": round(info.fordblks / 2**20, 2),
    }


@functools.cache
def _mallinfo2() -> Callable[[], _MallInfo2] | None:
    """glibc's ``mallinfo2``, looked up once; None where there is none."""
    name = ctypes.util.find_library("c")
    function = None if name is None else getattr(ctypes.CDLL(name), "mallinfo2", None)
    if function is None:
        return None
    function.restype = _MallInfo2
    return cast("Callable[[], _MallInfo2]", function)
