"""The client libraries' own queueing and 429 handling, modelled as layers around each call.

The bots the baselines imitate do not call the platform bare: they run on
python-telegram-bot, discord.py or slack_sdk, which queue calls and handle 429s. Each class
here is written from that library's source (the file and function are cited), with the
library's defaults, so every baseline runs on its platform's library as such a bot does.
The engine does not run through these layers: it paces itself.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol, TypeVar

from knowrithm_bots.core.adapter import Adapter
from knowrithm_bots.core.errors import PlatformRateLimited
from knowrithm_bots.core.limits import CallKind

T = TypeVar("T")


class Library(Protocol):
    """Sends one platform call the way a client library does."""

    async def send(self, *, kind: CallKind, thread: str, call: Callable[[], Awaitable[T]]) -> T: ...


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


# --- python-telegram-bot ---------------------------------------------------------------------


class _LeakyBucket:
    """aiolimiter's ``AsyncLimiter(max_rate, time_period)`` as PTB uses it: a bucket holding
    at most ``max_rate`` that drains at ``max_rate / time_period`` per second; a caller that
    would overflow it waits, and waiting callers go in order of arrival."""

    def __init__(self, *, max_rate: float, time_period: float) -> None:
        self._capacity = max_rate
        self._drain = max_rate / time_period
        self._level = 0.0
        self._at = 0.0

    async def acquire(self) -> None:
        now = _loop_time()
        level = max(0.0, self._level - (now - self._at) * self._drain)
        # The level may pass the capacity: the excess is callers already waiting their turn.
        wait = max(0.0, (level + 1 - self._capacity) / self._drain)
        self._level = level + 1
        self._at = now
        if wait > 0:
            await asyncio.sleep(wait)


class PtbRateLimiter:
    """python-telegram-bot's ``AIORateLimiter()`` with its defaults.

    telegram/ext/_aioratelimiter.py, ``AIORateLimiter.__init__``: ``overall_max_rate`` 30 per
    ``overall_time_period`` 1 s, ``group_max_rate`` 20 per ``group_time_period`` 60 s,
    ``max_retries`` 0. ``process_request`` treats a negative (or string) ``chat_id`` as a
    group; ``_run_request`` enters the group's limiter, then the overall one, then sends.
    With ``max_retries`` 0 a ``RetryAfter`` is re-raised at once to the bot.
    """

    def __init__(self, *, adapter: Adapter) -> None:
        self._adapter = adapter
        self._overall = _LeakyBucket(max_rate=30, time_period=1)
        self._groups: dict[str, _LeakyBucket] = {}
        self.max_retries = 0

    async def send(self, *, kind: CallKind, thread: str, call: Callable[[], Awaitable[T]]) -> T:
        group = self._adapter.budget_keys(thread=thread).get("group")
        for attempt in range(self.max_retries + 1):
            try:
                if group is not None:
                    limiter = self._groups.get(group)
                    if limiter is None:
                        limiter = self._groups[group] = _LeakyBucket(max_rate=20, time_period=60)
                    await limiter.acquire()
                await self._overall.acquire()
                return await call()
            except PlatformRateLimited as exc:
                if attempt == self.max_retries:
                    raise
                await asyncio.sleep(exc.retry_after + 0.1)
        raise AssertionError("unreachable")


# --- discord.py ------------------------------------------------------------------------------


class _Ratelimit:
    """discord.py's ``Ratelimit`` (discord/http.py): a per-bucket semaphore fed by headers.

    It starts at ``limit`` 1 with 1 remaining; ``update`` takes ``X-RateLimit-Limit``,
    ``-Remaining`` and ``-Reset-After`` from each non-429 answer. ``acquire`` waits while
    nothing remains (until woken or the bucket expires); on the way out, a request that
    leaves no tokens sleeps ``reset_after`` itself before returning (the pre-emptive sleep
    of ``__aexit__`` → ``_refresh``), then wakes as many waiters as the limit allows.
    """

    def __init__(self) -> None:
        self.limit = 1
        self.remaining = 1
        self.outgoing = 0
        self.reset_after = 0.0
        self.expires: float | None = None
        self.dirty = False
        self._pending: deque[asyncio.Future[None]] = deque()
        self._sleeping = asyncio.Lock()

    def reset(self) -> None:
        self.remaining = self.limit - self.outgoing
        self.expires = None
        self.reset_after = 0.0
        self.dirty = False

    def update(self, headers: Mapping[str, str]) -> None:
        if "X-RateLimit-Remaining" not in headers:
            return
        self.limit = int(headers.get("X-RateLimit-Limit", "1"))
        remaining = int(headers["X-RateLimit-Remaining"])
        self.remaining = min(remaining, self.limit - self.outgoing) if self.dirty else remaining
        self.dirty = True
        self.reset_after = float(headers["X-RateLimit-Reset-After"])
        self.expires = _loop_time() + self.reset_after

    def _wake(self, count: int) -> None:
        awoken = 0
        while self._pending and awoken < count:
            future = self._pending.popleft()
            if not future.done():
                future.set_result(None)
                awoken += 1

    async def _refresh(self) -> None:
        async with self._sleeping:
            await asyncio.sleep(self.reset_after)
        self.reset()
        self._wake(self.remaining)

    async def acquire(self) -> None:
        if self.expires is not None and _loop_time() > self.expires:
            self.reset()
        while self.remaining <= 0:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._pending.append(future)
            while not future.done():
                timeout = self.expires - _loop_time() if self.expires is not None else 30.0
                await asyncio.wait([future], timeout=max(0.0, timeout))
                if not future.done():
                    await self._refresh()
        self.remaining -= 1
        self.outgoing += 1

    async def release(self) -> None:
        self.outgoing -= 1
        tokens = self.remaining - self.outgoing
        if not self._sleeping.locked():
            if tokens <= 0:
                await self._refresh()
            elif self._pending:
                self._wake(tokens)


class DiscordHttp:
    """discord.py's ``HTTPClient.request`` (discord/http.py) around each call.

    The call waits for the global lock, enters its bucket's ``Ratelimit`` and tries up to 5
    times: a 429 sleeps ``retry_after`` (holding the bucket) and tries again, a global one
    also closes the global lock meanwhile; after the fifth 429 the error reaches the bot.
    Buckets are keyed by the ``X-RateLimit-Bucket`` the platform names (here every message
    route of a channel shares the channel's bucket; discord.py keys by route until it has
    seen that header, which this model skips).
    """

    def __init__(self, *, headers: Callable[[str], Mapping[str, str]], adapter: Adapter) -> None:
        self._headers = headers
        self._adapter = adapter
        self._buckets: dict[str, _Ratelimit] = {}
        self._global_over = asyncio.Event()
        self._global_over.set()

    async def send(self, *, kind: CallKind, thread: str, call: Callable[[], Awaitable[T]]) -> T:
        await self._global_over.wait()
        key = self._adapter.budget_keys(thread=thread).get("chat", thread)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Ratelimit()
        await bucket.acquire()
        try:
            last: PlatformRateLimited | None = None
            for _ in range(5):
                try:
                    result = await call()
                except PlatformRateLimited as exc:
                    last = exc
                    is_global = bool(getattr(exc, "is_global", False))
                    if is_global:
                        self._global_over.clear()
                    await asyncio.sleep(exc.retry_after)
                    if is_global:
                        self._global_over.set()
                    continue
                bucket.update(self._headers(thread))
                return result
            assert last is not None
            raise last
        finally:
            await bucket.release()


# --- slack_sdk -------------------------------------------------------------------------------


class SlackRetry:
    """slack_sdk's ``AsyncRateLimitErrorRetryHandler()`` (slack_sdk/http_retry/
    builtin_async_handlers.py): no client-side queue; a 429 sleeps ``int(Retry-After)`` plus
    a random fraction of a second (``prepare_for_next_attempt_async``) and retries, at most
    ``max_retry_count`` 1 time (``AsyncRetryHandler.__init__``), then ``SlackApiError``
    reaches the bot. slack_sdk installs it only when asked (its default handlers retry
    connection errors alone); a bot that streams answers is assumed to ask.
    """

    def __init__(self, *, rng: random.Random) -> None:
        self._rng = rng
        self.max_retry_count = 1

    async def send(self, *, kind: CallKind, thread: str, call: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            try:
                return await call()
            except PlatformRateLimited as exc:
                if attempt >= self.max_retry_count:
                    raise
                attempt += 1
                await asyncio.sleep(math.floor(exc.retry_after) + self._rng.random())


def library_for(*, platform: str, adapter: Adapter, seed: int) -> Library:
    """The client library the bots on ``platform`` run on."""
    if platform == "telegram":
        return PtbRateLimiter(adapter=adapter)
    if platform == "discord":
        headers: Callable[[str], Mapping[str, str]] = getattr(
            adapter, "header_of", lambda thread: {}
        )
        return DiscordHttp(headers=headers, adapter=adapter)
    if platform == "slack":
        return SlackRetry(rng=random.Random(f"{seed}:slack_sdk"))
    raise ValueError(f"no client library is modelled for {platform!r}")
