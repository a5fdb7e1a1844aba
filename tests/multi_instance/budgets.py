"""Replays the platform calls an emulator recorded against the budgets an adapter declares."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from knowrithm_bots.core.limits import Budget

# Calls leave the bots paced, but reach the emulator a little bunched by the network and
# by three processes sharing two cores: this much of one token is forgiven.
JITTER_TOKENS = 0.25


@dataclass(frozen=True)
class Call:
    """One platform call as the emulator saw it: when, and the scope key it is charged to."""

    time: float
    scope: str


def overdrawn(calls: Iterable[Call], *, budget: Budget) -> list[str]:
    """Each scope whose calls, replayed through ``budget``'s token bucket (full at the
    start), took more than it held at some moment; one sentence per scope."""
    by_scope: dict[str, list[float]] = {}
    for call in calls:
        by_scope.setdefault(call.scope, []).append(call.time)
    rate = budget.rate / budget.per
    found: list[str] = []
    for scope, times in sorted(by_scope.items()):
        tokens, last = float(budget.burst), None
        for index, moment in enumerate(sorted(times)):
            if last is not None:
                tokens = min(float(budget.burst), tokens + (moment - last) * rate)
            last = moment
            tokens -= 1.0
            if tokens < -JITTER_TOKENS:
                found.append(
                    f"{scope}: call {index + 1} of {len(times)} came {-tokens:.2f} calls over"
                    f" the budget of {budget.burst} + {budget.rate:g}/{budget.per:g} s"
                )
                break
    return found


def over_budgets(
    budgets: Sequence[Budget],
    *,
    calls_of: Callable[[Budget], Iterable[Call]],
) -> list[str]:
    """Every overdrawn scope of every budget; ``calls_of`` lists the calls a budget covers."""
    return [line for budget in budgets for line in overdrawn(calls_of(budget), budget=budget)]
