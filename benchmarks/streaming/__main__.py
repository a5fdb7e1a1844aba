"""``python -m benchmarks.streaming [--smoke] [--out DIR] [--seed N] [--scenario NAME]``.

The full run (minutes) writes ``streaming.json``, ``streaming.md``, ``streaming_curve.png``
and ``streaming_one_reply.png`` into benchmarks/results and quotes its summary in
benchmarks/README.md. ``--smoke`` runs small scenarios in seconds (plus one on the stricter
platform: it enforces less than it declares, injects 429s and punishes repeated ones),
writes into a temporary directory, and fails when the engine meets a 429 on an honest
platform, more than ``STRAINED_MAX_429`` or more than some baseline on the stricter one, or
when any reply's whole answer never becomes visible (a full run fails only on the last and
prints the rest as not met). ``--seed`` draws other answers and ``--scenario`` runs only
the named scenarios; such runs also write into a temporary directory unless ``--out`` says
where."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.streaming.metrics import Metrics, measure, visible_curve
from benchmarks.streaming.platforms import PLATFORMS, Platform
from benchmarks.streaming.policies import CHARACTERS, POLICY_NAMES, make_policy
from benchmarks.streaming.report import (
    Check,
    checks,
    checks_table,
    plot,
    plot_curves,
    summary,
    table,
)
from benchmarks.streaming.runner import Scenario, answers_for, run
from benchmarks.streaming.wire import MAX_DOUBLINGS, MAX_RETRY_AFTER, STRIKE_WINDOW

SEED = 20_261
# The stricter platform: it enforces 2/3 of every declared rate, refuses one call at each of
# these virtual seconds, and lengthens retry_after for repeated 429s as Telegram does.
STRAINED_SHARE = 2 / 3
INJECTED_429S = (2.0, 4.0, 6.0)
# The engine may meet the injected 429s plus this many more per platform: one per declared
# budget whose real rate it has to discover (Telegram declares three; a bucket slows down
# after its first 429).
STRAINED_EXTRA_429 = 3
STRAINED_MAX_429 = len(INJECTED_429S) + STRAINED_EXTRA_429
RESULTS = Path(__file__).resolve().parent.parent / "results"
README = RESULTS.parent / "README.md"
SUMMARY_START = "<!-- streaming-summary:start -->"
SUMMARY_END = "<!-- streaming-summary:end -->"


@dataclass(frozen=True)
class Job:
    """One platform and scenario under every policy (picklable: platforms go by name)."""

    platform_name: str
    scenario: Scenario
    repeats: int
    policies: tuple[str, ...]
    seed: int = SEED

    @property
    def platform(self) -> Platform:
        return next(p for p in PLATFORMS if p.name == self.platform_name)


@dataclass(frozen=True)
class JobResult:
    metrics: list[Metrics]
    curves: dict[str, list[tuple[float, int]]]  # one reply's visible characters, by policy
    generated: list[tuple[float, int]]


def _work(job: Job) -> JobResult:
    metrics: list[Metrics] = []
    curves: dict[str, list[tuple[float, int]]] = {}
    began = time.perf_counter()
    seed = job.seed
    answer_sets = [answers_for(job.scenario, seed=seed + repeat) for repeat in range(job.repeats)]
    for name in job.policies:
        factory = partial(
            make_policy,
            name,
            platform=job.platform.name,
            group=job.scenario.shape == "one",
            seed=seed,
        )
        logs = [
            run(job.platform, job.scenario, factory, answers, seed=seed) for answers in answer_sets
        ]
        metrics.append(measure(logs))
        if job.scenario.replies == 1 and name != "simulation only":
            curves[name] = visible_curve(logs[0], logs[0].threads[0])
    print(
        f"{job.platform_name} / {job.scenario.name}: {time.perf_counter() - began:.0f} s",
        file=sys.stderr,
        flush=True,
    )
    first = answer_sets[0][0]
    generated = list(zip(first.times, first.offsets, strict=True))
    return JobResult(metrics=metrics, curves=curves, generated=generated)


def _scenarios(*, smoke: bool) -> list[tuple[Scenario, int]]:
    """(scenario, how many times it is run) in the order of the results table."""
    if smoke:
        return [
            (Scenario("1 reply", 1, "single"), 2),
            (Scenario("20 in one chat", 20, "one"), 1),
            (Scenario("20 chats", 20, "many"), 1),
            (_stricter("20 in one chat, stricter", 20, "one"), 1),
        ]
    return [
        (Scenario("1 reply", 1, "single"), 100),
        (Scenario("50 in one chat", 50, "one"), 1),
        (Scenario("500 in one chat", 500, "one"), 1),
        (Scenario("500 chats", 500, "many"), 1),
        (_stricter("1 reply, stricter", 1, "single"), 20),
        (_stricter("50 in one chat, stricter", 50, "one"), 1),
        (_stricter("500 chats, stricter", 500, "many"), 1),
    ]


def _stricter(name: str, replies: int, shape: str) -> Scenario:
    return Scenario(
        name,
        replies,
        shape,
        enforce_share=STRAINED_SHARE,
        injected_429s=INJECTED_429S,
        punish_repeats=True,
    )


def _scenario_names(*, smoke: bool) -> list[str]:
    return [scenario.name for scenario, _ in _scenarios(smoke=smoke)]


def _jobs(
    *, smoke: bool, seed: int = SEED, only: Sequence[str] = (), native: bool = True
) -> list[Job]:
    scenarios = [
        (replace(s, native_streams=native), r)
        for s, r in _scenarios(smoke=smoke)
        if not only or s.name in only
    ]
    if smoke:
        policies: tuple[str, ...] = ("engine", "every 1 s", "every 2 s", CHARACTERS)
    else:
        policies = POLICY_NAMES
    # Biggest first, so two workers finish at about the same time.
    jobs = [Job(p.name, s, r, policies, seed) for s, r in scenarios for p in PLATFORMS]
    return sorted(jobs, key=lambda job: -job.scenario.replies)


def _machine() -> str:
    """Where the run was made: the recorded numbers depend on it (CPU) and on its load."""
    load = " / ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"Measured on {platform.node()} ({platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}), load average {load} at the end of the run."
    )


def quote_in_readme(record: dict[str, Any], readme: Path = README) -> None:
    """Replace the summary quoted in benchmarks/README.md with this run's, so the README
    never quotes numbers an earlier run measured."""
    found = [Check(**target) for target in record["targets"]]
    block = (
        f"{SUMMARY_START}\n{record['machine']} Seed {record['seed']}, "
        f"{record['wall_seconds']:g} s of wall time.\n\n{summary(found)}{SUMMARY_END}"
    )
    text = readme.read_text()
    start, end = text.find(SUMMARY_START), text.find(SUMMARY_END)
    if start < 0 or end < start:
        return  # no place for it: the README was reorganised
    readme.write_text(text[:start] + block + text[end + len(SUMMARY_END) :])


def _finite(row: dict[str, object]) -> dict[str, object]:
    """JSON has no infinity: a reply that never showed its text gets null."""
    return {
        key: None if isinstance(value, float) and not math.isfinite(value) else value
        for key, value in row.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.streaming", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a seconds-long check run")
    parser.add_argument("--out", type=Path, help="where to write the results")
    parser.add_argument("--workers", type=int, default=2, help="processes for the full run")
    parser.add_argument("--seed", type=int, default=SEED, help="another draw of answers")
    parser.add_argument(
        "--no-native",
        action="store_true",
        help="offer no native streams: the engine posts and edits too",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        choices=sorted({*_scenario_names(smoke=False), *_scenario_names(smoke=True)}),
        help="run only this scenario (repeatable)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    jobs = _jobs(smoke=args.smoke, seed=args.seed, only=args.scenario, native=not args.no_native)
    if not jobs:
        parser.error("no scenario of this run has that name (--smoke has other scenarios)")
    if args.smoke or args.workers <= 1:
        results = [_work(job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            results = list(pool.map(_work, jobs))
    platform_rank = [p.name for p in PLATFORMS]
    scenario_rank = _scenario_names(smoke=args.smoke)
    rows = [m for result in results for m in result.metrics]
    rows.sort(
        key=lambda m: (
            platform_rank.index(m.platform),
            scenario_rank.index(m.scenario),
            POLICY_NAMES.index(m.policy),
        )
    )
    strained = {s.name for s, _ in _scenarios(smoke=args.smoke) if s.strained}
    found = checks(rows, PLATFORMS, strained=sorted(strained))

    out = args.out
    temporary = None
    if out is None:
        # Only the full run with the recorded seed replaces the recorded results.
        if args.smoke or args.scenario or args.seed != SEED or args.no_native:
            temporary = tempfile.TemporaryDirectory(prefix="streaming-smoke-")
            out = Path(temporary.name)
        else:
            out = RESULTS
    out.mkdir(parents=True, exist_ok=True)
    record = {
        "seed": args.seed,
        "smoke": args.smoke,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "platforms": [
            {
                "name": p.name,
                "round_trip_s": p.rtt,
                "max_message_length": p.limits.max_message_length,
                "budgets": [asdict(b) for b in p.limits.budgets],
                "one_chat": p.one_chat_name,
                "many_chats": p.many_chats_name,
            }
            for p in PLATFORMS
        ],
        "machine": _machine(),
        "stricter_platform": {
            "enforced_share_of_declared_rates": STRAINED_SHARE,
            "injected_429s_at_s": list(INJECTED_429S),
            "repeated_429s": (
                f"retry_after doubles per earlier 429 on the scope within {STRIKE_WINDOW:g} s "
                f"(at most {2**MAX_DOUBLINGS}x, {MAX_RETRY_AFTER:g} s); the scope is blocked "
                "that long"
            ),
        },
        "client_libraries": {
            "telegram": "python-telegram-bot AIORateLimiter() defaults: 30/s overall, "
            "20/min per group, max_retries 0",
            "discord": "discord.py HTTPClient.request: per-bucket Ratelimit from X-RateLimit-* "
            "headers, 429 sleeps retry_after, 5 tries",
            "slack": "slack_sdk AsyncRateLimitErrorRetryHandler(): sleep Retry-After + "
            "random(), max_retry_count 1",
        },
        "agent": "first token after 0.3-1.5 s, then 30-80 tokens/s (±30 %), 120-500 tokens",
        "results": [_finite(m.as_dict()) for m in rows],
        "targets": [asdict(c) for c in found],
    }
    (out / "streaming.json").write_text(json.dumps(record, indent=2, allow_nan=False, default=str))
    if out == RESULTS:
        quote_in_readme(record)
    markdown = (
        f"{_machine()}\n\n" + summary(found) + "\n" + table(rows) + "\n" + checks_table(found)
    )
    (out / "streaming.md").write_text(markdown)
    plot_curves(
        [m for m in rows if m.policy != "simulation only"], str(out / "streaming_curve.png")
    )
    curves = {j.platform.name: r.curves for j, r in zip(jobs, results, strict=True) if r.curves}
    generated = {
        j.platform.name: r.generated for j, r in zip(jobs, results, strict=True) if r.curves
    }
    if curves:
        plot(curves, generated, str(out / "streaming_one_reply.png"))
    print(markdown)
    seconds = time.perf_counter() - started
    if temporary is None:
        print(f"results in {out} ({seconds:.0f} s)")
    else:
        print(f"done in {seconds:.0f} s; only the tables above are kept (--out DIR keeps files)")

    if temporary is not None:
        temporary.cleanup()
    failures = _failures(rows, strained, smoke=args.smoke)
    lost = [failure for failure in failures if "never showed" in failure]
    for failure in failures:
        # A full run is a measurement: where the engine loses is recorded and stated, and
        # only lost text (a bug) fails it; the smoke run fails on all of these.
        label = "FAILED" if args.smoke or failure in lost else "NOT MET"
        print(f"{label}: {failure}", file=sys.stderr)
    return 1 if (lost or (args.smoke and failures)) else 0


def _failures(rows: list[Metrics], strained: set[str], *, smoke: bool) -> list[str]:
    """What makes the run fail: a missing final text, a 429 where the budgets were honest;
    on the stricter platform, more 429s than any baseline (and in the smoke run more than
    ``STRAINED_MAX_429``)."""
    failures = [
        f"{m.platform} / {m.scenario} / {m.policy}: {m.missing_final} replies never showed "
        "their whole answer"
        for m in rows
        if m.missing_final and m.policy != "simulation only"
    ]
    for m in rows:
        if m.policy != "engine":
            continue
        if m.scenario in strained:
            rivals = [
                r.rate_limited
                for r in rows
                if (r.platform, r.scenario) == (m.platform, m.scenario)
                and r.policy not in ("engine", "simulation only")
            ]
            if rivals and m.rate_limited > min(rivals):
                failures.append(
                    f"{m.platform} / {m.scenario}: the engine met {m.rate_limited} 429s, "
                    f"a baseline only {min(rivals)}"
                )
            if smoke and m.rate_limited > STRAINED_MAX_429:
                failures.append(
                    f"{m.platform} / {m.scenario}: the engine met {m.rate_limited} 429s "
                    f"(at most {STRAINED_MAX_429}: {len(INJECTED_429S)} injected + "
                    f"{STRAINED_EXTRA_429})"
                )
        elif m.rate_limited:
            failures.append(f"{m.platform} / {m.scenario}: the engine met {m.rate_limited} 429s")
    return failures


if __name__ == "__main__":
    sys.exit(main())
