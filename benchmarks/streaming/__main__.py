"""``python -m benchmarks.streaming [--smoke] [--out DIR] [--seed N] [--scenario NAME]``.

The full run (minutes) writes ``streaming.json``, ``streaming.md`` and
``streaming_one_reply.png`` into benchmarks/results. ``--smoke`` runs small scenarios in
seconds (plus a strained one: the platform enforces less than it declares and injects
429s), writes into a temporary directory, and fails when the engine meets a 429 in a
normal scenario, more than ``STRAINED_MAX_429`` in the strained one, or when any reply's
whole answer never becomes visible. ``--seed`` draws other answers and ``--scenario`` runs
only the named scenarios; such runs also write into a temporary directory unless ``--out``
says where.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

from benchmarks.streaming.metrics import Metrics, measure, visible_curve
from benchmarks.streaming.platforms import PLATFORMS, Platform
from benchmarks.streaming.policies import POLICY_NAMES, make_policy
from benchmarks.streaming.report import checks, checks_table, plot, table
from benchmarks.streaming.runner import Scenario, answers_for, run

SEED = 20_261
# The strained smoke scenario: the platform enforces 2/3 of every declared rate and refuses
# one call at each of these virtual seconds.
STRAINED_SHARE = 2 / 3
INJECTED_429S = (2.0, 4.0, 6.0)
# The engine may meet the injected 429s plus this many more per platform: one per declared
# budget whose real rate it has to discover (Telegram declares three; a bucket slows down
# after its first 429).
STRAINED_EXTRA_429 = 3
STRAINED_MAX_429 = len(INJECTED_429S) + STRAINED_EXTRA_429
RESULTS = Path(__file__).resolve().parent.parent / "results"


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
    seed = job.seed
    answer_sets = [answers_for(job.scenario, seed=seed + repeat) for repeat in range(job.repeats)]
    for name in job.policies:
        factory = partial(make_policy, name)
        logs = [
            run(job.platform, job.scenario, factory, answers, seed=seed) for answers in answer_sets
        ]
        metrics.append(measure(logs))
        if job.scenario.replies == 1 and name != "simulation only":
            curves[name] = visible_curve(logs[0], logs[0].threads[0])
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
            (
                Scenario(
                    "20 in one chat, strained",
                    20,
                    "one",
                    enforce_share=STRAINED_SHARE,
                    injected_429s=INJECTED_429S,
                ),
                1,
            ),
        ]
    return [
        (Scenario("1 reply", 1, "single"), 100),
        (Scenario("50 in one chat", 50, "one"), 1),
        (Scenario("500 in one chat", 500, "one"), 1),
        (Scenario("500 chats", 500, "many"), 1),
    ]


def _scenario_names(*, smoke: bool) -> list[str]:
    return [scenario.name for scenario, _ in _scenarios(smoke=smoke)]


def _jobs(*, smoke: bool, seed: int = SEED, only: Sequence[str] = ()) -> list[Job]:
    scenarios = [(s, r) for s, r in _scenarios(smoke=smoke) if not only or s.name in only]
    if smoke:
        policies: tuple[str, ...] = ("engine", "every 1 s")
    else:
        policies = POLICY_NAMES
    # Biggest first, so two workers finish at about the same time.
    jobs = [Job(p.name, s, r, policies, seed) for s, r in scenarios for p in PLATFORMS]
    return sorted(jobs, key=lambda job: -job.scenario.replies)


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
        "--scenario",
        action="append",
        default=[],
        choices=sorted({*_scenario_names(smoke=False), *_scenario_names(smoke=True)}),
        help="run only this scenario (repeatable)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    jobs = _jobs(smoke=args.smoke, seed=args.seed, only=args.scenario)
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
    found = checks([m for m in rows if m.scenario not in strained], PLATFORMS)

    out = args.out
    temporary = None
    if out is None:
        # Only the full run with the recorded seed replaces the recorded results.
        if args.smoke or args.scenario or args.seed != SEED:
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
        "agent": "first token after 0.3-1.5 s, then 30-80 tokens/s (±30 %), 120-500 tokens",
        "results": [_finite(m.as_dict()) for m in rows],
        "targets": [asdict(c) for c in found],
    }
    (out / "streaming.json").write_text(json.dumps(record, indent=2, allow_nan=False, default=str))
    markdown = table(rows) + "\n" + checks_table(found)
    (out / "streaming.md").write_text(markdown)
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
    failures = _failures(rows, strained)
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _failures(rows: list[Metrics], strained: set[str]) -> list[str]:
    """What makes the run fail: a missing final text, a 429 where the budgets were honest,
    too many where the platform enforces less than it declares."""
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
            if m.rate_limited > STRAINED_MAX_429:
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
