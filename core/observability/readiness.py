"""Whether the bot can answer now: every adapter connected, Knowrithm and the store answering."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from knowrithm_bots.core.adapter import Adapter
from knowrithm_bots.core.clock import Clock, SystemClock
from knowrithm_bots.core.errors import StoreError
from knowrithm_bots.core.store import Store

log = logging.getLogger(__name__)

__all__ = ["OK", "CachedProbe", "Readiness", "ReadinessReport"]

OK = "ok"
# A probe that takes longer than this counts as failed: a readiness check must answer fast.
PROBE_TIMEOUT = 3.0
STORE_PROBE_KEY = "probe:ready"


@dataclass(frozen=True, kw_only=True)
class ReadinessReport:
    """One sentence-sized state per check (``OK`` when it passed), in a stable order."""

    checks: Mapping[str, str]

    @property
    def ready(self) -> bool:
        return all(state == OK for state in self.checks.values())

    def not_ready(self) -> list[str]:
        return [name for name, state in self.checks.items() if state != OK]


class CachedProbe:
    """Runs an async check at most once per ``ttl`` seconds; callers meanwhile share the
    answer (and an answer in progress), so a busy prober never loads the checked service."""

    def __init__(
        self,
        probe: Callable[[], Awaitable[str]],
        *,
        ttl: float,
        clock: Clock,
        timeout: float = PROBE_TIMEOUT,
    ) -> None:
        self._probe = probe
        self._ttl = ttl
        self._clock = clock
        self._timeout = timeout
        self._answer: str | None = None
        self._at = float("-inf")
        self._running: asyncio.Future[str] | None = None

    async def state(self) -> str:
        if self._answer is not None and self._clock.monotonic() - self._at < self._ttl:
            return self._answer
        if self._running is None:
            self._running = asyncio.ensure_future(self._run())
        running = self._running
        # Shielded: one caller giving up (a scrape timing out) must not cancel the others'.
        return await asyncio.shield(running)

    async def _run(self) -> str:
        try:
            try:
                answer = await asyncio.wait_for(self._probe(), timeout=self._timeout)
            except TimeoutError:
                answer = f"no answer within {self._timeout:g} s"
            except Exception as exc:
                log.warning("readiness probe failed: %s", exc)
                answer = str(exc) or type(exc).__name__
            self._answer, self._at = answer, self._clock.monotonic()
            return answer
        finally:
            self._running = None


class Readiness:
    """The checks behind ``/readyz``.

    ``adapters`` are ready while ``started()`` is true, the runner has not given them up
    (``failed()`` names the ones that stopped for good) and each says it is ``connected``.
    ``knowrithm`` is the client's ``health`` probe and the store is read once; both are
    cached for ``ttl`` seconds, since load balancers probe often.
    """

    def __init__(
        self,
        *,
        adapters: Mapping[str, Adapter],
        knowrithm_health: Callable[[], Awaitable[bool]],
        store: Store,
        started: Callable[[], bool],
        failed: Callable[[], Mapping[str, str]],
        ttl: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        clock = clock or SystemClock()
        self._adapters = dict(adapters)
        self._started = started
        self._failed = failed
        self._health = knowrithm_health
        self._store = store
        self._knowrithm = CachedProbe(self._probe_knowrithm, ttl=ttl, clock=clock)
        self._store_probe = CachedProbe(self._probe_store, ttl=ttl, clock=clock)

    async def report(self) -> ReadinessReport:
        checks: dict[str, str] = {}
        started = self._started()
        failed = self._failed()
        for name, adapter in self._adapters.items():
            if name in failed:
                state = failed[name]
            elif not started:
                state = "not taking messages (starting or stopping)"
            elif not adapter.connected:
                state = "not connected to its platform"
            else:
                state = OK
            checks[f"adapter:{name}"] = state
        knowrithm, store = await asyncio.gather(self._knowrithm.state(), self._store_probe.state())
        checks["knowrithm"] = knowrithm
        checks["store"] = store
        return ReadinessReport(checks=checks)

    async def _probe_knowrithm(self) -> str:
        return OK if await self._health() else "Knowrithm does not answer its health check"

    async def _probe_store(self) -> str:
        try:
            await self._store.get(STORE_PROBE_KEY)
        except StoreError as exc:
            return f"the store does not answer: {exc}"
        return OK
