"""Chooses which waiting reply makes the next platform call when a budget has room.

Calls that need exactly the same budgets form a ``Lane``; inside a lane the waiter whose
visible text is stalest (oldest unshown text) goes first. A lane that cannot go yet is
parked at the budget that holds it back; when that budget refills, the lanes parked there
are released stalest first, so a burst of replies in one chat shares the chat's pace
round-robin by staleness, and each grant costs O(log n) however many replies wait.

A waiter marked ``full`` (a refresh mid-answer) goes only when its buckets are full (or
slowed by a 429: then there is no burst left to keep), so it spends the budgets' sustained
rate but never their burst: the burst stays for the calls a user waits on (first posts,
final texts), which also rank first.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools

from knowrithm_bots.core.streaming.budgets import EPSILON, TokenBucket


class Waiter:
    """One call waiting for its turn; ``since`` is when its oldest unshown text arrived. The
    future gives the moment the turn was granted."""

    __slots__ = ("cancelled", "full", "future", "seq", "since")

    def __init__(
        self, *, since: float, seq: int, future: asyncio.Future[float], full: bool = False
    ) -> None:
        self.since = since
        self.seq = seq
        self.future = future
        self.full = full
        self.cancelled = False

    def key(self) -> tuple[float, int]:
        return (self.since, self.seq)


class Lane:
    """Waiters whose calls are charged to the same buckets, served stalest first."""

    __slots__ = ("_heap", "buckets", "parked_at", "source", "version")

    def __init__(self, buckets: tuple[TokenBucket, ...], *, source: int = 0) -> None:
        self.buckets = buckets
        # Which narrower scope (a chat, say) a 429 on this lane comes through: the same for
        # every lane of every reply in that scope, whatever buckets each kind of call is
        # charged to, so that only refusals in two different scopes corroborate a wider one.
        self.source = source
        self._heap: list[tuple[float, int, Waiter]] = []
        self.parked_at: TokenBucket | None = None
        self.version = 0

    def push(self, waiter: Waiter) -> None:
        heapq.heappush(self._heap, (waiter.since, waiter.seq, waiter))

    def head(self) -> Waiter | None:
        while self._heap and (self._heap[0][2].cancelled or self._heap[0][2].future.done()):
            heapq.heappop(self._heap)
        return self._heap[0][2] if self._heap else None

    def pop(self) -> Waiter:
        return heapq.heappop(self._heap)[2]

    def blocker(self, now: float, *, full: bool = False) -> tuple[float, TokenBucket | None]:
        """When every bucket allows a call (``full``: without spending their burst), and the
        bucket that allows it last."""
        ready, worst = now, None
        for bucket in self.buckets:
            at = bucket.ready_at(now, full=full)
            if at > ready:
                ready, worst = at, bucket
        return ready, worst


class Scheduler:
    """Grants turns to waiters as their buckets allow, stalest first; knows nothing of time.

    ``submit`` and ``dispatch`` take the current time and return nothing; the pacer asks
    ``next_deadline`` when it must look again.
    """

    def __init__(self) -> None:
        self._parked: dict[TokenBucket, list[tuple[float, int, int, Lane]]] = {}
        self._timers: list[tuple[float, int, TokenBucket]] = []
        self._timer_at: dict[TokenBucket, float] = {}
        self._seq = itertools.count()
        self.waiting = 0

    def submit(self, *, lane: Lane, waiter: Waiter, now: float) -> None:
        self.waiting += 1
        for bucket in lane.buckets:
            bucket.waiting += 1
        previous = lane.head()
        lane.push(waiter)
        if lane.parked_at is None:
            self._evaluate(lane, now)
        elif previous is None or waiter.key() < previous.key():
            self._park(lane, lane.parked_at, now)  # a staler head: take its place in line

    def cancel(self, waiter: Waiter, *, lane: Lane) -> bool:
        """Withdraw ``lane``'s waiter whose task was cancelled; True when its turn had been
        granted."""
        if waiter.cancelled:
            return False
        waiter.cancelled = True
        future = waiter.future
        if future.done() and not future.cancelled():
            return True
        self.waiting -= 1
        for bucket in lane.buckets:
            bucket.waiting -= 1
        return False

    @staticmethod
    def holds(bucket: TokenBucket) -> bool:
        """Whether some call charged to ``bucket`` waits for its turn, whichever bucket holds
        its lane back (a lane parked at its chat's bucket still needs the bot's next)."""
        return bucket.waiting > 0

    def next_deadline(self) -> float | None:
        return self._timers[0][0] if self._timers and self.waiting else None

    def dispatch(self, now: float) -> None:
        """Release the lanes whose blocking bucket has refilled by ``now``."""
        while self._timers and self._timers[0][0] <= now + EPSILON:
            at, _, bucket = heapq.heappop(self._timers)
            if self._timer_at.get(bucket) != at:
                continue  # superseded by an earlier timer for the same bucket
            del self._timer_at[bucket]
            self.wake(bucket, now)

    def wake(self, bucket: TokenBucket, now: float) -> None:
        """Release the lanes parked at ``bucket`` that it allows by ``now`` (it refilled, or
        was given back a turn that was not used), stalest first."""
        parked = self._parked.get(bucket)
        while (head := self._top(bucket)) is not None and bucket.is_ready(now, full=head.full):
            lane = heapq.heappop(parked or [])[3]
            lane.parked_at = None
            # Re-parks here only when the bucket no longer allows its head: no loop.
            self._evaluate(lane, now)
        if parked:
            self._arm(bucket, now)
        else:
            self._parked.pop(bucket, None)

    def _top(self, bucket: TokenBucket) -> Waiter | None:
        """The head of the first lane still parked at ``bucket`` (stale entries dropped)."""
        parked = self._parked.get(bucket)
        while parked:
            _, _, version, lane = parked[0]
            head = lane.head() if version == lane.version and lane.parked_at is bucket else None
            if head is not None:
                return head
            heapq.heappop(parked)
            if lane.parked_at is bucket and version == lane.version:
                lane.parked_at = None  # every waiter of the lane was withdrawn
        return None

    def _evaluate(self, lane: Lane, now: float) -> None:
        """Grant the lane's waiters while its buckets allow; park it where it is held."""
        while (head := lane.head()) is not None:
            ready, blocker = lane.blocker(now, full=head.full)
            if ready > now + EPSILON and blocker is not None:
                self._park(lane, blocker, now)
                return
            for bucket in lane.buckets:
                bucket.take(now)
                bucket.waiting -= 1
            lane.pop()
            self.waiting -= 1
            head.future.set_result(now)

    def _park(self, lane: Lane, bucket: TokenBucket, now: float) -> None:
        head = lane.head()
        assert head is not None
        lane.version += 1
        lane.parked_at = bucket
        heapq.heappush(
            self._parked.setdefault(bucket, []), (head.since, head.seq, lane.version, lane)
        )
        self._arm(bucket, now)

    def _arm(self, bucket: TokenBucket, now: float) -> None:
        head = self._top(bucket)
        if head is None:
            return
        at = bucket.ready_at(now, full=head.full)
        current = self._timer_at.get(bucket)
        if current is None or at < current:
            self._timer_at[bucket] = at
            heapq.heappush(self._timers, (at, next(self._seq), bucket))
