"""Plumbing shared by the conformance checks: timeouts, the recorder, waiting for text.

Every check that runs the adapter also passes each thread key it delivered through the
adapter's ``thread_codec``, when it declares one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, ClassVar, NoReturn, TypeVar

import pytest

from knowrithm_bots.core.adapter import Adapter, Posted
from knowrithm_bots.core.errors import PlatformError
from knowrithm_bots.core.events import Inbound, Reaction
from knowrithm_bots.core.testing.conformance.codec import codec_problem, own_key_problem
from knowrithm_bots.core.testing.conformance.harness import AdapterHarness
from knowrithm_bots.core.testing.conformance.recorder import EventRecorder
from knowrithm_bots.core.testing.conformance.texts import normalized

T = TypeVar("T")

A, B = "a", "b"  # the two places the checks ask the harness for


def fail(message: str) -> NoReturn:
    """End the check with ``message`` (no traceback: the message says what to fix)."""
    pytest.fail(message, pytrace=False)


def check(condition: object, *, message: str) -> None:
    if not condition:
        fail(message)


def shows(text: str) -> Callable[[list[str]], bool]:
    return lambda shown: text in shown


def shows_whole(text: str) -> Callable[[list[str]], bool]:
    return lambda shown: normalized(text) in map(normalized, shown)


def shows_at(*, index: int, text: str, count: int) -> Callable[[list[str]], bool]:
    return lambda shown: len(shown) == count and shown[index] == text


class ConformanceBase:
    """What every group of checks shares: the ``harness`` fixture to override, the time
    limits, and helpers that call the adapter the way the bridge does."""

    pytestmark: ClassVar[Any] = pytest.mark.asyncio
    timeout: ClassVar[float] = 5.0
    task_grace: ClassVar[float] = 1.0

    @pytest.fixture
    def harness(self) -> AdapterHarness:
        fail("define a `harness` fixture in your AdapterConformance subclass")

    def is_platform_task(self, task: asyncio.Task[Any]) -> bool:
        """True for tasks of the platform fake, which the leftover-task check ignores."""
        return False

    # --- plumbing --------------------------------------------------------------------------

    async def _within(self, call: Awaitable[T], what: str, *, factor: float = 1) -> T:
        limit = self.timeout * factor
        deadline = asyncio.timeout(limit)
        try:
            async with deadline:
                return await call
        except TimeoutError:
            if deadline.expired():
                fail(f"{what} did not return within {limit:g} s")
            raise

    @asynccontextmanager
    async def _running(self, harness: AdapterHarness) -> AsyncIterator[EventRecorder]:
        recorder = EventRecorder()
        adapter = harness.adapter
        await self._within(adapter.start(sink=recorder), "start()")
        try:
            yield recorder
            self._check_thread_keys(adapter, recorder)
        finally:
            await self._within(adapter.stop(), "stop()")

    def _check_thread_keys(self, adapter: Adapter, recorder: EventRecorder) -> None:
        """Every thread key the adapter delivered survives its declared ``thread_codec``."""
        cls = type(adapter)
        codec = cls.thread_codec
        if codec is None:
            return
        problem = codec_problem(codec)
        if problem is not None:
            fail(problem)
        events: list[Inbound | Reaction] = [*recorder.messages, *recorder.reactions]
        for thread in dict.fromkeys(event.thread for event in events):
            problem = own_key_problem(codec=codec, name=cls.name, thread=thread)
            if problem is not None:
                fail(problem)

    async def _receive(
        self, harness: AdapterHarness, recorder: EventRecorder, *, place: str, text: str
    ) -> Inbound:
        await harness.user_message(place=place, text=text)
        try:
            return await recorder.message_with(text, within=self.timeout)
        except TimeoutError:
            fail(
                f"a user's message {text!r} in place {place!r} did not reach the sink within "
                f"{self.timeout:g} s (the adapter delivered {len(recorder.messages)} other(s))"
            )

    async def _post(self, adapter: Adapter, *, thread: str, text: str) -> Posted:
        try:
            posted = await self._within(adapter.post(thread=thread, text=text), "post()")
        except PlatformError as exc:
            fail(f"post() of {len(text)} characters failed: {type(exc).__name__}: {exc}")
        check(
            isinstance(posted, Posted) and isinstance(posted.id, str) and posted.id,
            message=f"post() returned {posted!r}, not a core.adapter.Posted with a non-empty id",
        )
        return posted

    async def _visible_until(
        self,
        harness: AdapterHarness,
        *,
        place: str,
        condition: Callable[[list[str]], bool],
        expected: str,
    ) -> list[str]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            shown = await harness.visible(place=place)
            if condition(shown):
                return shown
            if loop.time() > deadline:
                preview = [s if len(s) < 80 else s[:77] + "..." for s in shown[-4:]]
                fail(f"place {place!r} should show {expected}, but shows {preview}")
            await asyncio.sleep(0.01)

    def _require(self, condition: bool, reason: str) -> None:
        if not condition:
            pytest.skip(reason)
