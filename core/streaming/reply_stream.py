"""One reply's journey onto the platform: post at once, refresh at the shared pace, roll over."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from core.adapter import Adapter, Posted, SupportsNativeStream
from core.clock import Clock, SystemClock
from core.errors import (
    MessageNotFound,
    NativeStreamUnavailable,
    PlatformError,
    PlatformRateLimited,
    PlatformUnavailable,
)
from core.streaming.layout import Layout
from core.streaming.messages import Shown, Step, next_step
from core.streaming.native import NativeOutcome, NativePhase
from core.streaming.pacer import Pacer
from core.streaming.progress import Progress
from core.streaming.scheduler import Lane

log = logging.getLogger(__name__)

TYPING_REPEAT = 4.0
MAX_UNAVAILABLE_RETRIES = 5
RETIRED_TEXT = "…"
# A refresh mid-answer waits until the oldest unshown text is about to be this many times the
# budget's declared pace old when it shows: text that arrives meanwhile rides along for free,
# and the wait stays inside the staleness a shared budget allows anyway.
STALENESS_TARGET = 1.18
# Weight of the newest call in the running estimate of the one-way trip to the platform.
LATENCY_WEIGHT = 0.3


class ReplyStream:
    """Shows one growing answer in a thread with as few platform calls as keep it fresh.

    The bridge calls ``start`` (typing), ``feed`` with each delta (never blocks: platform
    pace must not slow the agent's stream), then ``finish`` once with the authoritative
    text, which returns when that text is visible. The first words are posted at once;
    later changes are coalesced into one edit per turn the shared ``pacer`` grants (it keeps
    every concurrent reply inside the adapter's budgets, stalest reply first) and never
    closer than ``limits.edit_interval`` on one message. Mid-answer, an edit also waits
    until the oldest text it would show is about to be ``STALENESS_TARGET`` times the
    tightest budget's declared pace old on arrival (the round trip is measured), so each
    edit carries as much as that staleness allows. Before the adapter's length limit
    the answer rolls over into a new message at a natural boundary. Edits that would change
    nothing are skipped; the last one is never dropped. A 429 backs the whole scope off and
    the newest text goes out afterwards, so nothing is lost.

    Adapters with the native-stream capability get the deltas through their
    ``NativeStream``; when the platform refuses or expires it, the reply continues with
    post + edit from what the stream left visible.
    """

    def __init__(
        self,
        *,
        adapter: Adapter,
        thread: str,
        clock: Clock | None = None,
        edit_interval: float | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self._adapter = adapter
        self._thread = thread
        self._clock = clock or SystemClock()
        self._interval = adapter.limits.edit_interval if edit_interval is None else edit_interval
        # Without a shared pacer the reply still keeps inside the budgets, but only alone.
        self._pacer = pacer or Pacer(clock=self._clock)
        self._route = self._pacer.route(adapter=adapter, thread=thread)
        self._layout = Layout(limit=adapter.limits.max_message_length, measure=adapter.measure)
        self._progress = Progress(clock=self._clock)
        self._text = ""
        self._final: str | None = None
        self._shown: list[Shown] = []
        self._not_before = float("-inf")
        self._latency: float | None = None  # one-way trip to the platform, estimated
        self._unavailable = 0
        self._changed = asyncio.Event()
        self._finishing = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._typing: asyncio.Task[None] | None = None

    # --- public API ------------------------------------------------------------------------

    @property
    def message_ids(self) -> list[str]:
        return [m.id for m in self._shown]

    @property
    def visible_text(self) -> str:
        return "".join(m.text for m in self._shown)

    @property
    def text(self) -> str:
        """Everything fed so far."""
        return self._text

    @property
    def final(self) -> str | None:
        """The authoritative text, once ``finish`` or ``fail`` was called."""
        return self._final

    def start(self) -> None:
        """Begin showing typing (where the platform has it) until the first text is posted."""
        if self._adapter.capabilities.typing and self._typing is None:
            self._typing = asyncio.create_task(self._keep_typing())

    def feed(self, delta: str) -> None:
        """Add a piece of the answer; shown at the next turn the pace allows."""
        if not delta or self._final is not None:
            return
        self._text += delta
        self._progress.changed(length=len(self._text))
        self._changed.set()
        if self._worker is None:
            self._worker = asyncio.create_task(self._run())

    async def finish(self, *, text: str) -> list[str]:
        """Show exactly ``text`` (the authoritative answer) and return the message ids."""
        if self._final is None:
            self._final = text
            self._finishing.set()
            if text.startswith(self._text):
                self._progress.changed(length=len(text))
            else:
                self._progress.revise(length=len(text))
        self._changed.set()
        if self._worker is None:
            self._worker = asyncio.create_task(self._run())
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

    async def changed(self) -> None:
        """Return once more text or the final text may have arrived (for the native phase)."""
        await self._changed.wait()
        self._changed.clear()

    # --- the worker ------------------------------------------------------------------------

    async def _run(self) -> None:
        outcome = await self._run_native()
        if outcome is not None:
            if outcome.posted:
                self._shown = _holding(outcome.posted, self._layout.segments(self._target()))
                return
            if outcome.leftover is not None:
                self._shown = [Shown(id=outcome.leftover.id, text=outcome.sent)]
        await self._run_messages()

    async def _run_native(self) -> NativeOutcome | None:
        """Stream natively where the adapter can; None when it cannot here."""
        adapter = self._adapter
        if not (adapter.capabilities.native_stream and isinstance(adapter, SupportsNativeStream)):
            return None
        if self._final is not None and not self._text:
            return None  # the whole text is known at once (a notice): nothing to stream
        try:
            stream = await adapter.open_native_stream(thread=self._thread)
        except NativeStreamUnavailable as exc:
            log.info("native streaming refused in %s: %s", self._thread, exc)
            return None
        except PlatformUnavailable as exc:
            log.warning("native streaming unavailable in %s: %s", self._thread, exc)
            return None
        if stream is None:
            return None
        phase = NativePhase(
            stream=stream,
            source=self,
            pacer=self._pacer,
            lane=self._route.lane("append"),
            clock=self._clock,
            progress=self._progress,
            interval=self._interval,
            on_visible=self._stop_typing,
            thread=self._thread,
        )
        return await phase.run()

    async def _run_messages(self) -> None:
        """Post + edit until the platform shows the final text."""
        while True:
            step = self._next_step()
            if step is None:
                if self._final is not None:
                    return
                await self.changed()
                continue
            await self._own_pace(step)
            lane = self._route.lane(step.call_kind)
            await self._pacer.turn(
                lane=lane, since=self._progress.since_or_now(), first=not self._shown
            )
            # The turn may have taken a while: show the newest text, not the text that asked.
            newest = self._next_step()
            if newest is None or (newest.kind, newest.index) != (step.kind, step.index):
                self._pacer.refund(lane=lane)
                continue
            await self._perform(newest, lane=lane)

    def _target(self) -> str:
        return self._final if self._final is not None else self._text

    def _next_step(self) -> Step | None:
        target = self._target()
        if not target:
            return None
        return next_step(
            self._shown,
            self._layout.segments(target),
            can_delete=self._adapter.capabilities.delete,
        )

    async def _own_pace(self, step: Step) -> None:
        """Wait for what this reply alone owes: the per-message interval and any backoff."""
        while True:
            ready = self._not_before
            if step.kind == "edit":
                # Mid-answer refreshes keep to the sustained pace; the final edit only to the
                # adapter's per-message interval (the budgets still apply to it).
                interval = self._interval
                if self._final is None:
                    interval = max(interval, self._route.refresh_interval)
                    ready = max(ready, self._refresh_due())
                ready = max(ready, self._shown[step.index].changed_at + interval)
            wait = ready - self._clock.monotonic()
            if wait <= 0:
                return
            if self._final is not None:
                await self._clock.sleep(wait)
                return
            await self._sleep_until_finished(wait)

    def _refresh_due(self) -> float:
        """When a refresh must go for the oldest unshown text to show within the target."""
        since = self._progress.since
        if since is None:
            return float("-inf")
        target = STALENESS_TARGET * self._route.budget_interval
        return since + target - (self._latency or 0.0)

    async def _sleep_until_finished(self, seconds: float) -> None:
        """Sleep, but wake early when ``finish`` comes (the final edit may owe less)."""
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        finishing = asyncio.ensure_future(self._finishing.wait())
        try:
            await asyncio.wait({sleeper, finishing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            finishing.cancel()

    async def _perform(self, step: Step, *, lane: Lane) -> None:
        sent_at = self._clock.monotonic()
        try:
            await self._call(step)
        except PlatformRateLimited as exc:
            log.info("rate limited in %s; waiting %.1fs", self._thread, exc.retry_after)
            self._pacer.rate_limited(lane=lane, retry_after=exc.retry_after)
            self._not_before = self._clock.monotonic() + exc.retry_after
            return
        except PlatformUnavailable:
            self._unavailable += 1
            if self._unavailable > MAX_UNAVAILABLE_RETRIES:
                raise
            self._not_before = self._clock.monotonic() + min(2.0**self._unavailable * 0.25, 8.0)
            return
        self._unavailable = 0
        self._observe_latency(self._clock.monotonic() - sent_at)
        self._pacer.succeeded(lane=lane)
        shown = [message.text for message in self._shown]
        self._progress.shown(upto=self._layout.shown_upto(shown, text=self._target()))

    def _observe_latency(self, round_trip: float) -> None:
        """The platform shows a call about halfway through its round trip."""
        one_way = round_trip / 2
        if self._latency is None:
            self._latency = one_way
        else:
            self._latency += LATENCY_WEIGHT * (one_way - self._latency)

    async def _call(self, step: Step) -> None:
        # The per-message interval counts from when a call was sent, as the platform does.
        sent_at = self._clock.monotonic()
        if step.kind == "post":
            posted = await self._adapter.post(thread=self._thread, text=step.text)
            self._shown.append(Shown(id=posted.id, text=step.text, changed_at=sent_at))
            await self._stop_typing()
        elif step.kind == "edit":
            shown = self._shown[step.index]
            try:
                await self._adapter.edit(thread=self._thread, message_id=shown.id, text=step.text)
            except MessageNotFound:
                # Someone deleted our message: show the text again rather than lose it.
                posted = await self._adapter.post(thread=self._thread, text=step.text)
                shown.id = posted.id
            shown.text, shown.changed_at = step.text, sent_at
        else:
            # The authoritative text is shorter than what the deltas built.
            extra = self._shown.pop(step.index)
            try:
                if step.kind == "delete":
                    await self._adapter.delete(thread=self._thread, message_id=extra.id)
                else:
                    await self._adapter.edit(
                        thread=self._thread, message_id=extra.id, text=RETIRED_TEXT
                    )
            except (PlatformRateLimited, PlatformUnavailable):
                self._shown.insert(step.index, extra)
                raise
            except PlatformError as exc:
                log.warning("could not retire surplus message in %s: %s", self._thread, exc)

    # --- typing ----------------------------------------------------------------------------

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


def _holding(posted: Sequence[Posted], segments: list[str]) -> list[Shown]:
    """The messages a finished native stream left, with the text each one holds."""
    if len(posted) == len(segments):
        return [Shown(id=p.id, text=t) for p, t in zip(posted, segments, strict=True)]
    # The platform split the answer its own way: the first message stands for all of it.
    text = "".join(segments)
    return [Shown(id=p.id, text=text if i == 0 else "") for i, p in enumerate(posted)]
