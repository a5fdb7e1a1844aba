"""The policies compared: this engine, and the edit rules popular bots use.

Every policy receives the same tokens at the same (virtual) times through a ``Sink``. The
baselines are written the way such bots are: one loop per reply that looks at the text
whenever a chunk arrives, edits when its rule says so (awaiting the call), sleeps the
``retry_after`` of a 429 that reaches it and tries again, and ends with a final edit. Each
call goes through the platform's client library as modelled in ``libraries.py`` (its
queueing and its own 429 handling come first). They see everything generated so far at each
check (as bots that read the stream concurrently do), which is the kindest reading of them.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from benchmarks.streaming.libraries import Library, library_for
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
    # Characters a rule adds to its threshold after refusals (n3d1117 adds 5 per failure).
    backoff: int = 0


Rule = Callable[[float, int, _Edits], bool]  # (now, length of text so far, last edit) -> edit?


class _BaselineSink:
    def __init__(
        self, *, adapter: Adapter, library: Library, thread: str, clock: Clock, rule: Rule
    ) -> None:
        self._adapter = adapter
        self._library = library
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
                            await self._library.send(
                                kind="edit",
                                thread=self._thread,
                                call=partial(
                                    self._adapter.edit,
                                    thread=self._thread,
                                    message_id=self._ids[index],
                                    text=segment,
                                ),
                            )
                            self._shown[index] = segment
                    else:
                        posted = await self._library.send(
                            kind="post",
                            thread=self._thread,
                            call=partial(self._adapter.post, thread=self._thread, text=segment),
                        )
                        self._ids.append(posted.id)
                        self._shown.append(segment)
            except PlatformRateLimited as exc:
                edits.backoff += 5
                await self._clock.sleep(exc.retry_after)
                text = self._final if self._final is not None else self._text
                continue
            edits.last_at = self._clock.monotonic()
            edits.last_length = len(text)
            return


@dataclass
class BaselinePolicy:
    """A baseline rule on ``platform``'s client library (one library for the whole bot)."""

    name: str
    rule: Rule
    platform: str
    seed: int = 0
    _library: Library | None = None

    def open(self, *, adapter: Adapter, thread: str, clock: Clock) -> Sink:
        if self._library is None:
            self._library = library_for(platform=self.platform, adapter=adapter, seed=self.seed)
        return _BaselineSink(
            adapter=adapter, library=self._library, thread=thread, clock=clock, rule=self.rule
        )


def _every_chunk(now: float, length: int, edits: _Edits) -> bool:
    return length > edits.last_length


def _every(seconds: float) -> Rule:
    return lambda now, length, edits: now - edits.last_at >= seconds


def _cutoff(length: int, *, group: bool) -> int:
    """New characters needed before an edit, growing with the answer: n3d1117's
    chatgpt-telegram-bot, 15/25/45/90 in private chats and 50/90/120/180 in groups."""
    steps = (50, 90, 120, 180) if group else (15, 25, 45, 90)
    if length > 1000:
        return steps[3]
    if length > 200:
        return steps[2]
    if length > 50:
        return steps[1]
    return steps[0]


def _characters(*, group: bool) -> Rule:
    def rule(now: float, length: int, edits: _Edits) -> bool:
        return length - edits.last_length >= _cutoff(length, group=group) + edits.backoff

    return rule


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


# The fixed intervals swept for the calls-against-staleness curve (seconds between edits).
SWEEP = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


def sweep_name(seconds: float) -> str:
    return f"every {seconds:g} s"


SWEEP_NAMES = tuple(sweep_name(seconds) for seconds in SWEEP)
CHARACTERS = "n3d1117 cut-offs"
# The engine first, the CPU reference last.
POLICY_NAMES = ("engine", "every chunk", CHARACTERS, *SWEEP_NAMES, "simulation only")


def make_policy(name: str, *, platform: str, group: bool, seed: int = 0) -> Policy:
    """A fresh policy (the engine's pacer and a library's queues must not carry over).

    ``group``: the replies share one chat (a Telegram group, a channel), where n3d1117's bot
    uses its group cut-offs."""
    if name == "engine":
        return EnginePolicy()
    if name == "simulation only":
        return NullPolicy()
    if name == "every chunk":
        return BaselinePolicy(name, _every_chunk, platform, seed)
    if name == CHARACTERS:
        return BaselinePolicy(name, _characters(group=group), platform, seed)
    for seconds in SWEEP:
        if name == sweep_name(seconds):
            return BaselinePolicy(name, _every(seconds), platform, seed)
    raise ValueError(f"no policy is called {name!r}")
