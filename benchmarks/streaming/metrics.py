"""What a run achieved: calls, 429s, first text, staleness against the budget's floor, CPU."""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from benchmarks.streaming.agent import Answer
from benchmarks.streaming.runner import RunLog
from core.streaming.budgets import TokenBucket
from core.streaming.layout import Layout
from core.streaming.pacer import DEFAULT_HEADROOM


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
    first_text_after_bound_max: float  # first text − the budget-bound first post (declared)
    first_text_after_paced_bound_max: float  # the same at the engine's pace (less headroom)
    staleness_mean: float
    staleness_p99: float
    floor_p99: float
    staleness_over_floor_p99: float
    final_after_end_mean: float
    final_after_end_p99: float
    final_excess_over_floor_p99: float
    final_excess_over_paced_floor_p99: float  # pace owed at the engine's pace (less headroom)
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
    messages: list[tuple[float, float]]  # when each of its messages still needs calls


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


def _messages(
    answer: Answer,
    offsets: Sequence[int],
    visible: list[tuple[float, int]],
    *,
    final: float,
    limit: int,
) -> list[tuple[float, float]]:
    """Each platform message the answer needs, as the span in which it still needs calls:
    from the chunk that makes it necessary (the first token, or the chunk that takes the
    text past the limit of the messages before it) until its own text is all visible (the
    last one: until the final text is).

    The answer is laid out whole, as the engine and the baselines lay it out; lengths are
    in characters, as the fake platforms count them.
    """
    layout = Layout(limit=limit)
    if offsets and offsets[-1] > limit:
        layout.segments(answer.text)
    done = [*_seen_at(visible, layout.cuts), final]
    spans: list[tuple[float, float]] = []
    needed, start = answer.first_token, 0
    for cut, shown in zip([*layout.cuts, offsets[-1]], done, strict=True):
        spans.append((needed, shown))
        index = min(bisect.bisect_right(offsets, start + limit), len(offsets) - 1)
        needed, start = answer.times[index], cut
    return spans


class _Floors:
    """The refresh interval the budgets allow: the platform's pace for edits divided among
    the calls one fair round needs in the same scope while the text waited to be shown.

    A round owes one call to every message in play in the scope: a reply alive (first
    token to final text) needs one, and one more for every further message it has started
    whose text is not all visible yet (past the length limit, each message needs a post of
    its own). Like the rest of the floor this is the sustained pace: bursts are not counted.
    """

    def __init__(self, log: RunLog, replies: list[_Reply]) -> None:
        limits = log.platform.limits
        self._interval = limits.edit_interval
        self._budgets = [b for b in limits.budgets if not b.kinds or "edit" in b.kinds]
        groups: dict[tuple[int, str], list[tuple[float, float]]] = defaultdict(list)
        messages: dict[tuple[int, str], list[tuple[float, float]]] = defaultdict(list)
        for thread, reply in zip(log.threads, replies, strict=True):
            keys = log.keys(thread)
            for number, budget in enumerate(self._budgets):
                if budget.scope in keys:
                    group = (number, keys[budget.scope])
                    groups[group].append((reply.start, reply.final))
                    messages[group].extend(reply.messages)
        self._alive = {group: _AliveCount(spans) for group, spans in groups.items()}
        self._messages = {group: _AliveCount(spans) for group, spans in messages.items()}
        self._keys = log.keys

    def during(self, thread: str, start: float, end: float) -> float:
        keys = self._keys(thread)
        floor = self._interval
        for number, budget in enumerate(self._budgets):
            if budget.scope in keys:
                group = (number, keys[budget.scope])
                alive = max(1, self._alive[group].most(start, end))
                needed = self._messages[group].most(start, end)
                calls = max(alive, needed)
                floor = max(floor, calls * budget.per / budget.rate)
        return floor


def _first_post_bounds(log: RunLog, *, share: float) -> list[float]:
    """For each reply: the earliest its first post may be sent if every first post of the
    run went in order of first token at ``share`` of the declared budgets (nothing else
    spending them). Every policy's first text is at least this plus the trip there."""
    limits = log.platform.limits
    budgets = [b for b in limits.budgets if not b.kinds or "post" in b.kinds]
    buckets: dict[tuple[int, str], TokenBucket] = {}
    bounds = [0.0] * len(log.threads)
    order = sorted(range(len(log.threads)), key=lambda i: log.answers[i].first_token)
    for index in order:
        keys = log.keys(log.threads[index])
        mine = []
        for number, budget in enumerate(budgets):
            if budget.scope in keys:
                group = (number, keys[budget.scope])
                if group not in buckets:
                    rate = budget.rate / budget.per * share
                    buckets[group] = TokenBucket(rate=rate, burst=budget.burst, now=0.0)
                mine.append(buckets[group])
        at = log.answers[index].first_token
        at = max([at, *(bucket.ready_at(at) for bucket in mine)])
        for bucket in mine:
            bucket.take(at)
        bounds[index] = at
    return bounds


def measure(logs: Sequence[RunLog]) -> Metrics:
    """The metrics of one policy in one scenario (several runs count as one, for 1 reply)."""
    replies_total = 0
    lags: list[float] = []
    floor_values: list[float] = []
    first_texts: list[float] = []
    first_after_token: list[float] = []
    first_after_bound: list[float] = []
    first_after_paced_bound: list[float] = []
    finals: list[float] = []
    final_excess: list[float] = []
    final_excess_paced: list[float] = []
    paced = 1.0 - DEFAULT_HEADROOM
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
            limit = log.platform.limits.max_message_length
            messages = _messages(answer, offsets, visible, final=final, limit=limit)
            replies.append(_Reply(visible, answer.first_token, answer.end, final, first, messages))
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
            final_excess_paced.append((reply.final - reply.end - log.platform.rtt) * paced / owed)
        for bounds, into in (
            (_first_post_bounds(log, share=1.0), first_after_bound),
            (_first_post_bounds(log, share=paced), first_after_paced_bound),
        ):
            into.extend(
                reply.first_text - bound for reply, bound in zip(replies, bounds, strict=True)
            )
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
        first_text_after_bound_max=max(first_after_bound),
        first_text_after_paced_bound_max=max(first_after_paced_bound),
        staleness_mean=mean(lags),
        staleness_p99=percentile(lags, 0.99),
        floor_p99=percentile(floor_values, 0.99),
        staleness_over_floor_p99=percentile(ratios, 0.99),
        final_after_end_mean=mean(finals),
        final_after_end_p99=percentile(finals, 0.99),
        final_excess_over_floor_p99=percentile(final_excess, 0.99),
        final_excess_over_paced_floor_p99=percentile(final_excess_paced, 0.99),
        cpu_us_per_chunk=cpu * 1e6 / chunks,
        virtual_seconds=virtual,
    )


def visible_curve(log: RunLog, thread: str) -> list[tuple[float, int]]:
    """(time, characters visible) steps of one reply, for the plot."""
    answer = log.answers[log.threads.index(thread)]
    visible, _ = _visibility(log, thread, len(answer.text))
    return visible
