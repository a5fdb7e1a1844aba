"""Locks in Redis shared by several processes: an owner token, a renewed lease, a bounded wait."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

from knowrithm_bots.core.errors import StoreError

log = logging.getLogger("knowrithm_bots.core.store")

# The first pause between attempts to take a held lock, and the longest one.
FIRST_PAUSE = 0.005
LONGEST_PAUSE = 0.1


class Script(Protocol):
    """A registered Lua script, as redis-py's ``register_script`` returns it."""

    def __call__(self, *, keys: list[str], args: list[str]) -> Awaitable[Any]: ...


Call = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]


def lease_ms(ttl: float) -> int:
    return max(1, math.ceil(ttl * 1000))


class Leases:
    """Exclusive locks whose holder proves itself with a random token.

    The holder renews its lease every third of ``ttl`` while it holds the lock, so a slow
    holder keeps it; a holder that dies stops renewing and its lock frees itself within
    ``ttl``. Only the token's owner can release it (compare-and-delete), so a holder whose
    lease ran out never frees a lock somebody else took since. A waiter polls for a little
    longer than one lease, time enough for a dead holder's lease to run out; a lock still
    held then belongs to a live holder, and the waiter raises ``StoreError`` rather than
    going ahead beside it.
    """

    def __init__(
        self, *, acquire: Script, renew: Script, release: Script, call: Call, where: str
    ) -> None:
        self._acquire = acquire
        self._renew = renew
        self._release = release
        self._call = call
        self._where = where

    @asynccontextmanager
    async def hold(self, key: str, *, name: str, ttl: float) -> AsyncIterator[None]:
        """Hold the lock stored under ``key`` (``name`` is the caller's key, for messages)."""
        token = uuid.uuid4().hex
        args = [token, str(lease_ms(ttl))]
        await self._take(key, name=name, args=args, ttl=ttl)
        renewing = asyncio.create_task(self._keep(key, name=name, args=args, every=ttl / 3))
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            try:
                await self._call(lambda: self._release(keys=[key], args=[token]))
            except StoreError as exc:
                # Not raised over the body's own outcome: the lease frees the lock anyway.
                log.warning(
                    "could not release the lock %s (%s); it frees itself within %g s",
                    name,
                    exc,
                    ttl,
                )

    async def _take(self, key: str, *, name: str, args: list[str], ttl: float) -> None:
        loop = asyncio.get_running_loop()
        asked = loop.time()
        deadline = asked + ttl + max(0.1, ttl / 4)
        pause = FIRST_PAUSE
        while not await self._call(lambda: self._acquire(keys=[key], args=args)):
            left = deadline - loop.time()
            if left <= 0:
                raise StoreError(
                    f"the lock {name} in the Redis store at {self._where} was still held "
                    f"after {loop.time() - asked:.3g} s by a holder that keeps renewing it"
                )
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, LONGEST_PAUSE)

    async def _keep(self, key: str, *, name: str, args: list[str], every: float) -> None:
        """Renew the lease until cancelled; stop once it turns out to be someone else's."""
        while True:
            await asyncio.sleep(every)
            try:
                renewed = await self._call(lambda: self._renew(keys=[key], args=args))
            except StoreError as exc:
                log.warning("could not renew the lock %s (%s); trying again", name, exc)
                continue
            if not renewed:
                log.warning(
                    "the lock %s ran out before it was renewed and may be held by another "
                    "process now",
                    name,
                )
                return
