"""Split a cProfile of the bot process (``--profile FILE``) by whose code ran.

``python -m benchmarks.bridge.attribute FILE [FILE ...]`` prints, per profile, the busy time
(every function's own time, the wait in ``epoll`` left out) in five parts: the Knowrithm
client with the HTTP and JSON code under it, the bridge's own code (runner, bridge, engine,
store, adapter), the event loop with the builtins every part calls, the benchmark's own
probes and simulated platform, and the rest.

The bridge's figure in ``bridge.md`` is a difference of two processes (the bot, less the
client measured alone), so it also holds what the client costs only inside the bot and what
the benchmark's probes cost; this split shows how much of the bot's time is the bridge's own
code. cProfile slows every Python call alike, so the shares, not the seconds, carry over.
"""

from __future__ import annotations

import argparse
import pstats
import sys
from collections import Counter

IDLE = "<method 'poll' of 'select.epoll' objects>"
CLIENT = "the Knowrithm client, aiohttp, httpx, json"
BRIDGE = "the bridge's own code (runner, bridge, engine, store, adapter)"
LOOP = "the event loop and builtins"
BENCHMARK = "the benchmark's probes and simulated platform"
OTHER = "other"
_CLIENT_PATHS = ("/core/knowrithm/", "/aiohttp/", "/httpx/", "/json/", "/yarl/", "/multidict/")


def part_of(filename: str) -> str:
    """Whose code ``filename`` (as cProfile names it) is."""
    if any(path in filename for path in _CLIENT_PATHS):
        return CLIENT
    if "/benchmarks/" in filename:
        return BENCHMARK
    if "/knowrithm_bots/" in filename:
        return BRIDGE
    # "~" is cProfile's name for builtins, called from every part alike.
    if filename == "~" or "/asyncio/" in filename or filename.endswith("selectors.py"):
        return LOOP
    return OTHER


def attribute(path: str) -> tuple[Counter[str], float]:
    """Own time per part, and the busy time in all."""
    stats = pstats.Stats(path)
    parts: Counter[str] = Counter()
    table = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, name), (_calls, _primitive, own, _cumulative, _callers) in table.items():
        if name == IDLE:
            continue
        parts[part_of(filename)] += own
    return parts, sum(parts.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profiles", nargs="+")
    args = parser.parse_args()
    for path in args.profiles:
        parts, busy = attribute(path)
        print(f"{path}: {busy:.2f} s busy (under cProfile)")
        for part in (BRIDGE, CLIENT, LOOP, BENCHMARK, OTHER):
            share = parts[part] / busy if busy else 0.0
            print(f"  {100 * share:5.1f} %  {part}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
