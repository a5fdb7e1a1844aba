"""One reply's journey onto the platform: post at once, edit at the adapter's pace, roll over."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from core.adapter import Adapter, NativeStream, SupportsNativeStream
from core.clock import Clock, SystemClock
from core.errors import (
    MessageNotFound,
    NativeStreamUnavailable,
    PlatformError,
    PlatformRateLimited,
    PlatformUnavailable,
)
from core.streaming.layout import Layout

log = logging.getLogger(__name__)

T = TypeVar("T")

TYPING_REPEAT = 4.0
MAX_UNAVAILABLE_RETRIES = 5


@dataclass
class _Shown:
    id: str
    text: str


class ReplyStream:
    """Shows one growing answer in a thread with as few platform calls as keep it fresh.

    The bridge calls ``feed`` with each delta (never blocks: platform pace must not slow the
    agent's stream), then ``finish`` once with the authoritative text, which returns when that
    text is visible. The first text is posted at once; later changes are coalesced into one
    edit per ``limits.edit_interval``; before the adapter's length limit the answer rolls over
    into a new message. A 429 is waited out and the newest text sent afterwards, so nothing
    is lost; the last edit is never dropped.
    """

    def __init__(
        self,
        *,
        adapter: Adapter,
        thread: str,
        clock: Clock | None = None,
        edit_interval: float | None = None,
    ) -> None:
        self._adapter = adapter
        self._thread = thread
        self._clock = clock or SystemClock()
        self._interval = adapter.limits.edit_interval if edit_interval is None else edit_interval
        self._layout = Layout(limit=adapter.limits.max_message_length, measure=adapter.measure)
        self._text = ""
        self._final: str | None = None
        self._shown: list[_Shown] = []
        self._last_call = float("-inf")
        self._changed = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._typing: asyncio.Task[None] | None = None
        self._native_done = False

    @property
    def message_ids(self) -> list[str]:
        return [m.id for m in self._shown]

    @property
    def visible_text(self) -> str:
        return "".join(m.text for m in self._shown)

    def start(self) -> None:
        """Begin showing typing (where the platform has it) until the first text is posted."""
        if self._adapter.capabilities.typing and self._typing is None:
            self._typing = asyncio.create_task(self._keep_typing())

    def feed(self, delta: str) -> None:
        """Add a piece of the answer; shown at the next turn the pace allows."""
        if not delta or self._final is not None:
            return
        self._text += delta
        self._wake()

    async def finish(self, *, text: str) -> list[str]:
        """Show exactly ``text`` (the authoritative answer) and return the message ids."""
        self._final = text
        self._wake()
        assert self._worker is not None
        try:
            await asyncio.shield(self._worker)
        finally:
            await self._stop_typing()
        return self.message_ids

    async def fail(self, *, notice: str) -> list[str]:
        """End the reply with ``notice`` after whatever is already visible."""
        partial = self._text.rstrip()
        return await self.finish(text=f"{partial}\n\n{notice}" if partial else notice)

    async def aclose(self) -> None:
        """Stop at once (shutdown); what is visible stays as it is."""
        await self._stop_typing()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    def _wake(self) -> None:
        self._changed.set()
        if self._worker is None:
            self._worker = asyncio.create_task(self._run())

    def _target(self) -> str:
        return self._final if self._final is not None else self._text

    async def _run(self) -> None:
        if await self._run_native():
            return
        while True:
            await self._changed.wait()
            self._changed.clear()
            await self._pace()
            target = self._target()
            if target:
                await self._show(self._layout.segments(target))
            if self._final is not None and self._is_current():
                return

    async def _run_native(self) -> bool:
        """Stream natively where the adapter can; True when the reply is complete that way.

        False means: continue with post + edit (no native stream here, or it failed midway,
        in which case ``_shown`` holds the stream's leftover message, if any).
        """
        adapter = self._adapter
        if not (adapter.capabilities.native_stream and isinstance(adapter, SupportsNativeStream)):
            return False
        try:
            stream = await adapter.open_native_stream(thread=self._thread)
        except NativeStreamUnavailable as exc:
            log.info("native streaming refused in %s: %s", self._thread, exc)
            return False
        if stream is None:
            return False
        sent = ""
        try:
            while True:
                if self._final is not None:
                    return await self._finish_native(stream)
                fresh = self._text[len(sent) :]
                if fresh:
                    await self._retrying(lambda: stream.append(text=fresh))
                    sent += fresh
                    await self._stop_typing()
                    await self._pace()
                if self._final is None and self._text == sent:
                    await self._changed.wait()
                self._changed.clear()
        except NativeStreamUnavailable as exc:
            log.info("native stream ended early in %s (%s); posting instead", self._thread, exc)
            leftover = stream.leftover()
            if leftover is not None and sent:
                self._shown = [_Shown(id=leftover.id, text=sent)]
            self._wake_again()
            return False

    async def _finish_native(self, stream: NativeStream) -> bool:
        assert self._final is not None
        final = self._final
        posted = await self._retrying(lambda: stream.finish(text=final))
        if not posted:
            self._wake_again()
            return False  # nothing lasting: post the final text as ordinary messages
        self._shown = [_Shown(id=p.id, text="") for p in posted]
        self._native_done = True
        return True

    def _wake_again(self) -> None:
        self._changed.set()

    def _is_current(self) -> bool:
        if self._native_done:
            return True
        return self._target() == "" or [m.text for m in self._shown] == self._layout.segments(
            self._target()
        )

    async def _pace(self) -> None:
        if not self._shown:
            return  # the first post goes out as soon as there is text
        wait = self._last_call + self._interval - self._clock.monotonic()
        if wait > 0:
            await self._clock.sleep(wait)

    async def _show(self, segments: list[str]) -> None:
        """Bring the platform in line with ``segments``, one call at a time."""
        for index, segment in enumerate(segments):
            if index < len(self._shown):
                if self._shown[index].text != segment:
                    await self._call_edit(index, segment)
            else:
                await self._call_post(segment)
                await self._stop_typing()
        if len(self._shown) > len(segments):
            # The authoritative text is shorter than what the deltas built.
            for extra in self._shown[len(segments) :]:
                await self._retire(extra)
            del self._shown[len(segments) :]

    async def _call_post(self, text: str) -> None:
        posted = await self._retrying(lambda: self._adapter.post(thread=self._thread, text=text))
        self._shown.append(_Shown(id=posted.id, text=text))

    async def _call_edit(self, index: int, text: str) -> None:
        shown = self._shown[index]
        try:
            await self._retrying(
                lambda: self._adapter.edit(thread=self._thread, message_id=shown.id, text=text)
            )
            shown.text = text
        except MessageNotFound:
            # Someone deleted our message: show the text again rather than lose it.
            posted = await self._retrying(
                lambda: self._adapter.post(thread=self._thread, text=text)
            )
            self._shown[index] = _Shown(id=posted.id, text=text)

    async def _retire(self, shown: _Shown) -> None:
        try:
            if self._adapter.capabilities.delete:
                await self._retrying(
                    lambda: self._adapter.delete(thread=self._thread, message_id=shown.id)
                )
            else:
                await self._retrying(
                    lambda: self._adapter.edit(thread=self._thread, message_id=shown.id, text="…")
                )
        except PlatformError as exc:
            log.warning("could not retire surplus message in %s: %s", self._thread, exc)

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        unavailable = 0
        while True:
            try:
                result = await call()
                self._last_call = self._clock.monotonic()
                return result
            except PlatformRateLimited as exc:
                self._last_call = self._clock.monotonic()
                log.info("rate limited in %s; waiting %.1fs", self._thread, exc.retry_after)
                await self._clock.sleep(max(exc.retry_after, self._interval))
            except PlatformUnavailable:
                unavailable += 1
                if unavailable > MAX_UNAVAILABLE_RETRIES:
                    raise
                await self._clock.sleep(min(2.0**unavailable * 0.25, 8.0))

    async def _keep_typing(self) -> None:
        while True:
            try:
                await self._adapter.typing(thread=self._thread)
            except PlatformError as exc:
                log.debug("typing failed in %s: %s", self._thread, exc)
            await self._clock.sleep(TYPING_REPEAT)

    async def _stop_typing(self) -> None:
        task, self._typing = self._typing, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
