"""The simulated platform as the client libraries see it: rate-limit headers, and punishment.

``WirePlatform`` is the fake platform plus what the real APIs send back and what the client
libraries read: on every accepted call, Discord-style ``X-RateLimit-*`` headers describing
the channel's bucket (as the platform really enforces it), and on every 429 a whole-second
``Retry-After`` and whether the refusing budget is bot-wide (Discord's ``global``). On the
stricter platform it also punishes repeated violations the way Telegram does: a 429 blocks
its scope for the whole ``retry_after``, a call that arrives before then is refused too
(told the time left; it does not count as a new violation), and each refusal within
``STRIKE_WINDOW`` seconds of earlier ones on that scope doubles the wait.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from knowrithm_bots.core.adapter import Budget, NativeStream, Posted
from knowrithm_bots.core.errors import PlatformError, PlatformRateLimited
from knowrithm_bots.core.testing import (
    FakeNativeStream,
    FakePlatformAdapter,
    NativeBehaviour,
    PlainBucket,
)

# Telegram documents only that retry_after is "the number of seconds left to wait" (Bot API,
# ResponseParameters). That it grows with repeated floods is reported, not documented:
# tdlib/telegram-bot-api issue #535 saw each recurring 429 of a chat carry a longer
# retry_after than the last. The window, doubling and cap below are our model of that
# report, a harsher platform on purpose, not a recorded figure.
# Refusals closer together than this on one scope count as repeated flooding.
STRIKE_WINDOW = 30.0
# The most a repeated violation stretches a retry_after (2**5 = 32 times the base wait), and
# the longest retry_after the platform gives.
MAX_DOUBLINGS = 5
MAX_RETRY_AFTER = 60.0
# The budget scope whose bucket the Discord-style headers describe (a channel's route bucket).
HEADER_SCOPE = "chat"


class WireRateLimited(PlatformRateLimited):
    """A 429 with the response headers the libraries read."""

    def __init__(self, message: str, *, retry_after: float, is_global: bool) -> None:
        super().__init__(message, retry_after=retry_after)
        self.is_global = is_global
        self.headers = {"Retry-After": str(int(retry_after))}


class _HeaderBucket(PlainBucket):
    """A judge's bucket that can also say how full it is (for the headers)."""

    def tokens(self, now: float) -> float:
        return self._tokens_at(now)


class WirePlatform(FakePlatformAdapter):
    """``FakePlatformAdapter`` with headers on every answer and, when ``punish_repeats``,
    Telegram's lengthening of ``retry_after`` for clients that keep flooding."""

    def __init__(self, *, punish_repeats: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._punish = punish_repeats
        self._blocked: dict[str, float] = {}
        self._strikes: dict[str, list[float]] = {}
        # The headers of the last accepted call of each thread (a reply has one call in
        # flight at a time, so this is the answer to the call that just returned).
        self.headers: dict[str, Mapping[str, str]] = {}

    def header_of(self, thread: str) -> Mapping[str, str]:
        """The headers of ``thread``'s last accepted call."""
        return self.headers.get(thread, {})

    async def open_native_stream(self, *, thread: str) -> NativeStream | None:
        if self.native is None:
            return None
        return _RecordedStream(adapter=self, thread=thread, behaviour=self.native)

    def _new_bucket(self, budget: Budget) -> PlainBucket:
        return _HeaderBucket(rate=budget.rate / budget.per, burst=budget.burst)

    def _accepted(
        self,
        now: float,
        *,
        thread: str,
        charged: Sequence[tuple[Budget, str]],
        buckets: Sequence[PlainBucket],
    ) -> None:
        self.headers[thread] = self._headers(now, charged, buckets)

    def _judge(
        self, now: float, scopes: Sequence[str], buckets: Sequence[PlainBucket]
    ) -> PlatformError | None:
        """The 429 this call earns, if any: a scope still serving a penalty, or no room."""
        if self._punish:
            for scope in scopes:
                until = self._blocked.get(scope, 0.0)
                if until > now + 1e-9:
                    # Refused until the block ends, which this call does not extend.
                    return WireRateLimited(
                        "too many requests",
                        retry_after=float(math.ceil(until - now - 1e-9)),
                        is_global=scope.startswith("bot:"),
                    )
        waits = [
            (bucket.ready_at(now) - now, scope)
            for bucket, scope in zip(buckets, scopes, strict=True)
        ]
        wait, scope = max(waits, default=(0.0, ""))
        if wait > 1e-9:
            return self._refuse(scope, wait, now)
        return None

    def _refuse(self, scope: str, wait: float, now: float) -> WireRateLimited:
        """A 429 for ``wait`` seconds until the bucket has room; on the stricter platform
        doubled per earlier refusal on the scope within ``STRIKE_WINDOW``, and the scope
        stays blocked that long."""
        retry_after = float(max(1, math.ceil(wait - 1e-9)))
        if self._punish:
            recent = [at for at in self._strikes.get(scope, []) if now - at < STRIKE_WINDOW]
            retry_after = min(retry_after * 2 ** min(len(recent), MAX_DOUBLINGS), MAX_RETRY_AFTER)
            recent.append(now)
            self._strikes[scope] = recent
            self._blocked[scope] = max(self._blocked.get(scope, 0.0), now + retry_after)
        return WireRateLimited(
            "too many requests",
            retry_after=retry_after,
            is_global=scope.startswith("bot:"),
        )

    @staticmethod
    def _headers(
        now: float, charged: Sequence[tuple[Budget, str]], buckets: Sequence[PlainBucket]
    ) -> dict[str, str]:
        """Discord's bucket headers for the channel's bucket: the calls left now, and as
        ``Reset-After`` the bucket's whole window (burst ÷ rate). Discord counts in fixed
        windows and discord.py, after emptying a bucket, sleeps the last ``Reset-After`` it
        read and then assumes ``Limit`` calls again; a window's length is the one value
        that makes that assumption hold on a token bucket (the time until this bucket is
        full, read from an earlier answer, would be stale by then)."""
        for (budget, key), bucket in zip(charged, buckets, strict=True):
            if budget.scope == HEADER_SCOPE and isinstance(bucket, _HeaderBucket):
                tokens = bucket.tokens(now)
                rate = budget.rate / budget.per
                return {
                    "X-RateLimit-Limit": str(int(budget.burst)),
                    "X-RateLimit-Remaining": str(max(0, math.floor(tokens + 1e-9))),
                    "X-RateLimit-Reset-After": f"{budget.burst / rate:.3f}",
                    "X-RateLimit-Bucket": f"{budget.scope}:{key}",
                }
        return {}


class _RecordedStream(FakeNativeStream):
    """A native stream whose draft (Telegram) is recorded like a message, so the metrics see
    what it shows and when, and see it vanish when the stream ends."""

    def __init__(
        self, *, adapter: FakePlatformAdapter, thread: str, behaviour: NativeBehaviour
    ) -> None:
        super().__init__(adapter=adapter, thread=thread, behaviour=behaviour)
        self._platform = adapter
        self._draft_id = f"draft:{adapter.next_id()}"

    def _display(self, text: str) -> None:
        super()._display(text)
        if not self._behaviour.leftover:
            self._platform.show(thread=self._thread, message_id=self._draft_id, text=text)

    def _vanish(self) -> None:
        draft = self._platform.messages.get(self._draft_id)
        if draft is not None and draft.text:
            draft.text = ""
            draft.history.append((self._platform.clock.monotonic(), 0))

    def _expire_now(self) -> bool:
        expired = super()._expire_now()
        if expired:
            self._vanish()
        return expired

    async def finish(self, *, text: str) -> Sequence[Posted]:
        posted = await super().finish(text=text)
        self._vanish()
        return posted
