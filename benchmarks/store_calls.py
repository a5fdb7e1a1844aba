"""``python -m benchmarks.store_calls [--calls N] [--smoke] [--out FILE]``: what a store call
costs the bot's process.

Every answer makes about ten calls on the store (the event claimed, the session read and
touched, the record of how far the answer got written three times, the message link, the
done mark, the record dropped). The sqlite store runs them on one worker thread, so a call
costs the hand-off to that thread and back as well as sqlite's own work. This measures the
process's CPU (user + system, every thread) per call, with the calls issued all at once (as
a burst of questions does) and one after another (as a quiet bot does), for:

* the worker alone, running calls that do nothing: the hand-off's own price;
* the sqlite store, a record like an answer's written (``add_if_absent`` then ``set``) and
  a mark read (``get``), on a file in a temporary folder;
* the sqlite store's ``set``, one call after another, while a task on the event loop
  computes for 1 ms between yields (a loop busy with many answers, or a plugin computing),
  at the interpreter's thread switch interval (5 ms) and at the bot's (0.5 ms, see
  ``bots/process_tuning.py``): the store's thread waits for the GIL after each statement.

It writes a Markdown table to ``benchmarks/results/store_calls.md`` (or ``--out``); ``--smoke``
runs 300 calls and writes nothing unless ``--out`` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from knowrithm_bots.bots.process_tuning import INTERPRETER_SWITCH_INTERVAL, SWITCH_INTERVAL
from knowrithm_bots.core.errors import StoreError
from knowrithm_bots.core.store import SqliteStore
from knowrithm_bots.core.store.worker import Worker

RESULTS = Path(__file__).parent / "results" / "store_calls.md"
RECORD = {
    "event": {
        "thread": "telegram:100200300",
        "event_id": "update:123456789",
        "text": "How much does the yearly plan cost for a team of twelve?",
        "author": {"id": "100200300", "display_name": "Ada Lovelace", "is_bot": False},
        "origin": {"adapter": "telegram", "channel_id": "100200300", "is_direct": True},
    },
    "stage": "sending",
    "conversation_id": "5b0f8c1e-2a7d-4d55-9c1a-0d3f5e6a7b8c",
}


async def _measure(
    calls: int, one: Callable[[int], Awaitable[object]], *, together: bool
) -> tuple[float, float]:
    """CPU µs and wall µs per call for ``calls`` calls of ``one(i)``."""
    cpu, wall = time.process_time(), time.monotonic()
    if together:
        await asyncio.gather(*(one(i) for i in range(calls)))
    else:
        for i in range(calls):
            await one(i)
    return 1e6 * (time.process_time() - cpu) / calls, 1e6 * (time.monotonic() - wall) / calls


async def _rows(calls: int) -> list[tuple[str, str, float, float]]:
    rows: list[tuple[str, str, float, float]] = []
    worker = Worker(name="bench", timeout=30.0)
    await worker.run(lambda _deadline: None)  # the thread is started outside the count

    async def nothing(_i: int) -> object:
        return await worker.run(lambda _deadline: None)

    for together in (True, False):
        cpu, wall = await _measure(calls, nothing, together=together)
        rows.append(("worker, a call that does nothing", _how(together), cpu, wall))
    await worker.close(last=lambda _deadline: None)

    with tempfile.TemporaryDirectory(prefix="store-calls-") as folder:
        store = SqliteStore(path=str(Path(folder) / "bench.sqlite"))
        await store.set("warm", value=1)
        for together in (True, False):
            tag = "t" if together else "o"

            async def answer_calls(i: int, tag: str = tag) -> object:
                # Three calls, as an answer makes them: counted as three below.
                key = f"reply:telegram:{tag}{i}"
                await store.add_if_absent(key, value=RECORD, ttl=86400.0)
                await store.set(key, value=RECORD, ttl=86400.0)
                return await store.get(f"event:telegram:{tag}{i}")

            cpu, wall = await _measure(calls // 3, answer_calls, together=together)
            what = "sqlite store: add_if_absent, set, get"
            rows.append((what, _how(together), cpu / 3, wall / 3))
        await store.close()
    return rows


async def _computing(stop: asyncio.Event) -> None:
    """A task that computes for 1 ms between yields, as a loop busy with many answers does."""
    while not stop.is_set():
        until = time.perf_counter() + 0.001
        while time.perf_counter() < until:
            pass
        await asyncio.sleep(0)


@dataclass(frozen=True)
class BusyRow:
    """The store's calls at one switch interval while the loop computes."""

    interval: float
    walls: list[float]  # seconds, of the calls that succeeded
    failed: int  # calls that ended in the store's timeout


async def _busy_rows(calls: int) -> list[BusyRow]:
    """The sqlite store's ``set``, one call after another with the store's own timeout (as
    the bot has it), while the loop computes, at the interpreter's switch interval and at
    the one the bot sets; the process's own interval is put back afterwards."""
    rows: list[BusyRow] = []
    before = sys.getswitchinterval()
    try:
        for interval in (INTERPRETER_SWITCH_INTERVAL, SWITCH_INTERVAL):
            sys.setswitchinterval(interval)
            # A store whose calls all timed out may not close in time either: its thread can
            # still be writing while the folder is removed.
            with tempfile.TemporaryDirectory(
                prefix="store-calls-", ignore_cleanup_errors=True
            ) as folder:
                store = SqliteStore(path=str(Path(folder) / "bench.sqlite"))
                await store.set("warm", value=1)
                stop = asyncio.Event()
                busy = asyncio.create_task(_computing(stop))
                try:
                    rows.append(await _busy_calls(store, calls, interval=interval))
                finally:
                    stop.set()
                    await busy
                    await store.close()
    finally:
        sys.setswitchinterval(before)
    return rows


async def _busy_calls(store: SqliteStore, calls: int, *, interval: float) -> BusyRow:
    walls: list[float] = []
    failed = 0
    for i in range(calls):
        started = time.monotonic()
        try:
            await store.set(f"reply:telegram:b{i}", value=RECORD, ttl=86400.0)
        except StoreError:
            failed += 1
        else:
            walls.append(time.monotonic() - started)
    return BusyRow(interval=interval, walls=walls, failed=failed)


def _busy_table(rows: list[BusyRow]) -> list[str]:
    lines = [
        "",
        "The sqlite store's `set`, one call after another, while a task on the event loop "
        "computes for 1 ms between yields; the store's timeout is its default, 5 s:",
        "",
        "| thread switch interval | calls | answered | wall ms per answered call: median / "
        "max | failed (the store's timeout) |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        walls = sorted(row.walls)
        median = f"{1e3 * walls[len(walls) // 2]:,.1f}" if walls else "–"
        most = f"{1e3 * walls[-1]:,.1f}" if walls else "–"
        lines.append(
            f"| {row.interval * 1e3:g} ms | {len(walls) + row.failed} | {len(walls)} | "
            f"{median} / {most} | {row.failed} |"
        )
    return lines


def _how(together: bool) -> str:
    return "all at once" if together else "one after another"


def _table(rows: list[tuple[str, str, float, float]], calls: int) -> str:
    lines = [
        "# What a store call costs",
        "",
        f"`python -m benchmarks.store_calls --calls {calls}` on {os.cpu_count()} cores, "
        f"{platform.machine()}, Python {platform.python_version()}: the process's CPU (every "
        "thread) and the wall time per call.",
        "",
        "| calls | issued | CPU µs per call | wall µs per call |",
        "|---|---|---:|---:|",
    ]
    lines += [f"| {what} | {how} | {cpu:,.0f} | {wall:,.0f} |" for what, how, cpu, wall in rows]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=12_000)
    parser.add_argument("--smoke", action="store_true", help="300 calls, no file")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    calls = 300 if args.smoke else args.calls
    text = _table(asyncio.run(_rows(calls)), calls)
    text += "\n".join(_busy_table(asyncio.run(_busy_rows(max(1, calls // 1000))))) + "\n"
    print(text, end="")
    out = args.out if args.smoke else (args.out or RESULTS)
    if out is not None:
        out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
