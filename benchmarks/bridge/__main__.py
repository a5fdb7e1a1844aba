"""``python -m benchmarks.bridge [--smoke] [--soak MINUTES] [--sizes N ...] [--out DIR]``.

Runs the whole bridge at 10, 100 and 1,000 concurrent replies (and 100 replies in 10 Telegram
groups), each in a fresh bot process against the local Knowrithm server in another process;
then 1,000 questions answered in one word each (what starting their conversations costs,
request by request); writes ``results/bridge.json``, ``bridge.md`` and ``bridge_cost.png``.
``--smoke`` runs 10 short replies, keeps no files unless ``--out`` is given and exits with
status 1 on any error.
``--soak MINUTES`` starts 5 new threads per second for that long and writes ``soak.json`` and
``soak.md`` (``--idle-minutes`` ends conversations sooner than the default 30 minutes, so
that the run reaches the steady state of a bot whose conversations end as fast as they
start). ``--httpx`` sends the Knowrithm client's requests through httpx's own transport
(httpcore) instead of aiohttp, to compare the two. Scenarios under 1,000 replies run three
times (``--repeats N``) and report their middle run. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.bridge.report import write_bridge, write_soak
from benchmarks.bridge.runs import Scenario, median_run, run_scenario, run_soak, run_starts

RESULTS = Path(__file__).resolve().parent.parent / "results"
WORD_DELAY = 1 / 30  # ~30 tokens per second, one word per token
SIZES = (10, 100, 1000)
# Below 1,000 replies a run's CPU per chunk moved by up to ±15 % from one run to the next
# (the loop sleeps between events, and what a wake-up costs varies): those scenarios run
# this many times, and the report shows the middle run with every run's figures beside it.
REPEATS = 3
REPEAT_BELOW = 1000
# Questions asked at once with one-word answers, to measure conversation starts alone.
STARTS = 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="10 short replies, < 20 s")
    parser.add_argument("--soak", type=float, metavar="MINUTES", default=None)
    parser.add_argument(
        "--idle-minutes",
        type=float,
        default=None,
        help="soak: end conversations after this many idle minutes (default: the bot's 30)",
    )
    parser.add_argument("--sizes", type=int, nargs="*", default=None)
    parser.add_argument("--no-groups", action="store_true", help="skip the group scenario")
    parser.add_argument("--no-starts", action="store_true", help="skip the 1,000 one-word answers")
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help=f"runs of each scenario under {REPEAT_BELOW:,} replies (default {REPEATS}; "
        "1 with --smoke)",
    )
    parser.add_argument("--profile", metavar="FILE", default=None, help="cProfile the bot")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--httpx",
        action="store_true",
        help="send through httpx's own transport, as before aiohttp (an A/B comparison)",
    )
    args = parser.parse_args()
    if args.soak is not None:
        result = run_soak(minutes=args.soak, word_delay=WORD_DELAY, idle_minutes=args.idle_minutes)
        write_soak(result, out=args.out or RESULTS)
        return 0 if result["complete"] == result["threads"] else 1
    if args.smoke:
        scenarios = [Scenario(replies=10, words=30, late=2)]
    else:
        sizes = args.sizes or SIZES
        scenarios = [Scenario(replies=size) for size in sizes]
        if not args.no_groups and args.sizes is None:
            scenarios.append(Scenario(replies=100, groups=10))
    repeats = args.repeats or (1 if args.smoke or args.profile else REPEATS)
    rows = [
        median_run(
            [
                run_scenario(
                    scenario,
                    word_delay=WORD_DELAY,
                    profile=args.profile,
                    httpx=args.httpx,
                )
                for _ in range(repeats if scenario.replies < REPEAT_BELOW else 1)
            ]
        )
        for scenario in scenarios
    ]
    full = not (args.smoke or args.sizes or args.profile or args.no_starts)
    starts = run_starts(replies=STARTS, word_delay=WORD_DELAY) if full else None
    out = args.out if (args.smoke or args.sizes) else (args.out or RESULTS)
    summary = write_bridge(rows, starts=starts, out=out, smoke=args.smoke)
    print(summary, flush=True)
    errors = [row["errors"] for row in rows] + ([starts["errors"]] if starts else [])
    return 0 if not any(errors) else 1


if __name__ == "__main__":
    sys.exit(main())
