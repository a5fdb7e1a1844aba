"""Turns the metrics into the JSON record, the Markdown table, the target checks and the plot."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.streaming.metrics import PACE_TOLERANCE, Metrics
from benchmarks.streaming.platforms import Platform
from benchmarks.streaming.policies import SWEEP_NAMES

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


def _front(points: Sequence[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """The sweep's points no other sweep point beats on both calls and staleness, by calls."""
    ordered = sorted(points)
    front: list[tuple[float, float, str]] = []
    for point in ordered:
        if not front or point[1] < front[-1][1]:
            front.append(point)
    return front


def curve_check(engine: Metrics, sweep: Sequence[Metrics]) -> tuple[bool, str]:
    """Is the engine on or beyond the fixed-interval curve (calls/reply against p99
    staleness)? No sweep point may beat it on both (by more than ``PACE_TOLERANCE``), and
    where its calls fall within the curve's range its p99 staleness may be at most the
    curve's there (+ ``PACE_TOLERANCE``)."""
    points = [(m.calls_per_reply, m.staleness_p99, m.policy) for m in sweep]
    calls, stale = engine.calls_per_reply, engine.staleness_p99
    # Beaten: a fixed interval as cheap and fresher, or cheaper and as fresh, by more than
    # the tolerance (closer than that is on the curve).
    tolerance = 1 + PACE_TOLERANCE
    beaten = [
        name
        for c, st, name in points
        if (c <= calls and st * tolerance < stale) or (c * tolerance < calls and st <= stale)
    ]
    front = _front(points)
    where = f"engine {calls:.2f} calls/reply, p99 {_fmt(stale)} s"
    if beaten:
        return False, f"{where}; beaten on both by {', '.join(beaten)}"
    for (c0, s0, n0), (c1, s1, n1) in itertools.pairwise(front):
        if c0 <= calls <= c1:
            share = 0.0 if c1 == c0 else (calls - c0) / (c1 - c0)
            curve = s0 + share * (s1 - s0)
            met = stale <= curve * (1 + PACE_TOLERANCE) + 1e-9
            return met, f"{where}; the curve there {_fmt(curve)} s (between {n0} and {n1})"
    if front and calls < front[0][0]:
        return True, f"{where}; fewer calls than any fixed interval ({front[0][2]}: " + (
            f"{front[0][0]:.2f})"
        )
    return True, f"{where}; beyond the curve's range, no fixed interval as fresh"


def checks(
    rows: Sequence[Metrics], platforms: Sequence[Platform], *, strained: Sequence[str] = ()
) -> list[Check]:
    """The engine's targets, scenario by scenario, with the measured numbers. A strained
    scenario (the stricter platform) is held to: no lost text and the fewest 429s."""
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

        others = [m for name, m in by_policy.items() if name not in ("engine", CPU_REFERENCE)]
        if scenario in strained:
            add("no lost text", f"{engine.missing_final} replies", engine.missing_final == 0)
            fewest = min((m.rate_limited for m in others), default=0)
            named = ", ".join(f"{m.policy} {m.rate_limited:,}" for m in others) or "none"
            add(
                "fewest 429s",
                f"engine {engine.rate_limited:,} vs {named}",
                engine.rate_limited <= fewest,
            )
            continue
        sweep = [m for m in others if m.policy in SWEEP_NAMES]
        if sweep:
            met, value = curve_check(engine, sweep)
            add("on or beyond the fixed-interval curve", value, met)

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


def summary(found: Sequence[Check]) -> str:
    """Each target: in how many cases it was met, and every case where it was not."""
    lines = []
    targets: dict[str, list[Check]] = {}
    for check in found:
        targets.setdefault(check.target, []).append(check)
    for target, cases in targets.items():
        missed = [c for c in cases if not c.met]
        line = f"* **{target}**: met in {len(cases) - len(missed)} of {len(cases)}"
        if missed:
            line += "; not met: " + "; ".join(
                f"{c.platform} {c.scenario} ({c.value})" for c in missed
            )
        lines.append(line + ".")
    return "\n".join(lines) + "\n"


def plot_curves(rows: Sequence[Metrics], path: str) -> None:
    """Calls per reply against p99 staleness: the fixed-interval sweep as a curve, the
    engine's point and the other baselines', one panel per platform and scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    platforms = list(dict.fromkeys(m.platform for m in rows))
    scenarios = list(dict.fromkeys(m.scenario for m in rows))
    fig, axes = plt.subplots(
        len(platforms),
        len(scenarios),
        figsize=(3.6 * len(scenarios), 3.2 * len(platforms)),
        squeeze=False,
    )
    for row, platform in enumerate(platforms):
        for col, scenario in enumerate(scenarios):
            ax = axes[row][col]
            cell = [m for m in rows if m.platform == platform and m.scenario == scenario]
            sweep = sorted(
                (m for m in cell if m.policy in SWEEP_NAMES), key=lambda m: m.calls_per_reply
            )
            if sweep:
                ax.plot(
                    [m.calls_per_reply for m in sweep],
                    [m.staleness_p99 for m in sweep],
                    marker="o",
                    color="tab:blue",
                    label="fixed interval",
                )
                for m in sweep:
                    ax.annotate(
                        m.policy.removeprefix("every "),
                        (m.calls_per_reply, m.staleness_p99),
                        fontsize=6,
                        xytext=(3, 3),
                        textcoords="offset points",
                    )
            for m in cell:
                if m.policy == "engine":
                    ax.plot(
                        m.calls_per_reply,
                        m.staleness_p99,
                        marker="*",
                        markersize=14,
                        color="tab:red",
                        linestyle="none",
                        label="engine",
                    )
                elif m.policy not in SWEEP_NAMES and m.policy != CPU_REFERENCE:
                    ax.plot(
                        m.calls_per_reply,
                        m.staleness_p99,
                        marker="x",
                        linestyle="none",
                        label=m.policy,
                    )
            ax.set_title(f"{platform}: {scenario}", fontsize=8)
            ax.set_xlabel("calls per reply", fontsize=7)
            ax.set_ylabel("p99 staleness s", fontsize=7)
            ax.set_yscale("log")
            ax.tick_params(labelsize=6)
            ax.grid(alpha=0.3)
            if row == 0 and col == 0:
                ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


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
