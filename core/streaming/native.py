"""Streaming through a platform's native streamed message, paced like edits, with fallback."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from knowrithm_bots.core.adapter import NativeStream, Posted
from knowrithm_bots.core.clock import Clock
from knowrithm_bots.core.errors import (
    NativeStreamUnavailable,
    PlatformRateLimited,
    PlatformUnavailable,
)
from knowrithm_bots.core.streaming.backoff import Outages
from knowrithm_bots.core.streaming.pacer import Pacer
from knowrithm_bots.core.streaming.progress import Progress
from knowrithm_bots.core.streaming.scheduler import Lane

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class NativeOutcome:
    """How a native stream ended.

    ``posted`` non-empty: the reply is complete and these messages hold it. Otherwise
    post + edit takes over: ``leftover`` (when not None) still shows ``sent`` and is edited
    from there; with no leftover nothing of the stream stays visible.
    """

    posted: tuple[Posted, ...] = ()
    leftover: Posted | None = None
    sent: str = ""


class Source(Protocol):
    """What the native phase reads from its reply."""

    @property
    def text(self) -> str:
        """Everything fed so far."""
        ...

    @property
    def final(self) -> str | None:
        """The authoritative text once ``finish`` was called."""
        ...

    async def changed(self) -> None:
        """Return once ``text`` or ``final`` may have changed."""
        ...


@dataclass(kw_only=True)
class NativePhase:
    """Drives one native stream: appends the new text at the pace allowed, then finishes.

    Every append and the finish take a turn from the pacer (budget kind ``"append"``);
    appends keep ``interval`` seconds apart, the finish only ``final_interval`` after the
    last call (the budgets still pace it, as they pace a final edit). A 429 backs off and
    the next append carries everything that arrived meanwhile. When the platform refuses or
    expires the stream (or keeps failing), the outcome tells post + edit where to pick up,
    so no text is lost or repeated.
    """

    stream: NativeStream
    source: Source
    pacer: Pacer
    lane: Lane
    clock: Clock
    progress: Progress
    interval: float
    on_visible: Callable[[], Awaitable[None]]
    thread: str = ""
    # Told the id of the stream's message once it shows (as ``NativeStream.leftover`` says).
    on_message: Callable[[str], Awaitable[None]] | None = None
    # The per-message interval the finish keeps; None: ``interval``.
    final_interval: float | None = None

    async def run(self) -> NativeOutcome:
        sent = ""
        last_call = float("-inf")
        not_before = float("-inf")
        outages = Outages()
        while True:
            final = self.source.final
            fresh = self.source.text[len(sent) :]
            if final is None and not fresh.strip():
                await self.source.changed()
                continue
            gap = self.interval
            if final is not None and self.final_interval is not None:
                gap = self.final_interval
            wait = max(last_call + gap, not_before) - self.clock.monotonic()
            if wait > 0:
                await self.clock.sleep(wait)
            # The finish shows the final text: it ranks with final texts (before refreshes,
            # and it may spend the burst) rather than wait for the bucket to fill again.
            await self.pacer.turn(
                lane=self.lane,
                since=self.progress.since_or_now(),
                first=not sent,
                final=final is not None,
            )
            final = self.source.final
            fresh = self.source.text[len(sent) :]
            try:
                if final is not None:
                    posted = await self.stream.finish(text=final)
                    self.pacer.succeeded(lane=self.lane)
                    return NativeOutcome(posted=tuple(posted), sent=sent)
                await self.stream.append(text=fresh)
            except PlatformRateLimited as exc:
                wait = self.pacer.rate_limited(lane=self.lane, retry_after=exc.retry_after)
                log.info("native stream in %s rate limited for %.1fs", self.thread, wait)
                not_before = self.clock.monotonic() + wait
                continue
            except NativeStreamUnavailable as exc:
                log.info("native stream in %s ended early (%s); posting instead", self.thread, exc)
                return self._fallback(sent)
            except PlatformUnavailable as exc:
                delay = outages.failed()
                if delay is None:
                    log.warning("native stream in %s keeps failing (%s); posting", self.thread, exc)
                    return self._fallback(sent)
                not_before = self.clock.monotonic() + delay
                continue
            finally:
                last_call = self.clock.monotonic()
            outages.recovered()
            self.pacer.succeeded(lane=self.lane)
            first = not sent
            sent += fresh
            self.progress.shown(upto=len(sent))
            await self.on_visible()
            if first and self.on_message is not None:
                leftover = self.stream.leftover()
                if leftover is not None:
                    await self.on_message(leftover.id)

    def _fallback(self, sent: str) -> NativeOutcome:
        leftover = self.stream.leftover() if sent else None
        return NativeOutcome(leftover=leftover, sent=sent if leftover is not None else "")
