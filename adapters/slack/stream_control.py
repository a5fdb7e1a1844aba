"""Closing Slack chat streams: at chat.stopStream's own pace, and before any edit of one.

A stream that is still open refuses ``chat.update`` (``streaming_state_conflict``) and
``chat.delete`` (``cant_delete_message``), so a message that falls back from streaming to
editing must be stopped first (PLATFORMS.md, "Slack chat streams"). ``chat.stopStream`` is
Tier 2, far below the Tier 4 of ``chat.appendStream``: the reply engine paces both as
stream calls at Tier 4, and the stops are held here to their own tier on top of that.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from knowrithm_bots.adapters.slack.errors import StreamRefused, translated
from knowrithm_bots.adapters.slack.threads import MessageRef
from knowrithm_bots.core.bounded import Lru
from knowrithm_bots.core.errors import PlatformError, PlatformRateLimited

log = logging.getLogger(__name__)

# Tier 2: 20+ calls per minute per workspace; the burst is a starting value, not published.
STOP_STREAM_PER_MINUTE = 20.0
STOP_STREAM_BURST = 5
# Refusals that mean the stream is closed already: nothing is left to stop.
CLOSED = frozenset({"message_not_in_streaming_state", "stopped_by_user"})
_REMEMBERED = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class StreamStopper:
    """Stops streams no faster than Tier 2 per workspace, and knows which ones are open.

    ``opened``/``closed`` keep the set of streams this process started and has not seen
    end, so that an edit or a delete of one can stop it first (``close_if_open``).
    """

    def __init__(
        self,
        *,
        client: Callable[[], AsyncWebClient],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[str, _Bucket] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._open: Lru[str, bool] = Lru(size=_REMEMBERED)

    def opened(self, message: MessageRef) -> None:
        self._open.put(message.encode(), value=True)

    def closed(self, message: MessageRef) -> None:
        self._open.pop(message.encode())

    def is_open(self, message: MessageRef) -> bool:
        return message.encode() in self._open

    async def stop(self, message: MessageRef, *, markdown_text: str | None = None) -> None:
        """chat.stopStream, once the workspace's Tier 2 budget allows; raises as
        ``translated(stream=True)`` does. The stream counts as closed once stopped, or
        once Slack says it is closed already."""
        await self._turn(message.team)
        try:
            with translated(action="chat.stopStream", stream=True):
                await self._client().chat_stopStream(
                    channel=message.channel, ts=message.ts, markdown_text=markdown_text
                )
        except PlatformRateLimited as exc:
            self._slow_down(message.team, retry_after=exc.retry_after)
            raise
        except StreamRefused as exc:
            if exc.code in CLOSED:
                self.closed(message)
            raise
        self.closed(message)

    async def close_if_open(self, message: MessageRef) -> None:
        """Stop ``message`` if it is a stream this process knows to be open; a stream found
        closed already is fine. A 429 is raised (``PlatformRateLimited``) for the caller to
        wait out; other failures are logged: the caller's edit reports its own."""
        if not self.is_open(message):
            return
        try:
            await self.stop(message)
        except StreamRefused as exc:
            if exc.code not in CLOSED:
                log.info("could not stop the stream %s: %s", message.encode(), exc)
        except PlatformRateLimited:
            # The edit cannot succeed while the stream is open: the caller waits the 429
            # out and tries again, instead of failing the answer.
            raise
        except PlatformError as exc:
            log.info("could not stop the stream %s: %s", message.encode(), exc)

    async def _turn(self, team: str) -> None:
        lock = self._locks.setdefault(team, asyncio.Lock())
        rate = STOP_STREAM_PER_MINUTE / 60.0
        async with lock:
            while True:
                now = self._clock()
                bucket = self._buckets.setdefault(team, _Bucket(float(STOP_STREAM_BURST), now))
                bucket.tokens = min(
                    float(STOP_STREAM_BURST), bucket.tokens + (now - bucket.updated) * rate
                )
                bucket.updated = now
                if bucket.tokens >= 1.0:
                    bucket.tokens -= 1.0
                    return
                await self._sleep((1.0 - bucket.tokens) / rate)

    def _slow_down(self, team: str, *, retry_after: float) -> None:
        """After a 429 the next stop waits until Slack's ``retry_after`` is over."""
        rate = STOP_STREAM_PER_MINUTE / 60.0
        now = self._clock()
        bucket = self._buckets.setdefault(team, _Bucket(0.0, now))
        bucket.tokens = min(bucket.tokens + (now - bucket.updated) * rate, 1.0 - retry_after * rate)
        bucket.updated = now
