"""The process-wide pacer: every reply's platform calls share the adapters' rate budgets."""

from __future__ import annotations

import asyncio
import itertools
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from knowrithm_bots.core.adapter import Adapter
from knowrithm_bots.core.clock import Clock, SystemClock
from knowrithm_bots.core.limits import CALL_KINDS, Budget, CallKind
from knowrithm_bots.core.observability.metrics import BotMetrics, BudgetLevel
from knowrithm_bots.core.streaming.backoff import rate_limit_wait
from knowrithm_bots.core.streaming.budgets import Jitter, TokenBucket
from knowrithm_bots.core.streaming.scheduler import Lane, Scheduler, Waiter
from knowrithm_bots.core.streaming.shared_budgets import SharedBudgets, SharedState, shared_key
from knowrithm_bots.core.streaming.shared_pacing import SharedPacing

_PRUNE_START = 1024
# Final texts (and posts of messages an answer rolled into) are ranked as if their text were
# this much older, and replies showing nothing yet twice as much: a user waiting for the end
# or for the first words waits on that very call, one whose answer is merely behind waits on
# the next refresh anyway; and the first words come before the end of an answer already seen.
FIRST_TEXT_PRIORITY = 1e9

# Calls no declared budget covers may go this many at once, then one per edit_interval.
FALLBACK_BURST = 3


def _fallback_budget(adapter: Adapter) -> Budget | None:
    interval = adapter.limits.edit_interval
    if interval <= 0:
        return None
    return Budget(scope="thread", rate=1.0, per=interval, burst=FALLBACK_BURST)


@dataclass(eq=False, kw_only=True)
class Route:
    """The lanes one thread's calls queue in, one per kind of call.

    ``budget_interval`` is the declared pace (``per / rate``) of the tightest budget its
    edits are charged to: one reply refreshing alone never goes faster, so bursts are kept
    for first posts, final edits and the other replies; and it is the staleness a reply
    alone in its scopes is measured against.
    """

    lanes: Mapping[CallKind, Lane] = field(default_factory=dict)
    budget_interval: float = 0.0
    jitter: Jitter = field(default_factory=Jitter)

    def lane(self, kind: CallKind) -> Lane:
        return self.lanes[kind]


class Pacer:
    """Hands out turns for platform calls so that no budget of any adapter is exceeded.

    One pacer serves the whole process (the bridge creates it and gives it to every
    ``ReplyStream``), so concurrent replies in one chat, workspace or bot share that
    scope's budget. Budgets are data: ``adapter.limits.budgets`` says how fast, and
    ``adapter.budget_keys(thread=)`` which chat, group or workspace a thread counts against;
    a budget whose scope the thread has no key for does not apply to it. When several
    replies wait for the same budget, replies showing nothing yet go first, then final texts,
    then the refresh whose visible text is stalest. Refreshes spend a budget's sustained
    rate and its burst only down to ``URGENT_RESERVE`` calls, which are kept for first posts
    and final texts.

    Calls are paced at the full declared rates, no share of them left unused: arrival
    jitter is covered by keeping back ``rate × jitter`` of every burst, the jitter being the
    spread of the round trips the replies measured on that adapter (``observed``), which
    costs a moment once, not a share of every second.

    A 429 (``rate_limited``) pauses every scope the call was charged to (a budget with
    ``shared_backoff=False`` only when calls of two different lanes, so two narrower scopes,
    were refused within ``CORROBORATION_WINDOW``) for the platform's ``retry_after`` and
    slows them down;
    successful calls (``succeeded``) and quiet time earn the rate back. Calls no declared
    budget covers are charged to a bucket of their thread's own at the adapter's
    ``edit_interval`` (burst ``FALLBACK_BURST``), so 429s back them off too.

    With ``shared`` (the Redis store's budgets), the budgets that several instances spend
    together (``Budget.shared``: every scope but a thread) are also taken from the shared
    store, the authority on them, so N instances together keep to one platform budget; the
    local buckets stay the first gate, and alone pace per-thread budgets. A 429 one instance
    meets blocks the shared bucket for every instance. While the store cannot be reached,
    the local buckets alone pace (see ``SharedPacing``).

    With ``metrics``, every call reported through ``succeeded`` or ``rate_limited`` is
    counted once per budget scope it was charged to (calls no bucket paces are not
    counted), and the budgets' levels (``budget_levels``) are read when metrics are
    collected.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        metrics: BotMetrics | None = None,
        shared: SharedBudgets | None = None,
    ) -> None:
        self._clock = clock or SystemClock()
        self._shared = None if shared is None else SharedPacing(budgets=shared, clock=self._clock)
        # None when metrics are off: the hot path then skips them with one test.
        self._metrics = metrics if metrics is not None and metrics.enabled else None
        if self._metrics is not None:
            self._metrics.watch_budgets(self.budget_levels)
        self._scheduler = Scheduler()
        self._buckets: dict[tuple[str, Budget, str], TokenBucket] = {}
        self._seq = itertools.count()
        self._timer: asyncio.Task[None] | None = None
        self._timer_at = float("inf")
        self._prune_at = _PRUNE_START
        self._routes: weakref.WeakSet[Route] = weakref.WeakSet()
        self._jitter: dict[str, Jitter] = {}

    def route(self, *, adapter: Adapter, thread: str) -> Route:
        """The lanes for ``thread``'s calls; look it up once per reply."""
        keys = adapter.budget_keys(thread=thread)
        budgets = adapter.limits.budgets
        applicable = [(budget, keys[budget.scope]) for budget in budgets if budget.scope in keys]
        fallback = _fallback_budget(adapter)
        jitter = self._jitter.setdefault(adapter.name, Jitter())
        # Before any of this route's buckets exists: a prune in the middle would forget the
        # ones made so far, which no registered route holds yet.
        if len(self._buckets) + len(applicable) + 1 >= self._prune_at:
            self._prune()
        declared = [
            (budget, self._bucket(adapter.name, budget, key, jitter=jitter))
            for budget, key in applicable
        ]
        charged: dict[CallKind, tuple[TokenBucket, ...]] = {}
        for kind in CALL_KINDS:
            buckets = tuple(bucket for budget, bucket in declared if budget.charges(kind))
            if not buckets and fallback is not None:
                # No declared budget covers this call: a bucket of the thread's own still
                # paces it and takes the platform's 429s, so a backoff is not a no-op.
                buckets = (self._bucket(adapter.name, fallback, thread, jitter=jitter),)
            charged[kind] = buckets
        # The thread's narrower declared scopes, whichever kind of call names them: a typing
        # notice charged only to the bot's budget still comes from its chat.
        narrower = sorted({id(bucket) for _, bucket in declared if bucket.backs_off})
        source = hash(tuple(narrower))
        lanes: dict[CallKind, Lane] = {}
        by_buckets: dict[tuple[int, ...], Lane] = {}
        for kind, buckets in charged.items():
            # Kinds charged to the same buckets share one lane, so they queue together.
            identity = tuple(id(b) for b in buckets)
            lane = by_buckets.get(identity)
            if lane is None:
                # One lane per reply is enough: a reply makes one call at a time, and
                # replies sharing a chat meet in the chat's bucket, ordered by staleness.
                lane = by_buckets[identity] = Lane(buckets, source=source)
            lanes[kind] = lane
        interval = max(
            (budget.per / budget.rate for budget, _ in applicable if budget.charges("edit")),
            default=0.0,
        )
        route = Route(lanes=lanes, budget_interval=interval, jitter=jitter)
        self._routes.add(route)
        return route

    async def turn(
        self, *, lane: Lane, since: float, first: bool = False, final: bool = False
    ) -> float:
        """Wait until a call charged to ``lane`` may go; ``since`` is when the oldest text
        this call will show arrived (staler goes first). ``first`` marks a reply with
        nothing visible yet, ``final`` a call the reply cannot do without (its final text,
        or the post of a message it rolled into): first posts go before those, and those
        before every refresh; only they may spend the burst's last ``URGENT_RESERVE`` calls.
        The turn is spent on return: give it back with ``refund`` if the call is not made.

        Return the moment the buckets were charged (for a shared budget, when the store was
        asked): the call's arrival is uncertain from then on, so a round trip counted from
        it measures the arrival jitter (``observed``) with the wait to send included."""
        if not lane.buckets:
            return self._clock.monotonic()
        loop = asyncio.get_running_loop()
        urgent = first or final
        rank = since - FIRST_TEXT_PRIORITY * (2 if first else 1 if final else 0)
        waiter = Waiter(
            since=rank, seq=next(self._seq), future=loop.create_future(), full=not urgent
        )
        self._scheduler.submit(lane=lane, waiter=waiter, now=self._clock.monotonic())
        if not waiter.future.done():
            self._arm()
        try:
            charged = await waiter.future
        except asyncio.CancelledError:
            if self._scheduler.cancel(waiter, lane=lane):
                self.refund(lane=lane)
            if not self._scheduler.waiting:
                self._stop_timer()
            raise
        shared = self._shared
        if shared is None:
            return charged
        twins = [bucket for bucket in lane.buckets if bucket.shared is not None]
        if not twins:
            return charged
        try:
            return await shared.take(buckets=twins, rank=(rank, waiter.seq), full=not urgent)
        except asyncio.CancelledError:
            self.refund(lane=lane)  # the local turn was granted; the shared one never was
            raise

    async def spare(self, *, lane: Lane) -> float | None:
        """A turn for a call nobody waits on (a typing notice), only if it costs nobody a
        wait: every bucket of ``lane`` is at its full rate, has room beyond what a refresh
        leaves (``TokenBucket.has_spare``) and holds no waiting call. Never waits for a
        bucket to refill; with shared budgets the store is asked once. Return the moment the
        turn was charged, as ``turn`` does, or None when there is nothing to spare now.
        A turn granted is spent: report the call with ``succeeded`` or ``rate_limited``, or
        give it back with ``refund``."""
        now = self._clock.monotonic()
        buckets = lane.buckets
        if not buckets:
            return now
        scheduler = self._scheduler
        if any(scheduler.holds(bucket) or not bucket.has_spare(now) for bucket in buckets):
            return None
        for bucket in buckets:
            bucket.take(now)
        shared = self._shared
        twins = [bucket for bucket in buckets if bucket.shared is not None]
        if shared is None or not twins:
            return now
        try:
            charged = await shared.try_take(buckets=twins)
        except BaseException:
            self.refund(lane=lane)
            raise
        if charged is None:
            self.refund(lane=lane)  # the other instances spent the room meanwhile
        return charged

    def refund(self, *, lane: Lane) -> None:
        """Return an unused turn (to the local buckets: a token taken from a shared one
        stays spent, which errs on the safe side). A call held back meanwhile by the turn
        given back goes at once, not when its timer would have fired."""
        now = self._clock.monotonic()
        for bucket in lane.buckets:
            bucket.refund(now)
        scheduler = self._scheduler
        for bucket in lane.buckets:
            scheduler.wake(bucket, now)
        if scheduler.waiting:
            self._arm()

    def succeeded(self, *, lane: Lane, charged: float | None = None) -> None:
        """A call charged to ``lane`` (at ``charged``, when known) went through."""
        for bucket in lane.buckets:
            bucket.succeeded(charged=charged)
        metrics = self._metrics
        if metrics is not None:
            for adapter, scope in _scopes(lane):
                metrics.platform_call(adapter=adapter, scope=scope)

    def observed(self, *, route: Route, round_trip: float) -> None:
        """A call on ``route`` took ``round_trip`` seconds: it measures the arrival jitter."""
        route.jitter.observe(round_trip)

    def rate_limited(self, *, lane: Lane, retry_after: float) -> float:
        """The platform refused a call charged to ``lane`` with a 429 asking to wait
        ``retry_after``: back off its scopes, and return the seconds the caller waits before
        its next call (``rate_limit_wait``: at least a minimum where no bucket paces it, a
        wait that is no number taken as unknown, never more than a day)."""
        wait = rate_limit_wait(retry_after, paced=bool(lane.buckets))
        now = self._clock.monotonic()
        # The narrower scopes the call came through (its chat's buckets, shared by every
        # reply there), so that two replies in one chat count as one source.
        source = lane.source
        backing_off = [
            bucket
            for bucket in lane.buckets
            if bucket.backs_off or bucket.corroborated(now=now, source=source)
        ]
        for bucket in backing_off:
            bucket.rate_limited(now=now, retry_after=wait)
        if self._shared is not None:
            twins = [b for b in backing_off if b.shared is not None]
            if twins:
                self._shared.block(buckets=twins, retry_after=wait)
        metrics = self._metrics
        if metrics is not None:
            for adapter, scope in _scopes(lane):
                metrics.rate_limited(adapter=adapter, scope=scope, retry_after=wait)
        return wait

    def budget_levels(self) -> list[BudgetLevel]:
        """For each adapter and budget scope in use, how much is left of its tightest bucket.

        A bucket other instances share reads its shared twin, as this instance last saw it
        (refilled since at the budget's rate): a scrape must not wait on Redis, and the
        local bucket, only the first gate, would show room the others already spent."""
        now = self._clock.monotonic()
        levels: dict[tuple[str, str], tuple[float, float]] = {}
        shared = self._shared
        for bucket in list(self._buckets.values()):
            level = None if shared is None else shared.level(bucket, now=now)
            headroom, rate = level or (bucket.headroom(now), bucket.scale)
            known = levels.get(bucket.labels)
            if known is not None:
                headroom, rate = min(headroom, known[0]), min(rate, known[1])
            levels[bucket.labels] = (headroom, rate)
        return [
            BudgetLevel(adapter=adapter, scope=scope, headroom=headroom, rate=rate)
            for (adapter, scope), (headroom, rate) in sorted(levels.items())
        ]

    # --- internals -----------------------------------------------------------------------

    @property
    def bucket_count(self) -> int:
        """How many budget buckets the pacer holds (idle ones are forgotten over time)."""
        return len(self._buckets)

    def _bucket(self, adapter: str, budget: Budget, key: str, *, jitter: Jitter) -> TokenBucket:
        identity = (adapter, budget, key)
        bucket = self._buckets.get(identity)
        if bucket is None:
            twin = None
            if self._shared is not None and budget.shared:
                twin = SharedState(key=shared_key(adapter=adapter, budget=budget, scope_key=key))
            bucket = TokenBucket(
                rate=budget.rate / budget.per,
                burst=budget.burst,
                now=self._clock.monotonic(),
                backs_off=budget.shared_backoff,
                jitter=jitter,
                labels=(adapter, budget.scope),
                shared=twin,
            )
            self._buckets[identity] = bucket
        return bucket

    def _prune(self) -> None:
        """Forget buckets no live reply holds and nobody used lately: chats come and go."""
        now = self._clock.monotonic()
        busy = {
            id(bucket)
            for route in list(self._routes)
            for lane in route.lanes.values()
            for bucket in lane.buckets
        }
        self._buckets = {
            k: b for k, b in self._buckets.items() if id(b) in busy or not b.is_idle(now)
        }
        self._prune_at = max(_PRUNE_START, 2 * len(self._buckets))

    def _arm(self) -> None:
        deadline = self._scheduler.next_deadline()
        if deadline is None or deadline >= self._timer_at:
            return
        self._stop_timer()
        self._timer_at = deadline
        self._timer = asyncio.create_task(self._tick(), name="reply pacer")

    def _stop_timer(self) -> None:
        timer, self._timer = self._timer, None
        self._timer_at = float("inf")
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()

    async def _tick(self) -> None:
        while True:
            deadline = self._scheduler.next_deadline()
            if deadline is None:
                break
            self._timer_at = deadline
            wait = deadline - self._clock.monotonic()
            if wait > 0:
                await self._clock.sleep(wait)
            self._scheduler.dispatch(self._clock.monotonic())
        self._timer = None
        self._timer_at = float("inf")


def _scopes(lane: Lane) -> Iterator[tuple[str, str]]:
    """The (adapter, scope) of each of ``lane``'s buckets, each once."""
    return iter(dict.fromkeys(bucket.labels for bucket in lane.buckets))
