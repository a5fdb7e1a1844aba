"""A simulated Telegram that enforces Telegram's published limits on its own, with 429s.

The bot declares the shipped Telegram adapter's limits (the engine paces by them, as it does
in production); the platform judges every call with its own buckets built from the limits
Telegram publishes, never from anything the engine is told. Its own CPU is accounted apart
(``sim_cpu``) so the benchmark can subtract it from the bot's.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from knowrithm_bots.adapters.telegram import TelegramAdapter
from knowrithm_bots.core.adapter import Limits, Posted
from knowrithm_bots.core.clock import SystemClock
from knowrithm_bots.core.errors import PlatformRateLimited
from knowrithm_bots.core.limits import CallKind
from knowrithm_bots.core.testing import FakeMessage, FakePlatformAdapter, PlainBucket

# Telegram's published limits (core.telegram.org/bots/faq, "broadcasting to users"): about
# one message per second in a chat, at most 20 per minute in a group, about 30 per second for
# the whole bot. Telegram publishes no burst: a chat gets 3 back to back (short bursts pass in
# practice), a group 3, and the bot-wide limit is counted over any one second, as observed.
CHAT_RATE, CHAT_BURST = 1.0, 3
GROUP_RATE, GROUP_BURST = 20.0 / 60.0, 3
BOT_CALLS_PER_SECOND = 30
ONE_WAY = 0.06  # half of a 120 ms round trip to the Bot API, +-20 %

_LAST_WORD = re.compile(r"w(\d+)\s*$")


def last_word(text: str) -> int:
    """The number of the last counted word in ``text`` (0 when it has none yet)."""
    found = _LAST_WORD.search(text)
    return int(found.group(1)) if found else 0


@dataclass(frozen=True, slots=True)
class Call:
    """One call the bot made: when it was issued, the thread, the last word it carried, and
    whether the platform took it."""

    at: float
    thread: str
    kind: str
    word: int
    ok: bool


class TelegramLikePlatform(FakePlatformAdapter):
    """The bot's adapter and the simulated platform behind it, in one object.

    Threads are ``bench:<chat>``; chats named ``g...`` are groups. Calls travel 60 ms (+-20 %)
    each way; the platform refuses a call that would exceed a limit with a 429 and a
    whole-second ``retry_after``, as Telegram does.
    """

    name: ClassVar[str] = "bench"
    limits: ClassVar[Limits] = TelegramAdapter.limits

    def __init__(self, *, seed: int = 1, keep_log: bool = True) -> None:
        rng = random.Random(seed)
        super().__init__(
            clock=SystemClock(),
            limits=TelegramAdapter.limits,
            enforce=(),
            latency=lambda: ONE_WAY * rng.uniform(0.8, 1.2),
            name="bench",
            keep_texts=False,
        )
        self.keep_log = keep_log
        self.sim_cpu = 0.0
        self.accepted = 0
        self.typing_rate_limited = 0
        # Which of the platform's limits refused each 429: "chat", "group" or "bot".
        self.rate_limited_by: Counter[str] = Counter()
        self.log: list[Call] = []
        self.shown: dict[str, int] = {}
        self._chats: dict[str, PlainBucket] = {}
        self._groups: dict[str, PlainBucket] = {}
        self._bot_window: deque[float] = deque()
        self._message_ids: dict[str, list[str]] = {}

    def budget_keys(self, *, thread: str) -> Mapping[str, str]:
        chat = thread.split(":", 1)[1].split("#", 1)[0]
        keys = {"chat": chat, "bot": "bench"}
        if chat.startswith("g"):
            keys["group"] = chat
        return keys

    async def arrive(
        self, *, kind: CallKind, thread: str, message_id: str | None, text: str | None
    ) -> None:
        await self.network()
        started = time.process_time()
        refused = self._judge(thread=thread, now=time.monotonic())
        if refused is not None:
            self.typing_rate_limited += kind == "typing"
            self.rate_limited_by[refused[1]] += 1
        elif kind != "typing":
            self.accepted += 1  # typing notices are counted apart (``typings``)
        self.sim_cpu += time.process_time() - started
        if refused is not None:
            await self.network()
            raise PlatformRateLimited("Too Many Requests", retry_after=float(refused[0]))

    @property
    def rate_limited(self) -> int:
        """The 429s given, typing notices' included."""
        return sum(self.rate_limited_by.values())

    async def typing(self, *, thread: str) -> None:
        # Judged like a message: Telegram floods chat actions too (see the adapter's budgets).
        await self.arrive(kind="typing", thread=thread, message_id=None, text=None)
        await self.network()
        self.typings += 1

    def _judge(self, *, thread: str, now: float) -> tuple[int, str] | None:
        """None when the call goes through, else the whole seconds to wait and the limit that
        refused it (the one that would make it wait longest)."""
        chat = thread.split(":", 1)[1].split("#", 1)[0]
        buckets = {"chat": self._bucket(self._chats, chat, CHAT_RATE, CHAT_BURST)}
        if chat.startswith("g"):
            buckets["group"] = self._bucket(self._groups, chat, GROUP_RATE, GROUP_BURST)
        window = self._bot_window
        while window and window[0] <= now - 1.0:
            window.popleft()
        waits = {limit: bucket.ready_at(now) - now for limit, bucket in buckets.items()}
        if len(window) >= BOT_CALLS_PER_SECOND:
            waits["bot"] = window[0] + 1.0 - now
        limit = max(waits, key=waits.__getitem__)
        if waits[limit] > 1e-9:
            return max(1, math.ceil(waits[limit])), limit
        for bucket in buckets.values():
            bucket.take(now)
        window.append(now)
        return None

    @staticmethod
    def _bucket(buckets: dict[str, PlainBucket], key: str, rate: float, burst: int) -> PlainBucket:
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = PlainBucket(rate=rate, burst=burst)
        return bucket

    async def post(self, *, thread: str, text: str, reply_to: str | None = None) -> Posted:
        issued = time.monotonic()
        try:
            posted = await super().post(thread=thread, text=text, reply_to=reply_to)
        except PlatformRateLimited:
            self._note(issued, thread, "post", text, ok=False)
            raise
        self._note(issued, thread, "post", text, ok=True)
        return posted

    async def edit(self, *, thread: str, message_id: str, text: str) -> None:
        issued = time.monotonic()
        try:
            await super().edit(thread=thread, message_id=message_id, text=text)
        except PlatformRateLimited:
            self._note(issued, thread, "edit", text, ok=False)
            raise
        self._note(issued, thread, "edit", text, ok=True)

    def show(self, *, thread: str, message_id: str, text: str) -> None:
        # Only the last word shown counts (``_note``); keeping every version would make the
        # simulation's memory, which the bot's RSS includes, grow with the run.
        if message_id not in self.messages:
            self.messages[message_id] = FakeMessage(thread=thread, text="")
            self._message_ids.setdefault(thread, []).append(message_id)

    def start_counting(self) -> None:
        """Count from now on only: the calls, 429s and log so far (a warm-up's) are dropped."""
        self.sim_cpu = 0.0
        self.accepted = self.typing_rate_limited = self.typings = 0
        self.rate_limited_by.clear()
        self.log.clear()
        self.shown.clear()

    def forget(self, thread: str) -> None:
        """Drop what the platform keeps for a finished thread (a soak starts thousands), so
        that the simulation's memory, counted in the bot's RSS, does not grow with them."""
        self.shown.pop(thread, None)
        for message_id in self._message_ids.pop(thread, ()):
            del self.messages[message_id]
        # A chat's bucket refills within seconds: a new full one is the same to the judge.
        self._chats.pop(thread.split(":", 1)[1].split("#", 1)[0], None)

    def _note(self, issued: float, thread: str, kind: str, text: str, *, ok: bool) -> None:
        started = time.process_time()
        word = last_word(text)
        if ok:
            self.shown[thread] = max(self.shown.get(thread, 0), word)
        if self.keep_log:
            self.log.append(Call(issued, thread, kind, word, ok))
        self.sim_cpu += time.process_time() - started
