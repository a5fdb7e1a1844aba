"""Conformance checks of an adapter's declarations, start and stop."""

from __future__ import annotations

import asyncio
from typing import Any

from knowrithm_bots.core.adapter import SupportsNativeStream
from knowrithm_bots.core.plugins import missing_parts
from knowrithm_bots.core.testing.conformance.base import A, ConformanceBase, check, fail
from knowrithm_bots.core.testing.conformance.harness import AdapterHarness
from knowrithm_bots.core.testing.conformance.recorder import EventRecorder
from knowrithm_bots.core.testing.conformance.texts import marker


def _is_plain(word: str) -> bool:
    """No ':' and no whitespace anywhere: the name starts every thread key."""
    return ":" not in word and not any(c.isspace() for c in word)


class LifecycleChecks(ConformanceBase):
    """Declarations are sound; start and stop are idempotent and leave nothing running."""

    async def test_declares_name_limits_and_capabilities(self, harness: AdapterHarness) -> None:
        adapter = harness.adapter
        cls = type(adapter)
        missing = missing_parts(cls)
        check(not missing, message=f"{cls.__name__} lacks {'; '.join(missing)}")
        check(
            _is_plain(cls.name),
            message=f"name {cls.name!r} must not contain ':' or spaces "
            "(thread keys start '<name>:')",
        )
        limits = cls.limits
        check(limits.max_message_length > 0, message="limits.max_message_length must be positive")
        check(limits.edit_interval >= 0, message="limits.edit_interval must not be negative")
        # Budgets check their own scope, kinds and numbers when constructed (core.limits).
        if cls.capabilities.native_stream:
            check(
                isinstance(adapter, SupportsNativeStream),
                message="capabilities.native_stream is set but open_native_stream() is missing",
            )

    async def test_stop_before_start_is_harmless(self, harness: AdapterHarness) -> None:
        await self._within(harness.adapter.stop(), "stop() before start()")

    async def test_start_and_stop_are_idempotent(self, harness: AdapterHarness) -> None:
        adapter = harness.adapter
        recorder = EventRecorder()
        before = asyncio.all_tasks()
        await self._within(adapter.start(sink=recorder), "start()")
        try:
            await self._within(adapter.start(sink=recorder), "a second start()")
            texts = [marker("once"), marker("twice")]
            for text in texts:
                event = await self._receive(harness, recorder, place=A, text=text)
                await adapter.reply_done(thread=event.thread, message_ids=[])
            copies = [m for m in recorder.messages if m.text == texts[0]]
            check(
                len(copies) == 1,
                message=f"after start() was called twice, one user message reached the sink "
                f"{len(copies)} times; a second start() must not connect again",
            )
            self._check_thread_keys(adapter, recorder)
        finally:
            await self._within(adapter.stop(), "stop()")
            await self._within(adapter.stop(), "a second stop()")
        await self._no_tasks_left(before)

    async def _no_tasks_left(self, before: set[asyncio.Task[Any]]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.task_grace
        while True:
            left = [
                t
                for t in asyncio.all_tasks()
                if t not in before
                and t is not asyncio.current_task()
                and not t.done()
                and not self.is_platform_task(t)
            ]
            if not left:
                return
            if loop.time() > deadline:
                names = ", ".join(sorted(t.get_name() for t in left))
                fail(f"stop() returned but left {len(left)} task(s) running: {names}")
            await asyncio.sleep(0.01)
