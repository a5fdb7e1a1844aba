"""One reply's journey onto the platform: post at once, refresh at the shared pace, roll over."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from knowrithm_bots.core.adapter import (
    Adapter,
    Posted,
    SupportsNativeStream,
    SupportsStopButton,
)
from knowrithm_bots.core.clock import Clock, SystemClock
from knowrithm_bots.core.errors import (
    MessageNotFound,
    PlatformError,
    PlatformRateLimited,
    PlatformUnavailable,
)
from knowrithm_bots.core.streaming.backoff import Outages
from knowrithm_bots.core.streaming.layout import Layout
from knowrithm_bots.core.streaming.messages import Shown, Step, next_step
from knowrithm_bots.core.streaming.native import NativeOutcome, NativePhase
from knowrithm_bots.core.streaming.pacer import Pacer
from knowrithm_bots.core.streaming.progress import Progress
from knowrithm_bots.core.streaming.scheduler import Lane

log = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = ["RETIRED_TEXT", "STALENESS_TARGET", "ReplyStream"]

# What an adopted message is taken to show: nothing any answer equals, so it is edited.
_UNKNOWN_TEXT = "\x00"

# A typing notice is repeated when this share of the time the platform shows it has passed:
# Telegram shows one for 5 s ("sendChatAction": "5 seconds or less"), so every 4 s.
TYPING_RENEW_SHARE = 0.8
# However briefly an adapter says a notice shows, never more often than this.
MIN_TYPING_REPEAT = 1.0
RETIRED_TEXT = "…"
# Mid-answer refreshes the platform refuses (bad markup in a partial text, a 400) are skipped
# until the text changes; after this many failures in a row only the final text is tried.
MAX_REFRESH_FAILURES = 3
# A refresh mid-answer waits until the oldest unshown text is about to be this many times the
# budget's declared pace old when it shows: text that arrives meanwhile rides along for free,
# and the wait stays inside the staleness a shared budget allows anyway. 1.2 is the product's
# staleness promise (p99 within 1.2 times what the budget allows), spent in full; how far off
# the estimated trip is decides on which side of it a single edit lands.
STALENESS_TARGET = 1.2
# Within the last recent gap between deltas before that moment (never more than LEAD_SHARE
# of the pace), a refresh goes as soon as a delta arrives: the edit then ends with fresh
# text and the next hidden text is a whole gap away, so the next refresh is due a gap later
# than if it had gone between two deltas.
LEAD_SHARE = 0.1
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
    tightest budget's declared pace old on arrival (the round trip is measured), going just
    after the last delta before that moment, so each edit carries as much as that staleness
    allows. Before the adapter's length limit
    the answer rolls over into a new message at a natural boundary. Edits that would change
    nothing are skipped; the last one is never dropped. A 429 backs the whole scope off and
    the newest text goes out afterwards, so nothing is lost. A mid-answer refresh the
    platform refuses otherwise is skipped until the text changes (and given up after
    ``MAX_REFRESH_FAILURES`` in a row); only a refused final text fails the reply.

    Without the edit capability nothing is edited: messages are posted once their text is
    settled (rolled over, or final).

    Adapters with the native-stream capability get the deltas through their
    ``NativeStream``; when the platform refuses or expires it, the reply continues with
    post + edit from what the stream left visible.

    ``adopted`` are messages an earlier process posted for this answer (their text unknown):
    they are edited into the answer, and any left over retired, instead of posting anew.
    ``on_posted`` is awaited with every message id showing the answer whenever a message
    is added (a post, or a stream's message once it shows), so the caller can record where
    the answer is; it must not raise.

    ``stoppable`` marks an answer that can be stopped: where the adapter has the
    ``SupportsStopButton`` capability (and wants it in this thread), its last message
    carries a Stop button on the posts and edits made anyway until the final text, which
    goes out without it.
    """

    def __init__(
        self,
        *,
        adapter: Adapter,
        thread: str,
        clock: Clock | None = None,
        edit_interval: float | None = None,
        pacer: Pacer | None = None,
        reply_to: str | None = None,
        adopted: Sequence[str] = (),
        on_posted: Callable[[list[str]], Awaitable[None]] | None = None,
        on_first_text: Callable[[], None] | None = None,
        stoppable: bool = False,
    ) -> None:
        self._adapter = adapter
        # Only where messages are edited can a button come off again when the answer ends.
        self._buttons: SupportsStopButton | None = (
            adapter
            if stoppable
            and adapter.capabilities.edit
            and isinstance(adapter, SupportsStopButton)
            and adapter.stop_button_in(thread=thread)
            else None
        )
        self._thread = thread
        # The user message this reply answers; only the reply's first post carries it.
        self._reply_to = None if adopted else reply_to
        self._clock = clock or SystemClock()
        self._interval = adapter.limits.edit_interval if edit_interval is None else edit_interval
        # Without a shared pacer the reply still keeps inside the budgets, but only alone.
        self._pacer = pacer or Pacer(clock=self._clock)
        self._route = self._pacer.route(adapter=adapter, thread=thread)
        self._layout = Layout(limit=adapter.limits.max_message_length, measure=adapter.measure)
        self._progress = Progress(clock=self._clock)
        self._text = ""
        self._final: str | None = None
        self._shown: list[Shown] = [Shown(id=i, text=_UNKNOWN_TEXT) for i in adopted]
        self._on_posted = on_posted
        self._on_first_text = on_first_text
        self._not_before = float("-inf")
        self._latency: float | None = None  # one-way trip to the platform, estimated
        self._outages = Outages()
        self._refused: Step | None = None  # the last mid-answer call the platform refused
        self._refresh_failures = 0
        self._changed = asyncio.Event()
        self._finishing = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._typing: asyncio.Task[None] | None = None

    # --- public API ------------------------------------------------------------------------

    @property
    def message_ids(self) -> list[str]:
        return [m.id for m in self._shown]

    @property
    def text(self) -> str:
        """Everything fed so far."""
        return self._text

    @property
    def grew_at(self) -> float | None:
        """When (the clock's ``monotonic``) the text fed last grew; None before it first did."""
        return self._progress.last_growth

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
        """Show exactly ``text`` (the authoritative answer) and return the message ids.

        Raises the platform's error when it refuses the final text (or stays down).
        """
        if self._final is None:
            self._final = text
            self._finishing.set()
            if text.startswith(self._text):
                self._progress.changed(length=len(text))
            else:
                self._progress.revise(length=len(text))
        return await self._show_final()

    async def fail(self, *, notice: str) -> list[str]:
        """End the reply with ``notice`` after whatever is already visible.

        Also after ``finish`` failed: the final text is then replaced by the part of it the
        platform shows (if any) and the notice, and a fresh attempt shows that.
        """
        if self._final is None:
            return await self.finish(text=_with_notice(self._text, notice))
        if self._worker_error() is not None:
            visible = self._final[: self._shown_upto(self._final)]
            self._final = _with_notice(visible, notice)
            self._progress.revise(length=len(self._final))
        return await self._show_final()

    async def aclose(self) -> None:
        """Stop at once (shutdown); what is visible stays as it is. Never raises what the
        worker failed with (``finish`` or ``fail`` reported that already)."""
        await self._stop_typing()
        worker = self._worker
        if worker is None:
            return
        if not worker.done():
            worker.cancel()
            await asyncio.wait({worker})
        if not worker.cancelled() and (error := worker.exception()) is not None:
            log.debug("reply in %s had failed: %s", self._thread, error)

    async def changed(self) -> None:
        """Return once more text or the final text may have arrived (for the native phase)."""
        await self._changed.wait()
        self._changed.clear()

    def _worker_error(self) -> BaseException | None:
        """What the worker failed with, once it has ended that way."""
        worker = self._worker
        if worker is None or not worker.done() or worker.cancelled():
            return None
        return worker.exception()

    async def _show_final(self) -> list[str]:
        """Wait until the final text is visible, starting a worker if none is at it."""
        self._changed.set()
        if self._worker is None:
            self._worker = asyncio.create_task(self._run())
        elif self._worker_error() is not None:
            # The last attempt failed (and was reported): try afresh with what is final now.
            # Whatever a native stream did is over, so this goes out as messages.
            self._outages.recovered()
            self._refused = None
            self._worker = asyncio.create_task(self._run_messages())
        try:
            await asyncio.shield(self._worker)
        finally:
            await self._stop_typing()
        return self.message_ids

    # --- the worker ------------------------------------------------------------------------

    async def _run(self) -> None:
        # Adopted messages are finished by editing them: a new stream would show it twice.
        outcome = None if self._shown else await self._run_native()
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
        except PlatformRateLimited as exc:
            log.info("native stream in %s rate limited; posting instead", self._thread)
            lane = self._route.lane("append")
            wait = self._pacer.rate_limited(lane=lane, retry_after=exc.retry_after)
            self._not_before = self._clock.monotonic() + wait
            return None
        except PlatformError as exc:
            # Refused, unavailable or anything else: post + edit can still show the answer.
            log.info("native stream failed to open in %s (%s); posting instead", self._thread, exc)
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
            # An append is a refresh by another name: at least the budget's pace apart.
            interval=max(self._interval, self._route.budget_interval),
            final_interval=self._interval,
            on_visible=self._visible,
            thread=self._thread,
            on_message=self._stream_shows,
        )
        return await phase.run()

    async def _stream_shows(self, message_id: str) -> None:
        if self._on_posted is not None:
            await self._on_posted([*self.message_ids, message_id])

    async def _posted(self) -> None:
        if self._on_posted is not None:
            await self._on_posted(self.message_ids)

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
            turn = self._pacer.turn(
                lane=lane,
                since=self._progress.since_or_now(),
                first=not self._shown,
                # A message the answer rolled into shows text no refresh can: its post
                # ranks with the final text, before any refresh.
                final=self._final is not None or step.kind == "post",
            )
            # A refresh's place in line is not the final text's: when ``finish`` comes
            # first, the turn is withdrawn and the final text asks again.
            if self._final is not None:
                charged = await turn
            else:
                granted = await _unless(self._finishing, turn)
                if granted is None:
                    continue
                charged = granted.result()
            # The turn may have taken a while: show the newest text, not the text that asked.
            newest = self._next_step()
            if newest is None or (newest.kind, newest.index) != (step.kind, step.index):
                self._pacer.refund(lane=lane)
                continue
            await self._perform(newest, lane=lane, charged=charged)

    def _target(self) -> str:
        return self._final if self._final is not None else self._text

    def _next_step(self) -> Step | None:
        target = self._target()
        if not target:
            return None
        capabilities = self._adapter.capabilities
        segments = self._layout.segments(target)
        if self._final is None:
            if self._refresh_failures >= MAX_REFRESH_FAILURES:
                return None  # the platform keeps refusing partial texts: wait for the final
            if not capabilities.edit:
                segments = segments[:-1]  # only what rolled over is settled
        step = next_step(
            shown=self._shown,
            segments=segments,
            can_delete=capabilities.delete,
            can_edit=capabilities.edit,
            stop_button=self._buttons is not None and self._final is None,
        )
        if self._final is None and step is not None and step == self._refused:
            return None  # refused as it is: try again once the text has changed
        return step

    async def _own_pace(self, step: Step) -> None:
        """Wait for what this reply alone owes: the per-message interval and any backoff."""
        while True:
            ready = self._not_before
            due = float("-inf")
            if step.kind == "edit":
                # Mid-answer refreshes keep to the sustained pace; the final edit only to the
                # adapter's per-message interval (the budgets still apply to it).
                interval = self._interval
                if self._final is None:
                    interval = max(interval, self._route.budget_interval)
                    due = self._refresh_due()
                    ready = max(ready, due - self._lead())
                ready = max(ready, self._shown[step.index].changed_at + interval)
            now = self._clock.monotonic()
            wait = ready - now
            if wait <= 0:
                if due > now:
                    # Inside the lead: go with the next delta, or when due if none comes.
                    self._changed.clear()
                    await _unless(self._changed, self._clock.sleep(due - now))
                return
            if self._final is not None:
                await self._clock.sleep(wait)
                return
            # Wake early when ``finish`` comes: the final edit may owe less.
            await _unless(self._finishing, self._clock.sleep(wait))

    def _refresh_due(self) -> float:
        """When a refresh must go for the oldest unshown text to show within the target."""
        since = self._progress.since
        if since is None:
            return float("-inf")
        target = STALENESS_TARGET * self._route.budget_interval
        return since + target - (self._latency or 0.0)

    def _lead(self) -> float:
        """How long before a refresh is due it may go with a delta (see ``LEAD_SHARE``)."""
        gap = self._progress.arrival_gap()
        if gap is None:
            return 0.0
        return min(gap, LEAD_SHARE * self._route.budget_interval)

    async def _perform(self, step: Step, *, lane: Lane, charged: float) -> None:
        """Make ``step``'s call; ``charged`` is when its turn was charged to the budgets."""
        sent_at = self._clock.monotonic()
        final = self._final is not None
        try:
            await self._call(step)
        except PlatformRateLimited as exc:
            wait = self._pacer.rate_limited(lane=lane, retry_after=exc.retry_after)
            log.info("rate limited in %s; waiting %.1fs", self._thread, wait)
            self._not_before = self._clock.monotonic() + wait
            return
        except PlatformUnavailable:
            delay = self._outages.failed()
            if delay is None:
                raise
            self._not_before = self._clock.monotonic() + delay
            return
        except PlatformError as exc:
            if final:
                raise
            # A partial text the platform will not take (markup cut mid-way, a 400): the
            # answer goes on, and the next change (or the final text) tries again.
            self._refresh_failures += 1
            self._refused = step
            log.warning(
                "platform refused a refresh in %s (%d in a row): %s",
                self._thread,
                self._refresh_failures,
                exc,
            )
            return
        self._outages.recovered()
        self._refused = None
        self._refresh_failures = 0
        answered_at = self._clock.monotonic()
        self._observe_latency(answered_at - sent_at)
        self._pacer.observed(route=self._route, round_trip=answered_at - min(charged, sent_at))
        self._pacer.succeeded(lane=lane, charged=charged)
        self._progress.shown(upto=self._shown_upto(self._target()))

    def _shown_upto(self, text: str) -> int:
        """How many characters of ``text`` the platform shows in order now."""
        return self._layout.shown_upto([message.text for message in self._shown], text=text)

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
            reply_to, self._reply_to = self._reply_to, None
            try:
                posted = await self._post(step, reply_to=reply_to)
            except BaseException:
                self._reply_to = reply_to  # the retry is still the first post
                raise
            self._shown.append(
                Shown(
                    id=posted.id, text=step.text, changed_at=sent_at, stop_button=step.stop_button
                )
            )
            await self._visible()
            await self._posted()
        elif step.kind == "edit":
            shown = self._shown[step.index]
            try:
                if self._buttons is not None:
                    await self._buttons.edit(
                        thread=self._thread,
                        message_id=shown.id,
                        text=step.text,
                        stop_button=step.stop_button,
                    )
                else:
                    await self._adapter.edit(
                        thread=self._thread, message_id=shown.id, text=step.text
                    )
            except MessageNotFound:
                # Someone deleted our message: show the text again rather than lose it.
                posted = await self._post(step, reply_to=None)
                shown.id = posted.id
                await self._posted()
            shown.text, shown.changed_at = step.text, sent_at
            shown.stop_button = step.stop_button
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

    async def _post(self, step: Step, *, reply_to: str | None) -> Posted:
        """Post ``step``'s text, with the Stop button where the step asks for it."""
        if self._buttons is not None:
            return await self._buttons.post(
                thread=self._thread, text=step.text, reply_to=reply_to, stop_button=step.stop_button
            )
        return await self._adapter.post(thread=self._thread, text=step.text, reply_to=reply_to)

    # --- typing ----------------------------------------------------------------------------

    async def _keep_typing(self) -> None:
        # A typing notice is charged to the budgets like any call (platforms count it:
        # Telegram answers a chat action with 429 when a chat is flooded), but only with
        # room nobody else needs: while calls wait for the pace it is skipped, not queued.
        lane = self._route.lane("typing")
        every = max(MIN_TYPING_REPEAT, TYPING_RENEW_SHARE * self._adapter.limits.typing_shows_for)
        due = self._clock.monotonic()
        while True:
            charged = await self._pacer.spare(lane=lane)
            if charged is not None:
                await self._type(lane=lane, charged=charged)
            # On a fixed timeline from the first notice, so that a slow call does not let one
            # lapse; a call slower than the timeline restarts it, not a catch-up burst.
            now = self._clock.monotonic()
            due = max(due + every, now)
            await self._clock.sleep(due - now)

    async def _type(self, *, lane: Lane, charged: float) -> None:
        try:
            await self._adapter.typing(thread=self._thread)
        except PlatformRateLimited as exc:
            # The scope is over its budget: the calls that show text must hear it too.
            self._pacer.rate_limited(lane=lane, retry_after=exc.retry_after)
            log.debug("typing rate limited in %s", self._thread)
        except PlatformError as exc:
            # Kept spent: a refused call may still have counted where it arrived.
            log.debug("typing failed in %s: %s", self._thread, exc)
        else:
            self._pacer.succeeded(lane=lane, charged=charged)

    async def _visible(self) -> None:
        """Text of the reply shows on the platform: no more typing; the first time, say so."""
        first, self._on_first_text = self._on_first_text, None
        if first is not None:
            first()
        await self._stop_typing()

    async def _stop_typing(self) -> None:
        task, self._typing = self._typing, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _unless(event: asyncio.Event, work: Awaitable[T]) -> asyncio.Future[T] | None:
    """Await ``work`` unless ``event`` is set first, which cancels it (and waits until it
    has wound down, so a withdrawn turn is given back); the finished ``work``, or None."""
    working = asyncio.ensure_future(work)
    waking = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({working, waking}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waking.cancel()
        if not working.done():
            working.cancel()
        await asyncio.wait({working})
    if working.cancelled():
        return None
    working.result()
    return working


def _with_notice(partial: str, notice: str) -> str:
    partial = partial.rstrip()
    return f"{partial}\n\n{notice}" if partial else notice


def _holding(posted: Sequence[Posted], segments: list[str]) -> list[Shown]:
    """The messages a finished native stream left, with the text each one holds."""
    if len(posted) == len(segments):
        return [Shown(id=p.id, text=t) for p, t in zip(posted, segments, strict=True)]
    # The platform split the answer its own way: the first message stands for all of it.
    text = "".join(segments)
    return [Shown(id=p.id, text=text if i == 0 else "") for i, p in enumerate(posted)]
