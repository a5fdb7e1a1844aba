"""What a run achieved: calls, 429s, first text, staleness against the budget's floor, CPU.

Every bound and floor here is computed from the agent's generation times and the declared
budgets alone, never from what a policy did or from the engine's own constants, so every
policy of a scenario is measured against the same yardstick.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass

from benchmarks.streaming.agent import Answer
from benchmarks.streaming.runner import RunLog
from knowrithm_bots.core.adapter import Budget
from knowrithm_bots.core.limits import CallKind
from knowrithm_bots.core.streaming.layout import Layout
from knowrithm_bots.core.testing import PlainBucket

# The benchmark's own tolerance over the declared pace, for the first-text and final-text
# targets: the simulated one-way delay varies by ±20 %, so two calls sent a pace apart can
# arrive up to 0.2 round trips (at most 0.03 s) closer together, which is at most 3 % of the
# tightest interval any platform here declares (1 s). It is fixed and does not depend on
# anything the engine declares.
PACE_TOLERANCE = 0.03
# At most this many widenings of a floor's window (it settles in a handful).
ROUND_ITERATIONS = 32


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
    missing_final: int  # replies whose whole answer never became visible
    first_text_mean: float
    first_text_p99: float
    first_text_after_token_max: float
    first_text_after_bound_max: float  # first text − the declared budgets' first-post bound
    # max over replies of first text − bound − PACE_TOLERANCE × (bound − first token):
    # the first-text target holds when this is at most one round trip
    first_text_over_allowance_max: float
    staleness_mean: float
    staleness_p99: float
    floor_p99: float
    staleness_over_floor_p99: float
    final_after_end_mean: float
    final_after_end_p99: float
    final_excess_over_floor_p99: float  # (final after end − round trip) ÷ pace owed
    cpu_us_per_chunk: float  # = ms of CPU per 1,000 chunks
    virtual_seconds: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


_Group = tuple[int, str]  # (the budget's number in the platform's list, the scope's key)


def _charged(
    budgets: Sequence[Budget], keys: Mapping[str, str], kind: CallKind | None = None
) -> Iterator[tuple[_Group, Budget]]:
    """The budgets a call of ``kind`` (any kind: None) in a thread with scope ``keys`` is
    charged to, each with its group."""
    for number, budget in enumerate(budgets):
        if budget.scope in keys and (kind is None or budget.charges(kind)):
            yield (number, keys[budget.scope]), budget


class _Buckets:
    """One bucket at the declared rate per budget group, made on first use (the judge's
    own ``PlainBucket``, independent of the engine's)."""

    def __init__(self, budgets: Sequence[Budget]) -> None:
        self._budgets = budgets
        self._made: dict[_Group, PlainBucket] = {}

    def charged(self, keys: Mapping[str, str], kind: CallKind) -> list[PlainBucket]:
        """The buckets a call of ``kind`` in a thread with scope ``keys`` is charged to."""
        found = []
        for group, budget in _charged(self._budgets, keys, kind):
            bucket = self._made.get(group)
            if bucket is None:
                rate = budget.rate / budget.per
                bucket = self._made[group] = PlainBucket(rate=rate, burst=budget.burst)
            found.append(bucket)
        return found


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


class _Count:
    """How many spans cover each moment, and the most at once within any interval (a sparse
    table over the step function)."""

    def __init__(self, spans: Sequence[tuple[float, float]]) -> None:
        changes = sorted([(s, 1) for s, e in spans if e > s] + [(e, -1) for s, e in spans if e > s])
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
        """The most spans covering any moment of ``[start, end]``."""
        first = bisect.bisect_right(self._times, start) - 1
        last = bisect.bisect_right(self._times, end) - 1
        best = self._at(first)
        low, high = first + 1, last
        if low <= high:
            level = (high - low + 1).bit_length() - 1
            row = self._table[level]
            best = max(best, row[low], row[high - (1 << level) + 1])
        return best


@dataclass(frozen=True)
class _Plan:
    """One reply as the answer and the declared budgets alone make it (no policy involved).

    ``offsets``: characters generated after each token. ``releases``: when each message
    becomes necessary (the first token; for a further message, the token that takes the
    text past what the messages before it may hold). ``posts``: the earliest each of those
    posts may go at the declared rates. ``final``: when the whole answer may be shown at the
    earliest (the last post, if the answer had ended by then; else a final edit).
    ``starts``: the answer offset where each message begins.
    """

    offsets: tuple[int, ...]
    starts: tuple[int, ...]
    releases: tuple[float, ...]
    posts: tuple[float, ...]
    final: float
    final_is_edit: bool
    end: float  # the last token

    @property
    def settled(self) -> float:
        """Until when the reply wants calls: while it generates (refreshes), then until its
        budget-bound final text."""
        return max(self.end, self.final)

    def message_of(self, offset: int) -> int:
        """The message that holds the character before ``offset``."""
        return max(0, bisect.bisect_left(self.starts, offset) - 1)


def _releases(answer: Answer, offsets: Sequence[int], limit: int) -> tuple[list[int], list[float]]:
    """Where each message starts in the answer, and when it becomes necessary.

    The answer is laid out whole with the engine's and the baselines' layout (lengths in
    characters, as the fake platforms count them)."""
    layout = Layout(limit=limit)
    if offsets[-1] > limit:
        layout.segments(answer.text)
    starts = [0, *layout.cuts]
    releases = [answer.first_token]
    for start in starts[:-1]:
        index = min(bisect.bisect_right(offsets, start + limit), len(offsets) - 1)
        releases.append(answer.times[index])
    return starts, releases


def _plans(log: RunLog) -> list[_Plan]:
    """The budget-bound schedule of the calls no policy can avoid: one post per message when
    it becomes necessary, and a final edit at the last token unless the last post already
    carried the whole answer. Calls go in order of when they become necessary, each at the
    earliest the declared budgets (burst included) allow after the calls before it."""
    limits = log.platform.limits
    buckets = _Buckets(limits.budgets)
    offsets = [answer.offsets for answer in log.answers]
    layouts = [
        _releases(answer, offs, limits.max_message_length)
        for answer, offs in zip(log.answers, offsets, strict=True)
    ]
    posts: list[list[float]] = [[] for _ in log.answers]
    finals = [math.inf] * len(log.answers)
    edits = [False] * len(log.answers)
    due: list[tuple[float, int, int, int]] = []  # (release, order, reply, message or -1)
    order = 0
    for index, (_, releases) in enumerate(layouts):
        heapq.heappush(due, (releases[0], order, index, 0))
        order += 1
    while due:
        release, _, index, message = heapq.heappop(due)
        thread = log.threads[index]
        mine = buckets.charged(log.keys(thread), "post" if message >= 0 else "edit")
        at = max([release, *(bucket.ready_at(release) for bucket in mine)])
        for bucket in mine:
            bucket.take(at)
        answer = log.answers[index]
        if message < 0:
            finals[index] = at
            continue
        posts[index].append(at)
        releases = layouts[index][1]
        if message + 1 < len(releases):
            heapq.heappush(due, (max(releases[message + 1], at), order, index, message + 1))
        elif at >= answer.end:
            finals[index] = at  # the last post already shows the whole answer
        else:
            edits[index] = True
            heapq.heappush(due, (answer.end, order, index, -1))
        order += 1
    return [
        _Plan(
            offsets=offs,
            starts=tuple(starts),
            releases=tuple(releases),
            posts=tuple(post_times),
            final=final,
            final_is_edit=edit,
            end=answer.end,
        )
        for offs, (starts, releases), post_times, final, edit, answer in zip(
            offsets, layouts, posts, finals, edits, log.answers, strict=True
        )
    ]


class _Floors:
    """The fair-share refresh interval the declared budgets allow a chunk, identical for every
    policy: for each budget that would charge the call showing the chunk (a post while the
    chunk's message is not yet posted in the budget-bound schedule, else an edit), its
    declared pace (``per / rate``) times the most calls in play at once in its scope between
    the chunk's generation and its reply's budget-bound final text. A call is in play while
    a message waits for its post (from when it becomes necessary until its budget-bound
    post) and while a posted reply waits for its final edit (from its first budget-bound
    post until its budget-bound final text). Bursts are not counted: it is the sustained pace.
    """

    def __init__(self, log: RunLog, plans: Sequence[_Plan]) -> None:
        limits = log.platform.limits
        self._interval = limits.edit_interval
        self._budgets = limits.budgets
        spans: dict[_Group, list[tuple[float, float]]] = defaultdict(list)
        for thread, plan in zip(log.threads, plans, strict=True):
            for group, budget in _charged(self._budgets, log.keys(thread)):
                if budget.charges("post"):
                    spans[group].extend(zip(plan.releases, plan.posts, strict=True))
                if budget.charges("edit"):
                    spans[group].append((plan.posts[0], plan.settled))
        self._counts = {group: _Count(found) for group, found in spans.items()}
        self._keys: Mapping[str, Mapping[str, str]] = {
            thread: log.keys(thread) for thread in log.threads
        }

    def floor(self, *, thread: str, plan: _Plan, offset: int, at: float) -> float:
        message = plan.message_of(offset)
        kind: CallKind = "post" if plan.posts[message] > at else "edit"
        counts = [
            (budget.per / budget.rate, self._counts[group])
            for group, budget in _charged(self._budgets, self._keys[thread], kind)
        ]
        until = max(at, plan.settled)
        floor = 0.0
        # The round that shows the chunk may have begun up to one round before it was
        # generated: widen the window back by the floor until it no longer grows.
        for _ in range(ROUND_ITERATIONS):
            start = at - floor
            grown = max(
                [self._interval, *(pace * max(1, c.most(start, until)) for pace, c in counts)]
            )
            if grown <= floor + 1e-9:
                break
            floor = grown
        return floor


def _first_post_bounds(log: RunLog) -> list[float]:
    """For each reply: the earliest its first post may be sent if every first post of the
    run went in order of first token at the declared budgets (nothing else
    spending them). Every policy's first text is at least this plus the trip there."""
    buckets = _Buckets(log.platform.limits.budgets)
    bounds = [0.0] * len(log.threads)
    order = sorted(range(len(log.threads)), key=lambda i: log.answers[i].first_token)
    for index in order:
        mine = buckets.charged(log.keys(log.threads[index]), "post")
        at = log.answers[index].first_token
        at = max([at, *(bucket.ready_at(at) for bucket in mine)])
        for bucket in mine:
            bucket.take(at)
        bounds[index] = at
    return bounds


def measure(logs: Sequence[RunLog]) -> Metrics:
    """The metrics of one policy in one scenario (several runs count as one, for 1 reply)."""
    replies_total = missing = 0
    lags: list[float] = []
    floor_values: list[float] = []
    first_texts: list[float] = []
    first_after_token: list[float] = []
    first_after_bound: list[float] = []
    first_over_allowance: list[float] = []
    finals: list[float] = []
    final_excess: list[float] = []
    chunks = calls = limited = 0
    cpu = virtual = 0.0
    for log in logs:
        plans = _plans(log)
        floors = _Floors(log, plans)
        bounds = _first_post_bounds(log)
        rtt = log.platform.rtt
        for index, (thread, answer) in enumerate(zip(log.threads, log.answers, strict=True)):
            plan = plans[index]
            visible, final = _visibility(log, thread, plan.offsets[-1])
            seen = _seen_at(visible, plan.offsets)
            first = visible[0][0] if visible else math.inf
            first_texts.append(first)
            first_after_token.append(first - answer.first_token)
            bound = bounds[index]
            first_after_bound.append(first - bound)
            allowance = PACE_TOLERANCE * (bound - answer.first_token)
            first_over_allowance.append(first - bound - allowance)
            for at, offset, shown in zip(answer.times, plan.offsets, seen, strict=True):
                lag = shown - at
                floor = floors.floor(thread=thread, plan=plan, offset=offset, at=at)
                lags.append(lag)
                floor_values.append(floor)
            owed = floors.floor(thread=thread, plan=plan, offset=plan.offsets[-1], at=answer.end)
            finals.append(final - answer.end)
            final_excess.append((final - answer.end - rtt) / owed)
            missing += not math.isfinite(final)
            chunks += len(answer.tokens)
        replies_total += len(log.answers)
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
        missing_final=missing,
        first_text_mean=mean(first_texts),
        first_text_p99=percentile(first_texts, 0.99),
        first_text_after_token_max=max(first_after_token),
        first_text_after_bound_max=max(first_after_bound),
        first_text_over_allowance_max=max(first_over_allowance),
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
