"""The last step of a turn when other instances share the budgets: a take from the shared store.

The pacer grants a turn by its own buckets first (they keep the local order and the 429
slowdown); for the buckets whose budget other instances spend too, the turn then waits for
the shared store (``SharedBudgets``) to give a token. Turns waiting for the same shared
buckets queue in one ``_Gate``, most urgent first, and only its head asks the store: a reply
waiting for Redis to refill never holds up a reply charged to other buckets, and a first
post arriving while a refresh waits is asked for before it.

When the store cannot be reached, turns go by the local buckets alone (one warning, and the
store is asked again every ``RETRY_OUTAGE`` seconds); answers never stop for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import logging
import math
from collections.abc import Awaitable, Callable, Sequence

from knowrithm_bots.core.clock import Clock
from knowrithm_bots.core.errors import StoreError
from knowrithm_bots.core.streaming.budgets import TokenBucket
from knowrithm_bots.core.streaming.shared_budgets import (
    SharedBucket,
    SharedBudgets,
    SharedLevel,
    SharedState,
)

log = logging.getLogger("knowrithm_bots.core.streaming")

# After a failed take, turns go by local buckets alone for this long before the store is
# asked again: an outage must not cost every call a connection attempt.
RETRY_OUTAGE = 2.0


class SharedPacing:
    """Takes the pacer's turns from budgets shared with other instances."""

    def __init__(self, *, budgets: SharedBudgets, clock: Clock) -> None:
        self._budgets = budgets
        self._clock = clock
        self._gates: dict[tuple[str, ...], _Gate] = {}
        self._down_until = -math.inf
        self._outage: str | None = None
        # 429s being written to the store: kept so they are not collected mid-way.
        self._blocking: set[asyncio.Task[None]] = set()

    @property
    def degraded(self) -> bool:
        """The shared store failed last time it was asked: local buckets alone pace."""
        return self._outage is not None

    async def take(
        self, *, buckets: Sequence[TokenBucket], rank: tuple[float, int], full: bool
    ) -> float:
        """Wait until the shared twins of ``buckets`` give one call (``full``: without
        spending their burst), or the store fails; ``rank`` orders waiters, lowest first.
        Return when the take that gave the call was sent: the store granted it after that."""
        key = tuple(_state(bucket).key for bucket in buckets)
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = _Gate(
                attempt=functools.partial(self._attempt, tuple(buckets)),
                clock=self._clock,
                done=functools.partial(self._gates.pop, key, None),
            )
        return await gate.wait(rank=rank, full=full)

    async def try_take(self, *, buckets: Sequence[TokenBucket]) -> float | None:
        """Ask the store once for one call from the shared twins of ``buckets`` that spends
        none of their burst, for a call nobody waits on: when the take was sent if it was
        given (or the store is out), else None. Never queues behind the turns that wait."""
        keys = {_state(bucket).key for bucket in buckets}
        if any(keys.intersection(key) and gate.busy for key, gate in self._gates.items()):
            return None  # turns of this instance wait for the same shared buckets
        asked = self._clock.monotonic()
        wait = await self._attempt(tuple(buckets), full=True)
        return asked if wait <= 0.0 else None

    def block(self, *, buckets: Sequence[TokenBucket], retry_after: float) -> None:
        """Tell the other instances about a 429 on ``buckets`` (in the background: the
        caller waits ``retry_after`` anyway)."""
        now = self._clock.monotonic()
        for bucket in buckets:
            state = _state(bucket)
            state.saw(SharedLevel(tokens=0.0, blocked_for=retry_after, scale=bucket.scale), now=now)
        if now < self._down_until:
            return
        task = asyncio.create_task(self._block(buckets, retry_after), name="shared 429")
        self._blocking.add(task)
        task.add_done_callback(self._blocking.discard)

    def level(self, bucket: TokenBucket, *, now: float) -> tuple[float, float] | None:
        """The share of the burst ``bucket``'s shared twin holds as last seen, and the share
        of the declared rate in force there; None when the store is out (the local bucket
        is what paces then) or was never asked."""
        state = bucket.shared
        if state is None or self.degraded:
            return None
        headroom = state.headroom(now=now, rate=bucket.rate, burst=bucket.burst)
        return None if headroom is None else (headroom, state.scale)

    # --- talking to the store -------------------------------------------------------------

    async def _attempt(self, buckets: Sequence[TokenBucket], *, full: bool) -> float:
        """One take for ``buckets``: 0 when granted (or the store is out), else the wait."""
        if self._clock.monotonic() < self._down_until:
            return 0.0
        wanted = [
            SharedBucket(
                key=_state(bucket).key,
                rate=bucket.rate,
                burst=bucket.burst,
                need=bucket.need(full=full),
            )
            for bucket in buckets
        ]
        try:
            grant = await self._budgets.take(buckets=wanted)
        except StoreError as exc:
            self._failed(exc)
            return 0.0
        except Exception:
            # A bug in the shared store's code: answers still go, paced locally.
            log.exception("the shared rate budgets at %s failed", self._budgets.where)
            self._failed(StoreError(f"the shared rate budgets at {self._budgets.where} failed"))
            return 0.0
        self._worked()
        now = self._clock.monotonic()
        for bucket, level in zip(buckets, grant.levels, strict=False):
            _state(bucket).saw(level, now=now)
        return max(0.0, grant.wait)

    async def _block(self, buckets: Sequence[TokenBucket], retry_after: float) -> None:
        wanted = [
            SharedBucket(key=_state(bucket).key, rate=bucket.rate, burst=bucket.burst, need=1.0)
            for bucket in buckets
        ]
        try:
            await self._budgets.block(buckets=wanted, retry_after=retry_after)
        except StoreError as exc:
            self._failed(exc)
            return
        except Exception:
            log.exception("the shared rate budgets at %s failed", self._budgets.where)
            return
        self._worked()

    def _failed(self, exc: StoreError) -> None:
        self._down_until = self._clock.monotonic() + RETRY_OUTAGE
        if self._outage is None:
            log.warning(
                "%s; until it works again each instance paces by its own budgets, and "
                "together they may go over the platform's",
                exc,
            )
        self._outage = str(exc)

    def _worked(self) -> None:
        if self._outage is not None:
            log.warning("the shared rate budgets at %s work again", self._budgets.where)
            self._outage = None
        self._down_until = -math.inf


def _state(bucket: TokenBucket) -> SharedState:
    state = bucket.shared
    assert state is not None, "only buckets with a shared twin go through SharedPacing"
    return state


class _Waiter:
    __slots__ = ("full", "future")

    def __init__(self, *, full: bool, future: asyncio.Future[float]) -> None:
        self.full = full
        self.future = future


class _Gate:
    """The turns of one instance waiting for the same shared buckets, most urgent first."""

    def __init__(
        self,
        *,
        attempt: Callable[..., Awaitable[float]],
        clock: Clock,
        done: Callable[[], object],
    ) -> None:
        # attempt(full=...): 0 when the store gave a token, else the seconds to wait.
        self._attempt = attempt
        self._clock = clock
        self._done = done
        self._heap: list[tuple[tuple[float, int], _Waiter]] = []
        self._wake = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None

    async def wait(self, *, rank: tuple[float, int], full: bool) -> float:
        waiter = _Waiter(full=full, future=asyncio.get_running_loop().create_future())
        heapq.heappush(self._heap, (rank, waiter))
        if self._heap[0][1] is waiter:
            self._wake.set()  # more urgent than the one being asked for: ask again for it
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="shared budget gate")
        try:
            return await waiter.future
        except asyncio.CancelledError:
            self._wake.set()  # it may be the head the runner is sleeping for
            raise

    @property
    def busy(self) -> bool:
        """Whether a turn waits here."""
        return self._head() is not None

    def _head(self) -> _Waiter | None:
        while self._heap and self._heap[0][1].future.done():
            heapq.heappop(self._heap)
        return self._heap[0][1] if self._heap else None

    async def _run(self) -> None:
        try:
            while (head := self._head()) is not None:
                self._wake.clear()
                asked = self._clock.monotonic()
                wait = await self._attempt(full=head.full)
                if wait <= 0.0:
                    # The token goes to whoever is most urgent now; one who came meanwhile
                    # needs no more than the one it was asked for (urgent ranks first).
                    granted = self._head()
                    if granted is not None:
                        heapq.heappop(self._heap)
                        granted.future.set_result(asked)
                    continue
                await self._sleep(wait)
        finally:
            self._runner = None
            if self._head() is None:
                self._done()

    async def _sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, or until a more urgent waiter comes or the head leaves."""
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, woken):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
