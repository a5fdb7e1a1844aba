"""The policies compared: this engine, and the edit rules popular bots use.

Every policy receives the same tokens at the same (virtual) times through a ``Sink``. The
baselines are written the way such bots are: one loop per reply that looks at the text
whenever a chunk arrives, edits when its rule says so (awaiting the call), sleeps the
``retry_after`` of a 429 and tries again, and ends with a final edit. They see everything
generated so far at each check (as bots that read the stream concurrently do), which is
the kindest reading of them.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from knowrithm_bots.core.adapter import Adapter
from knowrithm_bots.core.clock import Clock
from knowrithm_bots.core.errors import PlatformRateLimited
from knowrithm_bots.core.streaming import Layout, Pacer, ReplyStream


class Sink(Protocol):
    """One reply under one policy."""

    def feed(self, token: str) -> None: ...

    def end(self, text: str) -> None: ...

    async def done(self) -> None: ...


class Policy(Protocol):
    @property
    def name(self) -> str: ...

    def open(self, *, adapter: Adapter, thread: str, clock: Clock) -> Sink: ...


# --- the engine ----------------------------------------------------------------------------


class _EngineSink:
    def __init__(self, reply: ReplyStream) -> None:
        self._reply = reply
        self._finishing: asyncio.Task[list[str]] | None = None

    def feed(self, token: str) -> None:
        self._reply.feed(token)

    def end(self, text: str) -> None:
        self._finishing = asyncio.create_task(self._reply.finish(text=text))

    async def done(self) -> None:
        assert self._finishing is not None
        await self._finishing


class EnginePolicy:
    """knowrithm-bots' ReplyStream, all replies sharing one Pacer (as the bridge does)."""

    name = "engine"

    def __init__(self) -> None:
        self._pacer: Pacer | None = None

    def open(self, *, adapter: Adapter, thread: str, clock: Clock) -> Sink:
        if self._pacer is None:
            self._pacer = Pacer(clock=clock)
        reply = ReplyStream(adapter=adapter, thread=thread, clock=clock, pacer=self._pacer)
        return _EngineSink(reply)


# --- baselines -----------------------------------------------------------------------------


@dataclass
class _Edits:
    """What a baseline rule looks at: when it last edited and how much text it showed."""

    last_at: float
    last_length: int


Rule = Callable[[float, int, _Edits], bool]  # (now, length of text so far, last edit) -> edit?


class _BaselineSink:
    def __init__(self, *, adapter: Adapter, thread: str, clock: Clock, rule: Rule) -> None:
        self._adapter = adapter
        self._thread = thread
        self._clock = clock
        self._rule = rule
        self._text = ""
        self._final: str | None = None
        self._arrived = asyncio.Event()
        self._layout = Layout(limit=adapter.limits.max_message_length, measure=adapter.measure)
        self._ids: list[str] = []
        self._shown: list[str] = []
        self._loop = asyncio.create_task(self._run())

    def feed(self, token: str) -> None:
        self._text += token
        self._arrived.set()

    def end(self, text: str) -> None:
        self._final = text
        self._arrived.set()

    async def done(self) -> None:
        await self._loop

    async def _run(self) -> None:
        edits = _Edits(last_at=-math.inf, last_length=0)
        while self._final is None:
            await self._arrived.wait()
            self._arrived.clear()
            if self._final is not None:
                break
            text = self._text
            if not self._ids:
                if text.strip():
                    await self._show(text, edits)
            elif self._rule(self._clock.monotonic(), len(text), edits):
                await self._show(text, edits)
        await self._show(self._final, edits)

    async def _show(self, text: str, edits: _Edits) -> None:
        """Bring the messages in line with ``text`` (newest text on every retry)."""
        while True:
            segments = self._layout.segments(text)
            try:
                for index, segment in enumerate(segments):
                    if index < len(self._ids):
                        if self._shown[index] != segment:
                            await self._adapter.edit(
                                thread=self._thread, message_id=self._ids[index], text=segment
                            )
                            self._shown[index] = segment
                    else:
                        posted = await self._adapter.post(thread=self._thread, text=segment)
                        self._ids.append(posted.id)
                        self._shown.append(segment)
            except PlatformRateLimited as exc:
                await self._clock.sleep(exc.retry_after)
                text = self._final if self._final is not None else self._text
                continue
            edits.last_at = self._clock.monotonic()
            edits.last_length = len(text)
            return


@dataclass(frozen=True)
class BaselinePolicy:
    name: str
    rule: Rule

    def open(self, *, adapter: Adapter, thread: str, clock: Clock) -> Sink:
        return _BaselineSink(adapter=adapter, thread=thread, clock=clock, rule=self.rule)


def _every_chunk(now: float, length: int, edits: _Edits) -> bool:
    return length > edits.last_length


def _every(seconds: float) -> Rule:
    return lambda now, length, edits: now - edits.last_at >= seconds


def _cutoff(length: int) -> int:
    """New characters needed before an edit, growing with the answer (a popular Telegram bot's
    rule for private chats: 15 at first, 90 once the answer is long)."""
    if length > 1000:
        return 90
    if length > 200:
        return 45
    if length > 50:
        return 25
    return 15


def _characters(now: float, length: int, edits: _Edits) -> bool:
    return length - edits.last_length >= _cutoff(length)


# --- a floor for CPU: the simulation alone -------------------------------------------------


class _NullSink:
    """Shows nothing: what playing the agent's tokens costs without any streaming logic."""

    def feed(self, token: str) -> None:
        return None

    def end(self, text: str) -> None:
        return None

    async def done(self) -> None:
        return None


class NullPolicy:
    name = "simulation only"

    def open(self, *, adapter: Adapter, thread: str, clock: Clock) -> Sink:
        return _NullSink()


_POLICIES: dict[str, Callable[[], Policy]] = {
    "engine": EnginePolicy,
    "every chunk": lambda: BaselinePolicy("every chunk", _every_chunk),
    "every 500 ms": lambda: BaselinePolicy("every 500 ms", _every(0.5)),
    "15-90 new chars": lambda: BaselinePolicy("15-90 new chars", _characters),
    "every 1 s": lambda: BaselinePolicy("every 1 s", _every(1.0)),
    "simulation only": NullPolicy,
}

POLICY_NAMES = tuple(_POLICIES)  # the engine first, the CPU reference last


def make_policy(name: str) -> Policy:
    """A fresh policy (the engine's pacer must not carry over between runs)."""
    return _POLICIES[name]()
