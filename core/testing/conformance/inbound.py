"""Conformance checks of what an adapter delivers: messages, thread keys, reactions."""

from __future__ import annotations

from knowrithm_bots.core.config.models import DEFAULT_RATING_EMOJI
from knowrithm_bots.core.events import adapter_of
from knowrithm_bots.core.ratings import rating_for
from knowrithm_bots.core.testing.conformance.base import A, B, ConformanceBase, check, fail
from knowrithm_bots.core.testing.conformance.harness import AdapterHarness
from knowrithm_bots.core.testing.conformance.texts import marker


class InboundChecks(ConformanceBase):
    """Platform events become the right core events, and only the right ones."""

    async def test_user_message_becomes_an_inbound_event(self, harness: AdapterHarness) -> None:
        adapter = harness.adapter
        name = type(adapter).name
        async with self._running(harness) as recorder:
            text = marker("hello")
            event = await self._receive(harness, recorder, place=A, text=text)
            check(
                event.thread.startswith(f"{name}:") and adapter_of(event.thread) == name,
                message=f"thread key {event.thread!r} must start with {name + ':'!r}",
            )
            check(
                event.origin.adapter == name, message=f"origin.adapter is {event.origin.adapter!r}"
            )
            check(
                event.event_id, message="event_id is empty; it must be the platform's delivery id"
            )
            check(event.author.id, message="author.id is empty")
            check(not event.author.is_bot, message="a person's message is marked author.is_bot")
            keys = adapter.budget_keys(thread=event.thread)
            declared = {budget.scope for budget in type(adapter).limits.budgets}
            # A scope may have no key for some threads (a group budget in a private chat),
            # but some declared budget must apply, or nothing paces this thread.
            check(
                not declared or declared & set(keys),
                message="budget_keys() gives no key for any declared budget scope "
                f"{sorted(declared)}",
            )
            await adapter.reply_done(thread=event.thread, message_ids=[])

    async def test_thread_keys_are_stable_and_distinct(self, harness: AdapterHarness) -> None:
        adapter = harness.adapter
        async with self._running(harness) as recorder:
            events = []
            places = (A, A, B) if harness.features.places >= 2 else (A, A)
            for place in places:
                event = await self._receive(harness, recorder, place=place, text=marker("key"))
                await adapter.reply_done(thread=event.thread, message_ids=[])
                events.append(event)
            check(
                events[0].thread == events[1].thread,
                message="two messages in one place got different thread keys: "
                f"{events[0].thread!r} and {events[1].thread!r}",
            )
            check(
                events[0].event_id != events[1].event_id,
                message=f"two messages got the same event_id {events[0].event_id!r}",
            )
            if len(events) == 3:
                check(
                    events[2].thread != events[0].thread,
                    message=f"messages in two places share the thread key {events[0].thread!r}",
                )

    async def test_own_messages_are_ignored(self, harness: AdapterHarness) -> None:
        self._require(harness.features.own_messages, "the harness cannot send own messages")
        async with self._running(harness) as recorder:
            own = marker("own")
            await harness.own_message(place=A, text=own)
            # Platforms deliver in order, so once a later message has arrived the own
            # message would have arrived too: no sleeping and hoping.
            event = await self._receive(harness, recorder, place=A, text=marker("after own"))
            await harness.adapter.reply_done(thread=event.thread, message_ids=[])
            check(
                all(m.text != own for m in recorder.messages),
                message=f"the adapter delivered its own message {own!r}; it must ignore them "
                "(or it would answer itself)",
            )

    async def test_other_bots_are_ignored_or_marked(self, harness: AdapterHarness) -> None:
        self._require(harness.features.bot_messages, "the harness cannot send bot messages")
        async with self._running(harness) as recorder:
            text = marker("bot")
            await harness.bot_message(place=A, text=text)
            event = await self._receive(harness, recorder, place=A, text=marker("after bot"))
            await harness.adapter.reply_done(thread=event.thread, message_ids=[])
            unmarked = [m for m in recorder.messages if m.text == text and not m.author.is_bot]
            check(
                not unmarked,
                message=f"another bot's message {text!r} was delivered without author.is_bot; "
                "ignore it or mark it",
            )

    async def test_reactions_name_the_posted_message(self, harness: AdapterHarness) -> None:
        adapter = harness.adapter
        self._require(type(adapter).capabilities.reactions, "the adapter has no reactions")
        self._require(harness.features.reactions, "the harness cannot send reactions")
        steps = [("👍", True, 5), ("👎", True, 1)]
        if harness.features.reaction_removal:
            steps.insert(1, ("👍", False, 5))
        async with self._running(harness) as recorder:
            event = await self._receive(harness, recorder, place=A, text=marker("ask"))
            posted = await self._post(adapter, thread=event.thread, text=marker("rate me"))
            await adapter.reply_done(thread=event.thread, message_ids=[posted.id])
            seen: set[str] = set()
            for number, (emoji, added, rating) in enumerate(steps, start=1):
                await harness.react(place=A, emoji=emoji, added=added)
                try:
                    reaction = await recorder.reaction_number(number, within=self.timeout)
                except TimeoutError:
                    fail(f"a person's reaction {emoji} (added={added}) never reached the sink")
                check(
                    reaction.message_id == posted.id,
                    message=f"the reaction names message {reaction.message_id!r}, but post() "
                    f"returned {posted.id!r}: they must be the same id for ratings to work",
                )
                check(
                    reaction.thread == event.thread, message=f"reaction thread {reaction.thread!r}"
                )
                check(
                    reaction.added is added, message=f"{emoji} reported with added={reaction.added}"
                )
                check(
                    rating_for(reaction.emoji, table=DEFAULT_RATING_EMOJI) == rating,
                    message=f"{emoji} arrived as {reaction.emoji!r}, which is not the rating "
                    f"{rating}",
                )
                check(
                    reaction.origin.adapter == type(adapter).name, message="reaction origin.adapter"
                )
                check(
                    reaction.event_id not in seen,
                    message=f"event_id {reaction.event_id!r} repeated",
                )
                seen.add(reaction.event_id)
