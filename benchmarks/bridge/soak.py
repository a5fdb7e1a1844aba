"""The soak: new threads at a steady rate for many minutes, the bot's RSS sampled every 10 s."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bridge.bot import _inbound, peak_rss_mb, rss_mb, running_bot
from benchmarks.bridge.platform import TelegramLikePlatform
from knowrithm_bots.core.config import parse_settings
from knowrithm_bots.core.knowrithm import KnowrithmClient
from knowrithm_bots.core.store import SqliteStore

SAMPLE_EVERY = 10.0


async def soak_run(args: argparse.Namespace) -> dict[str, Any]:
    """Start ``args.rate`` threads per second for ``args.soak`` minutes, one question each."""
    platform = TelegramLikePlatform(keep_log=False)
    with tempfile.TemporaryDirectory() as folder:
        settings = parse_settings(
            {"store": {"backend": "sqlite", "path": str(Path(folder) / "bot.sqlite")}}, env={}
        )
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
            for index in range(total):
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
        await store.close()
    return {
        "minutes": args.soak,
        "rate": args.rate,
        "threads": total,
        "complete": done[0],
        "platform_429s": platform.rate_limited,
        "peak_rss_mb": peak_rss_mb(),
        "samples": samples,
    }


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
        samples.append(
            {
                "t": round(time.monotonic() - started, 1),
                "rss_mb": round(rss_mb(), 2),
                "answered": done[0],
            }
        )
        await asyncio.sleep(SAMPLE_EVERY)
