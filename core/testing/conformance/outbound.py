"""Conformance checks of what an adapter shows: posts, edits, limits, roll-over, typing."""

from __future__ import annotations

import asyncio
import contextlib

from knowrithm_bots.core.errors import PlatformError
from knowrithm_bots.core.streaming import ReplyStream
from knowrithm_bots.core.testing.conformance.base import (
    A,
    B,
    ConformanceBase,
    check,
    fail,
    shows,
    shows_at,
    shows_whole,
)
from knowrithm_bots.core.testing.conformance.harness import AdapterHarness
from knowrithm_bots.core.testing.conformance.texts import (
    long_answer,
    marker,
    normalized,
    text_at_limit,
)


class OutboundChecks(ConformanceBase):
    """post and edit land where the thread key points, whole and within the limits."""

    async def test_post_lands_where_the_thread_key_points(self, harness: AdapterHarness) -> None:
        adapter = harness.adapter
        places = (A, B) if harness.features.places >= 2 else (A,)
        async with self._running(harness) as recorder:
            answers: dict[str, str] = {}
            for place in places:
                event = await self._receive(harness, recorder, place=place, text=marker("ask"))
                answers[place] = marker(f"answer for {place}")
                posted = await self._post(adapter, thread=event.thread, text=answers[place])
                await adapter.reply_done(thread=event.thread, message_ids=[posted.id])
                await self._visible_until(
                    harness,
                    place=place,
                    condition=shows(answers[place]),
                    expected=f"the answer {answers[place]!r} posted with its thread key",
                )
            if len(places) == 2:
                shown_a = await harness.visible(place=A)
                check(
                    answers[B] not in shown_a,
                    message=f"the answer posted to place 'b' also appears in place 'a': {shown_a}",
                )

    async def test_edit_replaces_the_text_in_place(self, harness: AdapterHarness) -> None:
        adapter = harness.adapter
        async with self._running(harness) as recorder:
            event = await self._receive(harness, recorder, place=A, text=marker("ask"))
            draft = marker("draft")
            posted = await self._post(adapter, thread=event.thread, text=draft)
            shown = await self._visible_until(
                harness, place=A, condition=shows(draft), expected=repr(draft)
            )
            index, count = shown.index(draft), len(shown)
            final = marker("final")
            for text, what in (
                (final, "edit()"),
                (final, "an edit() that changes nothing (it is success, not an error)"),
                (final + " and more", "an edit() that appends"),
            ):
                try:
                    await self._within(
                        adapter.edit(thread=event.thread, message_id=posted.id, text=text), what
                    )
                except PlatformError as exc:
                    fail(f"{what} failed: {type(exc).__name__}: {exc}")
                await self._visible_until(
                    harness,
                    place=A,
                    condition=shows_at(index=index, text=text, count=count),
                    expected=f"{text!r} in place of the edited message, and no new message",
                )
            await adapter.reply_done(thread=event.thread, message_ids=[posted.id])

    async def test_texts_at_the_length_limit_are_accepted(self, harness: AdapterHarness) -> None:
        adapter = harness.adapter
        limit = type(adapter).limits.max_message_length
        async with self._running(harness) as recorder:
            event = await self._receive(harness, recorder, place=A, text=marker("ask"))
            full = text_at_limit(measure=adapter.measure, limit=limit, first=marker("full"))
            short = marker("short")
            edited = text_at_limit(measure=adapter.measure, limit=limit, first=marker("edited"))
            ids: list[str] = []
            for text, operation in ((full, "post"), (short, "post"), (edited, "edit")):
                try:
                    if operation == "post":
                        posted = adapter.post(thread=event.thread, text=text)
                        ids.append((await self._within(posted, "post()")).id)
                    else:
                        edit = adapter.edit(thread=event.thread, message_id=ids[-1], text=text)
                        await self._within(edit, "edit()")
                except PlatformError as exc:
                    fail(
                        f"{operation}() of a text measuring {adapter.measure(text)} (the declared "
                        f"limits.max_message_length is {limit}) failed with {type(exc).__name__}: "
                        f"{exc}; the declared limit or measure() does not match the platform"
                    )
            await adapter.reply_done(thread=event.thread, message_ids=ids)
            for text in (full, edited):
                await self._visible_until(
                    harness,
                    place=A,
                    condition=shows_whole(text),
                    expected=f"the whole {len(text)}-character text, not a shortened one",
                )

    async def test_long_answer_rolls_over_within_the_limit(self, harness: AdapterHarness) -> None:
        adapter = harness.adapter
        limit = type(adapter).limits.max_message_length
        async with self._running(harness) as recorder:
            event = await self._receive(harness, recorder, place=A, text=marker("ask"))
            answer = long_answer(measure=adapter.measure, limit=limit, first=marker("long"))
            reply = ReplyStream(adapter=adapter, thread=event.thread, edit_interval=0.0)
            reply.start()
            step = len(answer) // 5 + 1
            for start in range(0, len(answer), step):
                reply.feed(answer[start : start + step])
                await asyncio.sleep(0)
            try:
                # The engine keeps inside the declared budgets, so allow it a few turns.
                ids = await self._within(reply.finish(text=answer), "the reply engine", factor=4)
            except PlatformError as exc:
                fail(f"rolling a long answer over failed: {type(exc).__name__}: {exc}")
            finally:
                with contextlib.suppress(PlatformError):
                    await reply.aclose()
            await adapter.reply_done(thread=event.thread, message_ids=ids)
            check(
                len(ids) >= 2, message=f"an answer of {len(answer)} characters fit in one message"
            )
            shown = await self._visible_until(
                harness,
                place=A,
                condition=lambda s: normalized(" ".join(s[-len(ids) :])) == normalized(answer),
                expected=f"the {len(answer)}-character answer across {len(ids)} messages",
            )
            for text in shown[-len(ids) :]:
                check(
                    adapter.measure(text) <= limit,
                    message=f"a rolled-over message measures {adapter.measure(text)}, over the "
                    f"declared limit of {limit}",
                )

    async def test_typing_is_accepted_when_declared(self, harness: AdapterHarness) -> None:
        adapter = harness.adapter
        self._require(type(adapter).capabilities.typing, "the adapter does not declare typing")
        async with self._running(harness) as recorder:
            event = await self._receive(harness, recorder, place=A, text=marker("ask"))
            try:
                await self._within(adapter.typing(thread=event.thread), "typing()")
            except PlatformError as exc:
                fail(f"typing() failed: {type(exc).__name__}: {exc}")
            await adapter.reply_done(thread=event.thread, message_ids=[])
