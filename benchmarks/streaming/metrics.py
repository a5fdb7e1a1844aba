"""What a run achieved: calls, 429s, first text, staleness against the budget's floor, CPU."""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from benchmarks.streaming.runner import RunLog


def percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


@dataclass(frozen=True)
class Metrics:
    """One row of the results table (times in seconds)."""

    platform: str
    scenario: str
    policy: str
    replies: int
    chunks: int
    calls_per_reply: float
    rate_limited: int
    first_text_mean: float
    first_text_p99: float
    first_text_after_token_max: float
    staleness_mean: float
    staleness_p99: float
    floor_p99: float
    staleness_over_floor_p99: float
    final_after_end_mean: float
    final_after_end_p99: float
    final_excess_over_floor_p99: float
    cpu_us_per_chunk: float  # = ms of CPU per 1,000 chunks
    virtual_seconds: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class _Reply:
    visible: list[tuple[float, int]]  # (time, most characters visible so far), time order
    start: float  # first token
    end: float  # last token
    final: float  # final text visible
    first_text: float


def _visibility(log: RunLog, thread: str, length: int) -> tuple[list[tuple[float, int]], float]:
    events: list[tuple[float, int, int]] = []  # (time, message number, length)
    for number, message in enumerate(
        m for m in log.adapter.messages.values() if m.thread == thread
    ):
        events.extend((at, number, size) for at, size in message.history)
    events.sort()
    current: dict[int, int] = {}
    best = 0
    visible: list[tuple[float, int]] = []
    for at, number, size in events:
        current[number] = size
        total = sum(current.values())
        if total > best:
            best = total
            visible.append((at, best))
    final = next((at for at, size in visible if size >= length), math.inf)
    return visible, final


def _seen_at(visible: list[tuple[float, int]], offsets: Sequence[int]) -> list[float]:
    """For each offset (ascending): when that many characters were first visible."""
    seen: list[float] = []
    position = 0
    for offset in offsets:
        while position < len(visible) and visible[position][1] < offset:
            position += 1
        seen.append(visible[position][0] if position < len(visible) else math.inf)
    return seen


class _AliveCount:
    """How many replies of one scope are alive (first token to final text) over time, and
    the most alive at once within any interval (a sparse table over the step function)."""

    def __init__(self, intervals: Sequence[tuple[float, float]]) -> None:
        changes = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
        self._times: list[float] = []
        counts: list[int] = []
        alive = 0
        for at, step in changes:
            alive += step
            if self._times and self._times[-1] == at:
                counts[-1] = alive
            else:
                self._times.append(at)
                counts.append(alive)
        self._table = [counts]
        width = 1
        while 2 * width <= len(counts):
            row = self._table[-1]
            self._table.append([max(row[i], row[i + width]) for i in range(len(row) - width)])
            width *= 2

    def _at(self, index: int) -> int:
        return self._table[0][index] if index >= 0 else 0

    def most(self, start: float, end: float) -> int:
        """The most replies alive at any moment of ``[start, end]``."""
        first = bisect.bisect_right(self._times, start) - 1
        last = bisect.bisect_right(self._times, end) - 1
        best = self._at(first)
        low, high = first + 1, last
        if low <= high:
            level = (high - low + 1).bit_length() - 1
            row = self._table[level]
            best = max(best, row[low], row[high - (1 << level) + 1])
        return best


class _Floors:
    """The refresh interval the budgets allow: the platform's pace for edits divided among
    the replies alive in the same scope while the text waited to be shown."""

    def __init__(self, log: RunLog, replies: list[_Reply]) -> None:
        limits = log.platform.limits
        self._interval = limits.edit_interval
        self._budgets = [b for b in limits.budgets if not b.kinds or "edit" in b.kinds]
        groups: dict[tuple[int, str], list[tuple[float, float]]] = defaultdict(list)
        for thread, reply in zip(log.threads, replies, strict=True):
            keys = log.keys(thread)
            for number, budget in enumerate(self._budgets):
                if budget.scope in keys:
                    groups[(number, keys[budget.scope])].append((reply.start, reply.final))
        self._alive = {group: _AliveCount(spans) for group, spans in groups.items()}
        self._keys = log.keys

    def during(self, thread: str, start: float, end: float) -> float:
        keys = self._keys(thread)
        floor = self._interval
        for number, budget in enumerate(self._budgets):
            if budget.scope in keys:
                alive = max(1, self._alive[(number, keys[budget.scope])].most(start, end))
                floor = max(floor, alive * budget.per / budget.rate)
        return floor


def measure(logs: Sequence[RunLog]) -> Metrics:
    """The metrics of one policy in one scenario (several runs count as one, for 1 reply)."""
    replies_total = 0
    lags: list[float] = []
    floor_values: list[float] = []
    first_texts: list[float] = []
    first_after_token: list[float] = []
    finals: list[float] = []
    final_excess: list[float] = []
    chunks = calls = limited = 0
    cpu = virtual = 0.0
    for log in logs:
        replies: list[_Reply] = []
        waits: list[tuple[str, float, float]] = []  # (thread, generated at, lag)
        for thread, answer in zip(log.threads, log.answers, strict=True):
            offsets: list[int] = []
            total = 0
            for token in answer.tokens:
                total += len(token)
                offsets.append(total)
            visible, final = _visibility(log, thread, total)
            seen = _seen_at(visible, offsets)
            first = visible[0][0] if visible else math.inf
            replies.append(_Reply(visible, answer.first_token, answer.end, final, first))
            first_texts.append(first)
            first_after_token.append(first - answer.first_token)
            waits.extend((thread, at, s - at) for at, s in zip(answer.times, seen, strict=True))
            chunks += len(answer.tokens)
        floors = _Floors(log, replies)
        for thread, at, lag in waits:
            floor = floors.during(thread, at, at + lag)
            lags.append(lag)
            floor_values.append(floor)
        for thread, reply in zip(log.threads, replies, strict=True):
            finals.append(reply.final - reply.end)
            owed = floors.during(thread, reply.end, reply.final)
            final_excess.append((reply.final - reply.end - log.platform.rtt) / owed)
        replies_total += len(replies)
        calls += log.adapter.count()
        limited += log.adapter.count(outcome="429")
        cpu += log.cpu_seconds
        virtual = max(virtual, log.virtual_seconds)
    ratios = [lag / floor for lag, floor in zip(lags, floor_values, strict=True)]
    head = logs[0]
    return Metrics(
        platform=head.platform.name,
        scenario=head.scenario.name,
        policy=head.policy,
        replies=replies_total,
        chunks=chunks,
        calls_per_reply=calls / replies_total,
        rate_limited=limited,
        first_text_mean=mean(first_texts),
        first_text_p99=percentile(first_texts, 0.99),
        first_text_after_token_max=max(first_after_token),
        staleness_mean=mean(lags),
        staleness_p99=percentile(lags, 0.99),
        floor_p99=percentile(floor_values, 0.99),
        staleness_over_floor_p99=percentile(ratios, 0.99),
        final_after_end_mean=mean(finals),
        final_after_end_p99=percentile(finals, 0.99),
        final_excess_over_floor_p99=percentile(final_excess, 0.99),
        cpu_us_per_chunk=cpu * 1e6 / chunks,
        virtual_seconds=virtual,
    )


def visible_curve(log: RunLog, thread: str) -> list[tuple[float, int]]:
    """(time, characters visible) steps of one reply, for the plot."""
    answer = log.answers[log.threads.index(thread)]
    visible, _ = _visibility(log, thread, len(answer.text))
    return visible
