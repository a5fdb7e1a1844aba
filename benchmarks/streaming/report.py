"""Turns the metrics into the JSON record, the Markdown table, the target checks and the plot."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.streaming.metrics import PACE_TOLERANCE, Metrics
from benchmarks.streaming.platforms import Platform

CPU_REFERENCE = "simulation only"
MAX_OVERHEAD_US = 50.0
STALENESS_FACTOR = 1.2


@dataclass(frozen=True)
class Check:
    platform: str
    scenario: str
    target: str
    value: str
    met: bool


def _fmt(value: float, digits: int = 2) -> str:
    if math.isinf(value) or math.isnan(value):
        return "–"
    return f"{value:,.{digits}f}"


def table(rows: Sequence[Metrics]) -> str:
    """The results as a Markdown table, one line per platform, scenario and policy."""
    head = (
        "| platform | scenario | policy | calls/reply | 429s | first text s (mean) "
        "| first text − first token s (max) | first text − budget bound s (max) "
        "| staleness s mean | staleness s p99 "
        "| floor s p99 | p99 / floor | final after end s p99 | CPU µs/chunk |\n"
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for m in rows:
        streams = m.policy != CPU_REFERENCE
        lines.append(
            f"| {m.platform} | {m.scenario} | {'**engine**' if m.policy == 'engine' else m.policy} "
            f"| {_fmt(m.calls_per_reply, 2)} | {m.rate_limited:,} "
            f"| {_fmt(m.first_text_mean) if streams else '–'} "
            f"| {_fmt(m.first_text_after_token_max) if streams else '–'} "
            f"| {_fmt(m.first_text_after_bound_max) if streams else '–'} "
            f"| {_fmt(m.staleness_mean) if streams else '–'} "
            f"| {_fmt(m.staleness_p99) if streams else '–'} "
            f"| {_fmt(m.floor_p99) if streams else '–'} "
            f"| {_fmt(m.staleness_over_floor_p99) if streams else '–'} "
            f"| {_fmt(m.final_after_end_p99) if streams else '–'} "
            f"| {_fmt(m.cpu_us_per_chunk, 1)} |"
        )
    return head + "\n".join(lines) + "\n"


def checks(rows: Sequence[Metrics], platforms: Sequence[Platform]) -> list[Check]:
    """The engine's targets, scenario by scenario, with the measured numbers."""
    rtt = {p.name: p.rtt for p in platforms}
    found: list[Check] = []
    groups: dict[tuple[str, str], dict[str, Metrics]] = {}
    for m in rows:
        groups.setdefault((m.platform, m.scenario), {})[m.policy] = m
    for (platform, scenario), by_policy in groups.items():
        engine = by_policy.get("engine")
        if engine is None:
            continue

        def add(target: str, value: str, met: bool) -> None:
            found.append(Check(platform, scenario, target, value, met))  # noqa: B023

        add("zero 429s", f"{engine.rate_limited}", engine.rate_limited == 0)
        trip = rtt[platform]
        over = engine.first_text_over_allowance_max
        add(
            "first text ≤ budget-bound first post + 1 round trip "
            f"(+ {PACE_TOLERANCE:.0%} of the budgets' wait)",
            f"+{_fmt(engine.first_text_after_bound_max)} s over the declared budgets' bound; "
            f"{_fmt(over, 3)} s over the bound + allowance, allowed {trip:.2f} s "
            f"(+{_fmt(engine.first_text_after_token_max)} s after the first token)",
            over <= trip + 1e-9,
        )
        ratio = engine.staleness_over_floor_p99
        add(
            f"p99 staleness ≤ {STALENESS_FACTOR} × floor",
            f"{_fmt(ratio, 3)} ×",
            ratio <= STALENESS_FACTOR,
        )
        final = engine.final_excess_over_floor_p99
        add(
            f"final text ≤ 1 round trip + pace owed (+ {PACE_TOLERANCE:.0%})",
            f"(final − round trip) = {_fmt(final, 3)} × the pace owed at the declared budgets "
            f"(p99), allowed {1 + PACE_TOLERANCE:.2f} ×",
            final <= 1.0 + PACE_TOLERANCE + 1e-9,
        )
        rivals = [
            m
            for name, m in by_policy.items()
            if name not in ("engine", CPU_REFERENCE) and m.rate_limited == 0
        ]
        fewest = min((m.calls_per_reply for m in rivals), default=math.inf)
        named = ", ".join(f"{m.policy} {m.calls_per_reply:.2f}" for m in rivals) or "none"
        add(
            "fewer calls than every zero-429 policy",
            f"engine {engine.calls_per_reply:.2f} vs {named}",
            engine.calls_per_reply < fewest,
        )
        reference = by_policy.get(CPU_REFERENCE)
        if reference is not None:
            overhead = engine.cpu_us_per_chunk - reference.cpu_us_per_chunk
            add(
                f"engine CPU ≤ {MAX_OVERHEAD_US:.0f} µs per chunk",
                f"{_fmt(overhead, 1)} µs (engine run {_fmt(engine.cpu_us_per_chunk, 1)} − "
                f"simulation alone {_fmt(reference.cpu_us_per_chunk, 1)})",
                overhead <= MAX_OVERHEAD_US,
            )
    return found


def checks_table(found: Sequence[Check]) -> str:
    head = "| platform | scenario | target | measured | met |\n|---|---|---|---|---|\n"
    lines = [
        f"| {c.platform} | {c.scenario} | {c.target} | {c.value} | {'yes' if c.met else '**no**'} |"
        for c in found
    ]
    return head + "\n".join(lines) + "\n"


def plot(
    curves: dict[str, dict[str, list[tuple[float, int]]]],
    generated: dict[str, list[tuple[float, int]]],
    path: str,
) -> None:
    """Visible characters over time for one reply under each policy, one panel per platform."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(6 * len(curves), 4.5), squeeze=False)
    for ax, (platform, by_policy) in zip(axes[0], curves.items(), strict=True):
        times, sizes = zip(*generated[platform], strict=True)
        ax.plot(times, sizes, color="black", linewidth=1, linestyle=":", label="generated")
        for policy, steps in by_policy.items():
            if not steps:
                continue
            xs = [0.0] + [t for t, _ in steps] + [max(times[-1], steps[-1][0]) + 0.5]
            ys = [0] + [n for _, n in steps] + [steps[-1][1]]
            ax.step(xs, ys, where="post", label=policy, linewidth=2 if policy == "engine" else 1)
        ax.set_title(f"{platform}: one reply")
        ax.set_xlabel("seconds since the question")
        ax.set_ylabel("characters visible")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
