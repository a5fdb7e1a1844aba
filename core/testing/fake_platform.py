"""A simulated chat platform that enforces rate budgets with 429s, with optional native streams.

It runs in memory on an injected clock, so tests and benchmarks can drive hundreds of
concurrent replies through it in virtual time: each call takes ``latency()`` seconds to
reach the platform and as long to come back, is checked against the platform's budgets
when it arrives, and changes what users see at that moment.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from knowrithm_bots.core.adapter import (
    Adapter,
    Budget,
    Capabilities,
    EventSink,
    Limits,
    NativeStream,
    Posted,
)
from knowrithm_bots.core.clock import Clock
from knowrithm_bots.core.errors import (
    MessageNotFound,
    MessageTooLong,
    NativeStreamUnavailable,
    PlatformError,
    PlatformRateLimited,
)
from knowrithm_bots.core.limits import CallKind
from knowrithm_bots.core.testing.plain_bucket import PlainBucket


@dataclass(frozen=True, kw_only=True)
class PlatformCall:
    """One call as the platform received it: ``outcome`` is ``"ok"`` or ``"429"``.

    ``scopes`` names the budgets it was charged to, as ``"scope:key"``; ``text`` is None
    when the platform was asked not to keep texts (benchmarks).
    """

    kind: CallKind
    thread: str
    message_id: str | None
    text: str | None
    at: float
    outcome: str
    scopes: tuple[str, ...] = ()


@dataclass(kw_only=True)
class FakeMessage:
    """A message as users see it; ``history`` holds ``(time, length)`` of every version."""

    thread: str
    text: str
    history: list[tuple[float, int]] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class NativeBehaviour:
    """How the platform's native streams behave.

    ``refuse_open``: opening fails (feature not enabled). ``expire_after``: the stream
    accepts that many appends, then expires (the next append or the finish fails).
    ``leftover``: the stream shows its text in a message that stays after expiry (Slack);
    without it the text shows in a draft that vanishes (Telegram). ``lasting``: ``finish``
    leaves a message holding the text (Slack's stream message, or a new message replacing
    the draft) or nothing (drafts: the caller must post the text itself).
    """

    refuse_open: bool = False
    expire_after: int | None = None
    leftover: bool = True
    lasting: bool = True


def default_keys(thread: str, *, name: str) -> dict[str, str]:
    """Threads are ``"<chat>"`` or ``"<chat>#<reply>"``: replies in one chat share its budgets."""
    chat = thread.split("#", 1)[0]
    return {"thread": thread, "chat": chat, "group": chat, "workspace": name, "bot": name}


class FakePlatformAdapter(Adapter):
    """An adapter whose platform lives in memory and answers 429 like the real ones.

    ``enforce`` are the budgets the platform really applies (default: what ``limits``
    declares), judged with a ``PlainBucket`` each, not with the engine's own buckets (a bug
    there must not fool the judge too); a call arriving when one of them has no room fails
    with ``PlatformRateLimited`` and a whole-second ``retry_after``. ``rate_limit_next``
    and ``fail_next`` inject failures. ``native`` turns on native streaming; ``edit`` and
    ``delete`` declare those capabilities (an undeclared call fails the test). Typing
    notices are only counted (``typings``) unless ``judge_typing``: then they travel, are
    charged to the budgets and recorded like every other call.
    """

    name: ClassVar[str] = "fake"
    limits: ClassVar[Limits] = Limits(max_message_length=4000, edit_interval=1.0)
    capabilities: ClassVar[Capabilities] = Capabilities(typing=True)

    def __init__(
        self,
        *,
        clock: Clock,
        limits: Limits | None = None,
        enforce: Sequence[Budget] | None = None,
        native: NativeBehaviour | None = None,
        latency: Callable[[], float] | None = None,
        keys: Callable[[str], Mapping[str, str]] | None = None,
        name: str | None = None,
        keep_texts: bool = True,
        delete: bool = False,
        edit: bool = True,
        judge_typing: bool = False,
    ) -> None:
        if limits is not None:
            self.limits = limits  # type: ignore[misc]
        if name is not None:
            self.name = name  # type: ignore[misc]
        self.capabilities = Capabilities(  # type: ignore[misc]
            edit=edit, typing=True, native_stream=native is not None, delete=delete
        )
        self.clock = clock
        self.native = native
        self._enforce = tuple(self.limits.budgets if enforce is None else enforce)
        self._latency = latency or (lambda: 0.0)
        self._keys = keys
        self._keep_texts = keep_texts
        self._buckets: dict[tuple[Budget, str], PlainBucket] = {}
        self._ids = itertools.count(1)
        self._injected: list[PlatformError] = []
        self.calls: list[PlatformCall] = []
        self.messages: dict[str, FakeMessage] = {}
        self.drafts: dict[str, str] = {}
        self.typings = 0
        self._judge_typing = judge_typing

    @classmethod
    def from_config(cls, *, config: Mapping[str, Any]) -> FakePlatformAdapter:
        raise NotImplementedError("built directly by tests and benchmarks")

    async def start(self, *, sink: EventSink) -> None:
        return None

    async def stop(self) -> None:
        return None

    def budget_keys(self, *, thread: str) -> Mapping[str, str]:
        if self._keys is not None:
            return self._keys(thread)
        return default_keys(thread, name=self.name)

    # --- fault injection -------------------------------------------------------------------

    def rate_limit_next(self, *, retry_after: float, count: int = 1) -> None:
        error = PlatformRateLimited("too many requests (injected)", retry_after=retry_after)
        self._injected.extend([error] * count)

    def fail_next(self, error: PlatformError, *, count: int = 1) -> None:
        self._injected.extend([error] * count)

    # --- the platform side -----------------------------------------------------------------

    async def arrive(
        self, *, kind: CallKind, thread: str, message_id: str | None, text: str | None
    ) -> None:
        """Carry a call to the platform; record it; raise what the platform answers."""
        await self.network()
        now = self.clock.monotonic()
        keys = self.budget_keys(thread=thread)
        charged = [
            (budget, keys[budget.scope])
            for budget in self._enforce
            if budget.scope in keys and budget.charges(kind)
        ]
        scopes = tuple(f"{budget.scope}:{key}" for budget, key in charged)
        kept = text if self._keep_texts else None
        error: PlatformError | None = self._injected.pop(0) if self._injected else None
        if error is None:
            buckets = [self._bucket(budget, key) for budget, key in charged]
            error = self._judge(now, scopes, buckets)
            if error is None:
                for bucket in buckets:
                    bucket.take(now)
                self._accepted(now, thread=thread, charged=charged, buckets=buckets)
        outcome = "ok" if error is None else "error"
        if isinstance(error, PlatformRateLimited):
            outcome = "429"
        self.calls.append(
            PlatformCall(
                kind=kind,
                thread=thread,
                message_id=message_id,
                text=kept,
                at=now,
                outcome=outcome,
                scopes=scopes,
            )
        )
        if error is not None:
            await self.network()
            raise error

    def _judge(
        self, now: float, scopes: Sequence[str], buckets: Sequence[PlainBucket]
    ) -> PlatformError | None:
        """The 429 a call charged to ``buckets`` (named ``scopes``) earns now, if any: a
        subclass may judge more harshly."""
        wait = max((b.ready_at(now) for b in buckets), default=now) - now
        if wait > 1e-9:
            return PlatformRateLimited("too many requests", retry_after=float(math.ceil(wait)))
        return None

    def _accepted(
        self,
        now: float,
        *,
        thread: str,
        charged: Sequence[tuple[Budget, str]],
        buckets: Sequence[PlainBucket],
    ) -> None:
        """A call went through, its buckets charged: a subclass may answer with more."""

    def _bucket(self, budget: Budget, key: str) -> PlainBucket:
        bucket = self._buckets.get((budget, key))
        if bucket is None:
            bucket = self._buckets[(budget, key)] = self._new_bucket(budget)
        return bucket

    def _new_bucket(self, budget: Budget) -> PlainBucket:
        return PlainBucket(rate=budget.rate / budget.per, burst=budget.burst)

    def _check_text(self, text: str) -> None:
        if not text.strip():
            raise PlatformError("message text is empty")  # as every real platform says
        if self.measure(text) > self.limits.max_message_length:
            raise MessageTooLong(f"{self.measure(text)} is over {self.limits.max_message_length}")

    async def network(self) -> None:
        """One trip between the bot and the platform."""
        await self.clock.sleep(self._latency())

    def next_id(self) -> str:
        return f"m{next(self._ids)}"

    def show(self, *, thread: str, message_id: str, text: str) -> None:
        message = self.messages.get(message_id)
        if message is None:
            message = self.messages[message_id] = FakeMessage(thread=thread, text=text)
        message.text = text
        message.history.append((self.clock.monotonic(), len(text)))

    # --- outbound --------------------------------------------------------------------------

    async def post(self, *, thread: str, text: str, reply_to: str | None = None) -> Posted:
        self._check_text(text)
        await self.arrive(kind="post", thread=thread, message_id=None, text=text)
        message_id = self.next_id()
        self.show(thread=thread, message_id=message_id, text=text)
        await self.network()
        return Posted(id=message_id)

    async def edit(self, *, thread: str, message_id: str, text: str) -> None:
        assert self.capabilities.edit, "edit called on a platform that cannot edit"
        self._check_text(text)
        await self.arrive(kind="edit", thread=thread, message_id=message_id, text=text)
        if message_id not in self.messages:
            raise MessageNotFound(f"message {message_id} does not exist")
        self.show(thread=thread, message_id=message_id, text=text)
        await self.network()

    async def delete(self, *, thread: str, message_id: str) -> None:
        assert self.capabilities.delete, "delete called on a platform that cannot delete"
        await self.arrive(kind="delete", thread=thread, message_id=message_id, text=None)
        self.messages.pop(message_id, None)
        await self.network()

    async def typing(self, *, thread: str) -> None:
        if self._judge_typing:
            await self.arrive(kind="typing", thread=thread, message_id=None, text=None)
            await self.network()
        self.typings += 1

    async def open_native_stream(self, *, thread: str) -> NativeStream | None:
        if self.native is None:
            return None
        if self.native.refuse_open:
            raise NativeStreamUnavailable("native streaming is not enabled here")
        return FakeNativeStream(adapter=self, thread=thread, behaviour=self.native)

    # --- what users see --------------------------------------------------------------------

    def messages_in(self, thread: str) -> list[str]:
        return [m.text for m in self.messages.values() if m.thread == thread]

    def visible(self, thread: str) -> str:
        """The thread's messages, then any live draft (what a user reads right now)."""
        return "".join(self.messages_in(thread)) + self.drafts.get(thread, "")

    def count(self, kind: str | None = None, *, outcome: str = "ok") -> int:
        return sum(1 for c in self.calls if kind in (None, c.kind) and c.outcome == outcome)


class FakeNativeStream(NativeStream):
    """A native stream on the fake platform; appends are charged as ``"append"`` calls."""

    def __init__(
        self, *, adapter: FakePlatformAdapter, thread: str, behaviour: NativeBehaviour
    ) -> None:
        self._adapter = adapter
        self._thread = thread
        self._behaviour = behaviour
        self.appended: list[str] = []
        self.finished: str | None = None
        self.expired = False
        self._message_id: str | None = None

    @property
    def text(self) -> str:
        return "".join(self.appended)

    def _expire_now(self) -> bool:
        limit = self._behaviour.expire_after
        if self.expired or (limit is not None and len(self.appended) >= limit):
            self.expired = True
            self._adapter.drafts.pop(self._thread, None)
            return True
        return False

    def _display(self, text: str) -> None:
        # Only a stream that leaves its message behind on expiry shows text in a message:
        # otherwise the engine, told there is no leftover, would post that text again.
        if self._behaviour.leftover:
            if self._message_id is None:
                self._message_id = self._adapter.next_id()
            self._adapter.show(thread=self._thread, message_id=self._message_id, text=text)
        else:
            self._adapter.drafts[self._thread] = text

    async def append(self, *, text: str) -> None:
        await self._adapter.arrive(
            kind="append", thread=self._thread, message_id=self._message_id, text=text
        )
        if self._expire_now():
            raise NativeStreamUnavailable("the native stream expired")
        self.appended.append(text)
        self._display(self.text)
        await self._adapter.network()

    async def finish(self, *, text: str) -> Sequence[Posted]:
        await self._adapter.arrive(
            kind="append", thread=self._thread, message_id=self._message_id, text=text
        )
        if self._expire_now():
            raise NativeStreamUnavailable("the native stream expired")
        self.finished = text
        await self._adapter.network()
        self._adapter.drafts.pop(self._thread, None)
        if not self._behaviour.lasting:
            # Nothing lasting: a message the stream showed goes, the caller posts the text.
            if self._message_id is not None:
                self._adapter.messages.pop(self._message_id, None)
            return []
        if self._message_id is None:
            self._message_id = self._adapter.next_id()
        self._adapter.show(thread=self._thread, message_id=self._message_id, text=text)
        return [Posted(id=self._message_id)]

    def leftover(self) -> Posted | None:
        if not self._behaviour.leftover or self._message_id is None:
            return None
        return Posted(id=self._message_id)
